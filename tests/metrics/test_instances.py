import numpy as np
import pandas as pd
import pytest

from bench.metrics import instance_components, instance_scores, overlap_pairs, sequence_counts, topk_curve
from bench.metrics.instances import best_cutoff, call_priority, greedy_match
from simulations import empty_instances


def calls(rows):
    return pd.DataFrame(rows, columns=["seq", "start", "end", "strand", "motif", "score"])


def truth(rows):
    return pd.DataFrame(rows, columns=["seq", "start", "end", "strand", "motif", "score", "role", "functional"])


T = truth([
    (0, 10, 20, "+", "GATA", 1.0, "r", True),
    (0, 50, 60, "-", "TAL", 1.0, "r", True),
    (1, 30, 40, "+", "GATA", 1.0, "r", True),
    (1, 80, 90, "+", "GATA", 1.0, "decoy", False),
])


def test_hand_made_case():
    c = calls([
        (0, 12, 22, "+", "p0", 0.9),  # on GATA site (overlap 8)
        (0, 14, 24, "-", "p0", 0.5),  # second call on the same site (overlap 6)
        (0, 55, 65, "+", "p1", 0.8),  # on TAL (overlap 5 = half of 10: counts)
        (1, 36, 46, "+", "p1", 0.7),  # overlap 4 < 5 with site 3: miss
        (1, 82, 92, "+", "p0", 0.6),  # on the decoy
    ])
    r = instance_scores(c, T, assignment={"p0": "GATA", "p1": "GATA"}, n_sequences=4)
    assert r["paper_precision"] == pytest.approx(3 / 5)
    assert r["paper_recall"] == pytest.approx(3 / 3)  # counts calls: inflated
    assert r["paper_recall_distinct"] == pytest.approx(2 / 3)
    assert r["precision"] == pytest.approx(2 / 5)
    assert r["recall"] == pytest.approx(2 / 3)
    assert r["f1"] == pytest.approx(2 * 2 / (5 + 3))
    # identity: p1 maps to GATA, so the call on TAL is wrong; only the 0.9 call counts
    assert r["precision_identity"] == pytest.approx(1 / 5)
    assert r["recall_identity"] == pytest.approx(1 / 3)
    # AP: by score 0.9 TP, 0.8 TP, 0.7 FP, 0.6 FP, 0.5 FP; n_pos 3 -> (1/3)(1) + (1/3)(1) = 2/3
    assert r["average_precision"] == pytest.approx(2 / 3)
    assert r["decoy_call_fraction"] == pytest.approx(1 / 5)
    assert r["decoy_hit_fraction"] == 1.0
    assert r["calls_per_sequence"] == pytest.approx(5 / 4)
    assert r["truth_per_sequence"] == pytest.approx(3 / 4)
    # calls per sequence [3, 2, 0, 0] vs functional truth [2, 1, 0, 0]
    assert r["per_sequence_count_mae"] == pytest.approx(0.5)
    assert r["per_sequence_count_emd"] == pytest.approx(0.5)
    curve = topk_curve(c, T, [1, 2, 5, 9])
    assert curve["k"].tolist() == [1, 2, 5, 5]  # k above the number of calls is clipped
    np.testing.assert_allclose(curve["paper_precision"], [1, 1, 3 / 5, 3 / 5])
    np.testing.assert_allclose(curve["paper_recall"], [1 / 3, 2 / 3, 2 / 3, 2 / 3])
    np.testing.assert_allclose(curve["precision"], [1, 1, 2 / 5, 2 / 5])
    np.testing.assert_allclose(curve["recall"], [1 / 3, 2 / 3, 2 / 3, 2 / 3])


def test_greedy_prefers_higher_score_then_iou():
    t = truth([(0, 10, 20, "+", "A", 1, "r", True), (0, 16, 26, "+", "A", 1, "r", True)])
    # the high-score call overlaps both; it takes the higher-IoU site (16-26), leaving 10-20 to the other
    c = calls([(0, 15, 25, "+", "A", 0.9), (0, 12, 22, "+", "A", 0.1)])
    ci, tj, iou = overlap_pairs(c, t)
    m = greedy_match(ci, tj, iou, call_priority(c["score"].to_numpy(float)), 2)
    assert list(m) == [1, 0]


