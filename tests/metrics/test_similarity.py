import numpy as np
import pytest

from bench.metrics import (aligned_pearson, aligned_similarity, benjamini_hochberg, motif_recovery, passes_quality,
                           pearson_min_overlap, similarity_matrix, tomtom_pvalues, tomtom_qvalues, trim_by_ic)
from simulations import from_consensus


def onehot(seq):
    return np.array([[float(b == a) for b in seq] for a in "ACGT"])


def brute_force_xcorr(m1, m2):
    """The definition in argminn-notes §8.2, as an explicit loop over offsets (W x 4 inputs).

    Columns are L1-normalized (+1e-6); every offset with at least one overlapping
    column is tried; the best raw dot-sum is divided by its overlap length.
    """
    m1 = (m1 + 1e-6) / (m1 + 1e-6).sum(axis=1, keepdims=True)
    m2 = (m2 + 1e-6) / (m2 + 1e-6).sum(axis=1, keepdims=True)
    best_sum, best_len = -np.inf, 1
    for shift in range(-(len(m2) - 1), len(m1)):
        pairs = [(i, i - shift) for i in range(len(m1)) if 0 <= i - shift < len(m2)]
        total = sum(float(np.dot(m1[i], m2[j])) for i, j in pairs)
        if total > best_sum:
            best_sum, best_len = total, len(pairs)
    return best_sum / best_len


def test_identical_one_hot_is_one():
    assert aligned_similarity(onehot("GATAAG"), onehot("GATAAG")) == pytest.approx(1.0, abs=1e-5)


def test_reverse_complement_is_found():
    # CCTTATC is the reverse complement of GATAAGG
    assert aligned_similarity(onehot("GATAAGG"), onehot("CCTTATC")) == pytest.approx(1.0, abs=1e-5)


def test_uniform_vs_anything_is_quarter():
    u = np.full((4, 6), 0.25)
    assert aligned_similarity(u, onehot("ACGTAC")) == pytest.approx(0.25, abs=1e-5)


def test_overhang_offset_hand_computed():
    # ACGT vs GTCC: best raw sum is 2 (GT over GT, overlap 2) -> 2/2 = 1 on the forward strand
    assert aligned_similarity(onehot("ACGT"), onehot("GTCC")) == pytest.approx(1.0, abs=1e-5)
    # AAAA vs CCCC (rc GGGG): no base in common anywhere -> ~0
    assert aligned_similarity(onehot("AAAA"), onehot("CCCC")) == pytest.approx(0.0, abs=1e-5)


def test_matches_reference_on_random_pfms():
    rng = np.random.default_rng(1)
    for _ in range(30):
        a = rng.dirichlet(np.ones(4), size=rng.integers(1, 12)).T
        b = rng.dirichlet(np.ones(4), size=rng.integers(1, 12)).T
        ref = max(brute_force_xcorr(a.T, b.T), brute_force_xcorr(a.T, np.flip(b.T)))
        assert aligned_similarity(a, b) == pytest.approx(ref, rel=1e-9)
        assert aligned_similarity(a, b) == pytest.approx(aligned_similarity(b, a), rel=1e-9)


def test_pearson_identical_and_rc():
    assert aligned_pearson(onehot("GATAAG"), onehot("CTTATC")) == pytest.approx(1.0)
    u = np.full((4, 5), 0.25)
    assert aligned_pearson(u, onehot("GATAA")) == 0.0  # constant columns score 0


def test_pearson_min_overlap_respected():
    # one shared column (T) at the edge: allowed only with min_overlap=1
    a, b = onehot("AAAT"), onehot("TCCC")
    assert aligned_pearson(a, b, min_overlap=1) == pytest.approx(1.0)
    assert aligned_pearson(a, b, min_overlap=4) < 1.0


def test_trim_by_ic():
    u = np.full((4, 2), 0.25)
    core = onehot("GATA")
    pfm = np.concatenate([u, core, u], axis=1)
    np.testing.assert_allclose(trim_by_ic(pfm), core)
    assert trim_by_ic(np.full((4, 3), 0.25)).shape == (4, 0)
    gapped = np.concatenate([core, u, core], axis=1)  # interior flat columns stay
    assert trim_by_ic(gapped).shape == (4, 10)


def test_quality_rules():
    strong = from_consensus("s", "GATAAG", 0.97).pfm  # ~1.7 bit/col, 6 cols
    short = from_consensus("t", "GATA", 0.97).pfm
    weak = from_consensus("w", "GATAAGGATAAG", 0.7).pfm  # 0.643 bit/col, 7.7 bits total
    assert passes_quality(strong) and passes_quality(strong, "argminn") and passes_quality(strong, "modisco")
    assert not any(passes_quality(short, r) for r in ("uniform", "argminn", "modisco"))
    assert passes_quality(weak, "uniform") and not passes_quality(weak, "argminn") and passes_quality(weak, "modisco")
    with pytest.raises(ValueError, match="rule"):
        passes_quality(strong, "nope")


def test_quality_rules_are_defined_once():
    """bench.metrics.similarity re-exports simulations.quality's trim and rules (models.readout too)."""
    from bench.metrics import similarity
    from simulations import quality

    for name in ("QUALITY_RULES", "TRIM_THRESHOLD", "UNIFORM_MIN_LENGTH", "UNIFORM_MIN_MEAN_IC", "passes_quality",
                 "quality_stats", "trim_by_ic"):
        assert getattr(similarity, name) is getattr(quality, name)
    assert passes_quality is quality.passes_quality and trim_by_ic is quality.trim_by_ic


def test_input_checks():
    with pytest.raises(ValueError, match="pfm_a"):
        aligned_similarity(np.ones((3, 4)), onehot("ACGT"))
    with pytest.raises(ValueError, match="min_overlap"):
        aligned_pearson(onehot("ACGT"), onehot("ACGT"), min_overlap=0)


