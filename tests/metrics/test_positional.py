"""The positional attribution measures (mass in motifs, top-k recall, thresholded precision/recall) and
the site-vs-PFM cosine, on hand-made maps with known answers."""

import numpy as np
import pandas as pd
import pytest

from bench.metrics import attribution_components, attribution_scores, site_cosine_components, site_pfm_cosine
from simulations import information_content

from .test_attributions import one_hot, truth


def hand_made():
    x = one_hot(2, 6)
    t = truth([(0, 1, 3, "+", "A", 1, "r", True), (1, 0, 1, "+", "A", 1, "r", True)])
    track = np.array([[0.1, 0.9, -0.8, 0.2, 0.0, 0.0],
                      [0.5, 0.9, 0.0, 0.0, 0.0, 0.0]])
    return x, t, x * track[:, None, :]


def test_mass_topk_and_thresholds_by_hand():
    x, t, attr = hand_made()
    r = attribution_scores(attr, x, t)
    # positive mass: seq 0 inside 0.9 of 1.2; seq 1 inside 0.5 of 1.4
    assert r["mass_in_motifs"] == pytest.approx((0.9 / 1.2 + 0.5 / 1.4) / 2)
    assert r["pooled_mass_in_motifs"] == pytest.approx(1.4 / 2.6)
    assert r["mass_in_motifs_chance"] == pytest.approx((2 / 6 + 1 / 6) / 2)
    # top-2 of seq 0 by |score| = positions 1, 2 (both planted); top-1 of seq 1 = position 1 (not planted)
    assert r["topk_recall"] == pytest.approx(0.5) and r["pooled_topk_recall"] == pytest.approx(2 / 3)
    # at 0.5 of the peak: seq 0 calls 1, 2; seq 1 calls 0, 1 -> 3 of 4 calls planted, all 3 planted called
    assert r["position_precision_at_0.50"] == pytest.approx(3 / 4)
    assert r["position_recall_at_0.50"] == pytest.approx(1.0)
    assert r["position_f1_at_0.50"] == pytest.approx(2 * 3 / (4 + 3))
    # at 0.1: seq 0 calls 1, 2, 3 and 0 (0.1/0.9 >= 0.1)
    assert r["position_precision_at_0.10"] == pytest.approx(3 / 6)
    # the existing keys are unchanged
    assert r["auroc"] == pytest.approx((1 + 0.8) / 2)


def test_components_are_ratio_of_sums():
    rng = np.random.default_rng(1)
    n, length = 12, 30
    x = one_hot(n, length, 2)
    attr = x * rng.normal(size=(n, 1, length))
    starts = rng.integers(0, 25, n)
    t = truth([(i, int(s), int(s) + 5, "+", "A", 1, "r", True) for i, s in enumerate(starts) if i % 3])
    r = attribution_scores(attr, x, t)
    c = attribution_components(attr, x, t)
    assert c["mass_in_motifs"].fillna(0).sum() / c["mass_defined"].sum() == pytest.approx(r["mass_in_motifs"])
    assert c["mass_inside"].sum() / c["mass_total"].sum() == pytest.approx(r["pooled_mass_in_motifs"])
    assert c["topk_hits"].sum() / c["n_planted"].sum() == pytest.approx(r["pooled_topk_recall"])
    assert c["topk_recall"].fillna(0).sum() / c["topk_defined"].sum() == pytest.approx(r["topk_recall"])
    for tag in ("0.01", "0.10", "0.50"):
        assert c[f"tp_{tag}"].sum() / c[f"called_{tag}"].sum() == pytest.approx(r[f"position_precision_at_{tag}"])
        assert c[f"tp_{tag}"].sum() / c["n_planted"].sum() == pytest.approx(r[f"position_recall_at_{tag}"])
    # sequences without a planted instance: no mass / top-k value, but their calls count as false positives
    empty = c.seq % 3 == 0
    assert (c.loc[empty, "mass_defined"] == 0).all() and c.loc[empty, "topk_recall"].isna().all()
    assert (c.loc[empty, "called_0.50"] > 0).all() and (c.loc[empty, "tp_0.50"] == 0).all()


