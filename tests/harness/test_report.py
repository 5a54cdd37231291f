"""The report on a hand-made results table: tables, the paper comparison, figures, skipped rows."""

import json

import numpy as np
import pandas as pd
import pytest

from bench.paper import PAPER, paper_comparison
from bench.report import build_report, metric_tables, status_table, syntax_curve_figure, unlearned_models


def _row(sim, model, seed, method, metric, value, status="ok", reason="", detail=""):
    return {"suite": "t", "simulation": sim, "model": model, "seed": seed, "method": method, "metric": metric,
            "value": value, "status": status, "reason": reason, "model_params": "{}", "method_params": "{}",
            "detail": detail}


@pytest.fixture
def results():
    curve = {"spacing": [0, 1, 2, 3], "delta": [0.1, 0.2, 1.5, 0.3], "delta_sem": [0.01] * 4,
             "planted": [2], "planted_weight": [1.0]}
    rows = [
        _row("spi1_single", "argminn", 0, "(model)", "prediction/auroc", 0.94),
        _row("spi1_single", "argminn", 1, "(model)", "prediction/auroc", 0.96),
        _row("spi1_single", "cnn", 0, "(model)", "prediction/auroc", 0.90),
        _row("spi1_single", "argminn", 0, "argminn_readout", "instances/paper_precision", 0.90),
        _row("spi1_single", "argminn", 1, "argminn_readout", "instances/paper_precision", 1.00),
        _row("spi1_single", "argminn", 0, "argminn_readout", "motifs/n_recovered", 1.0),
        _row("spi1_single", "cnn", 0, "argminn_readout", "(method)", np.nan, "skipped", "needs an ARGMINN model"),
        _row("e2f6_max_cooperativity", "argminn", 0, "(in silico)", "syntax/E2F6+MAX_peak_delta", 1.5,
             detail=json.dumps(curve)),
        _row("my_grammar", "argminn", 0, "(model)", "prediction/auroc", 0.52),
        _row("my_grammar", "argminn", 0, "(model)", "training/learned", 0.0,
             detail=json.dumps({"bar": 0.625, "reason": "model did not learn: test auROC 0.520 < 0.625"})),
        _row("my_grammar", "argminn", 0, "argminn_readout", "instances/f1", 0.3, "not_learned", "model did not learn"),
    ]
    return pd.DataFrame(rows)


def test_metric_tables_mean_and_sd_over_seeds(results):
    t = metric_tables(results)["prediction/auroc"]
    assert t.loc["argminn · (model)", "spi1_single"] == "0.95 ± 0.014 [2/2]"
    assert t.loc["cnn · (model)", "spi1_single"] == "0.9 [1/1]"


def test_metric_tables_count_what_the_mean_leaves_out(results):
    """A seed without a defined value, or whose model did not learn, is counted in N, not in the mean."""
    extra = pd.DataFrame([_row("spi1_single", "argminn", 2, "argminn_readout", "instances/paper_precision",
                               np.nan, "skipped", "undefined for this cell")])
    t = metric_tables(pd.concat([results, extra]))
    assert t["instances/paper_precision"].loc["argminn · argminn_readout", "spi1_single"] == "0.95 ± 0.071 [2/3]"
    assert t["instances/f1"].loc["argminn · argminn_readout", "my_grammar"] == "— [0/1]"


def test_paper_comparison_only_where_both_sides_exist(results):
    cmp = paper_comparison(results)
    assert set(cmp.simulation) == {"spi1_single"}  # my_grammar has no paper number
    auroc = cmp[(cmp.metric == "prediction/auroc") & (cmp.route == "argminn · (model)")].iloc[0]
    assert auroc.ours == 0.95 and auroc.paper == 0.955 and auroc.n_seeds == 2
    assert auroc.verdict == "within 0.02"
    cnn = cmp[(cmp.metric == "prediction/auroc") & (cmp.route == "cnn · (model)")].iloc[0]
    assert cnn.verdict == "lower" and cnn.difference == pytest.approx(0.90 - 0.949, abs=1e-3)
    prec = cmp[cmp.metric == "instances/paper_precision"].iloc[0]
    assert prec.ours == 0.95 and prec.paper == PAPER[("spi1_single", "instances/paper_precision", "argminn",
                                                      "argminn_readout")]


def test_models_near_chance_are_listed(results):
    low = unlearned_models(results)
    assert low[["simulation", "model", "seed"]].values.tolist() == [["my_grammar", "argminn", 0]]
    assert low.test_auroc.tolist() == [0.52] and low.bar.tolist() == [0.625]


