"""Simulator throughput: 20,000 x 500 bp, two motifs, background rejection on.

Target (issue 2): 5 Mbp/s or better on one core, i.e. about 2 s for this workload.
Run with ``pytest tests/benchmarks --benchmark-enable``.
"""

import pytest

from simulations import parse_spec, simulate

N, L = 20_000, 500


@pytest.fixture(scope="module")
def two_motif_spec():
    # resolve (and cache) the JASPAR motifs outside the timed region
    return parse_spec("tal_gata_mixture")


def test_simulate_20k_two_motifs_with_rejection(benchmark, two_motif_spec):
    ds = benchmark.pedantic(simulate, args=(two_motif_spec, N, 0), rounds=3, iterations=1)
    assert ds.x.shape == (N, 4, L)
    stats = getattr(benchmark, "stats", None)
    if stats is not None and stats.stats.median:
        benchmark.extra_info["mbp_per_s"] = N * L / 1e6 / stats.stats.median