def test_ties_and_all_equal_scores():
    c = calls([(0, 10, 20, "+", "A", 1.0), (0, 10, 20, "+", "A", 1.0), (0, 70, 80, "+", "A", 1.0)])
    t = truth([(0, 10, 20, "+", "A", 1, "r", True)])
    r = instance_scores(c, t)
    assert r["precision"] == pytest.approx(1 / 3) and r["recall"] == 1.0
    # one threshold holding all calls: precision 1/3 at recall 1
    assert r["average_precision"] == pytest.approx(1 / 3)
    assert np.isnan(r["precision_identity"])  # no assignment given


def test_no_calls_no_truth():
    t = T
    r = instance_scores(empty_instances(), t)
    assert np.isnan(r["precision"]) and r["recall"] == 0.0 and r["f1"] == 0.0
    assert r["average_precision"] == 0.0 and np.isnan(r["decoy_call_fraction"])
    c = calls([(0, 1, 5, "+", "A", 1.0)])
    r = instance_scores(c, empty_instances(truth=True))
    assert r["precision"] == 0.0 and np.isnan(r["recall"]) and r["f1"] == 0.0
    assert np.isnan(r["average_precision"]) and np.isnan(r["decoy_hit_fraction"])
    r = instance_scores(empty_instances(), empty_instances(truth=True))
    assert np.isnan(r["f1"]) and np.isnan(r["calls_per_sequence"]) and np.isnan(r["per_sequence_count_mae"])
    assert topk_curve(empty_instances(), T).empty
    assert np.isnan(topk_curve(c, empty_instances(truth=True))["recall"]).all()
    assert sequence_counts(empty_instances(), T, 3)["n_truth"].tolist() == [2, 2, 0]  # decoys count here


def test_input_checks():
    with pytest.raises(ValueError, match="n_sequences"):
        instance_scores(empty_instances(), T, n_sequences=1)
    with pytest.raises(ValueError, match="ks"):
        topk_curve(calls([(0, 1, 5, "+", "A", 1.0)]), T, [0])
    with pytest.raises(ValueError, match="calls"):
        instance_scores(calls([(0, 5, 5, "+", "A", 1.0)]), T)
    with pytest.raises(ValueError, match="truth"):
        instance_scores(empty_instances(), pd.DataFrame({"seq": [0]}))


def _random(rng, n, nseq, length):
    w = rng.integers(3, 9, n)
    st = rng.integers(0, length - 8, n)
    return pd.DataFrame({"seq": rng.integers(0, nseq, n), "start": st, "end": st + w, "strand": "+",
                         "motif": rng.choice(["A", "B"], n), "score": rng.integers(0, 4, n).astype(float),
                         "functional": True})


def _brute(c, t, assignment=None):
    """Loops: the greedy matching and paper rule written out."""
    def ok(i, j):
        if c.seq[i] != t.seq[j]:
            return None
        inter = min(c.end[i], t.end[j]) - max(c.start[i], t.start[j])
        lc, lt = c.end[i] - c.start[i], t.end[j] - t.start[j]
        if inter >= 0.5 * min(lc, lt) and (assignment is None or assignment.get(c.motif[i]) == t.motif[j]):
            return inter / (lc + lt - inter)
        return None
    order = sorted(range(len(c)), key=lambda i: (-c.score[i], i))
    used, tp, hit = set(), 0, 0
    for i in order:
        cands = [(ok(i, j), j) for j in range(len(t))]
        cands = [(v, j) for v, j in cands if v is not None]
        hit += bool(cands)
        free = [(v, j) for v, j in cands if j not in used]
        if free:
            best = max(free, key=lambda p: (p[0], -p[1]))
            used.add(best[1])
            tp += 1
    return tp, hit