def test_status_table_keeps_skipped_rows(results):
    s = status_table(results)
    assert s.reason.tolist() == ["needs an ARGMINN model"]


def test_syntax_curves_drawn_from_the_detail_column(results, tmp_path):
    paths = syntax_curve_figure(results, "t", tmp_path)
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 0 for p in paths)
    assert syntax_curve_figure(results[results.metric == "prediction/auroc"], "t", tmp_path) == []


def test_build_report_writes_every_section(results, tmp_path):
    import gc

    gc.unfreeze()
    index = build_report(results, tmp_path, title="t")
    assert gc.get_freeze_count() == 0  # what it froze for its duration is collectable again
    md = (tmp_path / "README.md").read_text()
    for section in ("Against the paper", "Models that did not learn", "Prediction on held-out sequences", "Skipped and failed",
                    "Syntax: spacing curves"):
        assert section in md, section
    assert "needs an ARGMINN model" in md and index.exists()
    assert "## (method)" not in md  # a status-only row is listed under skipped, not as a section
    assert (tmp_path / "tables" / "against_paper.csv").exists()
    assert (tmp_path / "figures" / "prediction.png").exists()


def test_report_leads_with_verdicts_then_contents_and_groups_what_was_skipped(results, tmp_path):
    skipped = pd.DataFrame([_row("spi1_single", "cnn", s, "deeplift_shap", "instances/precision", np.nan, "skipped",
                                 "undefined for this cell") for s in (0, 1, 2)])
    build_report(pd.concat([results, skipped]), tmp_path, title="t", description="Numbers are  indicative only.")
    md = (tmp_path / "README.md").read_text()
    assert md.splitlines()[2] == "> Numbers are indicative only."  # the suite's description, first
    contents = md.index("## Contents")
    assert md.index("## Skipped and failed") > contents and "- [Against the paper](#against-the-paper)" in md
    for html_ in ((tmp_path / "index.html").read_text(),):
        assert "<blockquote>Numbers are indicative only.</blockquote>" in html_ and "<details>" in html_
    # per-measure tables collapse; the skipped rows are one line per reason, with their count
    assert "<details><summary><b>prediction/auroc</b>" in md
    from bench.report import status_summary

    grouped = status_summary(status_table(pd.concat([results, skipped])))
    row = grouped[grouped.reason == "undefined for this cell"].iloc[0]
    assert (row.rows, row.methods) == (3, "deeplift_shap")
    assert len(grouped) == 2 and md.count("undefined for this cell") == 1


def test_report_on_a_users_own_grammar_says_nothing_of_the_paper(results, tmp_path):
    own = results[results.simulation == "my_grammar"]
    build_report(own, tmp_path, title="mine")
    md = (tmp_path / "README.md").read_text()
    assert "Against the paper" not in md and "the paper" not in md.lower()
    assert not (tmp_path / "tables" / "against_paper.csv").read_text().strip().count("\n")


def test_seed_selection_keeps_the_best_validation_seed_not_the_best_test_seed(tmp_path):
    """Seed 1 has the better validation auROC at its kept epoch, seed 0 the better test auROC and the
    better validation auROC at an epoch that was not kept: seed 1 is selected."""
    import models
    from bench.report_figures import seed_selection_table

    def history(valid, kept):
        return [{"epoch": e, "valid_auroc": v, "best": e == kept} for e, v in enumerate(valid)]

    rows = []
    for seed, valid, kept, test in ((0, [0.6, 0.99, 0.8], 2, 0.97), (1, [0.7, 0.9, 0.85], 1, 0.93)):
        key = f"m{seed}"
        models.save_model(tmp_path / "model" / key / "model.pt", models.build_model("cnn", {}, 100),
                          {"name": "cnn", "params": {}, "input_length": 100},
                          {"history": history(valid, kept), "test_metrics": {"auroc": test}})
        detail = json.dumps({"model_key": key, "dataset_key": "d"})
        rows += [_row("rest_both", "cnn", seed, "(model)", "prediction/auroc", test),
                 _row("rest_both", "cnn", seed, "(model)", "runtime_s/train", 1.0, detail=detail)]
    rows.append(_row("rest_both", "cnn", 2, "(model)", "runtime_s/train", 1.0,  # not cached: left out
                     detail=json.dumps({"model_key": "gone", "dataset_key": "d"})))
    table = seed_selection_table(pd.DataFrame(rows), tmp_path)
    assert len(table) == 1
    row = table.iloc[0]
    assert (row.n_seeds, row.selected_seed, row.selected_valid_auroc, row.selected_test_auroc) == (2, 1, 0.9, 0.93)
    assert row.mean_test_auroc == pytest.approx(0.95)
    assert row.paper == PAPER[("rest_both", "prediction/auroc", "cnn", "(model)")]
    assert row.difference == pytest.approx(0.93 - row.paper, abs=1e-3) and row.verdict == "higher"
    assert seed_selection_table(pd.DataFrame(rows), tmp_path / "elsewhere").empty


