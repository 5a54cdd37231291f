import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from bench.metrics import (attribution_components, attribution_scores, informative_mask, planted_mask, seed_stability,
                           sign_agreement)


def truth(rows):
    return pd.DataFrame(rows, columns=["seq", "start", "end", "strand", "motif", "score", "role", "functional"])


def one_hot(n, length, seed=0):
    idx = np.random.default_rng(seed).integers(0, 4, (n, length))
    x = np.zeros((n, 4, length), dtype=np.float32)
    np.put_along_axis(x, idx[:, None, :], 1.0, axis=1)
    return x


def test_planted_mask_overlapping_and_decoys():
    t = truth([(0, 1, 4, "+", "A", 1, "r", True), (0, 3, 6, "+", "A", 1, "r", True), (1, 0, 2, "+", "A", 1, "d", False)])
    m = planted_mask(t, 2, 8)
    assert m[0].tolist() == [False, True, True, True, True, True, False, False]
    assert not m[1].any()
    assert planted_mask(t, 2, 8, functional_only=False)[1].tolist()[:3] == [True, True, False]
    with pytest.raises(ValueError, match="outside"):
        planted_mask(t, 1, 8)


def test_hand_made_scores():
    x = one_hot(2, 6)
    t = truth([(0, 1, 3, "+", "A", 1, "r", True), (1, 0, 1, "+", "A", 1, "r", True)])
    track = np.array([[0.1, 0.9, -0.8, 0.2, 0.0, 0.0],    # perfect: auroc 1, ap 1
                      [0.5, 0.9, 0.0, 0.0, 0.0, 0.0]])    # positive ranked 2nd of 6: auroc 4/5, ap 1/2
    attr = x * track[:, None, :]
    r = attribution_scores(attr, x, t)
    assert r["auroc"] == pytest.approx((1 + 0.8) / 2)
    assert r["auprc"] == pytest.approx((1 + 0.5) / 2)
    labels = np.array([[0, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]]).ravel()
    assert r["pooled_auroc"] == pytest.approx(roc_auc_score(labels, np.abs(track).ravel()))
    assert r["pooled_auprc"] == pytest.approx(average_precision_score(labels, np.abs(track).ravel()))
    assert r["n_sequences_scored"] == 2


def test_against_sklearn_per_sequence_with_ties():
    rng = np.random.default_rng(0)
    n, length = 20, 30
    x = one_hot(n, length, 1)
    attr = x * rng.integers(-2, 3, (n, 1, length)).astype(float)  # many ties
    rows = [(i, int(s), int(s) + 5, "+", "A", 1, "r", True) for i, s in enumerate(rng.integers(0, 25, n))]
    t = truth(rows)
    r = attribution_scores(attr, x, t)
    score = np.abs(attr.sum(1))
    lab = planted_mask(t, n, length)
    assert r["auroc"] == pytest.approx(np.mean([roc_auc_score(lab[i], score[i]) for i in range(n)]))
    assert r["auprc"] == pytest.approx(np.mean([average_precision_score(lab[i], score[i]) for i in range(n)]))


def test_edge_cases():
    x = one_hot(2, 5)
    r = attribution_scores(np.zeros_like(x), x, truth([]))
    assert np.isnan(r["auroc"]) and np.isnan(r["pooled_auprc"]) and r["n_sequences_scored"] == 0
    # all-equal scores: auroc 0.5, AP = positive fraction
    t = truth([(0, 0, 1, "+", "A", 1, "r", True)])
    r = attribution_scores(x, x, t)
    assert r["auroc"] == 0.5 and r["auprc"] == pytest.approx(1 / 5)
    with pytest.raises(ValueError, match="attr"):
        attribution_scores(np.zeros((2, 3, 5)), x, t)


def test_sign_agreement_hand_made():
    t = truth([(0, 0, 4, "+", "A", 1, "r", True), (0, 6, 8, "+", "D", 1, "d", False)])
    a = np.zeros((1, 4, 10))
    b = np.zeros((1, 4, 10))
    a[0, 0] = [1.0, 2.0, -1.0, 0.001, 0, 0, 5, 5, 0.5, -0.5]
    b[0, 0] = [2.0, 1.0, 1.0, 0.5, 0, 0, 5, 5, 0.5, 0.5]
    r = sign_agreement(a, b, t, eps=0.1)
    # planted positions 0-3: pos 3 excluded (|a| < eps); signs agree at 0, 1, not at 2
    assert r["sign_agreement"] == pytest.approx(2 / 3)
    assert r["n_positions"] == 4 and r["n_positions_above_eps"] == 3
    va, vb = np.array([1, 2, -1, 0.001]), np.array([2, 1, 1, 0.5])
    assert r["cosine"] == pytest.approx(va @ vb / np.linalg.norm(va) / np.linalg.norm(vb))
    assert r["cosine_instance_mean"] == pytest.approx(r["cosine"])  # one instance
    # background = positions 4, 5, 8, 9 (6-7 is a decoy): 4-5 zero (excluded), 8 agrees, 9 not
    assert r["background_sign_agreement"] == pytest.approx(1 / 2)
    assert r["background_n_positions"] == 4
    assert r["eps"] == 0.1
    r = sign_agreement(a, b, t)
    assert r["eps"] == pytest.approx(0.02)  # 1% of the planted peak |2|