def test_against_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(150):
        c = _random(rng, int(rng.integers(0, 20)), 3, 40)
        t = _random(rng, int(rng.integers(0, 20)), 3, 40)
        r = instance_scores(c, t, assignment={"A": "A", "B": "B"})
        tp, hit = _brute(c, t)
        tpi, _ = _brute(c, t, {"A": "A", "B": "B"})
        if len(c):
            assert r["precision"] == pytest.approx(tp / len(c))
            assert r["paper_precision"] == pytest.approx(hit / len(c))
            assert r["precision_identity"] == pytest.approx(tpi / len(c))
        if len(t):
            assert r["recall"] == pytest.approx(tp / len(t))


def test_average_precision_matches_sklearn_when_every_truth_is_callable():
    from sklearn.metrics import average_precision_score
    rng = np.random.default_rng(3)
    n = 200
    t = truth([(i, 10, 20, "+", "A", 1, "r", True) for i in range(n)])
    hits = rng.random(n) < 0.6
    c = calls([(i, 10 if h else 50, 20 if h else 60, "+", "A", float(s))
               for i, (h, s) in enumerate(zip(hits, rng.integers(0, 5, n)))])
    # every truth gets a call, so AP over calls equals sklearn's AP with the hit flags as labels
    r = instance_scores(c, t)
    assert r["average_precision"] == pytest.approx(average_precision_score(hits, c["score"]) * hits.sum() / n)


def test_topk_curve_against_rescoring_prefixes():
    rng = np.random.default_rng(5)
    for _ in range(40):
        c = _random(rng, int(rng.integers(1, 25)), 3, 40)
        t = _random(rng, int(rng.integers(0, 15)), 3, 40)
        curve = topk_curve(c, t)
        order = sorted(range(len(c)), key=lambda i: (-c.score[i], i))
        for k in range(1, len(c) + 1):
            r = instance_scores(c.iloc[sorted(order[:k])].reset_index(drop=True), t)
            row = curve.iloc[k - 1]
            assert row["precision"] == pytest.approx(r["precision"])
            assert row["paper_precision"] == pytest.approx(r["paper_precision"])
            if len(t):
                assert row["recall"] == pytest.approx(r["recall"])
                assert row["paper_recall"] == pytest.approx(r["paper_recall_distinct"])


# ---------------------------------------------------------------- truth roles: decoys and background matches

TR = truth([
    (0, 10, 20, "+", "GATA", 1.0, "r", True),
    (0, 50, 60, "+", "GATA", 1.0, "background_match", False),
    (1, 30, 40, "+", "GATA", 1.0, "decoy", False),
    (1, 60, 70, "+", "GATA", 1.0, "background_match", False),
    (2, 0, 10, "+", "GATA", 1.0, "background_match", False),
])


def test_background_matches_are_split_from_decoys():
    c = calls([
        (0, 10, 20, "+", "p0", 0.9),  # on the functional site: TP
        (0, 12, 22, "+", "p0", 0.8),  # duplicate on the functional site: FP, overlaps no background match
        (0, 52, 62, "+", "p0", 0.7),  # on a background match
        (1, 31, 41, "+", "p0", 0.6),  # on the decoy
        (1, 90, 99, "+", "p0", 0.5),  # on nothing
    ])
    r = instance_scores(c, TR, n_sequences=3)
    assert r["n_truth"] == 1 and r["n_decoys"] == 1 and r["n_background_matches"] == 3
    assert r["precision"] == pytest.approx(1 / 5) and r["recall"] == 1.0
    assert r["decoy_call_fraction"] == pytest.approx(1 / 5)
    assert r["decoy_hit_fraction"] == 1.0  # the decoy metrics see the decoy only
    assert r["background_match_call_fraction"] == pytest.approx(1 / 5)
    assert r["background_match_hit_fraction"] == pytest.approx(1 / 3)
    # 1 TP over the 4 calls not on a background match
    assert r["precision_excluding_background_matches"] == pytest.approx(1 / 4)
    assert r["no_calls"] == 0.0
    # a call on a functional site that also overlaps a background match stays a call on the site
    both = truth([(0, 10, 20, "+", "A", 1, "r", True), (0, 14, 24, "+", "A", 1, "background_match", False)])
    r = instance_scores(calls([(0, 12, 22, "+", "p", 1.0), (0, 13, 23, "+", "p", 0.5)]), both)
    assert r["background_match_call_fraction"] == 0.0 and r["background_match_hit_fraction"] == 1.0
    assert r["precision_excluding_background_matches"] == pytest.approx(1 / 2) == r["precision"]