def test_simulation_ceilings_read_each_cached_dataset_once(tmp_path):
    """A strong 12-mer against background: both oracles reach 1; a dataset shared by two models counts
    once, one whose cache entry is gone is left out, and each model's mean test auROC sits beside them."""
    from bench.report_figures import simulation_ceilings
    from simulations import simulate
    from tests.specs import lone_motif_spec

    simulate(lone_motif_spec({"consensus": "ACGTTGCAGGTC"}), 300, seed=0).save(tmp_path / "dataset" / "d0" / "dataset")
    rows = []
    for model, seed, auroc, key in (("argminn", 0, 0.9, "d0"), ("cnn", 0, 0.8, "d0"), ("cnn", 1, 0.7, "gone")):
        detail = json.dumps({"model_key": f"{model}{seed}", "dataset_key": key})
        rows += [_row("spi1_single", model, seed, "(model)", "prediction/auroc", auroc),
                 _row("spi1_single", model, seed, "(model)", "runtime_s/train", 1.0, detail=detail)]
    table = simulation_ceilings(pd.DataFrame(rows), tmp_path)
    assert table.to_dict("records") == [{
        "simulation": "spi1_single", "n_datasets": 1, "ceiling_likelihood_ratio": 1.0, "ceiling_planted_content": 1.0,
        "argminn": 0.9, "cnn": 0.75, "paper_argminn": PAPER[("spi1_single", "prediction/auroc", "argminn", "(model)")]}]
    assert simulation_ceilings(pd.DataFrame(rows), tmp_path / "elsewhere").empty


def test_ceiling_tables_leave_out_only_a_grammar_without_a_likelihood_ratio(tmp_path, caplog):
    """A grammar whose classes are not labelled 0 and 1 (here all 1) has no likelihood-ratio ceiling: its dataset is
    left out with a warning naming it, and the other grammar's rows stay in both tables."""
    import models

    from bench.report_figures import HeldOutSplits, ceiling_shortfall, seed_selection_table, simulation_ceilings
    from simulations import simulate
    from tests.specs import lone_motif_spec

    graded = lone_motif_spec({"consensus": "ACGTTGCAGGTC"}, name="graded")
    graded["classes"][1]["label"] = 1  # every class a positive: trainable, but nothing to tell apart
    rows = []
    for sim, key, spec in (("spi1_single", "d0", lone_motif_spec({"consensus": "ACGTTGCAGGTC"})),
                           ("graded", "d1", graded)):
        ds = simulate(spec, 300, seed=0)
        ds.save(tmp_path / "dataset" / key / "dataset")
        models.save_model(tmp_path / "model" / f"m_{key}" / "model.pt", models.build_model("cnn", {}, ds.length),
                          {"name": "cnn", "params": {}, "input_length": ds.length},
                          {"history": [{"epoch": 0, "valid_auroc": 0.7, "best": True}]})
        detail = json.dumps({"model_key": f"m_{key}", "dataset_key": key})
        rows += [_row(sim, "cnn", 0, "(model)", "prediction/auroc", 0.8),
                 _row(sim, "cnn", 0, "(model)", "runtime_s/train", 1.0, detail=detail)]
    df = pd.DataFrame(rows)
    splits = HeldOutSplits(tmp_path)
    with caplog.at_level("WARNING", logger="bench.report_figures"):
        table = simulation_ceilings(df, tmp_path, splits)
    assert list(table.simulation) == ["spi1_single"]
    assert "graded" in caplog.text and "labelled 0 and 1" in caplog.text
    assert splits.get("d1") is None
    selection = seed_selection_table(df, tmp_path)
    assert sorted(selection.simulation) == ["graded", "spi1_single"]  # both models are read ...
    assert list(ceiling_shortfall(df, tmp_path, selection, splits).simulation) == ["spi1_single"]  # ... one is scored


