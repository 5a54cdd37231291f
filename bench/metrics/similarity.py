"""Motif-to-motif similarity, information-content trimming, quality filters and Tomtom p-values.

All functions take position probability matrices (PFMs) of shape ``(4, W)`` in ``A, C, G, T``
row order (a :class:`simulations.Motif` is accepted wherever a PFM is). The reverse complement of
a PFM flips both axes. The information-content trimming and the quality filters
(``trim_by_ic``, ``quality_stats``, ``passes_quality`` and their constants) are defined once, in
:mod:`simulations.quality`, and re-exported here.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

# the IC trim and the quality rules: one definition, in simulations (re-exported here)
from simulations.quality import (QUALITY_RULES, TRIM_THRESHOLD, UNIFORM_MIN_LENGTH,  # noqa: F401
                                 UNIFORM_MIN_MEAN_IC, passes_quality, quality_stats, trim_by_ic)
from simulations.validation import validate_pfm as _as_pfm

# A fixed padding set for Tomtom (see :func:`tomtom_pvalues`): well-known, diverse JASPAR CORE
# vertebrate motifs. Fixed so that a query's p-value against a true motif does not depend on how
# many true motifs a simulation happens to plant.
TOMTOM_PADDING = (
    "CTCF", "SPI1", "GATA1", "FOXA1", "HNF4A", "CEBPB", "RUNX1", "TEAD1", "NFYA", "SP1",
    "YY1", "REST", "MAX", "USF1", "ELK1", "IRF1", "STAT3", "NRF1", "CREB1", "NFKB1",
    "TP53", "SOX2", "PAX5", "MEF2A", "SRF", "E2F1", "KLF4", "EGR1", "NR3C1", "HNF1A",
)


def _l1_columns(pfm: np.ndarray, pseudocount: float = 1e-6) -> np.ndarray:
    """Columns L1-normalized after a pseudocount, as the reference does."""
    p = pfm + pseudocount
    return p / p.sum(axis=0, keepdims=True)


def _diagonal_sums(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw cross-correlation over all offsets with overhangs.

    Returns ``(sums, overlaps)``, each of length ``Wa + Wb - 1``, ordered by lag
    ``-(Wb-1) .. Wa-1`` (the order of ``scipy.signal.correlate(a.T, b.T, "full")``), where lag is
    the column of ``a`` aligned with column 0 of ``b``.
    """
    wa, wb = a.shape[1], b.shape[1]
    g = a.T @ b  # (Wa, Wb): dot products of every column pair
    lags = np.arange(-(wb - 1), wa)
    sums = np.array([np.trace(g, offset=-lag) for lag in lags])
    overlaps = np.minimum.reduce([lags + wb, np.full_like(lags, wa), np.full_like(lags, wb), wa - lags])
    return sums, overlaps


def _cross_correlation_one_strand(a: np.ndarray, b: np.ndarray) -> float:
    sums, overlaps = _diagonal_sums(a, b)
    # the reference picks the offset by the raw (unnormalized) sum, first one on ties,
    # and only then divides by the overlap; so short overhanging overlaps cannot win on their own
    best = int(np.argmax(sums))
    return float(sums[best] / overlaps[best])


def aligned_similarity(pfm_a, pfm_b) -> float:
    """Length-normalized cross-correlation of two motifs (the ARGMINN reference similarity).

    Columns are L1-normalized after a pseudocount of 1e-6; ``b`` slides over ``a`` with
    overhangs on both sides; the offset with the largest raw sum of column dot products is
    chosen (first on ties) and that sum is divided by its overlap length. The maximum over
    ``b`` and its reverse complement is returned.

    Parameters
    ----------
    pfm_a, pfm_b : array-like (4, Wa), (4, Wb) or Motif

    Returns
    -------
    float in [0, 1]. Identical one-hot motifs give 1; symmetric, since the best alignment of
    ``a`` to ``rc(b)`` is that of ``rc(a)`` to ``b``.
    """
    a = _l1_columns(_as_pfm(pfm_a, "pfm_a"))
    b = _l1_columns(_as_pfm(pfm_b, "pfm_b"))
    if a.shape[1] == 0 or b.shape[1] == 0:
        raise ValueError("pfm_a and pfm_b must have at least one column")
    return max(_cross_correlation_one_strand(a, b), _cross_correlation_one_strand(a, b[::-1, ::-1]))


