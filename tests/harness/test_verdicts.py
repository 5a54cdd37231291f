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


def _instances(tp, n_calls, n_truth, status="ok", sim="g", model="argminn", method="argminn_readout", seed=0):
    tp, n_calls, n_truth = ([int(v) for v in a] for a in (tp, n_calls, n_truth))
    detail = json.dumps({"n_calls": n_calls, "n_truth": n_truth, "tp": tp, "tp_identity": tp, "paper_hits": tp})
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
        d["tp"] = d["tp_identity"] = [0] * len(d["tp"])
        boosted.at[i, "detail"] = json.dumps(d)
    flagged = control_bounds(boosted)
    assert flagged[flagged.metric == "instances/f1"].beats_control.all()


def test_per_model_metrics_need_three_seeds(table):
    from bench.verdicts import compare

    extra = [_row("g", model, 2, method, "motifs/recall", recall)
             for model, method, recall in (("argminn", "argminn_readout", 1.0), ("cnn", "modisco", 0.5))]
    res = compare(pd.concat([table, pd.DataFrame(extra)]), "g", "motifs/recall", ("argminn", "argminn_readout"),
                  ("cnn", "modisco"))
    assert res["verdict"] == "better" and res["n_seeds"] == 3 and res["ci_low"] == res["ci_high"] == 0.5
