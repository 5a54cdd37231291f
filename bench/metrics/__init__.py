"""Metrics scored against the planted truth, one module per family.

Every function takes plain data (numpy arrays, Instances DataFrames, ``simulations.Motif``) and
returns named numbers (``dict[str, float]``) or a tidy DataFrame. NaN marks a value that is
genuinely undefined (each function's docstring says when).
"""

from .attributions import (attribution_components, attribution_scores, informative_mask, planted_mask, seed_stability,
                           sign_agreement, site_cosine_components, site_pfm_cosine, track_agreement)
from .consistency import (rc_attribution_agreement, rc_attribution_consistency, rc_instance_agreement,
                          reverse_complement, reverse_complement_calls)
from .faithfulness import (composition_reference, deletion_components, deletion_curves, deletion_scores,
                           randomization_check, randomized_copy)
from .naming import jaspar_library, name_motifs, naming_scores, planted_jaspar_ids
from .instances import instance_components, instance_scores, overlap_pairs, sequence_counts, topk_curve
from .motifs import motif_assignment, motif_recovery, recovery_curve, similarity_matrix
from .prediction import (held_out_ceilings, likelihood_ratio_oracle, paper_auprc, planted_content_oracle,
                         prediction_scores)
from .similarity import (aligned_pearson, aligned_similarity, benjamini_hochberg, passes_quality, pearson_min_overlap,
                         quality_stats, tomtom_pvalues, tomtom_qvalues, trim_by_ic)
from .syntax import (curve_agreement, interaction, pair_spacings, spacing_curve, spacing_grid,
                     spacing_histogram_distance)

__all__ = [
    "aligned_pearson", "aligned_similarity", "attribution_components", "attribution_scores",
    "benjamini_hochberg", "composition_reference", "curve_agreement", "deletion_components", "deletion_curves",
    "deletion_scores", "held_out_ceilings", "informative_mask", "instance_components", "instance_scores",
    "interaction", "jaspar_library", "likelihood_ratio_oracle", "motif_assignment", "motif_recovery", "name_motifs",
    "naming_scores", "overlap_pairs", "pair_spacings", "paper_auprc", "passes_quality", "pearson_min_overlap",
    "planted_content_oracle", "planted_jaspar_ids", "planted_mask", "prediction_scores", "quality_stats",
    "randomization_check", "randomized_copy", "rc_attribution_agreement", "rc_attribution_consistency",
    "rc_instance_agreement", "recovery_curve", "reverse_complement", "reverse_complement_calls", "seed_stability",
    "sequence_counts", "sign_agreement", "similarity_matrix", "site_cosine_components", "site_pfm_cosine",
    "spacing_curve", "spacing_grid", "spacing_histogram_distance", "tomtom_pvalues", "tomtom_qvalues", "topk_curve",
    "track_agreement", "trim_by_ic",
]