def test_topk_ties_count_their_expected_share():
    x = one_hot(1, 5)
    t = truth([(0, 0, 2, "+", "A", 1, "r", True)])
    attr = x * np.array([3.0, 1.0, 1.0, 1.0, 0.0])[None, None, :]
    # top-2: position 0 (planted) then one of positions 1-3 tied at 1 (one of three planted): 1 + 1/3
    assert attribution_scores(attr, x, t)["pooled_topk_recall"] == pytest.approx((1 + 1 / 3) / 2)


def test_zero_and_negative_maps():
    x = one_hot(2, 6)
    t = truth([(0, 1, 3, "+", "A", 1, "r", True)])
    r = attribution_scores(np.zeros_like(x), x, t)
    assert np.isnan(r["mass_in_motifs"]) and np.isnan(r["position_precision_at_0.10"])  # nothing called
    assert r["position_recall_at_0.10"] == 0.0
    assert r["topk_recall"] == pytest.approx(2 / 6)  # all tied: the expected share of a random order
    neg = -x  # only negative contributions: no positive mass to share out
    assert np.isnan(attribution_scores(neg, x, t)["mass_in_motifs"])
    with pytest.raises(ValueError, match="thresholds"):
        attribution_scores(x, x, t, thresholds=(0.0,))


# a width-3 motif, IC about [2, 1, 0] bits
M = np.array([[1.0, 0.5, 0.25], [0.0, 0.5, 0.25], [0.0, 0.0, 0.25], [0.0, 0.0, 0.25]])


def test_site_cosine_orientation_centering_and_observed_bases():
    logo = M * information_content(M)[None, :]
    t = truth([(0, 1, 4, "+", "M", 1, "r", True), (1, 2, 5, "-", "M", 1, "r", True),
               (1, 0, 2, "+", "M", 1, "d", False)])
    attr = np.zeros((2, 4, 6))
    attr[0, :, 1:4] = 2.0 * logo + 5.0  # scale and a per-position offset: the centered cosine ignores both
    attr[1, :, 2:5] = logo[::-1, ::-1]  # the reverse complement on the '-' site
    r = site_pfm_cosine(attr, t, {"M": M})
    assert len(r) == 2 and r["cosine"].tolist() == pytest.approx([1.0, 1.0])
    wrong = attr.copy()
    wrong[1, :, 2:5] = logo  # the forward logo on a '-' site
    assert site_pfm_cosine(wrong, t, {"M": M})["cosine"].iloc[1] < 0.9
    # uncentered, the offset counts against it
    assert site_pfm_cosine(attr, t, {"M": M}, center=False)["cosine"].iloc[0] < 0.99
    # observed bases only: the site reads A, A, C; the map puts the logo heights of those bases there
    x = np.zeros((2, 4, 6))
    x[:, 0, :] = 1.0
    x[0, :, 3] = [0, 1, 0, 0]
    actual = np.zeros((2, 4, 6))
    actual[0, 0, 1], actual[0, 0, 2], actual[0, 1, 3] = logo[0, 0], logo[0, 1], logo[1, 2]
    got = site_pfm_cosine(actual, t, {"M": M}, x=x)["cosine"]
    assert got.iloc[0] == pytest.approx(1.0) and np.isnan(got.iloc[1])  # the '-' site's map is zero
    parts = site_cosine_components(site_pfm_cosine(attr, t, {"M": M}), 2)
    assert parts["n_sites"].tolist() == [1, 1] and parts["site_cosine_sum"].tolist() == pytest.approx([1, 1])


def test_site_cosine_rejects_bad_inputs():
    t = truth([(0, 1, 4, "+", "M", 1, "r", True)])
    with pytest.raises(ValueError, match="no entry"):
        site_pfm_cosine(np.zeros((1, 4, 6)), t, {})
    with pytest.raises(ValueError, match="width"):
        site_pfm_cosine(np.zeros((1, 4, 6)), truth([(0, 1, 5, "+", "M", 1, "r", True)]), {"M": M})
    with pytest.raises(ValueError, match="outside"):
        site_pfm_cosine(np.zeros((1, 4, 3)), t, {"M": M})