def _pearson_one_strand(a: np.ndarray, b: np.ndarray, min_overlap: int) -> float:
    wa, wb = a.shape[1], b.shape[1]
    best = -np.inf
    for lag in range(-(wb - 1), wa):
        lo_a, hi_a = max(lag, 0), min(wa, lag + wb)
        if hi_a - lo_a < min_overlap:
            continue
        x = a[:, lo_a:hi_a].ravel()
        y = b[:, lo_a - lag:hi_a - lag].ravel()
        x, y = x - x.mean(), y - y.mean()
        denom = np.sqrt((x * x).sum() * (y * y).sum())
        # uniform columns carry no information to correlate: score them 0, not NaN
        r = float((x * y).sum() / denom) if denom > 1e-12 else 0.0
        best = max(best, r)
    return best


#: the overlap floor of :func:`aligned_pearson`'s default rule, ``max(4, min(Wa, Wb) − 2)``
PEARSON_MIN_OVERLAP_FLOOR = 4
#: columns of the shorter motif that the default rule lets hang over the end of the other
PEARSON_MAX_OVERHANG = 2


def pearson_min_overlap(width_a: int, width_b: int, min_overlap: int | None = None) -> int:
    """Aligned columns :func:`aligned_pearson` requires for two motifs of widths ``width_a``, ``width_b``.

    Parameters
    ----------
    width_a, width_b : int >= 1
    min_overlap : int or None
        None: the default rule ``max(4, min(Wa, Wb) − 2)``, i.e. at most 2 columns of the shorter
        motif may hang over an end (so a 4-column overhang between two 8-column motifs is not an
        alignment) but never fewer than 4 columns. An int: that number of columns.

    Returns
    -------
    int: the rule's value, lowered to ``min(Wa, Wb)`` when the shorter motif is narrower (so two
    motifs can always be compared over the whole shorter one).
    """
    for name, w in (("width_a", width_a), ("width_b", width_b)):
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
            raise ValueError(f"{name} must be a positive integer, got {w!r}")
    shorter = min(int(width_a), int(width_b))
    if min_overlap is None:
        k = max(PEARSON_MIN_OVERLAP_FLOOR, shorter - PEARSON_MAX_OVERHANG)
    elif isinstance(min_overlap, bool) or not isinstance(min_overlap, (int, np.integer)) or min_overlap < 1:
        raise ValueError(f"min_overlap must be a positive integer or None, got {min_overlap!r}")
    else:
        k = int(min_overlap)
    return min(k, shorter)


def aligned_pearson(pfm_a, pfm_b, min_overlap: int | None = None) -> float:
    """Maximum Pearson correlation of aligned columns over offsets and both strands of ``b``.

    At each offset whose overlap has at least :func:`pearson_min_overlap` columns, the
    overlapping ``(4, overlap)`` blocks are flattened and correlated. An overlap of constant
    (uniform) columns scores 0.

    Parameters
    ----------
    pfm_a, pfm_b : array-like (4, Wa), (4, Wb) or Motif
    min_overlap : int or None
        Minimum number of aligned columns. None (the default, the benchmark's match rule):
        ``max(4, min(Wa, Wb) − 2)``, so the alignment may leave at most 2 columns of the shorter
        motif hanging over an end. (A fixed 4, the rule before, let two unrelated 8-column
        motifs such as ``TTATCTCC`` and ``AGATAAGG`` score 1 through a 4-column overhang, and let
        random motifs match a planted one 4-7% of the time.) An int: that many columns. Either
        way lowered to the shorter width when a motif is shorter.

    Returns
    -------
    float in [-1, 1].
    """
    a = _as_pfm(pfm_a, "pfm_a")
    b = _as_pfm(pfm_b, "pfm_b")
    if a.shape[1] == 0 or b.shape[1] == 0:
        raise ValueError("pfm_a and pfm_b must have at least one column")
    k = pearson_min_overlap(a.shape[1], b.shape[1], min_overlap)
    return max(_pearson_one_strand(a, b, k), _pearson_one_strand(a, b[::-1, ::-1], k))


