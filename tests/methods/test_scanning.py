"""The scanning routes' threshold rules, FIMO on planted sites, and the true motifs' background matches.

Known answers: a consensus PFM whose every base has probability 0.97 matches its consensus with
probability 0.97^6 = 0.833, and a uniform window scores the consensus with p = 4^-6, one mismatch or
better with p = 19/4^6, two or better with p = 154/4^6.
"""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from bench.methods import METHODS
from bench.methods.scanning import (DEFAULT_SCAN_THRESHOLD, FIMO_BIN_SIZE, FIMO_EPS, background_matches,
                                    background_rate_pvalues, check_scan_threshold, fimo_hits, fimo_pvalue_table,
                                    motif_pvalues, scan_instances, sensitivity_pvalue, site_score_tail)
from simulations import TRUTH_COLUMNS, from_consensus, parse_spec

from .tiny_models import random_one_hot


def _plant(x, seq, start, consensus):
    for j, b in enumerate(consensus):
        x[seq, :, start + j] = 0
        x[seq, "ACGT".index(b), start + j] = 1


def test_check_scan_threshold_fills_and_rejects():
    assert check_scan_threshold(1e-3) == {"pvalue": 1e-3}
    assert check_scan_threshold({"sensitivity": 0.9}) == {"sensitivity": 0.9, "max_pvalue": 3e-3}
    assert check_scan_threshold({"background_rate": 2, "max_pvalue": 0.01}) == {"background_rate": 2.0,
                                                                                  "max_pvalue": 0.01}
    assert check_scan_threshold(DEFAULT_SCAN_THRESHOLD) == DEFAULT_SCAN_THRESHOLD
    bad = [({"pvalue": 0}, r"scan_threshold\.pvalue must be a p-value in \(0, 1\]"),
           ({"sensitivity": 1.0}, r"scan_threshold\.sensitivity must be a fraction in \(0, 1\)"),
           ({"background_rate": -1}, "scan_threshold.background_rate must be a positive number"),
           ({"sensitivity": 0.9, "max_pvalue": 2}, r"scan_threshold\.max_pvalue must be a p-value"),
           ({"pvalue": 1e-3, "max_pvalue": 0.1}, r"unknown key\(s\) \['max_pvalue'\] for the 'pvalue' rule"),
           ({"pvalue": 1e-3, "sensitivity": 0.9}, "must name exactly one rule"),
           ({}, "must name exactly one rule"), ("1e-3", "scan_threshold must be a mapping"),
           (True, "scan_threshold must be a mapping")]
    for value, message in bad:
        with pytest.raises(ValueError, match=message):
            check_scan_threshold(value)
    for route in ("positive_control", "negative_control", "modisco"):
        assert METHODS[route].defaults()["scan_threshold"] == DEFAULT_SCAN_THRESHOLD
        with pytest.raises(ValueError, match="scan_threshold.sensitivity must be"):
            METHODS[route].check_params({"scan_threshold": {"sensitivity": 2}})
        with pytest.raises(ValueError, match="merge must be true or false"):
            METHODS[route].check_params({"merge": "yes"})


def test_pvalue_table_and_site_tail_match_enumeration():
    """Every one of the 4^4 windows of a random 4-column PFM, scored as memelite scores them."""
    pfm = np.random.default_rng(3).dirichlet(np.ones(4), size=4).T
    lp = np.log2(pfm + FIMO_EPS) + 2
    ints = np.rint(lp / FIMO_BIN_SIZE).astype(int)
    windows = np.array(list(itertools.product(range(4), repeat=4)))
    cols = np.arange(4)
    int_score = ints[windows, cols].sum(axis=1)
    float_score = lp[windows, cols].sum(axis=1)
    site_prob = pfm[windows, cols].prod(axis=1)

    table, lowest = fimo_pvalue_table(pfm)
    assert lowest == int_score.min() and len(table) == int_score.max() - lowest + 1
    for b in range(lowest, int_score.max() + 1):
        assert table[b - lowest] == pytest.approx(np.mean(int_score >= b), abs=1e-12)
    for s in np.quantile(float_score, [0.1, 0.5, 0.9, 0.99]):
        assert site_score_tail(pfm, [s - 0.01])[0] == pytest.approx(site_prob[float_score >= s - 0.01].sum(), abs=1e-9)


def test_sensitivity_cutoff_of_a_consensus_is_the_known_one():
    pfm = from_consensus("MAXlike", "CACGTG").pfm  # 0.97 per base
    # 0.8 <= 0.833: the consensus alone, halfway (in log) between its p and the one-mismatch p
    assert sensitivity_pvalue(pfm, 0.8) == pytest.approx(math.sqrt(1 * 19) / 4096, rel=1e-6)
    # 0.9 needs the one-mismatch windows too: halfway to the two-mismatch p
    assert sensitivity_pvalue(pfm, 0.9) == pytest.approx(math.sqrt(19 * 154) / 4096, rel=1e-6)
    assert sensitivity_pvalue(pfm, 0.9, max_pvalue=3e-3) == 3e-3
    # a flat motif needs everything, and gets the cap
    assert sensitivity_pvalue(np.full((4, 6), 0.25), 0.9, max_pvalue=3e-3) == 3e-3