def test_without_role_every_non_functional_row_is_a_decoy():
    no_role = TR.drop(columns="role")
    c = calls([(0, 52, 62, "+", "p0", 0.7), (2, 1, 9, "+", "p0", 0.6)])
    r = instance_scores(c, no_role)
    assert r["n_decoys"] == 4 and r["n_background_matches"] == 0
    assert r["decoy_call_fraction"] == 1.0 and r["decoy_hit_fraction"] == pytest.approx(2 / 4)
    assert r["background_match_call_fraction"] == 0.0 and np.isnan(r["background_match_hit_fraction"])
    assert r["precision_excluding_background_matches"] == r["precision"] == 0.0
    with_role = instance_scores(c, TR)
    assert with_role["decoy_call_fraction"] == 0.0 and with_role["background_match_call_fraction"] == 1.0
    # every call is on a background match: no call left to be precise with
    assert np.isnan(with_role["precision_excluding_background_matches"])
    # a functional row is a target whatever its role
    r = instance_scores(c, truth([(0, 52, 62, "+", "A", 1, "background_match", True)]))
    assert r["precision"] == pytest.approx(1 / 2) and r["n_background_matches"] == 0


def test_no_calls_is_counted():
    r = instance_scores(empty_instances(), TR)
    assert r["no_calls"] == 1.0 and np.isnan(r["precision"]) and r["f1"] == 0.0
    assert np.isnan(r["background_match_call_fraction"]) and r["background_match_hit_fraction"] == 0.0
    assert np.isnan(r["precision_excluding_background_matches"])
    assert instance_scores(calls([(0, 1, 5, "+", "A", 1.0)]), TR)["no_calls"] == 0.0


# ---------------------------------------------------------------- per-sequence components

def _pooled(parts: pd.DataFrame) -> dict:
    """The pooled scores from summed components (the formulas in instance_components' docstring)."""
    s = parts.sum()
    div = lambda a, b: float(a) / float(b) if b else np.nan  # noqa: E731
    return {
        "precision": div(s.tp, s.n_calls), "recall": div(s.tp, s.n_truth),
        "f1": div(2 * s.tp, s.n_calls + s.n_truth),
        "precision_identity": div(s.tp_identity, s.n_calls), "recall_identity": div(s.tp_identity, s.n_truth),
        "f1_identity": div(2 * s.tp_identity, s.n_calls + s.n_truth),
        "paper_precision": div(s.paper_hits, s.n_calls), "paper_recall": div(s.paper_hits, s.n_truth),
        "decoy_call_fraction": div(s.decoy_calls, s.n_calls),
        "background_match_call_fraction": div(s.background_match_calls, s.n_calls),
        "precision_excluding_background_matches": div(s.tp, s.n_calls - s.background_match_calls),
        "best_f1": div(2 * s.tp_best, s.n_calls_best + s.n_truth),
        "best_f1_identity": div(2 * s.tp_identity_best, s.n_calls_best + s.n_truth),
    }


def _assert_same(pooled: dict, scores: dict):
    for k, v in pooled.items():
        assert (np.isnan(v) and np.isnan(scores[k])) or v == scores[k], (k, v, scores[k])  # exact