@functools.lru_cache(maxsize=1)
def _padding_pfms() -> tuple[np.ndarray, ...]:
    from simulations import jaspar_motif

    return tuple(jaspar_motif(name).pfm for name in TOMTOM_PADDING)


def _tomtom_padded(queries, targets, pad: bool) -> tuple[np.ndarray, int]:
    """p-values against the (padded) targets: ``(nQ, nT + n_padding)`` and ``nT``."""
    q = [np.ascontiguousarray(_as_pfm(m, f"queries[{i}]")) for i, m in enumerate(queries)]
    t = [np.ascontiguousarray(_as_pfm(m, f"targets[{i}]")) for i, m in enumerate(targets)]
    for name, group in (("queries", q), ("targets", t)):
        for i, m in enumerate(group):
            if m.shape[1] == 0:
                raise ValueError(f"{name}[{i}] must have at least one column")
    n_t = len(t)
    if not q or not t:
        return np.zeros((len(q), n_t)), n_t
    if pad:
        t = t + [np.ascontiguousarray(p) for p in _padding_pfms()]
    from memelite import tomtom

    with warnings.catch_warnings():
        # below 25 targets (pad=False) memelite warns; the caller asked for it explicitly
        warnings.simplefilter("ignore")
        p_values = tomtom(q, t, n_jobs=1)[0]
    return np.asarray(p_values, dtype=np.float64), n_t


def tomtom_pvalues(queries, targets, pad: bool = True) -> np.ndarray:
    """Tomtom p-values (memelite, complete score, both strands) of every query against every target.

    memelite estimates each p-value with the *target* columns as the background distribution and
    warns below 25 targets. A benchmark has 1-3 true motifs, so, with ``pad=True``, a fixed set of
    30 JASPAR CORE vertebrate motifs (``TOMTOM_PADDING``) is always appended to the targets and
    its columns dropped from the result: the background is then the same for every simulation
    (always padded, not only below 25, so p-values are comparable across simulations).

    Parameters
    ----------
    queries : list of (4, Wq) arrays or Motifs
    targets : list of (4, Wt) arrays or Motifs
    pad : bool
        Append the fixed padding set (needs pyjaspar's bundled database).

    Returns
    -------
    numpy.ndarray (nQ, nT) of p-values; empty when either list is empty. The first call in a
    process compiles memelite's numba kernels (~40 s cold, cached on disk afterwards).
    """
    p, n_t = _tomtom_padded(queries, targets, pad)
    return p[:, :n_t]


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini-Hochberg q-values along the last axis.

    Parameters
    ----------
    p_values : (..., m) array in [0, 1]

    Returns
    -------
    numpy.ndarray of the same shape: ``q_(i) = min_{j >= i} p_(j) m / j`` (sorted order), at most 1.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim == 0 or np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p_values must be an array of finite values in [0, 1]")
    m = p.shape[-1]
    if m == 0:
        return p.copy()
    order = np.argsort(p, axis=-1, kind="stable")
    ps = np.take_along_axis(p, order, axis=-1)
    q = ps * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(q[..., ::-1], axis=-1)[..., ::-1]
    out = np.empty_like(q)
    np.put_along_axis(out, order, np.minimum(q, 1.0), axis=-1)
    return out


def tomtom_qvalues(queries, targets, pad: bool = True) -> np.ndarray:
    """Tomtom q-values: Benjamini-Hochberg over each query's p-values against all (padded) targets.

    Tomtom reports q-values per query over the target database; here the database is the true
    motifs plus, with ``pad=True``, the fixed padding set of :func:`tomtom_pvalues`, so a q-value
    does not depend on how many motifs a simulation plants.

    Returns
    -------
    numpy.ndarray (nQ, nT); empty when either list is empty.
    """
    p, n_t = _tomtom_padded(queries, targets, pad)
    if p.size == 0:
        return p[:, :n_t]
    return benjamini_hochberg(np.clip(p, 0.0, 1.0))[:, :n_t]
