"""Plug-ins by import path: a suite beside the user's own `my_models.py` names `my_models:TinyCNN`; it
validates, trains, is interpreted by DeepLiftSHAP and scored; an edited module changes the cache keys."""

import json
import sys
import textwrap

import numpy as np
import pytest
import torch

from bench import plugins
from bench.errors import PluginError, SuiteError
from bench.executors import SerialExecutor
from bench.runner import method_key, model_key, run_suite
from bench.suite import load_suite

TINY_CNN = textwrap.dedent('''
    import torch
    from torch import nn


    class TinyCNN(nn.Module):
        """A plain Conv1d -> ReLU -> max-pool -> Linear network."""

        def __init__(self, input_length, filters=4, width=7):
            super().__init__()
            self.conv = nn.Conv1d(4, filters, width)
            self.relu = nn.ReLU()
            self.pool = nn.MaxPool1d(input_length - width + 1)
            self.linear = nn.Linear(filters, 1)

        def forward(self, x):
            return self.linear(self.pool(self.relu(self.conv(x))).squeeze(-1)).squeeze(-1)  # (N,)


    def not_a_model():
        return None
''')

MY_METHODS = textwrap.dedent('''
    import numpy as np

    from bench.methods import Interpretation
    from bench.plugins import method


    @method(produces=["attributions"], requires=["differentiable"], params={"scale": 1.0})
    def gradient_times_input(model, x, params, seed, truth_motifs):
        import torch

        xt = torch.from_numpy(x).requires_grad_(True)
        model(xt).sum().backward()
        hyp = xt.grad.numpy() * params["scale"]
        return Interpretation(attributions=hyp * x, hypothetical=hyp)


    def undeclared(model, x, params, seed, truth_motifs):
        return Interpretation()
''')


def _suite(folder, methods=None, models=None):
    return {
        "name": "plugins", "output": str(folder / "run"), "seeds": [0],
        "simulations": [{"preset": "spi1_single", "n": 200}],
        "models": models or [{"name": "my_models:TinyCNN", "params": {"filters": 3},
                              "train": {"epochs": 1, "batches_per_epoch": 2, "batch_size": 32, "schedule": "paper"}}],
        "methods": methods if methods is not None else [
            {"name": "deeplift_shap", "params": {"n_references": 2}},
            {"name": "my_methods:gradient_times_input"}],
        "metrics": ["prediction", "motifs", "instances", "attributions"],
        "interpret": {"split": "test", "n_sequences": 10, "classes": ["positive"]},
        "executor": {"kind": "serial"},
    }


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "my_models.py").write_text(TINY_CNN)
    (tmp_path / "my_methods.py").write_text(MY_METHODS)
    yield tmp_path
    for name in ("my_models", "my_methods"):
        sys.modules.pop(name, None)


def _write_suite(folder, data):
    import yaml

    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_plugin_suite_validates_trains_interprets_and_scores(folder, capsys):
    from bench.__main__ import main

    path = _write_suite(folder, _suite(folder))
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "plug-in model  my_models:TinyCNN" in out and str(folder / "my_models.py") in out
    assert "plug-in method my_methods:gradient_times_input" in out and "produces attributions" in out
    assert main(["list", "methods", "--suite", str(path)]) == 0
    assert "my_methods:gradient_times_input (produces attributions; plug-in from" in capsys.readouterr().out

    summary = run_suite(load_suite(path), executor=SerialExecutor(), progress=False, report=False)
    df = summary.results
    assert not (df.status == "failed").any(), df[df.status == "failed"].reason.tolist()
    assert {"prediction/auroc", "attributions/auroc"} <= set(df.metric)
    dls = df[df.method == "deeplift_shap"]
    assert dls.metric.str.startswith("attributions/").any()
    mine = df[df.method == "my_methods:gradient_times_input"]
    assert mine.metric.str.startswith("attributions/").any()
    # an attribution-only plug-in is not scored as a motif finder
    assert not mine.metric.str.startswith(("motifs/", "instances/")).any()


def test_an_edited_plugin_module_changes_the_cache_keys(folder):
    suite = load_suite(_write_suite(folder, _suite(folder)))
    sim, model, method = suite.simulations[0], suite.models[0], suite.methods[1]
    m_before, _ = model_key(sim, model, 0, "ds")
    i_before, _ = method_key(method, m_before, {}, 0)
    assert model_key(sim, model, 0, "ds")[0] == m_before  # stable while the file is
    (folder / "my_models.py").write_text(TINY_CNN.replace("nn.ReLU()", "nn.Tanh()"))
    m_after, _ = model_key(sim, model, 0, "ds")
    assert m_after != m_before
    (folder / "my_methods.py").write_text(MY_METHODS + "\n# edited\n")
    assert method_key(method, m_before, {}, 0)[0] != i_before
    # and the edited module is what a build now uses
    import models

    built = models.build_model("my_models:TinyCNN", {}, input_length=30)
    assert isinstance(built.net.relu, torch.nn.Tanh)


