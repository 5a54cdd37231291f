"""Motif recovery: one-to-one matching of discovered motifs to the planted ones.

Definitions (benchmarks.md §4.1). Discovered motifs are IC-trimmed and filtered by one quality
rule (:func:`bench.metrics.similarity.passes_quality`); true motifs are IC-trimmed the same way
(kept whole if trimming would empty them). With ``S`` the (passing × true) similarity matrix:

- a discovered motif *matches* a true motif when ``S >= threshold``;
- *recall*: true motifs recovered under a one-to-one (Hungarian) matching / true motifs;
- *precision*: passing discovered motifs matching at least one true motif / passing motifs;
- *redundancy*: (discovered matching some true motif − true motifs recovered) / recovered;
- *non_motif_patterns*: passing discovered motifs matching no true motif.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from .similarity import QUALITY_RULES, aligned_pearson, aligned_similarity, passes_quality, tomtom_pvalues, trim_by_ic

SIMILARITIES = {"aligned": aligned_similarity, "pearson": aligned_pearson, "tomtom": None}
#: the match threshold used when none is given, per similarity. Tomtom's similarity is
#: −log10(p) (against the padded target set), so 2 means p < 0.01.
DEFAULT_THRESHOLDS = {"aligned": 0.75, "pearson": 0.75, "tomtom": 2.0}


def _threshold(threshold, similarity: str) -> float:
    try:
        t = float(DEFAULT_THRESHOLDS[similarity] if threshold is None else threshold)
    except (TypeError, ValueError):
        t = np.nan
    if not np.isfinite(t):
        raise ValueError(f"threshold must be a finite number or None, got {threshold!r}")
    return t


def similarity_matrix(pfms_a, pfms_b, similarity: str = "aligned") -> np.ndarray:
    """Pairwise similarity of two lists of PFMs.

    Parameters
    ----------
    pfms_a, pfms_b : lists of (4, W) arrays or Motifs
    similarity : {"aligned", "pearson", "tomtom"}
        ``"tomtom"`` gives −log10 of memelite Tomtom p-values with ``pfms_b`` as the targets
        (padded, see :func:`bench.metrics.similarity.tomtom_pvalues`; p floored at 1e-300).

    Returns
    -------
    numpy.ndarray (len(pfms_a), len(pfms_b)) float64.
    """
    if similarity not in SIMILARITIES:
        raise ValueError(f"similarity must be one of {tuple(SIMILARITIES)}, got {similarity!r}")
    if similarity == "tomtom":
        if not pfms_a or not pfms_b:
            return np.zeros((len(pfms_a), len(pfms_b)))
        return -np.log10(np.clip(tomtom_pvalues(list(pfms_a), list(pfms_b)), 1e-300, 1.0))
    fn = SIMILARITIES[similarity]
    s = [[fn(a, b) for b in pfms_b] for a in pfms_a]
    return np.array(s, dtype=np.float64).reshape(len(pfms_a), len(pfms_b))


def _check_motifs(motifs, name: str) -> list:
    if not isinstance(motifs, (list, tuple)):
        raise ValueError(f"{name} must be a list of simulations.Motif, got {type(motifs).__name__}")
    for i, m in enumerate(motifs):
        if not (hasattr(m, "pfm") and hasattr(m, "name")):
            raise ValueError(f"{name}[{i}] must be a simulations.Motif (with .name and .pfm)")
    names = [m.name for m in motifs]
    if len(set(names)) != len(names):
        raise ValueError(f"{name} must have unique names, got {names}")
    return list(motifs)


def _prepare(discovered, truth, similarity: str, quality):
    """Passing discovered motifs, trimmed PFMs of both sides, and the similarity matrix."""
    discovered = _check_motifs(discovered, "discovered")
    truth = _check_motifs(truth, "truth")
    if similarity not in SIMILARITIES:
        raise ValueError(f"similarity must be one of {tuple(SIMILARITIES)}, got {similarity!r}")
    if quality is not None and quality not in QUALITY_RULES:
        raise ValueError(f"quality must be one of {QUALITY_RULES} or None, got {quality!r}")
    if quality is None:
        passing = discovered
        d_pfms = [np.asarray(m.pfm) for m in passing]
        t_pfms = [np.asarray(m.pfm) for m in truth]
    else:
        passing = [m for m in discovered if passes_quality(m.pfm, quality)]
        d_pfms = [trim_by_ic(m.pfm) for m in passing]
        # trim the truth the same way, so low-IC JASPAR flanks do not dilute the similarity
        t_pfms = [t if (t := trim_by_ic(m.pfm)).shape[1] else np.asarray(m.pfm) for m in truth]
    return discovered, passing, truth, similarity_matrix(d_pfms, t_pfms, similarity)


def _one_to_one(s: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Hungarian matching that first maximizes the number of pairs above ``threshold``, then their similarity.

    Plain Hungarian on ``S`` followed by thresholding can drop pairs that another assignment
    would keep; a bonus larger than any similarity sum for every admissible pair prevents that.
    """
    if s.size == 0:
        return []
    ok = s >= threshold
    bonus = float(min(s.shape) + 1) * (np.nanmax(np.abs(s)) + 1.0)
    w = np.where(ok, bonus + s, 0.0)
    rows, cols = linear_sum_assignment(w, maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if ok[r, c]]