def test_sign_agreement_empty_truth():
    a = np.ones((1, 4, 5))
    r = sign_agreement(a, a, truth([]))
    assert np.isnan(r["sign_agreement"]) and np.isnan(r["cosine_instance_mean"])
    assert r["background_sign_agreement"] == 1.0 and np.isnan(r["background_spearman"])


def test_seed_stability():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4, 7))
    r = seed_stability([a, 2 * a, a])
    assert r["cosine_mean"] == pytest.approx(1.0) and r["jaccard_mean"] == pytest.approx(1.0) and r["n_pairs"] == 3
    r = seed_stability([a, -a])
    assert r["cosine_mean"] == pytest.approx(-1.0) and r["jaccard_mean"] == pytest.approx(-1.0)
    # hand-made Jaccard: L1-normalized [1, 0] vs [0.5, 0.5] -> min sum 0.5 / max sum 1.5
    p = np.zeros((1, 4, 2)); p[0, 0] = [1, 0]
    q = np.zeros((1, 4, 2)); q[0, 0] = [1, 1]
    r = seed_stability([p, q])
    assert r["jaccard_mean"] == pytest.approx(1 / 3)
    assert r["cosine_mean"] == pytest.approx(1 / np.sqrt(2))
    assert np.isnan(seed_stability([a])["cosine_mean"])
    assert np.isnan(seed_stability([np.zeros_like(a), a])["cosine_mean"])


# a width-3 motif whose last column is flat: IC ~ [2, 2, 0] bits
M = np.array([[1.0, 0, 0.25], [0, 1.0, 0.25], [0, 0, 0.25], [0, 0, 0.25]])


def test_informative_mask_strands():
    t = truth([(0, 1, 4, "+", "M", 1, "r", True), (1, 0, 3, "-", "M", 1, "r", True),
               (1, 3, 6, "+", "M", 1, "d", False)])
    m = informative_mask(t, {"M": M}, 2, 6)
    assert m[0].tolist() == [False, True, True, False, False, False]
    assert m[1].tolist() == [False, True, True, False, False, False]  # reversed on '-'; decoy ignored
    with pytest.raises(ValueError, match="motifs has no entry"):
        informative_mask(t, {}, 2, 6)
    with pytest.raises(ValueError, match="width"):
        informative_mask(truth([(0, 1, 5, "+", "M", 1, "r", True)]), {"M": M}, 2, 6)


def test_attribution_scores_excluding_uninformative_positions():
    x = one_hot(2, 6)
    t = truth([(0, 1, 4, "+", "M", 1, "r", True), (1, 0, 3, "-", "M", 1, "r", True)])
    track = np.array([[0.1, 0.9, 0.8, 0.0, 0.5, 0.2],    # excluded position 3 has the lowest score
                      [0.0, 0.7, 0.6, 0.3, 0.9, 0.1]])   # excluded position 0
    attr = x * track[:, None, :]
    plain = attribution_scores(attr, x, t)
    assert plain["auroc"] == pytest.approx((6 / 9 + 4 / 9) / 2)
    r = attribution_scores(attr, x, t, motifs={"M": M})
    # seq 0: positives .9 .8 above every negative; seq 1: .7 .6 below the .9 negative
    assert r["auroc"] == pytest.approx((1 + 4 / 6) / 2)
    assert r["auprc"] == pytest.approx((1 + (1 / 2 + 2 / 3) / 2) / 2)
    keep = ~np.array([[0, 0, 0, 1, 0, 0], [1, 0, 0, 0, 0, 0]], dtype=bool)
    lab = informative_mask(t, {"M": M}, 2, 6)
    assert r["pooled_auroc"] == pytest.approx(roc_auc_score(lab[keep], track[keep]))
    assert r["pooled_auprc"] == pytest.approx(average_precision_score(lab[keep], track[keep]))


def test_excluding_against_sklearn_random():
    rng = np.random.default_rng(2)
    n, length = 15, 20
    x = one_hot(n, length, 3)
    attr = x * rng.integers(-3, 4, (n, 1, length)).astype(float)
    strands = rng.choice(["+", "-"], n)
    starts = rng.integers(0, 17, n)
    rows = [(i, int(s), int(s) + 3, st, "M", 1, "r", True) for i, (s, st) in enumerate(zip(starts, strands))]
    t = truth(rows)
    r = attribution_scores(attr, x, t, motifs={"M": M})
    score = np.abs(attr.sum(1))
    lab = informative_mask(t, {"M": M}, n, length)
    keep = lab | ~planted_mask(t, n, length)
    per = [roc_auc_score(lab[i][keep[i]], score[i][keep[i]]) for i in range(n)]
    assert r["auroc"] == pytest.approx(np.mean(per))
    per = [average_precision_score(lab[i][keep[i]], score[i][keep[i]]) for i in range(n)]
    assert r["auprc"] == pytest.approx(np.mean(per))
    assert r["pooled_auroc"] == pytest.approx(roc_auc_score(lab[keep], score[keep]))


