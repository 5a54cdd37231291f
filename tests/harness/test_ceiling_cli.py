"""`python -m bench ceiling`: the oracles' auROC per spec and seed, and clear errors."""

import yaml

from bench.__main__ import main
from tests.specs import lone_motif_spec


def _spec(tmp_path, motif: dict, name: str):
    spec = lone_motif_spec(motif, name=name)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def test_ceiling_rows_per_spec_and_seed(tmp_path, capsys):
    strong = _spec(tmp_path, {"consensus": "ACGTTGCAGGTC"}, "strong")
    flat = _spec(tmp_path, {"matrix": [[1], [1], [1], [1]]}, "flat")
    assert main(["ceiling", strong, flat, "--n", "300", "--seeds", "0", "1", "--no-rejection"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("\t")[3] == "ceiling_likelihood_ratio"
    rows = [line.split("\t") for line in lines[1:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [("strong", "off", "0"), ("strong", "off", "1"),
                                                 ("flat", "off", "0"), ("flat", "off", "1")]
    assert all(float(r[3]) > 0.99 for r in rows[:2]) and all(float(r[3]) == 0.5 for r in rows[2:])
    assert all(float(r[4]) == 1.0 for r in rows)  # the planted content alone separates both
    # a sampled 12-mer rarely falls below p < 1e-4 (three or more of its 3% mutations); a flat one-column
    # motif never reaches it: every positive carries only a weak site
    assert all(float(r[5]) < 0.05 for r in rows[:2]) and all(float(r[5]) == 1.0 for r in rows[2:])


def test_ceiling_errors_name_the_problem(tmp_path, capsys):
    assert main(["ceiling", "no_such_preset"]) == 2
    assert "neither a spec file nor a preset" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"length": 10, "motifs": {"A": {"consensus": "ACGTACGTACGTA"}},
                                   "classes": [{"name": "p", "label": 1, "fraction": 1,
                                                "configs": [{"name": "a", "motifs": [{"motif": "A"}]}]}]}))
    assert main(["ceiling", str(bad), "--n", "10"]) == 2
    assert "need 13 bp but length is 10" in capsys.readouterr().err
