"""Metrics scored against the planted truth, one module per family.

Every function takes plain data (numpy arrays, Instances DataFrames, ``simulations.Motif``) and
returns named numbers (``dict[str, float]``) or a tidy DataFrame. NaN marks a value that is
genuinely undefined (each function's docstring says when).
"""

from .attributions import attribution_scores, planted_mask, seed_stability, sign_agreement
from .instances import instance_scores, overlap_pairs
from .motifs import motif_assignment, motif_recovery, recovery_curve
from .prediction import prediction_scores
from .similarity import aligned_pearson, aligned_similarity, passes_quality, tomtom_pvalues, trim_by_ic
from .syntax import curve_agreement, interaction, pair_spacings, spacing_curve, spacing_histogram_distance

__all__ = [
    "aligned_pearson", "aligned_similarity", "attribution_scores", "curve_agreement", "instance_scores",
    "interaction", "motif_assignment", "motif_recovery", "overlap_pairs", "pair_spacings", "passes_quality",
    "planted_mask", "prediction_scores", "recovery_curve", "seed_stability", "sign_agreement",
    "spacing_curve", "spacing_histogram_distance", "tomtom_pvalues", "trim_by_ic",
]
