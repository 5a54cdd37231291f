"""The likelihood under first-order Markov backgrounds, and of scattered counts, against brute force.

The brute force follows the simulator's own steps: a whole background chain is drawn, then each planted
window overwrites its bases. So P(sequence | placement) sums the chain's probability over every value of
the overwritten bases; nothing in it is the likelihood's factorization (runs, bridges, forward pass).
"""

import itertools

import numpy as np
import pytest
from scipy.stats import chi2

from simulations import simulate
from simulations.backgrounds import BackgroundModel
from simulations.grammar import Background
from simulations.likelihood import class_log_likelihood_ratios
from tests.simulations.test_likelihood import A, B, BG, _chain_draws, _one_hot, _pair_chain_case

# a strongly first-order chain: each row far from the others, so a wrong boundary term shows
T = [[0.6, 0.2, 0.1, 0.1], [0.1, 0.1, 0.7, 0.1], [0.3, 0.3, 0.2, 0.2], [0.05, 0.15, 0.2, 0.6]]
PFMS = {"A": np.array(A), "B": np.array(B)}


def _background(markov: bool) -> dict:
    return {"model": "markov", "transitions": T} if markov else {"freqs": BG}


def _chain_of(markov: bool):
    """(stationary start, transitions) of the background; i.i.d. as a chain whose rows are the frequencies."""
    model = BackgroundModel(Background(**_background(markov)))
    t = np.asarray(model.transitions) if markov else np.tile(np.asarray(BG), (4, 1))
    return np.asarray(model.freqs), t


def _spec(length, configs, markov=True, negative=None):
    return {"length": length, "background": _background(markov), "reject_matches": False,
            "motifs": {"A": {"matrix": A}, "B": {"matrix": B}},
            "classes": [{"name": "pos", "label": 1, "fraction": 0.5, "configs": configs},
                        {"name": "neg", "label": 0, "fraction": 0.5, "configs": negative or [{"name": "bg"}]}]}


def _chain_probability(seqs, start, t):
    """P(seqs) under the background chain, ``(M, L)`` -> ``(M,)``."""
    p = start[seqs[:, 0]].copy()
    for j in range(1, seqs.shape[1]):
        p *= t[seqs[:, j - 1], seqs[:, j]]
    return p


def _placed_probability(seq, windows, start, t):
    """P(seq | these windows planted): every value of the overwritten background bases, summed."""
    covered = sorted({s + k for s, pfm in windows for k in range(pfm.shape[1])})
    chains = np.tile(np.asarray(seq), (4 ** len(covered), 1))
    if covered:
        chains[:, covered] = np.array(list(itertools.product(range(4), repeat=len(covered))))
    emit = np.prod([pfm[seq[s + k], k] for s, pfm in windows for k in range(pfm.shape[1])])
    return _chain_probability(chains, start, t).sum() * emit


def _oriented(name, strand):
    return PFMS[name] if strand == "+" else PFMS[name][::-1, ::-1]


def _brute_force_chain(seq, length, chain, order, position, start, t):
    """P(seq | config): every gap, order flip, base and strand the simulator can draw (as the i.i.d. test)."""
    widths = [PFMS[m].shape[1] for m, _, _ in chain]
    return sum(p_draw * _placed_probability(seq, [(s, _oriented(m, st)) for s, m, st in sites], start, t)
               for p_draw, sites in _chain_draws(length, chain, order, position, widths))


def _brute_force_scatter(seq, name, count_pmf, start, t):
    """P(seq | copies of one motif, strands at random): each count, then each set of non-overlapping
    windows of that size equally likely (the likelihood's stated model of scattered copies)."""
    length, width = len(seq), PFMS[name].shape[1]
    total_p = 0.0
    for count, p_count in count_pmf:
        sets = [c for c in itertools.combinations(range(length - width + 1), count)
                if all(b - a >= width for a, b in zip(c, c[1:]))]
        for placed in sets:
            # the overwritten bases do not depend on the strands: sum them once, then both strands per copy
            p_chain = _placed_probability(seq, [(s, np.ones((4, width))) for s in placed], start, t)
            p_sites = np.prod([0.5 * sum(np.prod([_oriented(name, st)[seq[s + k], k] for k in range(width)])
                                         for st in "+-") for s in placed])
            total_p += p_count / len(sets) * p_chain * p_sites
    return total_p


