"""The ``motifs`` family: the discovered motifs against the planted ones (recall, redundancy, naming)."""

from __future__ import annotations

from . import Family, ScoringContext

# Motifs are matched by Pearson correlation over aligned columns (best offset and strand, at least
# max(4, min(W) - 2) columns overlapping, so an overhang of a few columns cannot match): a motif
# scores 1 against itself however soft it is. The reference's cross-correlation does not (a soft PFM
# scores ~0.6-0.7 against itself), so a fixed threshold on it would penalize soft motifs.
MOTIF_SIMILARITY = "pearson"
MOTIF_MATCH_THRESHOLD = 0.75
#: similarity thresholds of the motif-match sweep (the report shows recall against each, beside the
#: negative control's: a route's recall means something only where random motifs stay below it)
MOTIF_SWEEP = (0.6, 0.7, 0.8, 0.9, 0.95)
#: blind naming: a discovered motif is named by its best Tomtom hit among the JASPAR CORE
#: vertebrate motifs when that hit's q-value is at most this (bench.metrics.naming)
NAMING_Q_THRESHOLD = 0.05


def score(interp, ctx: ScoringContext) -> dict:
    from bench import metrics as M

    true_motifs = ctx.true_motifs
    out = {}
    rec = M.motif_recovery(interp.motifs, true_motifs, threshold=MOTIF_MATCH_THRESHOLD, similarity=MOTIF_SIMILARITY)
    out.update({f"motifs/{k}": v for k, v in rec.items()})
    for threshold in MOTIF_SWEEP:
        swept = M.motif_recovery(interp.motifs, true_motifs, threshold=threshold, similarity=MOTIF_SIMILARITY)
        out[f"motifs/recall_at_{threshold:.2f}"] = swept["recall"]
    rule = None if ctx.method is None else ctx.method.quality_rule
    if rule is not None:
        # the paper's own (asymmetric) quality rule, for parity with its counts
        paper = M.motif_recovery(interp.motifs, true_motifs, threshold=MOTIF_MATCH_THRESHOLD,
                                 similarity=MOTIF_SIMILARITY, quality=rule)
        out["motifs/n_passing_paper_rule"] = paper["n_passing"]
    out.update({f"motifs/{k}": v for k, v in _naming(interp.motifs, ctx.ds, true_motifs).items()})
    return out


def _naming(motifs, ds, true_motifs) -> dict:
    """Blind naming of the discovered motifs against the planted motifs' JASPAR matrices."""
    from simulations.motifs import MotifError

    from bench.metrics.naming import jaspar_entry, naming_scores, planted_jaspar_ids

    ids = []
    for matrix_id in planted_jaspar_ids(ds.spec, [m.name for m in true_motifs]).values():
        try:
            ids.append(jaspar_entry(matrix_id).matrix_id if matrix_id else None)
        except MotifError:  # a matrix of an older release only: its name cannot be checked, leave it out
            ids.append(None)
    return naming_scores(list(motifs), ids, q_threshold=NAMING_Q_THRESHOLD)


FAMILY = Family(
    name="motifs",
    description="discovered motifs against the planted ones: recall, redundancy, quality, blind JASPAR naming",
    needs=("motifs",),
    headline=("n_recovered", "recall", "n_passing", "n_redundant", "non_motif_patterns", "best_similarity_mean"),
    # one value per trained model: the interval is over seeds
    paired={"motifs/recall": (None, None, None, True), "motifs/n_redundant": (None, None, None, False)},
    score=score,
    order=10,
)