def test_ceiling_shortfall_splits_the_selected_seeds_gap(tmp_path):
    """The gap of the seed selected on validation to the likelihood ratio, on its own test split, equals
    the sum of its parts by weakest-site group; a model whose cache entry is gone is left out."""
    import models
    import torch
    from sklearn.metrics import roc_auc_score

    from bench.metrics.prediction import likelihood_ratio_oracle
    from bench.report_figures import ceiling_shortfall
    from simulations import SimulatedDataset, simulate
    from tests.specs import lone_motif_spec

    simulate(lone_motif_spec({"consensus": "ACGTTG"}), 400, seed=0).save(tmp_path / "dataset" / "d0" / "dataset")
    ds = SimulatedDataset.load(tmp_path / "dataset" / "d0" / "dataset")
    rows = []
    for seed, valid in ((0, 0.6), (1, 0.7)):
        torch.manual_seed(seed)
        models.save_model(tmp_path / "model" / f"m{seed}" / "model.pt", models.build_model("cnn", {}, ds.length),
                          {"name": "cnn", "params": {}, "input_length": ds.length},
                          {"history": [{"epoch": 0, "valid_auroc": valid, "best": True}]})
        detail = json.dumps({"model_key": f"m{seed}", "dataset_key": "d0"})
        rows += [_row("spi1_single", "cnn", seed, "(model)", "prediction/auroc", 0.5),
                 _row("spi1_single", "cnn", seed, "(model)", "runtime_s/train", 1.0, detail=detail)]
    rows.append(_row("spi1_single", "argminn", 0, "(model)", "runtime_s/train", 1.0,
                     detail=json.dumps({"model_key": "gone", "dataset_key": "d0"})))
    table = ceiling_shortfall(pd.DataFrame(rows), tmp_path)
    assert len(table) == 1
    row = table.iloc[0]
    assert (row.simulation, row.model, row.seed) == ("spi1_single", "cnn", 1)
    test = ds.splits["test"]
    model, _ = models.load_model(tmp_path / "model" / "m1" / "model.pt")
    assert row.auroc == pytest.approx(roc_auc_score(ds.y[test], models.predict(model, ds.x[test])), abs=1e-3)
    assert row.ceiling == pytest.approx(likelihood_ratio_oracle(ds.spec, ds.x[test], ds.y[test]), abs=1e-3)
    parts = row[[c for c in table.columns if c.startswith("gap: ")]]
    assert row.gap == pytest.approx(row.ceiling - row.auroc, abs=2e-3)
    assert parts.sum() == pytest.approx(row.gap, abs=5e-3)  # each part rounded to 3 decimals
    assert ceiling_shortfall(pd.DataFrame(rows), tmp_path / "elsewhere").empty


def test_selected_seed_routes_read_only_the_selected_seed():
    from bench.report import selected_seed_routes

    rows = []
    for seed, f1 in ((0, 0.2), (1, 0.9)):
        rows += [_row("rest_both", "cnn", seed, "modisco", "instances/f1", f1),
                 _row("rest_both", "cnn", seed, "modisco", "motifs/n_recovered", 2.0 + seed),
                 _row("rest_both", "cnn", seed, "(model)", "prediction/auroc", 0.9)]
    rows.append(_row("rest_both", "argminn", 0, "argminn_readout", "instances/f1", 0.5))  # no selection: left out
    selection = pd.DataFrame([{"simulation": "rest_both", "model": "cnn", "selected_seed": 1}])
    table = selected_seed_routes(pd.DataFrame(rows), selection)
    assert table.to_dict("records") == [{"metric": "instances/f1", "route": "cnn · modisco", "rest_both": 0.9},
                                        {"metric": "motifs/n_recovered", "route": "cnn · modisco", "rest_both": 3.0}]
    assert selected_seed_routes(pd.DataFrame(rows), pd.DataFrame()).empty


def test_fit_margins_keeps_labels_and_titles_inside_the_figure_and_off_other_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bench.report_figures import fit_margins

    fig, axes = plt.subplots(2, 3, figsize=(8, 5), squeeze=False)
    for ax in axes.ravel():
        ax.set_xticks(range(3), ["a_long_simulation_name_x", "b", "c"], rotation=30, ha="right")
        ax.set_yticks([0, 1_000_000])
        ax.set_title("a panel title")
    axes[1, 2].axis("off")
    fig.suptitle("a suptitle")
    fit_margins(fig, axes, bottom=0.1)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend_band = 0.1 * fig.bbox.height
    suptitle = fig._suptitle.get_window_extent(renderer)
    used = [ax for ax in axes.ravel() if ax.axison]
    for ax in used:
        for text in ax.get_xticklabels() + ax.get_yticklabels() + [ax.title]:
            box = text.get_window_extent(renderer)
            assert box.x0 >= -1 and box.x1 <= fig.bbox.x1 + 1 and box.y0 >= legend_band - 1, text.get_text()
            assert not box.overlaps(suptitle), text.get_text()
            for other in used:
                if other is not ax:
                    assert not box.overlaps(other.get_window_extent(renderer)), text.get_text()
    plt.close(fig)