def test_builtin_keys_do_not_change(folder):
    from bench.runner import _plugin_part

    suite = load_suite(_write_suite(folder, _suite(folder, models=[{"name": "cnn"}],
                                                   methods=[{"name": "deeplift_shap"}])))
    assert _plugin_part(*suite.models, *suite.methods) == ()


def test_plugin_model_outputs_n_by_1_logits_and_takes_params(folder):
    import models

    suite = load_suite(_write_suite(folder, _suite(folder)))
    assert suite.models[0].name == "my_models:TinyCNN"
    model = models.build_model("my_models:TinyCNN", {"filters": 3}, input_length=50, seed=0)
    x = torch.zeros(5, 4, 50)
    x[:, 0] = 1
    assert model(x).shape == (5, 1) and model.net.conv.out_channels == 3
    again = models.build_model("my_models:TinyCNN", {"filters": 3}, input_length=50, seed=0)
    assert torch.equal(model(x), again(x))  # the seed fixes the init
    assert models.check_model_params("my_models:TinyCNN", {}) == {"filters": 4, "width": 7}
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['depth'\]"):
        models.check_model_params("my_models:TinyCNN", {"depth": 2})


@pytest.mark.parametrize("name, message", [
    ("nowhere_module:Thing", r"cannot import plug-in module 'nowhere_module': no nowhere_module.py in .* and none on sys.path"),
    ("my_models:TinyCN", r"has no attribute 'TinyCN'; did you mean TinyCNN"),
    ("my_models:not_a_model", r"is a function, not a torch.nn.Module class"),
    ("my_models:", r"is not a plug-in path: write module:attr"),
    ("models:ARGMINN", r"has the name of the benchmark's own package 'models'"),
])
def test_bad_model_plugins_are_one_line_suite_errors(folder, name, message):
    data = _suite(folder, models=[{"name": name}])
    with pytest.raises(SuiteError, match=r"models\[0\]\.name: .*" + message) as info:
        load_suite(_write_suite(folder, data))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name, message", [
    ("my_methods:undeclared", r"does not declare what it produces"),
    ("my_methods:np", r"is a module, not a function"),
    ("my_models:TinyCNN", r"is a type, not a function"),
    ("my_methods:nothing", r"has no attribute 'nothing'"),
])
def test_bad_method_plugins_are_one_line_suite_errors(folder, name, message):
    with pytest.raises(SuiteError, match=r"methods\[0\]\.name: .*" + message):
        load_suite(_write_suite(folder, _suite(folder, methods=[{"name": name}])))


def test_a_module_that_fails_to_import_says_so(folder):
    (folder / "broken.py").write_text("import torch\nraise RuntimeError('boom')\n")
    with pytest.raises(PluginError, match=r"plug-in module 'broken' failed to import: RuntimeError: boom"):
        plugins.resolve("broken:X", folder)
    sys.modules.pop("broken", None)


def test_method_plugin_params_are_validated(folder):
    with pytest.raises(SuiteError, match=r"unknown parameter\(s\) \['scal'\]"):
        load_suite(_write_suite(folder, _suite(folder, methods=[
            {"name": "my_methods:gradient_times_input", "params": {"scal": 2}}])))


def test_a_plugin_runs_in_a_pool_worker(folder):
    """Workers import the plug-in from the suite's folder themselves (it is not on their sys.path)."""
    from bench.executors import make_executor

    data = _suite(folder, methods=[{"name": "my_methods:gradient_times_input"}])
    data["metrics"] = ["attributions"]
    data["seeds"] = [0, 1]  # two cells, two workers: a pool, not the in-process fallback
    summary = run_suite(load_suite(_write_suite(folder, data)), executor=make_executor("local", 2),
                        progress=False, report=False)
    df = summary.results
    assert not (df.status == "failed").any(), df[df.status == "failed"].reason.tolist()
    assert df[df.method == "my_methods:gradient_times_input"].metric.str.startswith("attributions/").any()


# --------------------------------------------------------------------------- metric families

