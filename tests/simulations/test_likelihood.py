import itertools

import numpy as np
import pytest

from simulations import parse_spec, simulate
from simulations.grammar import Choice, Normal, Range, sample_dist
from simulations.likelihood import _base_log_pmf, class_log_likelihood_ratios, dist_log_pmf

A = [[0.7, 0.1], [0.1, 0.1], [0.1, 0.2], [0.1, 0.6]]          # (4, 2)
B = [[0.05, 0.5, 0.2], [0.8, 0.1, 0.2], [0.1, 0.3, 0.2], [0.05, 0.1, 0.4]]  # (4, 3)
BG = [0.3, 0.2, 0.2, 0.3]


def _spec(length, configs, **extra):
    return {"length": length, "background": {"freqs": BG}, "reject_matches": False,
            "motifs": {"A": {"matrix": A}, "B": {"matrix": B}},
            "classes": [{"name": "pos", "label": 1, "fraction": 0.5, "configs": configs},
                        {"name": "neg", "label": 0, "fraction": 0.5, "configs": [{"name": "bg"}]}], **extra}


def _one_hot(codes):
    return (np.asarray(codes)[:, None, :] == np.arange(4)[None, :, None]).astype(np.uint8)


def _chain_draws(length, chain, order, position, widths):
    """Every latent draw of the simulator for one chain config: gaps, order flip, base, strands.

    Yields ``(probability, [(start, motif, strand), ...])`` with absolute starts.
    """
    gap_options = [[(0, 1.0)]] + [list(zip(*_pmf(g))) for _, g, _ in chain[1:]]
    for gaps in itertools.product(*gap_options):
        starts, cursor = [], 0
        for e, (g, _) in enumerate(gaps):
            cursor += g
            starts.append(cursor)
            cursor += widths[e]
        p_gaps = np.prod([p for _, p in gaps])
        for flipped in ([False, True] if order == "random" else [False]):
            rel = [cursor - (s + w) for s, w in zip(starts, widths)] if flipped else starts
            p_flip = 0.5 if order == "random" else 1.0
            if position == "uniform":
                bases = [(b, 1.0 / (length - cursor + 1)) for b in range(length - cursor + 1)]
            else:  # fixed at 1, clipped
                bases = [(min(1, length - cursor), 1.0)]
            strand_options = [["+", "-"] if o == "random" else [o] for _, _, o in chain]
            p_strands = np.prod([0.5 if len(opts) == 2 else 1.0 for opts in strand_options])
            for base, p_base in bases:
                for strands in itertools.product(*strand_options):
                    yield (p_gaps * p_flip * p_base * p_strands,
                           [(base + r, m, st) for (m, _, _), r, st in zip(chain, rel, strands)])


def _brute_force_probability(seq, length, chain, order, position, pfms, bg):
    """P(seq | config) by walking every latent draw of the simulator (i.i.d. background)."""
    total_p = 0.0
    for p_draw, sites in _chain_draws(length, chain, order, position, [pfms[m].shape[1] for m, _, _ in chain]):
        emit = [bg[b] for b in seq]
        for start, m, strand in sites:
            pfm = pfms[m] if strand == "+" else pfms[m][::-1, ::-1]
            for k in range(pfm.shape[1]):
                emit[start + k] = pfm[seq[start + k], k]
        total_p += p_draw * np.prod(emit)
    return total_p


def _pmf(d):
    values, log_p = dist_log_pmf(d)
    return values.tolist(), np.exp(log_p).tolist()


@pytest.mark.parametrize("dist", [3, Range(min=2, max=6), Choice(values=[1, 4, 4, 7], weights=[1, 2, 1, 0]),
                                  Choice(values=[5, 2]), Normal(mean=3.0, sd=1.5), Normal(mean=2.0, sd=0.0)])
def test_gap_pmf_matches_the_sampler(dist):
    values, log_p = dist_log_pmf(dist)
    assert np.exp(log_p).sum() == pytest.approx(1.0)
    draws = sample_dist(dist, 200_000, np.random.default_rng(0))
    assert set(np.unique(draws)) <= set(values.tolist())
    empirical = np.array([(draws == v).mean() for v in values])
    assert np.abs(empirical - np.exp(log_p)).max() < 0.005


