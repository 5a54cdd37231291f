"""Verdicts from a hand-made results table: a known win, a tie, a gated model, the control bound."""

import json

import numpy as np
import pandas as pd
import pytest

from bench.verdicts import control_bounds, verdict_summary, verdict_table


def _params(name):
    return json.dumps({"name": name, "params": {}})


def _row(sim, model, seed, method, metric, value, status="ok", detail=""):
    return {"suite": "t", "simulation": sim, "model": model, "seed": seed, "method": method, "metric": metric,
            "value": value, "status": status, "reason": "", "model_params": _params(model),
            "method_params": _params(method), "detail": detail}


def _instances(tp, n_calls, n_truth, status="ok", sim="g", model="argminn", method="argminn_readout", seed=0,
               tp_best=None, n_calls_best=None):
    """A per-sequence components row; at the best cut-off the same counts unless given."""
    tp, n_calls, n_truth = ([int(v) for v in a] for a in (tp, n_calls, n_truth))
    tp_best = tp if tp_best is None else [int(v) for v in tp_best]
    n_calls_best = n_calls if n_calls_best is None else [int(v) for v in n_calls_best]
    detail = json.dumps({"n_calls": n_calls, "n_truth": n_truth, "tp": tp, "tp_identity": tp, "paper_hits": tp,
                         "tp_best": tp_best, "tp_identity_best": tp_best, "n_calls_best": n_calls_best})
    return _row(sim, model, seed, method, "per_sequence/instances", len(tp), status, detail)


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    rows = []
    for seed in (0, 1):
        hard = rng.random(200) < 0.5  # sequences both routes find hard
        good = (~hard).astype(int)
        better = np.where(rng.random(200) < 0.4, 1, good)
        ones = [1] * 200
        rows += [_instances(better, ones, ones, seed=seed),
                 _instances(good, ones, ones, model="cnn", method="modisco", seed=seed),
                 _instances(better, ones, ones, model="argminn", method="modisco", seed=seed),
                 _instances(ones, ones, ones, model="argminn", method="positive_control", seed=seed),
                 _instances(good, ones, ones, model="explainn", method="modisco", seed=seed,
                            status="not_learned"),
                 _row("g", "explainn", seed, "(model)", "training/learned", 0.0)]
        for model, method, recall in (("argminn", "argminn_readout", 1.0), ("cnn", "modisco", 0.5),
                                      ("argminn", "modisco", 1.0), ("argminn", "positive_control", 1.0)):
            rows.append(_row("g", model, seed, method, "motifs/recall", recall))
    return pd.DataFrame(rows)


def test_paired_verdicts(table):
    v = verdict_table(table)
    f1 = v[v.metric == "instances/f1"].set_index("route_b")
    win = f1.loc["cnn · modisco"]
    assert win.verdict == "better" and win.ci_low > 0 and win.n_seeds == 2 and win.n_sequences == 400
    assert win.difference == pytest.approx(win.value_a - win.value_b)
    # the same per-sequence scores: a tie at exactly zero
    same = f1.loc["argminn · modisco"]
    assert same.verdict == "tie" and same.difference == 0
    assert f1.loc["explainn · modisco"].verdict == "not learned"
    # one value per trained model and two seeds: no interval, so no claim
    recall = v[(v.metric == "motifs/recall")].set_index("route_b").loc["cnn · modisco"]
    assert recall.verdict == "tie" and np.isnan(recall.ci_low) and recall.difference == 0.5
    assert recall.n_sequences == 0
    assert list(v.columns[:10]) == ["simulation", "metric", "route_a", "route_b", "difference", "ci_low", "ci_high",
                                    "n_seeds", "n_sequences", "verdict"]


def test_summary_counts_verdicts(table):
    s = verdict_summary(verdict_table(table))
    row = s[(s.metric == "instances/f1") & (s.route_b == "cnn · modisco")].iloc[0]
    assert (row.better, row.tie, row.worse, row.n_simulations) == (1, 0, 0, 1)