MY_FAMILY = textwrap.dedent('''
    import numpy as np

    from bench.families import Family


    def score(interp, ctx):
        """The share of each map's |contribution| on its single largest position, averaged over sequences."""
        a = np.abs(np.asarray(interp.attributions) * ctx.x).sum(axis=1)  # (N, L)
        total = a.sum(axis=1)
        share = np.divide(a.max(axis=1), total, out=np.zeros_like(total), where=total > 0)
        return {"peak_share/mean": float(share.mean()), "peak_share/n_sequences": float(len(a))}


    def score_cell(interps, ctx):
        return {"peak_share/n_routes": float(sum(i.attributions is not None for i in interps.values()))}


    FAMILY = Family(name="peak_share", description="how peaked each map is", needs=["attributions"],
                    score=score, score_cell=score_cell)
    WRONG_PREFIX = Family(name="wrong_prefix", description="writes outside its name", needs=["attributions"],
                          score=lambda interp, ctx: {"attributions/auroc": 1.0})
    NAMED_LIKE_A_BUILTIN = Family(name="motifs", description="clash", needs=["motifs"],
                                  score=lambda interp, ctx: {})
    NO_SCORER = Family(name="nothing", description="no scorer")
''')


@pytest.fixture
def family_folder(folder):
    (folder / "my_family.py").write_text(MY_FAMILY)
    yield folder
    sys.modules.pop("my_family", None)


def test_a_metric_family_is_one_file_beside_the_suite(family_folder, capsys):
    """The third kind of component: a family declared in the user's own module scores every method that
    produces what it needs, per interpretation and per cell, and is listed like the built-ins."""
    from bench.__main__ import main

    folder = family_folder
    data = _suite(folder, models=[{"name": "cnn", "train": {"epochs": 1, "batches_per_epoch": 2, "batch_size": 32}}],
                  methods=[{"name": "deeplift_shap", "params": {"n_references": 2}}, {"name": "positive_control"}])
    data["metrics"] = ["attributions", "my_family:FAMILY"]
    path = _write_suite(folder, data)
    assert main(["list", "metrics", "--suite", str(path)]) == 0
    listed = capsys.readouterr().out
    assert "my_family:FAMILY [needs attributions]: how peaked each map is; plug-in from" in listed
    df = run_suite(load_suite(path), executor=SerialExecutor(), progress=False, report=False).results
    assert not (df.status == "failed").any(), df[df.status == "failed"].reason.tolist()
    dls = df[(df.method == "deeplift_shap") & df.metric.str.startswith("peak_share/")].set_index("metric").value
    n = df.loc[df.metric == "interpret/n_sequences", "value"].item()  # the test split's positives, up to 10
    assert dls["peak_share/n_sequences"] == n and 0 < dls["peak_share/mean"] <= 1
    # the positive control produces no maps: the family does not score it
    assert not df[(df.method == "positive_control") & df.metric.str.startswith("peak_share/")].size
    cell = df[(df.method == "(cross)") & (df.metric == "peak_share/n_routes")]
    assert cell.value.tolist() == [1.0]


def test_a_plugin_family_scores_a_hand_made_map_exactly(family_folder):
    from bench import scoring
    from bench.methods import Interpretation, Method
    from bench.registry import check_metrics

    import simulations
    from tests.specs import lone_motif_spec

    assert check_metrics(["my_family:FAMILY"], family_folder) == ["my_family:FAMILY"]
    ds = simulations.simulate(lone_motif_spec({"jaspar": "MA0080.7"}), 4, 0)
    x = ds.x[:2].astype(np.float32)
    attr = np.zeros_like(x)
    attr[0, :, 3] = 3.0  # all of sequence 0's mass at one position: share 1
    attr[1, :, 0:4] = 1.0  # four equal positions: share 1/4
    out = scoring.score_interpretation(Interpretation(attributions=attr), ds, ds.truth_for(np.arange(2)), x,
                                       ["my_family:FAMILY"],
                                       method=Method("m", lambda *a: None, produces=("attributions",)))
    assert out == {"peak_share/mean": pytest.approx(0.625), "peak_share/n_sequences": 2.0}


@pytest.mark.parametrize("attr, message", [
    ("NAMED_LIKE_A_BUILTIN", r"is named 'motifs', a built-in family's name"),
    ("NO_SCORER", r"has no scorer"),
    ("np", r"is a module, not a bench.families.Family"),
])
def test_bad_metric_family_plugins_are_one_line_suite_errors(family_folder, attr, message):
    data = _suite(family_folder)
    data["metrics"] = ["attributions", f"my_family:{attr}"]
    with pytest.raises(SuiteError, match=r"metrics\[1\]: .*" + message) as info:
        load_suite(_write_suite(family_folder, data))
    assert "\n" not in str(info.value)