def test_seed_stability_on_actual_contributions_and_all_positions():
    rng = np.random.default_rng(4)
    x = one_hot(3, 7)
    a = rng.normal(size=(3, 4, 7))
    b = a * x + rng.normal(size=(3, 4, 7)) * (1 - x)  # differs only on bases absent from x
    assert seed_stability([a, b], x=x)["cosine_mean"] == pytest.approx(1.0)
    assert seed_stability([a, b])["cosine_mean"] < 0.99
    r = sign_agreement(a, a, truth([(0, 0, 3, "+", "A", 1, "r", True)]), x=x)
    assert r["all_spearman"] == pytest.approx(1.0) and r["all_cosine"] == pytest.approx(1.0)


def test_sign_agreement_all_zero_maps_are_nan():
    t = truth([(0, 0, 4, "+", "A", 1, "r", True)])
    z = np.zeros((2, 4, 10))
    r = sign_agreement(z, z, t)  # a constant-output model: no signal, so no agreement to speak of
    assert r["eps"] == 0.0
    for key in ("sign_agreement", "spearman", "cosine", "cosine_instance_mean", "background_sign_agreement",
                "background_spearman", "background_cosine", "all_spearman", "all_cosine"):
        assert np.isnan(r[key]), key
    assert r["n_positions_above_eps"] == 0 and r["background_n_positions_above_eps"] == 0
    assert np.isnan(sign_agreement(z, z, t, eps=0.0)["sign_agreement"])  # exact zeros never agree


def test_sign_agreement_one_all_zero_map_is_nan():
    t = truth([(0, 0, 4, "+", "A", 1, "r", True)])
    a = np.random.default_rng(0).normal(size=(2, 4, 10))
    z = np.zeros_like(a)
    for eps in (None, 0.0):
        r = sign_agreement(a, z, t, eps=eps)
        assert np.isnan(r["sign_agreement"]) and np.isnan(r["background_sign_agreement"])
        assert np.isnan(r["cosine"]) and np.isnan(r["spearman"]) and np.isnan(r["cosine_instance_mean"])
        assert r["n_positions_above_eps"] == 0
    # the same maps but zero only on the planted positions: the peak that sets eps is 0
    a0, b0 = a.copy(), a.copy()
    a0[:, :, :4] = 0.0
    b0[:, :, :4] = 0.0
    r = sign_agreement(a0, b0, t)
    assert r["eps"] == 0.0 and np.isnan(r["sign_agreement"]) and np.isnan(r["background_sign_agreement"])
    assert r["background_cosine"] == pytest.approx(1.0)  # eps-free measures keep their value


def test_attribution_components_average_to_attribution_scores():
    rng = np.random.default_rng(6)
    n, length = 12, 20
    x = one_hot(n, length, 7)
    attr = x * rng.integers(-3, 4, (n, 1, length)).astype(float)  # ties
    starts = rng.integers(0, 17, n - 2)
    rows = [(i, int(s), int(s) + 3, st, "M", 1, "r", True)
            for i, (s, st) in enumerate(zip(starts, rng.choice(["+", "-"], n - 2)))]
    rows.append((0, 10, 13, "+", "M", 1, "d", False))  # a decoy: background under functional_only
    t = truth(rows)  # sequences 10 and 11 have no planted position: NaN, not scored
    for motifs in (None, {"M": M}):
        parts = attribution_components(attr, x, t, motifs=motifs)
        r = attribution_scores(attr, x, t, motifs=motifs)
        assert parts["seq"].tolist() == list(range(n))
        assert parts["auroc"].isna().tolist() == [False] * (n - 2) + [True, True]
        scored = parts.dropna(subset=["auroc"])
        assert len(scored) == r["n_sequences_scored"]
        assert scored["auroc"].to_numpy().mean() == r["auroc"]  # exactly the averaged values
        assert scored["auprc"].to_numpy().mean() == r["auprc"]
    score = np.abs(attr.sum(1))
    lab = planted_mask(t, n, length)
    parts = attribution_components(attr, x, t)
    assert parts["n_positive"].tolist() == lab.sum(1).tolist()
    assert parts["n_negative"].tolist() == (length - lab.sum(1)).tolist()
    assert parts["auroc"][3] == pytest.approx(roc_auc_score(lab[3], score[3]))
    assert parts["auprc"][3] == pytest.approx(average_precision_score(lab[3], score[3]))
    # a sequence planted end to end has no negative position
    x1 = one_hot(1, 5)
    full = attribution_components(x1, x1, truth([(0, 0, 5, "+", "A", 1, "r", True)]))
    assert np.isnan(full["auroc"][0]) and full["n_negative"][0] == 0