def test_markov_window_matches_the_simulator():
    """One motif at a uniform position in 5 bp under the strongly first-order chain: the likelihood is the
    distribution the simulator draws from (chi-square over all 1024 sequences), and the tempting shortcut
    that conditions the base after a site on the site's last base (instead of bridging the overwritten
    bases with T^(W+1)) is not."""
    length = 5
    spec = _spec(length, [{"name": "one", "motifs": [{"motif": "A"}], "position": {"mode": "uniform"}}])
    every = np.array(list(itertools.product(range(4), repeat=length)))
    start, t = _chain_of(True)
    p_ours = np.exp(class_log_likelihood_ratios(spec, _one_hot(every))[:, 0]) * _chain_probability(every, start, t)
    assert p_ours.sum() == pytest.approx(1.0, abs=1e-12)
    p_shortcut = np.zeros(len(every))
    for s in range(length - 1):
        q = np.ones(len(every))
        for j in range(length):
            if s <= j < s + 2:
                q *= PFMS["A"][every[:, j], j - s]
            else:
                q *= start[every[:, 0]] if j == 0 else t[every[:, j - 1], every[:, j]]
        p_shortcut += q / (length - 1)
    data = simulate(spec, 200_000, seed=0)
    drawn = data.x[data.y == 1].argmax(axis=1)
    observed = np.bincount((drawn * 4 ** np.arange(length)[::-1]).sum(axis=1), minlength=4 ** length)
    n = observed.sum()
    for p, fits in ((p_ours, True), (p_shortcut, False)):
        statistic = (((observed - n * p) ** 2) / (n * p)).sum()
        assert (chi2.sf(statistic, 4 ** length - 1) > 1e-3) == fits


@pytest.mark.parametrize("order,position", [("random", "uniform"), ("fixed", "fixed")])
def test_markov_chain_likelihood_against_brute_force(order, position):
    """The i.i.d. chain test under the chain background; gap 0 makes the two sites one run of 5 planted bases."""
    length, chain, configs, codes = _pair_chain_case(order, position)
    spec = _spec(length, configs)
    got = class_log_likelihood_ratios(spec, _one_hot(codes))
    start, t = _chain_of(True)
    p_bg = _chain_probability(codes, start, t)
    for seq, row, bg in zip(codes, got, p_bg):
        p_config = _brute_force_chain(seq, length, chain, order, position, start, t)
        assert row[0] == pytest.approx(np.log(p_config / bg), abs=1e-9)
        assert row[1] == pytest.approx(0.0, abs=1e-12)


def test_markov_class_likelihood_is_a_distribution_over_all_sequences():
    """The i.i.d. test's grammar (gap 0 or 1 pairs, either order, centred; a lone scattered B) under the chain:
    P(x | class) sums to 1 over every sequence of length 6, sites at either end included."""
    length = 6
    configs = [{"name": "pair", "weight": 2, "order": "random", "position": {"mode": "center", "jitter": 3},
                "motifs": [{"motif": "A"}, {"motif": "A", "gap": {"values": [0, 1]}, "orientation": "random"}]},
               {"name": "lone", "weight": 1, "scatter": [{"motif": "B", "count": 1}]}]
    codes = np.array(list(itertools.product(range(4), repeat=length)))
    log_lr = class_log_likelihood_ratios(_spec(length, configs), _one_hot(codes))
    start, t = _chain_of(True)
    assert (np.exp(log_lr[:, 0]) * _chain_probability(codes, start, t)).sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("markov", [False, True])
@pytest.mark.parametrize("scatter,count_pmf", [
    ([{"motif": "A", "count": {"min": 1, "max": 3}}], [(1, 1 / 3), (2, 1 / 3), (3, 1 / 3)]),
    # two elements of one motif pool their copies: 0-1 and 1-2 copies make 1-3, all mutually apart
    ([{"motif": "A", "count": {"values": [0, 1]}}, {"motif": "A", "count": {"min": 1, "max": 2}}],
     [(1, 0.25), (2, 0.5), (3, 0.25)]),
])
def test_scatter_counts_against_brute_force(markov, scatter, count_pmf):
    """Up to 3 scattered copies of A (strands at random) in 12 bp, abutting copies included, under either
    background; the negatives plant 0-1 copies, so the column for them is checked as well."""
    length = 12
    negative = [{"name": "few", "scatter": [{"motif": "A", "count": {"values": [0, 1]}}]}]
    spec = _spec(length, [{"name": "many", "scatter": scatter}], markov, negative)
    codes = np.random.default_rng(2).integers(0, 4, size=(4, length))
    codes[0, :6] = [0, 3, 0, 3, 0, 3]  # three strong copies abutting: one run of 6 planted bases
    got = class_log_likelihood_ratios(spec, _one_hot(codes))
    start, t = _chain_of(markov)
    p_bg = _chain_probability(codes, start, t)
    for seq, row, bg in zip(codes, got, p_bg):
        assert row[0] == pytest.approx(np.log(_brute_force_scatter(seq, "A", count_pmf, start, t) / bg), abs=1e-9)
        assert row[1] == pytest.approx(np.log(_brute_force_scatter(seq, "A", [(0, 0.5), (1, 0.5)], start, t) / bg),
                                       abs=1e-9)