def test_a_route_above_the_positive_control_is_flagged(table):
    b = control_bounds(table)
    assert not b.beats_control.any()  # the control finds every site here
    boosted = table.copy()
    ctrl = boosted.method == "positive_control"
    # a control that finds no site: every route beats it, which the report must flag
    for i in boosted.index[ctrl & (boosted.metric == "per_sequence/instances")]:
        d = json.loads(boosted.at[i, "detail"])
        d["tp"] = d["tp_identity"] = d["tp_best"] = d["tp_identity_best"] = [0] * len(d["tp"])
        boosted.at[i, "detail"] = json.dumps(d)
    flagged = control_bounds(boosted)
    f1 = flagged[flagged.metric == "instances/f1"]
    assert len(f1) == 2 and f1.beats_control.all() and (f1.control_metric == "instances/best_f1").all()


def test_the_control_is_held_to_its_best_cut_off():
    """A control whose rule calls a weak background match beside each site (F1 2/3) but whose best
    cut-off keeps the sites alone (F1 1): a route calling the sites alone (F1 1) beats the rule,
    not the bound. Results written before best_f1 existed give no bound rows."""
    ones, twos = [1] * 200, [2] * 200
    rows = []
    for seed in (0, 1):
        rows += [_instances(ones, ones, ones, seed=seed),
                 _instances(ones, twos, ones, method="positive_control", seed=seed, n_calls_best=ones)]
    table = pd.DataFrame(rows)
    b = control_bounds(table).set_index("metric")
    assert b.loc["instances/f1"].verdict == "tie" and b.loc["instances/f1"].value_b == 1.0
    assert not b.beats_control.any()
    from bench.verdicts import compare

    # against the rule's F1 the route would be "better": what the old bound flagged
    rule = compare(table, "g", "instances/f1", ("argminn", "argminn_readout"), ("argminn", "positive_control"))
    assert rule["verdict"] == "better" and rule["value_b"] == pytest.approx(2 / 3)
    old = table.copy()
    for i in old.index:
        d = json.loads(old.at[i, "detail"])
        for k in ("tp_best", "tp_identity_best", "n_calls_best"):
            d.pop(k)
        old.at[i, "detail"] = json.dumps(d)
    assert control_bounds(old).empty
    with pytest.raises(ValueError, match="metric_b"):
        compare(table, "g", "instances/f1", ("argminn", "argminn_readout"), ("argminn", "positive_control"),
                metric_b="motifs/recall")


def test_per_model_metrics_need_three_seeds(table):
    from bench.verdicts import compare

    extra = [_row("g", model, 2, method, "motifs/recall", recall)
             for model, method, recall in (("argminn", "argminn_readout", 1.0), ("cnn", "modisco", 0.5))]
    res = compare(pd.concat([table, pd.DataFrame(extra)]), "g", "motifs/recall", ("argminn", "argminn_readout"),
                  ("cnn", "modisco"))
    assert res["verdict"] == "better" and res["n_seeds"] == 3 and res["ci_low"] == res["ci_high"] == 0.5


def test_lower_is_better_and_partial_gating(table):
    from bench.verdicts import compare

    extra = []
    for seed in (0, 1, 2):
        extra += [_row("g", "argminn", seed, "argminn_readout", "motifs/n_redundant", 0.0),
                  _row("g", "cnn", seed, "modisco", "motifs/n_redundant", 2.0)]
    df = pd.concat([table, pd.DataFrame(extra)])
    res = compare(df, "g", "motifs/n_redundant", ("argminn", "argminn_readout"), ("cnn", "modisco"))
    assert res["difference"] == -2.0 and res["verdict"] == "better"  # fewer redundant motifs is better
    # the CNN's seed 1 fails the gate: that seed leaves the comparison, seed 0 stays
    gated = table.copy()
    cnn1 = (gated.model == "cnn") & (gated.seed == 1)
    gated.loc[cnn1, "status"] = "not_learned"
    res = compare(gated, "g", "instances/f1", ("argminn", "argminn_readout"), ("cnn", "modisco"))
    assert res["n_seeds"] == 1 and res["n_sequences"] == 200 and res["verdict"] == "better"


