"""Instance matching: 100,000 calls against 100,000 planted instances.

Target (issue 5): well under a second. Run with ``pytest tests/benchmarks --benchmark-enable``.
"""

import numpy as np
import pandas as pd
import pytest

from bench.metrics import instance_scores

N_SEQ, L, N = 20_000, 500, 100_000


def _table(rng, width, truth):
    start = rng.integers(0, L - width, N)
    df = pd.DataFrame({"seq": rng.integers(0, N_SEQ, N), "start": start, "end": start + width, "strand": "+",
                       "motif": rng.choice(["A", "B"], N), "score": rng.random(N)})
    if truth:
        df["role"] = "r"
        df["functional"] = rng.random(N) < 0.9
    return df


@pytest.fixture(scope="module")
def tables():
    rng = np.random.default_rng(0)
    t = _table(rng, 12, truth=True)
    # half the calls jittered around planted sites, half anywhere: realistic overlap density
    c = _table(rng, 10, truth=False)
    near = rng.random(N) < 0.5
    src = rng.integers(0, N, N)
    c.loc[near, "seq"] = t["seq"].to_numpy()[src][near]
    c.loc[near, "start"] = np.clip(t["start"].to_numpy()[src][near] + rng.integers(-4, 5, near.sum()), 0, L - 10)
    c["end"] = c["start"] + 10
    return c, t


def test_instance_scores_100k_vs_100k(benchmark, tables):
    c, t = tables
    r = benchmark.pedantic(instance_scores, args=(c, t, {"A": "A", "B": "B"}), rounds=5, iterations=1)
    assert 0 < r["recall"] <= 1 and r["n_calls"] == N


def test_topk_curve_100k_vs_100k(benchmark, tables):
    from bench.metrics import topk_curve

    c, t = tables
    ks = np.unique(np.geomspace(1, N, 50).astype(np.int64))
    curve = benchmark.pedantic(topk_curve, args=(c, t, ks), rounds=5, iterations=1)
    assert len(curve) == ks.size and curve["recall"].is_monotonic_increasing