def test_tomtom_empty_inputs():
    assert tomtom_pvalues([], [onehot("ACGT")]).shape == (0, 1)
    assert tomtom_qvalues([onehot("ACGT")], []).shape == (1, 0)
    assert similarity_matrix([], [onehot("ACGT")], "tomtom").shape == (0, 1)


def test_benjamini_hochberg_hand_made():
    q = benjamini_hochberg([0.01, 0.04, 0.03, 0.5])
    # sorted .01 .03 .04 .5 -> x4/rank .04 .06 .0533 .5 -> running min from the right
    np.testing.assert_allclose(q, [0.04, 0.16 / 3, 0.16 / 3, 0.5])
    # row-wise; 0.2 x 2 / rank 2 = 0.2
    np.testing.assert_allclose(benjamini_hochberg([[0.9, 0.9], [0.2, 0.0]]), [[0.9, 0.9], [0.2, 0.0]])
    assert benjamini_hochberg(np.zeros((2, 0))).shape == (2, 0)
    with pytest.raises(ValueError, match="p_values"):
        benjamini_hochberg([0.5, 1.5])


def test_benjamini_hochberg_against_scipy():
    from scipy.stats import false_discovery_control
    p = np.random.default_rng(0).random((5, 40)) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), false_discovery_control(p, axis=-1))


def test_similarity_matrix():
    s = similarity_matrix([onehot("GATAAG"), onehot("CCCCCC")], [onehot("GATAAG")])
    assert s.shape == (2, 1) and s[0, 0] == pytest.approx(1.0, abs=1e-5) and s[1, 0] < 0.5
    with pytest.raises(ValueError, match="similarity"):
        similarity_matrix([], [], "euclid")


@pytest.mark.slow
def test_tomtom_pvalues_rank_true_match_first():
    gata = from_consensus("g", "AGATAAGG").pfm
    ebox = from_consensus("e", "CACGTGAC").pfm
    p = tomtom_pvalues([gata, ebox], [gata, ebox])
    assert p.shape == (2, 2)
    assert p[0, 0] < 1e-3 and p[1, 1] < 1e-3
    assert p[0, 0] < p[0, 1] and p[1, 1] < p[1, 0]


@pytest.mark.slow
def test_tomtom_qvalues_and_recovery():
    gata = from_consensus("GATA", "AGATAAGG")
    ebox = from_consensus("EBOX", "CACGTGAC")
    p = tomtom_pvalues([gata, ebox], [gata, ebox])
    q = tomtom_qvalues([gata, ebox], [gata, ebox])
    assert q.shape == (2, 2) and np.all(q >= p - 1e-15) and q[0, 0] < 1e-3
    r = motif_recovery([gata.renamed("p0"), from_consensus("p1", "TTTTTAAAAA")], [gata, ebox], similarity="tomtom")
    assert r["recall"] == pytest.approx(1 / 2) and r["best_similarity/GATA"] > 2


def test_pearson_default_overlap_rule():
    assert pearson_min_overlap(8, 8) == 6  # at most 2 columns of the shorter motif hang over
    assert pearson_min_overlap(13, 15) == 11
    assert pearson_min_overlap(6, 13) == 4  # never fewer than 4 columns ...
    assert pearson_min_overlap(3, 10) == 3  # ... unless the shorter motif is narrower
    assert pearson_min_overlap(8, 8, min_overlap=4) == 4 and pearson_min_overlap(5, 8, min_overlap=7) == 5
    with pytest.raises(ValueError, match="min_overlap"):
        pearson_min_overlap(8, 8, min_overlap=0)
    with pytest.raises(ValueError, match="width_a"):
        pearson_min_overlap(0, 8)


def test_pearson_refuses_a_four_column_overhang():
    # GATA, the last 4 columns of a, is the first 4 of b; nothing else lines up
    a, b = onehot("CCTTGATA"), onehot("GATACCTT")
    assert aligned_pearson(a, b, min_overlap=4) == pytest.approx(1.0)  # the old rule
    # the best alignment of >= 6 columns (reverse strand) matches half its n columns; for one-hot
    # columns with m matches Pearson is (4m − n) / (3n), here 1/3
    assert aligned_pearson(a, b) == pytest.approx(1 / 3)
    assert aligned_pearson(b, a) == pytest.approx(1 / 3)


def test_pearson_full_and_shifted_matches_are_found():
    b = onehot("AGATAAGG")
    assert aligned_pearson(b, b) == pytest.approx(1.0)
    assert aligned_pearson(onehot("CAGATAAG"), b) == pytest.approx(1.0)  # shifted by 1: 7 columns
    assert aligned_pearson(onehot("CCAGATAA"), b) == pytest.approx(1.0)  # shifted by 2: 6 columns
    assert aligned_pearson(onehot("TTCAGATA"), b) < 0.75  # shifted by 3: only 5 columns line up
    assert aligned_pearson(onehot("TTATCTCC"), b) == pytest.approx(1.0)  # TTATCT = rc(AGATAA): 6 columns
    assert aligned_pearson(onehot("GATAAG"), b) == pytest.approx(1.0)  # a sub-motif lies inside b


def test_pearson_soft_motifs_under_the_default_rule():
    g = from_consensus("g", "AGATAAGG").pfm
    assert aligned_pearson(from_consensus("o", "CCTCAGAT").pfm, g) < 0.75
    assert aligned_pearson(from_consensus("o", "CCTCAGAT").pfm, g, min_overlap=4) == pytest.approx(1.0)
    assert aligned_pearson(from_consensus("s", "GCAGATAA").pfm, g) == pytest.approx(1.0)