def test_components_hand_made():
    c = calls([
        (0, 12, 22, "+", "p0", 0.9), (0, 14, 24, "-", "p0", 0.5), (0, 55, 65, "+", "p1", 0.8),
        (1, 36, 46, "+", "p1", 0.7), (1, 82, 92, "+", "p0", 0.6),
    ])
    parts = instance_components(c, T, assignment={"p0": "GATA", "p1": "GATA"}, n_sequences=4)
    assert parts["seq"].tolist() == [0, 1, 2, 3]
    assert parts["n_calls"].tolist() == [3, 2, 0, 0]
    assert parts["n_truth"].tolist() == [2, 1, 0, 0]
    assert parts["tp"].tolist() == [2, 0, 0, 0]
    assert parts["tp_identity"].tolist() == [1, 0, 0, 0]  # p1 on TAL is the wrong identity
    assert parts["paper_hits"].tolist() == [3, 0, 0, 0]
    assert parts["decoy_calls"].tolist() == [0, 1, 0, 0]
    assert parts["background_match_calls"].tolist() == [0, 0, 0, 0]
    # the best cut-off keeps the 0.9 and 0.8 calls (test_best_cutoff_hand_made)
    assert parts["n_calls_best"].tolist() == [2, 0, 0, 0]
    assert parts["tp_best"].tolist() == [2, 0, 0, 0]
    assert parts["tp_identity_best"].tolist() == [1, 0, 0, 0]
    _assert_same(_pooled(parts), instance_scores(c, T, assignment={"p0": "GATA", "p1": "GATA"}, n_sequences=4))
    # no assignment: a NaN column; no rows at all: an empty frame
    assert instance_components(c, T)["tp_identity"].isna().all()
    assert len(instance_components(empty_instances(), empty_instances(truth=True))) == 0
    assert instance_components(empty_instances(), T, n_sequences=3)["n_truth"].tolist() == [2, 1, 0]  # no decoy
    with pytest.raises(ValueError, match="n_sequences"):
        instance_components(c, T, n_sequences=1)
    with pytest.raises(ValueError, match="assignment"):
        instance_components(c, T, assignment=["p0"])


def _random_roles(rng, n, nseq, length):
    t = _random(rng, n, nseq, length)
    kind = rng.integers(0, 3, n)
    t["functional"] = kind == 0
    t["role"] = np.array(["r", "decoy", "background_match"])[kind]
    return t


def test_components_sum_to_instance_scores_exactly():
    rng = np.random.default_rng(7)
    assignment = {"A": "A", "B": "B"}
    for i in range(150):
        c = _random(rng, int(rng.integers(0, 20)), 3, 40)
        make = _random if i % 2 else _random_roles  # without and with a role column
        t = make(rng, int(rng.integers(0, 20)), 3, 40)
        parts = instance_components(c, t, assignment, n_sequences=3)
        r = instance_scores(c, t, assignment, n_sequences=3)
        _assert_same(_pooled(parts), r)
        assert parts["n_calls"].sum() == r["n_calls"] and parts["n_truth"].sum() == r["n_truth"]
        tp, hit = _brute(c, t.loc[t["functional"]].reset_index(drop=True))
        assert parts["tp"].sum() == tp and parts["paper_hits"].sum() == hit


def _resampled(df: pd.DataFrame, idx: np.ndarray) -> pd.DataFrame:
    """The rows of sequences ``idx`` (with repeats), sequence ``idx[p]`` renamed ``p``."""
    parts = [df.loc[df["seq"] == s].assign(seq=p) for p, s in enumerate(idx)]
    return pd.concat(parts, ignore_index=True) if parts else df.iloc[:0]


def test_components_over_a_bootstrap_resample_score_the_resampled_tables():
    rng = np.random.default_rng(11)
    assignment = {"A": "A", "B": "B"}
    for _ in range(30):
        c = _random(rng, int(rng.integers(1, 25)), 5, 40)
        t = _random_roles(rng, int(rng.integers(1, 25)), 5, 40)
        parts = instance_components(c, t, assignment, n_sequences=5)
        idx = rng.integers(0, 5, 5)
        r = instance_scores(_resampled(c, idx), _resampled(t, idx), assignment, n_sequences=5)
        pooled = _pooled(parts.iloc[idx])
        # the best cut-off is chosen once, on every sequence: a resample keeps it, so it is not the
        # cut-off the resampled tables would choose (and never beats it)
        assert np.isnan(pooled["best_f1"]) or pooled["best_f1"] <= r["best_f1"] + 1e-12
        del pooled["best_f1"], pooled["best_f1_identity"]
        _assert_same(pooled, r)


