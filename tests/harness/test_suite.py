"""Suite files are validated completely before anything runs."""

import copy

import pytest

from bench.suite import SuiteError, derive_seed, load_suite

GOOD = {
    "name": "t",
    "output": "out",
    "seeds": [0, 1],
    "simulations": [{"preset": "spi1_single", "n": 200}],
    "models": [{"name": "cnn", "train": {"epochs": 1}}],
    "methods": [{"name": "deeplift_shap", "params": {"n_references": 3}}],
}


def _with(path, value):
    s = copy.deepcopy(GOOD)
    node = s
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return s


def _two_task_spec(label=(1, 0)):
    """A valid grammar the simulator takes (two tasks, or a graded label) but the models cannot."""
    from tests.specs import lone_motif_spec

    spec = lone_motif_spec({"consensus": "ACGTTG"})
    spec["classes"][0]["label"] = list(label) if isinstance(label, tuple) else label
    spec["classes"][1]["label"] = [0, 0] if isinstance(label, tuple) else 0
    return spec


BAD = [
    (_with(("simulations", 0, "preset"), "spi1_singel"), r"simulations\[0\]\.preset: unknown simulation 'spi1_singel'.*spi1_single"),
    (_with(("models", 0, "name"), "argmin"), r"models\[0\]\.name: unknown model 'argmin'.*Did you mean argminn"),
    (_with(("methods", 0, "name"), "deeplift"), r"methods\[0\]\.name: unknown method 'deeplift'.*deeplift_shap"),
    (_with(("models", 0, "params"), {"num_filterz": 3}), r"models\[0\]\.params: .*num_filterz"),
    (_with(("models", 0, "train"), {"epochz": 3}), r"models\[0\]\.train: .*epochz"),
    (_with(("methods", 0, "params"), {"n_refs": 3}), r"methods\[0\]\.params: .*n_refs"),
    (_with(("metrics",), ["motif"]), r"metrics\[0\]: unknown metric family 'motif'.*motifs"),
    (_with(("colour",), "red"), r"colour: unknown key"),
    (_with(("simulations", 0, "n"), 0), r"simulations\[0\]\.n: .*greater than 0"),
    (_with(("simulations", 0), {"n": 5}), r"simulations\[0\]: give exactly one of preset or spec"),
    (_with(("simulations", 0), {"n": 5, "spec": {"name": "x", "motifs": {"A": "NOPE_TF"}, "classes": []}}),
     r"simulations\[0\]: .*"),
    (_with(("simulations", 0), {"n": 5, "spec": _two_task_spec()}),
     r"simulations\[0\]: classes\[0\] \('pos'\) has label \[1\.0, 0\.0\].*single-task binary.*label 0 or 1"),
    (_with(("simulations", 0), {"n": 5, "spec": _two_task_spec(label=0.7)}), r"classes\[0\] \('pos'\) has label 0\.7"),
    (_with(("models", 0, "grid"), {"params.num_filters": []}), r"lists no values"),
    (_with(("models", 0, "zip"), {"train.epochs": [1, 2], "train.lr": [0.1]}), r"zip: lists must have one length"),
    (_with(("models", 0, "grid"), {"filters": [1, 2]}), r"must be params\.<name>"),
    (_with(("executor",), {"kind": "dask"}), r"executor\.kind"),
    (_with(("seeds",), []), r"seeds: .*at least 1"),
]


@pytest.mark.parametrize("suite,message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_suites(suite, message):
    with pytest.raises(SuiteError, match=message):
        load_suite(suite)


def test_bad_files(tmp_path):
    with pytest.raises(SuiteError, match="does not exist"):
        load_suite(tmp_path / "nope.yaml")
    p = tmp_path / "evil.yaml"
    p.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(SuiteError, match="not valid YAML"):
        load_suite(p)
    p.write_text("- a list\n")
    with pytest.raises(SuiteError, match="must hold a mapping"):
        load_suite(p)


def test_grid_and_zip_expand():
    s = copy.deepcopy(GOOD)
    s["models"][0]["grid"] = {"train.epochs": [1, 2]}
    s["models"][0]["zip"] = {"train.lr": [0.1, 0.01], "train.batch_size": [16, 32]}
    suite = load_suite(s)
    assert len(suite.models) == 4
    assert {(m.train["epochs"], m.train["lr"], m.train["batch_size"]) for m in suite.models} == {
        (1, 0.1, 16), (1, 0.01, 32), (2, 0.1, 16), (2, 0.01, 32)}
    assert len({m.label for m in suite.models}) == 4
    assert len(list(suite.cells())) == 4 * 2


def test_seeds_derive_from_identity_only():
    assert derive_seed("model", {"a": 1}, 0) == derive_seed("model", {"a": 1}, 0)
    assert derive_seed("model", {"a": 1}, 0) != derive_seed("model", {"a": 1}, 1)
    # adding a cell to a suite does not change another cell's seed: seeds depend on nothing else
    s1, s2 = load_suite(GOOD), copy.deepcopy(GOOD)
    s2["models"].append({"name": "cnn", "label": "cnn2", "train": {"epochs": 2}})
    assert len(load_suite(s2).models) == 2 and len(s1.models) == 1


def test_shipped_suites_validate():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for f in [root / "suite.yaml", *sorted((root / "suites").glob("*.yaml"))]:
        load_suite(f)


def test_select_keeps_the_named_parts_and_rejects_unknown_labels():
    s = copy.deepcopy(GOOD)
    s["models"].append({"name": "argminn", "train": {"epochs": 1}})
    s["methods"].append({"name": "argminn_readout"})
    suite = load_suite(s).select(models=["argminn"], methods=["argminn_readout"])
    assert [m.label for m in suite.models] == ["argminn"]
    assert [m.label for m in suite.methods] == ["argminn_readout"]
    assert suite.selection == {"models": ["argminn"], "methods": ["argminn_readout"]}
    assert len(list(suite.cells())) == 2
    with pytest.raises(SuiteError, match=r"--models: 'explainn' not in suite 't'; it has: cnn, argminn"):
        load_suite(s).select(models=["explainn"])


def test_run_cli_reports_an_unknown_selection(tmp_path, capsys):
    import yaml

    from bench.__main__ import main
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    assert main(["run", str(path), "--methods", "modisco"]) == 2
    assert "--methods: 'modisco' not in suite 't'; it has: deeplift_shap" in capsys.readouterr().err