def test_planted_6bp_consensus_is_called_by_the_positive_control():
    """The MAX-like CACGTG in a 6-column PFM: its best p is 4^-6 = 2.4e-4, so FIMO at p < 1e-4 can
    never call it; the default rule calls every planted copy, the JASPAR MAX too."""
    x = random_one_hot(20, 60, 7)
    starts = [5 + (3 * i) % 40 for i in range(20)]
    for i, s in enumerate(starts):
        _plant(x, i, s, "CACGTG")
    jaspar_max = parse_spec("e2f6_max_cooperativity").motifs["MAX"]
    assert jaspar_max.consensus() == "CACGTG"
    for motif in (from_consensus("MAX", "CACGTG"), jaspar_max):
        interp = METHODS["positive_control"].run(None, x, {}, seed=0, truth_motifs=[motif])
        calls = interp.instances
        for i, s in enumerate(starts):
            mine = calls[calls.seq == i]
            assert ((mine.start <= s) & (mine.end >= s + 6)).any(), (i, s, calls)
        assert interp.details["scan_threshold"] == DEFAULT_SCAN_THRESHOLD
        assert interp.details["scan_pvalues"]["MAX"] > 4.0 ** -6
        old = METHODS["positive_control"].run(None, x, {"scan_threshold": {"pvalue": 1e-4}}, seed=0,
                                              truth_motifs=[motif])
        assert len(old.instances) == 0


def test_per_motif_cutoffs_scan_each_motif_at_its_own():
    x = random_one_hot(4, 50, 1)
    _plant(x, 0, 10, "CACGTG")
    _plant(x, 1, 20, "GATAAG")
    motifs = {"max": from_consensus("max", "CACGTG").pfm, "gata": from_consensus("gata", "GATAAG").pfm}
    both = fimo_hits(motifs, x, {"max": 1e-3, "gata": 1e-3})
    assert {("max", 0, 10), ("gata", 1, 20)} <= set(zip(both.motif, both.seq, both.start))
    only_max = fimo_hits(motifs, x, {"max": 1e-3, "gata": 1e-9})
    assert set(only_max.motif) == {"max"}
    with pytest.raises(ValueError, match=r"no p-value for motif\(s\) \['gata'\]"):
        fimo_hits(motifs, x, {"max": 1e-3})
    inst, details = scan_instances(motifs, x, {"pvalue": 1e-3})
    assert details["scan_pvalues"] == {"max": 1e-3, "gata": 1e-3} and len(inst) == details["instances_merged"]


def test_background_rate_cutoff_keeps_the_shuffle_rate():
    x = random_one_hot(40, 250, 2)  # 10 kb
    pfm = np.random.default_rng(0).dirichlet(np.full(4, 0.5), size=8).T
    cut = background_rate_pvalues({"m": pfm}, x, rate=2.0, max_pvalue=1e-2, seed=5)["m"]
    assert motif_pvalues({"m": pfm}, x, {"background_rate": 2.0, "max_pvalue": 1e-2}, seed=5) == {"m": cut}
    from bench.methods.scanning import _shuffled

    hits = fimo_hits({"m": pfm}, _shuffled(x, 5), cut)
    windows = hits.groupby(["seq", "start"]).size()
    assert 0 < len(windows) <= 20  # at most 2 per kb on the shuffle the cut-off was drawn from
    assert 1e-4 < cut < 1e-2  # about 1e-3 (2 per kb) on an i.i.d. uniform background


def test_background_matches_are_the_true_motif_hits_outside_the_truth():
    """CACGTG planted twice in a background that cannot match it: the copy in the truth is not a
    background match, the other one is; a call sharing one base with a decoy row is not; a truth
    row that ends where a call starts shares no base with it."""
    x = np.zeros((2, 4, 60), np.float32)
    x[:, 0] = 1  # poly-A
    _plant(x, 0, 10, "CACGTG")  # planted: in the truth
    _plant(x, 0, 40, "CACGTG")  # not in the truth: the background match
    _plant(x, 1, 5, "CACGTG")   # shares base 5 with a decoy row
    truth = pd.DataFrame({"seq": [0, 0, 1], "start": [10, 34, 0], "end": [16, 40, 6], "strand": ["+", "+", "+"],
                          "motif": ["MAX", "OTHER", "DECOY"], "score": [1.0, 1.0, 1.0],
                          "role": ["pair:MAX", "pair:OTHER", "decoy"], "functional": [True, True, False]})
    motifs = {"MAX": from_consensus("MAX", "CACGTG").pfm}
    out = background_matches(motifs, x, truth)
    assert list(out.columns) == TRUTH_COLUMNS
    assert out[["seq", "start", "end", "motif", "role", "functional"]].values.tolist() == [
        [0, 40, 46, "MAX", "background_match", False]]
    assert out.score.iloc[0] == pytest.approx(-math.log10(4.0 ** -6), abs=0.05)
    # the same scan as the positive control: its calls are the truth's three copies and this one
    calls = METHODS["positive_control"].run(None, x, {}, seed=0,
                                            truth_motifs=[from_consensus("MAX", "CACGTG")]).instances
    assert len(calls) == 3
    assert len(background_matches(motifs, x, truth.iloc[:0])) == 3
    assert len(background_matches(motifs, x, truth, {"pvalue": 1e-4})) == 0
    assert list(background_matches({}, x, truth).columns) == TRUTH_COLUMNS
