"""The shortfall split: weakest-site quantiles and the exact split of an auROC over groups of positives."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from bench.metrics.shortfall import (NO_SITE, auroc_by_positive_group, site_strength_groups,
                                     weakest_site_quantile)


def _instances():
    # motif A: scores 1, 2, 3, 4 -> quantiles .25 .5 .75 1; motif B: 10, 20 -> .5, 1; one decoy
    return pd.DataFrame({
        "seq":        [0, 0, 1, 2, 3, 4, 5],
        "motif":      ["A", "B", "A", "A", "B", "A", "A"],
        "score":      [4.0, 10.0, 1.0, 3.0, 20.0, 2.0, -5.0],
        "functional": [True, True, True, True, True, True, False],
    })


def test_weakest_site_quantile_by_hand():
    q = weakest_site_quantile(_instances(), [0, 1, 2, 3, 4, 5, 6])
    # seq 0: A at 1.0 and B at 0.5 -> 0.5; seq 5 holds only a decoy; seq 6 nothing
    np.testing.assert_allclose(q, [0.5, 0.25, 0.75, 1.0, 0.5, np.nan, np.nan])
    groups = site_strength_groups(q)
    assert list(groups) == ["second quarter", "bottom quarter", "top half", "top half", "second quarter",
                            NO_SITE, NO_SITE]


def test_weakest_site_quantile_input_check():
    with pytest.raises(ValueError, match="score"):
        weakest_site_quantile(_instances().drop(columns="score"), [0])


def test_auroc_by_group_by_hand_and_exact_split():
    y = np.array([1, 1, 1, 0, 0])
    score = np.array([0.9, 0.1, 0.5, 0.5, 0.2])
    groups = np.array(["strong", "weak", "weak", "x", "y"])
    t = auroc_by_positive_group(y, {"m": score}, groups).set_index("group")
    assert t.loc["strong", "m"] == 1.0 and t.loc["strong", "n_positives"] == 1
    # weak positives 0.1 (beats none) and 0.5 (beats 0.2, ties 0.5): (0 + 1.5) / 4
    assert t.loc["weak", "m"] == pytest.approx(1.5 / 4)
    assert t.loc["weak", "share"] == pytest.approx(2 / 3)
    assert (t["share"] * t["m"]).sum() == pytest.approx(roc_auc_score(y, score))


def test_auroc_split_adds_up_on_random_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    scores = {"a": rng.normal(size=300) + y, "b": np.round(rng.normal(size=300) + 2 * y, 1)}
    groups = rng.choice(["g1", "g2", "g3"], 300)
    t = auroc_by_positive_group(y, scores, groups)
    assert t["share"].sum() == pytest.approx(1.0)
    for name, s in scores.items():
        assert (t["share"] * t[name]).sum() == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_auroc_by_group_input_checks():
    y = np.array([1, 0])
    with pytest.raises(ValueError, match="groups"):
        auroc_by_positive_group(y, {"m": np.zeros(2)}, ["a"])
    with pytest.raises(ValueError, match=r"scores\['m'\]"):
        auroc_by_positive_group(y, {"m": np.zeros(3)}, ["a", "b"])
    with pytest.raises(ValueError, match="labels"):
        auroc_by_positive_group(np.array([2, 0]), {"m": np.zeros(2)}, ["a", "b"])
    assert auroc_by_positive_group(np.array([1, 1]), {"m": np.zeros(2)}, ["a", "b"]).empty
