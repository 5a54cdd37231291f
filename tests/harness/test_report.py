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


def _history_row(sim, model, seed, valid, kept):
    curve = {"epoch": list(range(len(valid))), "valid_auroc": list(valid), "best": [e == kept for e in range(len(valid))],
             "weight_overlap": [0.0] * len(valid)}
    return _row(sim, model, seed, "(model)", "record/training_history", float(len(valid)), detail=json.dumps(curve))


def test_seed_selection_keeps_the_best_validation_seed_not_the_best_test_seed():
    """Seed 1 has the better validation auROC at its kept epoch, seed 0 the better test auROC and the
    better validation auROC at an epoch that was not kept: seed 1 is selected. Read from the run's
    records alone: a seed without a recorded history is left out."""
    from bench.report_figures import seed_selection_table

    rows = []
    for seed, valid, kept, test in ((0, [0.6, 0.99, 0.8], 2, 0.97), (1, [0.7, 0.9, 0.85], 1, 0.93)):
        rows += [_row("rest_both", "cnn", seed, "(model)", "prediction/auroc", test),
                 _history_row("rest_both", "cnn", seed, valid, kept)]
    rows.append(_row("rest_both", "cnn", 2, "(model)", "prediction/auroc", 0.99))  # no history recorded
    table = seed_selection_table(pd.DataFrame(rows))
    assert len(table) == 1
    row = table.iloc[0]
    assert (row.n_seeds, row.selected_seed, row.selected_valid_auroc, row.selected_test_auroc) == (2, 1, 0.9, 0.93)
    assert row.mean_test_auroc == pytest.approx(0.95)
    assert row.paper == PAPER[("rest_both", "prediction/auroc", "cnn", "(model)")]
    assert row.difference == pytest.approx(0.93 - row.paper, abs=1e-3) and row.verdict == "higher"
    assert seed_selection_table(pd.DataFrame(rows[::2])).empty  # results without records: no table


def _held_out_row(sim, model, seed, held):
    return _row(sim, model, seed, "(model)", "record/held_out", held["value"],
                detail=json.dumps({"ceiling_likelihood_ratio": held["value"],
                                   "ceiling_planted_content": held["planted_content"]}))


def test_simulation_ceilings_count_each_dataset_once():
    """A strong 12-mer against background: both oracles reach 1 (computed once per dataset by the run,
    bench.registry.held_out); a dataset shared by two models counts once, and each model's mean test
    auROC sits beside them."""
    from bench.registry import held_out
    from bench.report_figures import simulation_ceilings
    from simulations import simulate
    from tests.specs import lone_motif_spec

    held = held_out(simulate(lone_motif_spec({"consensus": "ACGTTGCAGGTC"}), 300, seed=0))
    assert held["value"] == 1.0 and held["planted_content"] == 1.0 and len(held["ratio_scores"]) > 0
    rows = []
    for model, seed, auroc in (("argminn", 0, 0.9), ("cnn", 0, 0.8), ("cnn", 1, 0.7)):
        rows.append(_row("spi1_single", model, seed, "(model)", "prediction/auroc", auroc))
        if seed == 0:
            rows.append(_held_out_row("spi1_single", model, seed, held))
    table = simulation_ceilings(pd.DataFrame(rows))
    assert table.to_dict("records") == [{
        "simulation": "spi1_single", "n_datasets": 1, "ceiling_likelihood_ratio": 1.0, "ceiling_planted_content": 1.0,
        "argminn": 0.9, "cnn": 0.75, "paper_argminn": PAPER[("spi1_single", "prediction/auroc", "argminn", "(model)")]}]
    assert simulation_ceilings(pd.DataFrame(rows[:1])).empty


