"""Metrics scored against the planted truth, one module per family.

Every function takes plain data (numpy arrays, Instances DataFrames, ``simulations.Motif``) and
returns named numbers (``dict[str, float]``) or a tidy DataFrame. NaN marks a value that is
genuinely undefined (each function's docstring says when).

``FAMILIES`` maps each metric family the suite can name (``bench.registry.METRIC_FAMILIES``) to
its public functions, so the harness can list what a family computes.
"""

from .attributions import (attribution_components, attribution_scores, informative_mask, planted_mask, seed_stability,
                           sign_agreement)
from .instances import instance_components, instance_scores, overlap_pairs, sequence_counts, topk_curve
from .motifs import motif_assignment, motif_recovery, recovery_curve, similarity_matrix
from .prediction import (held_out_ceilings, likelihood_ratio_oracle, paper_auprc, planted_content_oracle,
                         prediction_scores)
from .similarity import (aligned_pearson, aligned_similarity, benjamini_hochberg, passes_quality, pearson_min_overlap,
                         quality_stats, tomtom_pvalues, tomtom_qvalues, trim_by_ic)
from .syntax import (curve_agreement, interaction, pair_spacings, spacing_curve, spacing_grid,
                     spacing_histogram_distance)

FAMILIES = {
    "prediction": (prediction_scores, paper_auprc, planted_content_oracle, likelihood_ratio_oracle, held_out_ceilings),
    "motifs": (motif_recovery, recovery_curve, motif_assignment, similarity_matrix, aligned_similarity,
               aligned_pearson, pearson_min_overlap, tomtom_pvalues, tomtom_qvalues, trim_by_ic, passes_quality),
    "instances": (instance_scores, instance_components, topk_curve, sequence_counts, overlap_pairs),
    "attributions": (attribution_scores, attribution_components, planted_mask, informative_mask),
    "agreement": (sign_agreement, seed_stability),
    "syntax": (spacing_curve, spacing_grid, interaction, curve_agreement, pair_spacings,
               spacing_histogram_distance),
}

__all__ = [
    "FAMILIES", "aligned_pearson", "aligned_similarity", "attribution_components", "attribution_scores",
    "benjamini_hochberg", "curve_agreement", "held_out_ceilings", "informative_mask", "instance_components",
    "instance_scores", "interaction", "likelihood_ratio_oracle", "motif_assignment", "motif_recovery", "overlap_pairs",
    "pair_spacings", "paper_auprc", "passes_quality", "pearson_min_overlap", "planted_content_oracle", "planted_mask",
    "prediction_scores", "quality_stats", "recovery_curve", "seed_stability", "sequence_counts", "sign_agreement",
    "similarity_matrix", "spacing_curve", "spacing_grid", "spacing_histogram_distance", "tomtom_pvalues",
    "tomtom_qvalues", "topk_curve", "trim_by_ic",
]