def test_a_route_with_a_handful_of_calls_gets_no_verdict(table):
    """One call in 200 sequences: most resamples have no call, the rest all see the same one."""
    from bench.verdicts import compare

    rows = [r for r in table.to_dict("records") if not (r["model"] == "cnn" and r["metric"] == "per_sequence/instances")]
    for seed in (0, 1):
        calls = [0] * 200
        calls[5] = 1
        rows.append(_instances(calls, calls, [1] * 200, model="cnn", method="modisco", seed=seed))
    res = compare(pd.DataFrame(rows), "g", "instances/precision", ("argminn", "argminn_readout"), ("cnn", "modisco"))
    assert res["min_denominator"] == 1 and np.isnan(res["ci_low"]) and res["verdict"] == "tie"


def test_routes_on_other_sequences_are_not_paired(table):
    from bench.verdicts import compare

    rows = [r for r in table.to_dict("records") if not (r["model"] == "cnn" and r["metric"] == "per_sequence/instances")]
    rows += [_instances([1] * 150, [1] * 150, [1] * 150, model="cnn", method="modisco", seed=s) for s in (0, 1)]
    res = compare(pd.DataFrame(rows), "g", "instances/f1", ("argminn", "argminn_readout"), ("cnn", "modisco"))
    assert res["verdict"] == "no data"


def test_seeds_that_disagree_give_a_wide_interval():
    """Each seed's difference is clear on its own sequences, but the seeds disagree in sign: the
    bootstrap over seeds must carry that into the interval."""
    from bench.metrics.paired import paired_difference

    ones, zeros = np.ones(300), np.zeros(300)
    seeds = [(ones, ones, zeros, ones), (zeros, ones, ones, ones), (ones, ones, zeros, ones)]
    res = paired_difference(seeds, n_boot=2000)
    assert res["ci_low"] < 0 < res["ci_high"]


# ---------------------------------------------------------------------- the new routes' pairs


def _attr_row(model, label, auroc, seed, name=None, params=None):
    detail = json.dumps({"auroc": [float(a) for a in auroc], "defined": [1] * len(auroc)})
    r = _row("g", model, seed, label, "per_sequence/attributions", len(auroc), detail=detail)
    r["method_params"] = json.dumps({"name": name or label, "params": params or {}})
    return r


@pytest.fixture
def with_new_routes(table):
    rng = np.random.default_rng(1)
    rows = []
    for seed in (0, 1):
        base = rng.uniform(0.5, 0.7, 200)
        for model in ("argminn", "cnn"):
            rows += [_attr_row(model, "deeplift_shap", base, seed),
                     _attr_row(model, "integrated_gradients", base - 0.05, seed),
                     _attr_row(model, "saliency", base + 0.1, seed),  # correction on (its default)
                     _attr_row(model, "saliency_off", base, seed, "saliency", {"gradient_correction": False}),
                     # another parameter differs too: not the correction's own comparison
                     _attr_row(model, "saliency_off_b", base, seed, "saliency",
                               {"gradient_correction": False, "batch_size": 7}),
                     _attr_row(model, "ig_corrected", base, seed, "integrated_gradients",
                               {"gradient_correction": True}),
                     _attr_row(model, "smoothgrad", base, seed),
                     _attr_row(model, "expected_gradients", base, seed, params={"n_samples": 5}),
                     _attr_row(model, "ism", base - 0.02, seed)]
        ones = [1] * 200
        rows += [_instances(ones, ones, ones, model="cnn", method="seqlets", seed=seed),
                 _instances(ones, ones, ones, model="argminn", method="seqlets_fdr", seed=seed)]
        rows[-1]["method_params"] = json.dumps({"name": "seqlets", "params": {"target_fdr": 0.1}})
    return pd.concat([table, pd.DataFrame(rows)], ignore_index=True)