def test_a_family_writing_outside_its_name_fails_its_rows_with_a_reason(family_folder):
    data = _suite(family_folder, models=[{"name": "cnn", "train": {"epochs": 1, "batches_per_epoch": 2,
                                                                   "batch_size": 32}}],
                  methods=[{"name": "deeplift_shap", "params": {"n_references": 2}}])
    data["metrics"] = ["attributions", "my_family:WRONG_PREFIX"]
    df = run_suite(load_suite(_write_suite(family_folder, data)), executor=SerialExecutor(), progress=False,
                   report=False).results
    failed = df[df.status == "failed"]
    assert len(failed) == 1 and "'wrong_prefix' wrote 'attributions/auroc'" in failed.reason.iloc[0]
    # the built-in families of the same interpretation are lost with it: one scorer call, one failure
    assert "attributions/auroc" not in set(df.metric)


def test_an_edited_family_module_is_scored_again(family_folder):
    data = _suite(family_folder, models=[{"name": "cnn", "train": {"epochs": 1, "batches_per_epoch": 2,
                                                                   "batch_size": 32}}],
                  methods=[{"name": "deeplift_shap", "params": {"n_references": 2}}])
    data["metrics"] = ["my_family:FAMILY"]
    path = _write_suite(family_folder, data)
    first = run_suite(load_suite(path), executor=SerialExecutor(), progress=False, report=False).results
    (family_folder / "my_family.py").write_text(MY_FAMILY.replace("float(share.mean())", "float(share.mean()) + 10"))
    second = run_suite(load_suite(path), executor=SerialExecutor(), progress=False, report=False).results

    def value(df):
        return df.loc[(df.method == "deeplift_shap") & (df.metric == "peak_share/mean"), "value"].item()

    assert value(second) == pytest.approx(value(first) + 10)


# --------------------------------------------------------------------------- installed packages


@pytest.fixture
def installed_components(family_folder, monkeypatch):
    """Entry points as an installed package would declare them (importlib.metadata, faked)."""
    import importlib.metadata as metadata

    declared = {"argminn_bench.models": {"tiny_cnn": "my_models:TinyCNN"},
                "argminn_bench.methods": {"grad_x_input": "my_methods:gradient_times_input"},
                "argminn_bench.metrics": {"peak_share": "my_family:FAMILY"}}

    real = metadata.entry_points

    def entry_points(**kw):
        group = kw.get("group")
        if group not in declared:  # every other reader (numba's plug-ins) sees the real ones
            return real(**kw)
        return metadata.EntryPoints(metadata.EntryPoint(name, value, group) for name, value in declared[group].items())

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    return family_folder


def test_an_installed_packages_components_are_named_by_their_entry_points(installed_components, capsys):
    from bench.__main__ import main

    folder = installed_components
    data = _suite(folder, models=[{"name": "tiny_cnn", "params": {"filters": 3},
                                   "train": {"epochs": 1, "batches_per_epoch": 2, "batch_size": 32,
                                             "schedule": "paper"}}],
                  methods=[{"name": "grad_x_input"}])
    data["metrics"] = ["attributions", "peak_share"]
    suite = load_suite(_write_suite(folder, data))
    assert (suite.models[0].name, suite.models[0].label) == ("my_models:TinyCNN", "tiny_cnn")
    assert (suite.methods[0].name, suite.methods[0].label) == ("my_methods:gradient_times_input", "grad_x_input")
    assert suite.metrics == ["attributions", "my_family:FAMILY"]
    assert main(["list", "models"]) == 0
    assert "tiny_cnn = my_models:TinyCNN" in capsys.readouterr().out
    df = run_suite(suite, executor=SerialExecutor(), progress=False, report=False).results
    assert not (df.status == "failed").any(), df[df.status == "failed"].reason.tolist()
    mine = df[(df.model == "tiny_cnn") & (df.method == "grad_x_input")]
    assert {"attributions/auroc", "peak_share/mean"} <= set(mine.metric)


def test_a_builtin_name_wins_over_an_entry_point_of_the_same_name(installed_components, monkeypatch):
    import importlib.metadata as metadata

    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points", lambda **kw: metadata.EntryPoints(
        [metadata.EntryPoint("cnn", "my_models:TinyCNN", kw["group"])]) if kw.get("group") == "argminn_bench.models"
        else real(**kw))
    suite = load_suite(_write_suite(installed_components, _suite(installed_components, models=[{"name": "cnn"}])))
    assert suite.models[0].name == "cnn"