def test_a_grammar_without_a_likelihood_ratio_has_no_held_out_record():
    """A grammar whose classes are not labelled 0 and 1 (here all 1) has no likelihood-ratio ceiling: the
    run records none for it (the gate then measures from 1.0), and the tables leave out only it."""
    from bench.registry import held_out
    from bench.report_figures import ceiling_shortfall, seed_selection_table, simulation_ceilings
    from simulations import simulate
    from tests.specs import lone_motif_spec

    graded = lone_motif_spec({"consensus": "ACGTTGCAGGTC"}, name="graded")
    graded["classes"][1]["label"] = 1  # every class a positive: trainable, but nothing to tell apart
    assert held_out(simulate(graded, 300, seed=0)) == {"value": None, "planted_content": None, "ratio_scores": None}
    good = held_out(simulate(lone_motif_spec({"consensus": "ACGTTGCAGGTC"}), 300, seed=0))
    rows = [_row(sim, "cnn", 0, "(model)", "prediction/auroc", 0.8) for sim in ("spi1_single", "graded")]
    rows += [_history_row(sim, "cnn", 0, [0.7], 0) for sim in ("spi1_single", "graded")]
    rows += [_held_out_row("spi1_single", "cnn", 0, good),
             _row("spi1_single", "cnn", 0, "(model)", "record/shortfall", 0.2, detail=json.dumps({"gap": 0.2}))]
    df = pd.DataFrame(rows)
    assert list(simulation_ceilings(df).simulation) == ["spi1_single"]
    selection = seed_selection_table(df)
    assert sorted(selection.simulation) == ["graded", "spi1_single"]  # both models are read ...
    assert list(ceiling_shortfall(df, selection).simulation) == ["spi1_single"]  # ... one is scored


def test_shortfall_splits_the_gap_and_the_table_takes_the_selected_seed():
    """The gap of a model to the likelihood ratio on its test split equals the sum of its parts by
    weakest-site group (bench.metrics.shortfall.shortfall_record, as the run records it); the table
    keeps the record of the seed selected on validation."""
    import models
    import torch
    from sklearn.metrics import roc_auc_score

    from bench.metrics.prediction import likelihood_ratio_oracle, likelihood_ratio_scores
    from bench.metrics.shortfall import shortfall_record
    from bench.report_figures import ceiling_shortfall
    from simulations import simulate
    from tests.specs import lone_motif_spec

    ds = simulate(lone_motif_spec({"consensus": "ACGTTG"}), 400, seed=0)
    test = ds.splits["test"]
    ratio = likelihood_ratio_scores(ds.spec, ds.x[test])
    rows = []
    for seed, valid in ((0, 0.6), (1, 0.7)):
        torch.manual_seed(seed)
        model = models.build_model("cnn", {}, ds.length)
        logits = models.predict(model, ds.x[test])
        rec = shortfall_record(ds.instances, ds.y, test, logits, ratio)
        assert rec["auroc"] == pytest.approx(roc_auc_score(ds.y[test], logits), abs=1e-3)
        assert rec["ceiling"] == pytest.approx(likelihood_ratio_oracle(ds.spec, ds.x[test], ds.y[test]), abs=1e-3)
        assert rec["gap"] == pytest.approx(rec["ceiling"] - rec["auroc"], abs=2e-3)
        parts = [v for k, v in rec.items() if k.startswith("gap: ")]
        assert sum(parts) == pytest.approx(rec["gap"], abs=5e-3)  # each part rounded to 3 decimals
        rows += [_row("spi1_single", "cnn", seed, "(model)", "prediction/auroc", 0.5),
                 _history_row("spi1_single", "cnn", seed, [valid], 0),
                 _row("spi1_single", "cnn", seed, "(model)", "record/shortfall", rec["gap"], detail=json.dumps(rec))]
    table = ceiling_shortfall(pd.DataFrame(rows))
    assert len(table) == 1 and (table.iloc[0].model, table.iloc[0].seed) == ("cnn", 1)
    assert table.iloc[0].gap == json.loads(rows[-1]["detail"])["gap"]


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


def test_logo_panels_put_patterns_the_quality_rule_drops_last_and_say_so():
    """A one-column "A" correlates perfectly with an A column of the planted motif, but the quality
    rule (trimmed length >= 5) drops it, so the metrics never score it: the logo must not show it
    first as a perfect match."""
    from bench.report_figures import discovered_logo_panels
    from simulations import Motif

    one_hot = lambda s: np.eye(4)[["ACGT".index(c) for c in s]].T * 0.97 + 0.0075
    planted = Motif("P", one_hot("AGGAAGT"))
    found = [Motif("single_A", np.hstack([np.full((4, 3), 0.25), one_hot("A"), np.full((4, 3), 0.25)])),
             Motif("close", one_hot("AGGAAGC")), Motif("flat", np.full((4, 8), 0.25))]
    panels = discovered_logo_panels(found, [planted])
    titles = [t for t, _ in panels]
    assert titles[0].startswith("close (sim ") and "fails" not in titles[0]
    assert titles[1].startswith("single_A (sim 1.00, fails quality")
    assert len(panels) == 2 and panels[1][1].shape == (4, 1)  # the flat one trims to nothing