# ---------------------------------------------------------------- the best cut-off


def test_best_cutoff_hand_made():
    c = calls([
        (0, 12, 22, "+", "p0", 0.9), (0, 14, 24, "-", "p0", 0.5), (0, 55, 65, "+", "p1", 0.8),
        (1, 36, 46, "+", "p1", 0.7), (1, 82, 92, "+", "p0", 0.6),
    ])
    r = instance_scores(c, T, assignment={"p0": "GATA", "p1": "GATA"}, n_sequences=4)
    # by score: TP, TP, FP, FP, FP with 3 planted: F1 at k = 1..5 is 2/4, 4/5, 4/6, 4/7, 4/8
    assert r["best_f1"] == pytest.approx(4 / 5)
    assert r["best_f1_kept_fraction"] == pytest.approx(2 / 5)
    assert r["f1"] == pytest.approx(4 / 8)
    # identity: of the two kept calls only p0's names GATA rightly
    assert r["best_f1_identity"] == pytest.approx(2 / 5)
    assert np.isnan(instance_scores(c, T)["best_f1_identity"])


def test_best_cutoff_drops_weak_background_matches():
    # a scan that calls both planted sites strongly and three weaker background matches: its F1 at
    # the rule's cut-off is 4/7, at the best cut-off 1 (what the positive control is held to)
    t = TR.copy()
    c = calls([(0, 10, 20, "+", "A", 9.0), (1, 30, 40, "+", "A", 8.0), (0, 50, 60, "+", "A", 4.0),
               (1, 60, 70, "+", "A", 3.5), (2, 0, 10, "+", "A", 3.0)])
    t.loc[2, ["role", "functional"]] = ["r", True]  # seq 1's decoy made a planted site
    r = instance_scores(c, t)
    assert r["f1"] == pytest.approx(2 * 2 / (5 + 2))
    assert r["best_f1"] == 1.0 and r["best_f1_kept_fraction"] == pytest.approx(2 / 5)


def test_best_cutoff_never_splits_ties_and_prefers_the_stricter():
    # scores 2, 1, 1 with TP, FP, TP and 2 planted: keeping 1 gives 2/3, keeping all 3 gives 4/5;
    # the two tied calls go together
    assert best_cutoff(np.array([2.0, 1.0, 1.0]), np.array([True, False, True]), 2).tolist() == [True] * 3
    # equal F1 (2/3 at k=1 and 4/6 at k=4 with 2 planted): the stricter wins
    assert best_cutoff(np.array([4.0, 3.0, 2.0, 1.0]), np.array([True, False, False, True]), 2).tolist() == [
        True, False, False, False]
    # NaN scores rank last, as one group
    assert best_cutoff(np.array([np.nan, 1.0]), np.array([True, True]), 2).tolist() == [True, True]
    assert best_cutoff(np.array([np.nan, 1.0]), np.array([False, True]), 2).tolist() == [False, True]
    # nothing matched or nothing planted: no call kept
    assert not best_cutoff(np.array([1.0, 2.0]), np.array([False, False]), 3).any()
    assert not best_cutoff(np.array([1.0]), np.array([True]), 0).any()
    assert best_cutoff(np.array([]), np.array([], dtype=bool), 3).size == 0
    with pytest.raises(ValueError, match="one length"):
        best_cutoff(np.array([1.0, 2.0]), np.array([True]), 1)


def test_best_f1_against_every_threshold():
    rng = np.random.default_rng(11)
    for _ in range(60):
        c = _random(rng, int(rng.integers(0, 20)), 3, 40)
        c["score"] = rng.integers(0, 4, len(c)).astype(float)  # many ties
        t = _random(rng, int(rng.integers(1, 12)), 3, 40)
        r = instance_scores(c, t)
        best = 0.0  # keeping no call: F1 0
        for thr in np.unique(c["score"]):
            kept = c[c["score"] >= thr].reset_index(drop=True)
            best = max(best, instance_scores(kept, t)["f1"])
        assert r["best_f1"] == pytest.approx(best)
        assert r["best_f1"] >= r["f1"] - 1e-12
