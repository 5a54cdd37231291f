"""The paired hierarchical bootstrap on hand-made per-sequence scores with known answers."""

import numpy as np
import pytest

from bench.metrics.paired import paired_difference, ratio


def _seed(rng, n, shift):
    """A route's per-sequence F1 parts and a second route's, ``shift`` better per sequence."""
    n_truth = np.ones(n)
    n_calls = np.ones(n)
    tp_b = (rng.random(n) < 0.5).astype(float)
    tp_a = np.where(rng.random(n) < shift, 1.0, tp_b)
    return 2 * tp_a, n_calls + n_truth, 2 * tp_b, n_calls + n_truth


def test_ratio_of_sums():
    assert ratio(np.array([1.0, 3.0]), np.array([2.0, 2.0])) == 1.0
    assert np.isnan(ratio(np.zeros(2), np.zeros(2)))


def test_known_sign_is_called():
    rng = np.random.default_rng(0)
    res = paired_difference([_seed(rng, 300, 0.5) for _ in range(3)], n_boot=500)
    assert res["difference"] > 0.15
    assert 0 < res["ci_low"] < res["difference"] < res["ci_high"]
    assert res["n_seeds"] == 3 and res["n_sequences"] == 900


def test_identical_routes_are_a_tie_at_zero():
    rng = np.random.default_rng(1)
    a_num, a_den, _, _ = _seed(rng, 200, 0.0)
    res = paired_difference([(a_num, a_den, a_num, a_den)] * 2, n_boot=300)
    assert res["difference"] == 0 and res["ci_low"] == 0 and res["ci_high"] == 0


def test_unrelated_noise_is_a_tie():
    rng = np.random.default_rng(2)
    seeds = []
    for _ in range(3):
        a = (rng.random(200) < 0.6).astype(float)
        b = (rng.random(200) < 0.6).astype(float)
        seeds.append((a, np.ones(200), b, np.ones(200)))
    res = paired_difference(seeds, n_boot=1000)
    assert res["ci_low"] < 0 < res["ci_high"]


def test_pairing_tightens_the_interval():
    """Routes sharing per-sequence difficulty: the paired interval is far narrower than the spread
    of either route, which an unpaired comparison would pay."""
    rng = np.random.default_rng(3)
    difficulty = rng.random(400)
    a = difficulty + 0.02
    b = difficulty
    res = paired_difference([(a, np.ones(400), b, np.ones(400))], n_boot=500)
    assert res["ci_low"] == pytest.approx(0.02) and res["ci_high"] == pytest.approx(0.02)


def test_per_model_values_resample_seeds_only():
    res = paired_difference([(1.0, 0.5), (1.0, 0.5), (0.5, 0.5)], n_boot=2000)
    assert res["difference"] == pytest.approx(1 / 3)
    assert res["n_sequences"] == 0
    assert res["ci_low"] == 0.0 and res["ci_high"] == pytest.approx(0.5)


def test_same_seed_same_interval_and_undefined_seeds_dropped():
    rng = np.random.default_rng(4)
    seeds = [_seed(rng, 100, 0.3) for _ in range(2)]
    assert paired_difference(seeds, seed=7) == paired_difference(seeds, seed=7)
    empty = (np.zeros(5), np.zeros(5), np.zeros(5), np.zeros(5))
    assert paired_difference(seeds + [empty], seed=7) == paired_difference(seeds, seed=7)
    assert np.isnan(paired_difference([empty])["difference"])


@pytest.mark.parametrize("bad, match", [
    ([], "non-empty"),
    ([(np.ones(3), np.ones(3), np.ones(2), np.ones(2))], "one length"),
    ([(np.ones(3), np.ones(3), np.ones(3), np.full(3, np.nan))], "finite"),
    ([(1.0, 2.0, 3.0)], "all of one kind"),
])
def test_bad_input_names_the_problem(bad, match):
    with pytest.raises(ValueError, match=match):
        paired_difference(bad)
