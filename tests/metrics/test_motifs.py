import numpy as np
import pytest

from bench.metrics import motif_assignment, motif_recovery, recovery_curve
from simulations import Motif, from_consensus

GATA = from_consensus("GATA", "AGATAAGG")
EBOX = from_consensus("EBOX", "CCACGTGG")
SP1 = from_consensus("SP1", "GGGGCGGGGC")


def test_perfect_recovery_with_redundancy_and_junk():
    disc = [GATA.renamed("p0"), GATA.reverse_complement().renamed("p1"), EBOX.renamed("p2"),
            from_consensus("p3", "TTTTTAAAAA"), Motif("flat", np.full((4, 8), 0.25))]
    r = motif_recovery(disc, [GATA, EBOX, SP1])
    # p0,p1 -> GATA (one recovered, one redundant), p2 -> EBOX, p3 passes but matches nothing, flat fails quality
    assert r["n_discovered"] == 5 and r["n_passing"] == 4
    assert r["recall"] == pytest.approx(2 / 3)
    assert r["precision"] == pytest.approx(3 / 4)
    assert r["precision_one_to_one"] == pytest.approx(2 / 4)
    assert r["redundancy"] == pytest.approx(1 / 2)
    assert r["n_redundant"] == 1
    assert r["non_motif_patterns"] == 1
    # 0.97-strength consensus: self-similarity = 0.97**2 + 3 * 0.01**2
    assert r["best_similarity/GATA"] == pytest.approx(0.9412, abs=1e-3)
    assert r["best_similarity/EBOX"] == pytest.approx(0.9412, abs=1e-3)
    assert r["best_similarity/SP1"] < 0.75


def test_hungarian_keeps_maximum_number_of_pairs():
    # d0 is the best match for both A and B; d1 matches only A. One-to-one: d0->B, d1->A.
    from bench.metrics.motifs import _one_to_one
    s = np.array([[0.9, 0.8], [0.85, 0.1]])
    assert sorted(_one_to_one(s, 0.75)) == [(0, 1), (1, 0)]
    assert _one_to_one(np.zeros((0, 2)), 0.5) == []


def test_nothing_discovered_and_no_truth():
    r = motif_recovery([], [GATA])
    assert r["recall"] == 0.0 and np.isnan(r["precision"]) and np.isnan(r["redundancy"])
    assert r["non_motif_patterns"] == 0 and np.isnan(r["best_similarity/GATA"])
    r = motif_recovery([GATA.renamed("p0")], [])
    assert np.isnan(r["recall"]) and r["precision"] == 0.0 and r["non_motif_patterns"] == 1


def test_assignment_many_to_one():
    disc = [GATA.renamed("p0"), GATA.reverse_complement().renamed("p1"), EBOX.renamed("p2"),
            from_consensus("p3", "TTTTTAAAAA")]
    assert motif_assignment(disc, [GATA, EBOX]) == {"p0": "GATA", "p1": "GATA", "p2": "EBOX"}


def test_recovery_curve_monotone_recall():
    disc = [GATA.renamed("p0"), EBOX.renamed("p2")]
    curve = recovery_curve(disc, [GATA, EBOX, SP1], [0.0, 0.5, 0.99, 1.01])
    assert list(curve["threshold"]) == [0.0, 0.5, 0.99, 1.01]
    assert curve["recall"].iloc[-1] == 0.0 and curve["recall"].iloc[0] == pytest.approx(2 / 3)
    assert np.all(np.diff(curve["recall"]) <= 0)


def test_pearson_similarity_and_quality_none():
    r = motif_recovery([GATA.renamed("p0")], [GATA], similarity="pearson", quality=None)
    assert r["recall"] == 1.0 and r["best_similarity/GATA"] == pytest.approx(1.0)


def test_input_checks():
    with pytest.raises(ValueError, match="discovered"):
        motif_recovery([np.ones((4, 3))], [GATA])
    with pytest.raises(ValueError, match="similarity"):
        motif_recovery([], [GATA], similarity="cosine")
    with pytest.raises(ValueError, match="unique"):
        motif_recovery([GATA, GATA], [GATA])


def test_threshold_checked_and_defaulted():
    with pytest.raises(ValueError, match="threshold"):
        motif_recovery([], [GATA], threshold="high")
    with pytest.raises(ValueError, match="threshold"):
        motif_assignment([], [GATA], threshold=float("nan"))
    disc = [GATA.renamed("p0")]
    assert motif_recovery(disc, [GATA]) == motif_recovery(disc, [GATA], threshold=0.75)


def test_pearson_recovery_refuses_overhangs_and_keeps_shifts():
    # the benchmark's match: Pearson >= 0.75 with at most 2 overhanging columns
    overhang = from_consensus("p0", "CCTCAGAT")  # shares only AGAT with AGATAAGG, at the edge
    shifted = from_consensus("p1", "GCAGATAA")  # AGATAA, two columns off
    r = motif_recovery([overhang, shifted], [GATA, EBOX], similarity="pearson")
    assert r["n_passing"] == 2 and r["n_recovered"] == 1 and r["non_motif_patterns"] == 1
    assert r["best_similarity/GATA"] == pytest.approx(1.0)
    assert motif_assignment([overhang, shifted], [GATA, EBOX], similarity="pearson") == {"p1": "GATA"}
    assert motif_recovery([overhang], [GATA], similarity="pearson")["recall"] == 0.0