@pytest.mark.parametrize("markov", [False, True])
def test_scatter_count_likelihood_is_a_distribution_over_all_sequences(markov):
    """0, 1 or 2 scattered copies of A (weights 1, 2, 3) in 8 bp: P(x | class) sums to 1 over all 4^8 sequences."""
    length = 8
    spec = _spec(length, [{"name": "some", "scatter": [{"motif": "A", "count": {"values": [0, 1, 2],
                                                                                  "weights": [1, 2, 3]}}]}], markov)
    codes = np.array(list(itertools.product(range(4), repeat=length)))
    log_lr = class_log_likelihood_ratios(spec, _one_hot(codes))
    start, t = _chain_of(markov)
    assert (np.exp(log_lr[:, 0]) * _chain_probability(codes, start, t)).sum() == pytest.approx(1.0, abs=1e-12)


def test_forbidden_background_transitions_keep_the_ratio_finite():
    """cpg_ratio 0 forbids CG in the background, and the motif is CG: every positive holds a sequence the
    background cannot emit. No ratio is NaN (inf - inf): the positives' are finite, the negatives' -inf (no CG,
    no site), and every positive ranks first."""
    from bench.metrics.prediction import likelihood_ratio_oracle, likelihood_ratio_scores

    spec = {"length": 40, "background": {"model": "markov", "gc": 0.5, "cpg_ratio": 0.0}, "reject_matches": False,
            "motifs": {"M": {"matrix": [[0, 0], [1, 0], [0, 1], [0, 0]]}},
            "classes": [{"name": "pos", "label": 1, "fraction": 0.5,
                         "configs": [{"name": "m", "motifs": [{"motif": "M"}], "position": {"mode": "uniform"}}]},
                        {"name": "neg", "label": 0, "fraction": 0.5, "configs": [{"name": "bg"}]}]}
    data = simulate(spec, 400, seed=0)
    log_lr = class_log_likelihood_ratios(spec, data.x)
    assert np.isfinite(log_lr[data.y == 1]).all() and np.all(log_lr[data.y == 0, 0] == -np.inf)
    assert np.all(log_lr[:, 1] == 0.0)
    assert np.isfinite(likelihood_ratio_scores(spec, data.x)).all()
    assert likelihood_ratio_oracle(spec, data.x, data.y) == 1.0


def _population_auroc(score, p_pos, p_neg):
    """auROC over the whole population: every positive sequence against every negative one, by probability."""
    order = np.argsort(score, kind="stable")
    s, p_pos, p_neg = score[order], p_pos[order], p_neg[order]
    first = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    pos, neg = np.add.reduceat(p_pos, first), np.add.reduceat(p_neg, first)
    return float((pos * (np.cumsum(neg) - neg + 0.5 * neg)).sum() / (pos.sum() * neg.sum()))


def test_scattered_copies_rank_as_the_simulators_one_at_a_time_draws():
    """The simulator places scattered copies one at a time, each uniform over the starts still free; the
    likelihood takes every set of non-overlapping windows as equally likely. On 8 bp (2 copies of a strong
    2-mer against 1; edges weigh most here) that costs under 0.01 of the exact Neyman-Pearson auROC (0.7660
    against 0.7716)."""
    length, pfm = 8, np.array([[0.97, 0.01], [0.01, 0.01], [0.01, 0.97], [0.01, 0.01]])
    spec = _spec(length, [{"name": "two", "scatter": [{"motif": "S", "count": 2}]}], markov=False,
                 negative=[{"name": "one", "scatter": [{"motif": "S", "count": 1}]}])
    spec["motifs"]["S"] = {"matrix": pfm.tolist()}
    codes = np.array(list(itertools.product(range(4), repeat=length)))
    p_bg = np.prod(np.asarray(BG)[codes], axis=1)
    n_starts, rc, bg = length - 1, pfm[::-1, ::-1], np.asarray(BG)
    site = [0.5 * (pfm[codes[:, s], 0] * pfm[codes[:, s + 1], 1] + rc[codes[:, s], 0] * rc[codes[:, s + 1], 1])
            / (bg[codes[:, s]] * bg[codes[:, s + 1]]) for s in range(n_starts)]  # per start, strands at random
    one = sum(site) / n_starts
    two = 0.0
    for a in range(n_starts):
        free = [b for b in range(n_starts) if abs(b - a) >= 2]
        two = two + sum(site[a] * site[b] for b in free) / (n_starts * len(free))
    log_lr = class_log_likelihood_ratios(spec, _one_hot(codes))
    exact = _population_auroc(np.log(two) - np.log(one), two * p_bg, one * p_bg)
    ours = _population_auroc(log_lr[:, 0] - log_lr[:, 1], two * p_bg, one * p_bg)
    assert ours <= exact + 1e-12 and exact - ours < 0.01