def _scores(s: np.ndarray, n_discovered: int, truth_names: list[str], threshold: float) -> dict[str, float]:
    n_pass, n_true = s.shape
    pairs = _one_to_one(s, threshold)
    n_recovered = len(pairs)
    n_matching = int((s >= threshold).any(axis=1).sum()) if n_true else 0
    best = s.max(axis=0) if n_pass else np.full(n_true, np.nan)
    out = {
        "recall": n_recovered / n_true if n_true else np.nan,
        "precision": n_matching / n_pass if n_pass else np.nan,
        "precision_one_to_one": n_recovered / n_pass if n_pass else np.nan,
        "redundancy": (n_matching - n_recovered) / n_recovered if n_recovered else np.nan,
        "n_redundant": float(n_matching - n_recovered),
        "non_motif_patterns": float(n_pass - n_matching),
        "n_recovered": float(n_recovered),
        "n_discovered": float(n_discovered),
        "n_passing": float(n_pass),
        "best_similarity_mean": float(np.mean(best)) if n_true and n_pass else np.nan,
    }
    for name, b in zip(truth_names, best):
        out[f"best_similarity/{name}"] = float(b)
    return out


def motif_recovery(discovered, truth, threshold: float | None = None, similarity: str = "aligned",
                   quality: str | None = "uniform") -> dict[str, float]:
    """Score discovered motifs against the planted motifs.

    Parameters
    ----------
    discovered : list of simulations.Motif
        What a method returned (unique names).
    truth : list of simulations.Motif
        The planted motifs.
    threshold : float or None
        Similarity at or above which a discovered motif matches a true motif; None takes
        ``DEFAULT_THRESHOLDS[similarity]`` (0.75, 0.75, 2.0).
    similarity : {"aligned", "pearson", "tomtom"}
        :func:`aligned_similarity` (range [0, 1]), :func:`aligned_pearson` (range [-1, 1], over
        alignments of at least ``max(4, min(Wa, Wb) − 2)`` columns of the trimmed motifs, see
        :func:`bench.metrics.similarity.pearson_min_overlap`) or −log10 Tomtom p (slow on first
        use: memelite's numba JIT).
    quality : {"uniform", "argminn", "modisco"} or None
        Quality rule for discovered motifs (after IC trimming); ``None`` keeps all, untrimmed.

    Returns
    -------
    dict with ``recall``, ``precision``, ``precision_one_to_one``, ``redundancy``,
    ``n_redundant``, ``non_motif_patterns``, ``n_recovered``, ``n_discovered``, ``n_passing``,
    ``best_similarity_mean`` and ``best_similarity/<true name>``.

    NaN only where undefined: recall with no true motif; precision with no passing motif;
    redundancy with no recovered true motif (``n_redundant`` is always defined); best
    similarities with no passing motif.
    """
    discovered, passing, truth, s = _prepare(discovered, truth, similarity, quality)
    return _scores(s, len(discovered), [m.name for m in truth], _threshold(threshold, similarity))


def motif_assignment(discovered, truth, threshold: float | None = None, similarity: str = "aligned",
                     quality: str | None = "uniform") -> dict[str, str]:
    """Map every passing discovered motif to its most similar true motif, when at or above ``threshold``.

    Not one-to-one: two redundant discovered motifs of the same true motif both map to it, so
    their instance calls can be scored identity-aware. Ties go to the first true motif.

    Returns
    -------
    dict discovered name → true name (discovered motifs matching nothing are absent).
    """
    _, passing, truth, s = _prepare(discovered, truth, similarity, quality)
    threshold = _threshold(threshold, similarity)
    if s.size == 0:
        return {}
    best = s.argmax(axis=1)
    return {m.name: truth[j].name for m, j, v in zip(passing, best, s[np.arange(len(passing)), best])
            if v >= threshold}


def recovery_curve(discovered, truth, thresholds, similarity: str = "aligned",
                   quality: str | None = "uniform") -> pd.DataFrame:
    """:func:`motif_recovery` over a grid of thresholds (the similarity matrix is computed once).

    Returns
    -------
    pandas.DataFrame, one row per threshold: ``threshold`` plus the keys of :func:`motif_recovery`
    except the per-motif best similarities (which do not depend on the threshold).
    """
    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    if thresholds.ndim != 1 or thresholds.size == 0 or not np.all(np.isfinite(thresholds)):
        raise ValueError(f"thresholds must be a non-empty 1-D array of finite numbers, got {thresholds!r}")
    discovered, passing, truth, s = _prepare(discovered, truth, similarity, quality)
    names = [m.name for m in truth]
    rows = []
    for t in thresholds:
        row = {k: v for k, v in _scores(s, len(discovered), names, float(t)).items()
               if not k.startswith("best_similarity/")}
        rows.append({"threshold": float(t), **row})
    return pd.DataFrame(rows)