def test_new_routes_pairs(table, with_new_routes):
    from bench.verdicts import READOUT_METRICS, planned_pairs

    old = planned_pairs(table)
    pairs = planned_pairs(with_new_routes)
    auroc = {(a, b) for _, m, a, b in pairs if m == "attributions/auroc"}
    for model in ("argminn", "cnn"):
        for label in ("saliency", "saliency_off", "saliency_off_b", "smoothgrad", "expected_gradients", "ism"):
            assert ((model, label), (model, "deeplift_shap")) in auroc  # every gradient route and ISM vs DLS
        assert ((model, "ig_corrected"), (model, "deeplift_shap")) not in auroc  # IG keeps its own pair
        assert ((model, "deeplift_shap"), (model, "integrated_gradients")) in auroc  # the old pair
        assert ((model, "deeplift_shap"), (model, "ig_corrected")) in auroc
        # the correction on against off, where every other parameter is equal
        assert ((model, "saliency"), (model, "saliency_off")) in auroc
        assert ((model, "saliency"), (model, "saliency_off_b")) not in auroc
        assert ((model, "ig_corrected"), (model, "integrated_gradients")) in auroc
    assert not any(a[0] != b[0] for a, b in auroc if "deeplift_shap" not in (a[1], b[1]))  # same model
    seq = [(m, a, b) for _, m, a, b in pairs if b[1].startswith("seqlets")]
    assert {m for m, _, _ in seq} == set(READOUT_METRICS)
    assert {(a, b) for _, a, b in seq} == {(("argminn", "argminn_readout"), ("cnn", "seqlets")),
                                           (("argminn", "argminn_readout"), ("argminn", "seqlets_fdr"))}
    # the old pairs are all still there, in their order
    assert [p for p in pairs if p in set(old)] == old and len(old) > 0
    # every attribution pair on the field's positional measures too; results without their components: no data
    from bench.verdicts import ATTRIBUTION_METRICS

    assert {m for _, m, a, b in pairs if (a, b) == (("cnn", "saliency"), ("cnn", "deeplift_shap"))} == set(
        ATTRIBUTION_METRICS)
    v = verdict_table(with_new_routes)
    assert set(v[v.metric == "attributions/mass_in_motifs"].verdict) == {"no data"}


def test_correction_verdict(with_new_routes):
    v = verdict_table(with_new_routes)
    row = v[(v.route_a == "cnn · saliency") & (v.route_b == "cnn · saliency_off")].iloc[0]
    assert row.verdict == "better" and row.difference == pytest.approx(0.1)
    tie = v[(v.route_a == "cnn · smoothgrad") & (v.route_b == "cnn · deeplift_shap")].iloc[0]
    assert tie.verdict == "tie" and tie.difference == 0
    assert set(v[v.route_b == "cnn · seqlets"].verdict) <= {"worse", "tie", "better", "no data"}


def test_route_intervals_cover_the_route_and_leave_out_unlearned_seeds():
    """A route whose per-sequence AUROC is 0.8 on every sequence: value 0.8, a zero-width interval; with
    varied sequences the interval brackets the mean; a seed whose model failed the gate is left out."""
    from bench.verdicts import route_intervals

    def comp(values):
        return json.dumps({"auroc": list(values), "defined": [1.0] * len(values)})

    def r(seed, values, model="cnn", status="ok"):
        return {"suite": "t", "simulation": "g", "model": model, "seed": seed, "method": "deeplift_shap",
                "metric": "per_sequence/attributions", "value": float(len(values)), "status": status,
                "reason": "", "model_params": '{"name": "cnn"}', "method_params": '{"name": "deeplift_shap"}',
                "detail": comp(values)}

    rng = np.random.default_rng(0)
    varied = rng.uniform(0.5, 1.0, 200)
    df = pd.DataFrame([r(0, [0.8] * 50), r(1, [0.8] * 50), r(0, varied, "argminn"),
                       r(1, varied, "argminn", status="not_learned")])
    out = route_intervals(df, metrics=["attributions/auroc"]).set_index("model")
    flat = out.loc["cnn"]
    assert flat.value == pytest.approx(0.8) and flat.ci_low == pytest.approx(0.8) and flat.n_seeds == 2
    var = out.loc["argminn"]
    assert var.n_seeds == 1 and var.ci_low < varied.mean() < var.ci_high and var.value == pytest.approx(varied.mean())
    assert var.ci_high - var.ci_low < 0.05
