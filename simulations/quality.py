"""The benchmark's information-content trim and motif-quality rules: one definition for all.

``models.readout.trim_and_filter`` (the read-outs' filter) and ``bench.metrics.similarity`` (the
motif metrics, which re-export these names) both apply them. They live in :mod:`simulations`, the
package both may import, which also keeps ``bench.metrics`` free of torch.

All functions take position probability matrices (PFMs) of shape ``(4, W)`` in ``A, C, G, T``
row order, or a :class:`simulations.Motif`.
"""

from __future__ import annotations

import numpy as np

from .motifs import information_content
from .validation import validate_pfm

__all__ = ["QUALITY_RULES", "RULE_BARS", "TRIM_THRESHOLD", "UNIFORM_MIN_LENGTH", "UNIFORM_MIN_MEAN_IC",
           "check_quality_rule", "ic_trim_bounds", "passes_quality", "quality_stats", "trim_by_ic"]

#: quality rules accepted by :func:`passes_quality` (``None`` means "keep everything, untrimmed")
QUALITY_RULES = ("uniform", "argminn", "modisco")

# The uniform rule (the default for every route). After trimming flanks below 0.2 bit, keep a
# motif of at least 5 columns with mean information content of at least 0.5 bit. Why these
# numbers: the paper filters ARGMINN filters with mean IC >= 1 and MoDISco patterns with total
# IC >= 4, so each route is judged by a different bar. One bar for all: 0.5 bit/column is half of
# ARGMINN's, and for 5-8 column motifs (2.5-4 bits) at or below MoDISco's 4-bit total, so neither
# route loses typical real motifs it would keep under its own rule, while flat or near-flat
# "patterns" (noise filters, uninformative seqlets) are rejected. Whatever passes and matches no
# true motif is counted as a non-motif pattern, so a loose bar makes noise visible, not hidden.
UNIFORM_MIN_LENGTH = 5
UNIFORM_MIN_MEAN_IC = 0.5
TRIM_THRESHOLD = 0.2

#: each rule's bar on the trimmed motif, ``(statistic of quality_stats, minimum)``; every rule also
#: needs a trimmed length of at least ``UNIFORM_MIN_LENGTH`` columns
RULE_BARS = {
    "uniform": ("mean_ic", UNIFORM_MIN_MEAN_IC),
    "argminn": ("mean_ic", 1.0),  # the paper's filter for ARGMINN filters
    "modisco": ("total_ic", 4.0),  # the paper's filter for MoDISco patterns
}


def check_quality_rule(rule) -> str:
    """``rule`` if it is one of :data:`QUALITY_RULES`; ValueError naming the valid ones otherwise."""
    if rule not in QUALITY_RULES:
        raise ValueError(f"rule must be one of {QUALITY_RULES}, got {rule!r}")
    return rule


def ic_trim_bounds(pfm, threshold: float = TRIM_THRESHOLD) -> tuple[int, int]:
    """``(start, end)``: the first..last column (half-open) whose information content reaches
    ``threshold`` bits (uniform background, as ``simulations.information_content``); ``(0, 0)``
    when none does. Interior low-IC columns (gapped motifs) lie inside the bounds."""
    arr = validate_pfm(pfm, "pfm")
    if arr.shape[1] == 0:
        return 0, 0
    keep = np.flatnonzero(information_content(arr) >= threshold)
    if keep.size == 0:
        return 0, 0
    return int(keep[0]), int(keep[-1]) + 1


def trim_by_ic(pfm, threshold: float = TRIM_THRESHOLD) -> np.ndarray:
    """Drop flanking columns whose information content is below ``threshold`` bits.

    Parameters
    ----------
    pfm : array-like (4, W) or Motif
    threshold : float
        Bits (uniform background), as in ``simulations.information_content``.

    Returns
    -------
    numpy.ndarray (4, W') with W' <= W; ``(4, 0)`` when no column reaches the threshold.
    Interior low-IC columns (gapped motifs) are kept.
    """
    arr = validate_pfm(pfm, "pfm")
    start, end = ic_trim_bounds(arr, threshold)
    return arr[:, start:end].copy()


def quality_stats(pfm, threshold: float = TRIM_THRESHOLD) -> dict[str, float]:
    """Trimmed length, mean and total information content of a motif (inputs of the quality rules)."""
    trimmed = trim_by_ic(pfm, threshold)
    ic = information_content(trimmed) if trimmed.shape[1] else np.zeros(0)
    return {
        "length": float(trimmed.shape[1]),
        "mean_ic": float(ic.mean()) if ic.size else 0.0,
        "total_ic": float(ic.sum()),
    }


def passes_quality(pfm, rule: str = "uniform", *, threshold: float = TRIM_THRESHOLD,
                   min_length: int = UNIFORM_MIN_LENGTH, bar: float | None = None) -> bool:
    """Whether a motif passes a quality filter after IC trimming (flanks < ``threshold``, 0.2 bit).

    Rules
    -----
    ``"uniform"`` (the default, for every route)
        trimmed length >= 5 and mean IC >= 0.5 bit (see the module constants for why).
    ``"argminn"``
        trimmed length >= 5 and mean IC >= 1 bit (the paper's filter for ARGMINN filters).
    ``"modisco"``
        trimmed length >= 5 and total IC >= 4 bits (the paper's filter for MoDISco patterns).

    ``min_length`` and ``bar`` (the rule's mean or total IC) override the rule's numbers; a motif
    with no column above ``threshold`` trims to nothing and never passes.
    """
    stat, default = RULE_BARS[check_quality_rule(rule)]
    s = quality_stats(pfm, threshold)
    if s["length"] < min_length:
        return False
    return s[stat] >= (default if bar is None else bar)
