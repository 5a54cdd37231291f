import json

import pandas as pd
import pytest

from bench.__main__ import main
from bench.results import merge_parts, read_results, row, to_frame, write_results


def _cell(sim, model, seed, model_key, methods, value, suite="s"):
    rows = [row(suite, sim, model, seed, "(model)", "runtime_s/train", 1.0,
                detail=json.dumps({"model_key": model_key})),
            row(suite, sim, model, seed, "(model)", "prediction/auroc", value)]
    rows += [row(suite, sim, model, seed, m, "attributions/auroc", value) for m in methods]
    return rows


def test_merge_adds_new_models_and_keeps_the_rest():
    first = to_frame(_cell("a", "argminn", 0, "k1", ["deeplift_shap"], 0.9))
    second = to_frame(_cell("a", "explainn", 0, "k2", ["deeplift_shap"], 0.7))
    merged, notes = merge_parts([first, second])
    assert len(merged) == len(first) + len(second) and notes == []
    assert set(merged.model) == {"argminn", "explainn"}


def test_a_later_part_replaces_the_same_method_of_the_same_model():
    first = to_frame(_cell("a", "argminn", 0, "k1", ["deeplift_shap", "modisco"], 0.9))
    second = to_frame(_cell("a", "argminn", 0, "k1", ["modisco"], 0.5))
    merged, notes = merge_parts([first, second])
    got = merged.set_index(["method", "metric"]).value
    assert got[("modisco", "attributions/auroc")] == 0.5 and got[("deeplift_shap", "attributions/auroc")] == 0.9
    assert len(merged) == len(first) and "replaced" in notes[0]


def test_a_retrained_model_drops_every_earlier_row_of_its_cell():
    # the earlier DLS rows read another model: they must not sit beside the new model's rows
    first = to_frame(_cell("a", "argminn", 0, "old", ["deeplift_shap", "modisco"], 0.9)
                     + _cell("a", "argminn", 1, "k", ["deeplift_shap"], 0.8))
    second = to_frame(_cell("a", "argminn", 0, "new", ["modisco"], 0.5))
    merged, notes = merge_parts([first, second])
    seed0 = merged[merged.seed == 0]
    assert "deeplift_shap" not in set(seed0.method) and set(seed0.value) == {1.0, 0.5}
    assert (merged.seed == 1).sum() == 3 and "retrained 1 cells" in notes[0]


def test_merge_refuses_other_suites_and_nothing():
    with pytest.raises(ValueError, match="different suites"):
        merge_parts([to_frame(_cell("a", "cnn", 0, "k", [], 0.9)),
                     to_frame(_cell("a", "cnn", 0, "k", [], 0.9, suite="other"))])
    with pytest.raises(ValueError, match="at least one"):
        merge_parts([])


def test_report_cli_merges_parts_and_keeps_their_provenance(tmp_path):
    for name, cell in (("p1", _cell("a", "argminn", 0, "k1", ["deeplift_shap"], 0.9)),
                       ("p2", _cell("a", "cnn", 0, "k2", ["deeplift_shap"], 0.6))):
        write_results(to_frame(cell), tmp_path / name, {"part": name})
    out = tmp_path / "report"
    assert main(["report", str(tmp_path / "p1"), str(tmp_path / "p2" / "results.parquet"), "--out", str(out)]) == 0
    merged = read_results(out)
    assert set(merged.model) == {"argminn", "cnn"} and (out / "index.html").exists()
    prov = json.loads((out / "provenance.json").read_text())
    assert [p["provenance"]["part"] for p in prov["merged_parts"]] == ["p1", "p2"]
    assert str(tmp_path) not in (out / "provenance.json").read_text()  # no machine paths in a committed file
    assert len(pd.read_csv(out / "results.csv")) == len(merged)


def test_report_cli_rejects_mixed_suites(tmp_path, capsys):
    write_results(to_frame(_cell("a", "cnn", 0, "k", [], 0.9)), tmp_path / "p1", {})
    write_results(to_frame(_cell("a", "cnn", 0, "k", [], 0.9, suite="x")), tmp_path / "p2", {})
    assert main(["report", str(tmp_path / "p1"), str(tmp_path / "p2"), "--out", str(tmp_path / "r")]) == 2
    assert "different suites" in capsys.readouterr().err


def test_cli_interrupt_is_a_message_and_exit_130_not_a_traceback(tmp_path, monkeypatch, capsys):
    import bench.report

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    write_results(to_frame(_cell("a", "argminn", 0, "k1", ["deeplift_shap"], 0.9)), tmp_path / "p1", {})
    monkeypatch.setattr(bench.report, "build_report", interrupted)
    assert main(["report", str(tmp_path / "p1"), "--out", str(tmp_path / "out")]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "python -m bench report" in err and "Traceback" not in err