def _pair_chain_case(order, position):
    """A two-motif chain on 9 bp (gap 0-2, one strand random) and 12 random sequences: the case both
    brute-force chain tests (i.i.d. and Markov backgrounds) score."""
    length = 9
    chain = [("A", 0, "random"), ("B", Range(min=0, max=2), "-")]
    pos = {"mode": "uniform"} if position == "uniform" else {"mode": "fixed", "start": 1}
    config = {"name": "pair", "order": order, "position": pos,
              "motifs": [{"motif": "A", "orientation": "random"},
                         {"motif": "B", "gap": {"min": 0, "max": 2}, "orientation": "-"}]}
    codes = np.random.default_rng(1).integers(0, 4, size=(12, length))
    return length, chain, [config], codes


@pytest.mark.parametrize("order,position", [("random", "uniform"), ("fixed", "fixed")])
def test_chain_likelihood_against_brute_force(order, position):
    length, chain, configs, codes = _pair_chain_case(order, position)
    got = class_log_likelihood_ratios(_spec(length, configs), _one_hot(codes))
    pfms = {"A": np.array(A), "B": np.array(B)}
    for seq, row in zip(codes, got):
        p_config = _brute_force_probability(seq, length, chain, order, position, pfms, BG)
        p_bg = np.prod([BG[b] for b in seq])
        assert row[0] == pytest.approx(np.log(p_config / p_bg), abs=1e-9)
        assert row[1] == pytest.approx(0.0, abs=1e-12)  # the background class is the background


def test_class_likelihood_is_a_distribution_over_all_sequences():
    """Summed over every sequence of length 6, P(x | class) is 1: no placement is missed or counted twice."""
    length = 6
    configs = [{"name": "pair", "weight": 2, "order": "random", "position": {"mode": "center", "jitter": 3},
                "motifs": [{"motif": "A"}, {"motif": "A", "gap": {"values": [0, 1]}, "orientation": "random"}]},
               {"name": "lone", "weight": 1, "scatter": [{"motif": "B", "count": 1}]}]
    spec = _spec(length, configs)
    codes = np.array(list(itertools.product(range(4), repeat=length)))
    log_lr = class_log_likelihood_ratios(spec, _one_hot(codes))
    log_bg = np.log(np.asarray(BG))[codes].sum(axis=1)
    assert np.exp(log_lr[:, 0] + log_bg).sum() == pytest.approx(1.0, abs=1e-12)


def test_center_placement_matches_the_simulator():
    """Where chains start under center jitter with clipping, against the simulator's own placements."""
    length = 20
    config = {"name": "one", "position": {"mode": "center", "jitter": 12}, "motifs": [{"motif": "B"}]}
    spec = _spec(length, [config])
    data = simulate(spec, 20_000, seed=3)
    starts = data.instances["start"].to_numpy()
    resolved = parse_spec(spec)
    bases, log_p = _base_log_pmf(resolved.spec.classes[0].configs[0].position, length, 3)
    empirical = np.array([(starts == b).mean() for b in bases])
    assert set(np.unique(starts)) <= set(bases.tolist())
    assert np.abs(empirical - np.exp(log_p)).max() < 0.01


def test_input_checks():
    spec = _spec(9, [{"name": "a", "motifs": [{"motif": "A"}]}])
    with pytest.raises(ValueError, match="length 8"):
        class_log_likelihood_ratios(spec, np.zeros((2, 4, 8), np.uint8))
    with pytest.raises(ValueError, match="one-hot"):
        class_log_likelihood_ratios(spec, np.full((2, 4, 9), 2, np.uint8))
    # Markov backgrounds are supported (tests/simulations/test_likelihood_markov.py checks them)
    markov = _spec(9, [{"name": "a", "motifs": [{"motif": "A"}]}])
    markov["background"] = {"model": "markov"}
    assert np.isfinite(class_log_likelihood_ratios(markov, _one_hot(np.zeros((2, 9), int)))).all()


def test_scatter_count_zero_where_the_motif_cannot_be_emitted():
    """A motif of C and G only, scattered 0 or 1 times: a sequence of Ts has likelihood ratio P(count = 0)."""
    spec = _spec(6, [{"name": "maybe", "scatter": [{"motif": "C", "count": {"values": [0, 1], "weights": [1, 3]}}]}])
    spec["motifs"]["C"] = {"matrix": [[0.0, 0.0], [0.5, 0.5], [0.5, 0.5], [0.0, 0.0]]}  # C or G, either strand
    log_lr = class_log_likelihood_ratios(spec, _one_hot(np.full((1, 6), 3)))
    assert log_lr[0, 0] == pytest.approx(np.log(0.25))
