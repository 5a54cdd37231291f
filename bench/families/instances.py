"""The ``instances`` family: the instance calls against the planted sites (precision, recall, F1)."""

from __future__ import annotations

from . import Family, ScoringContext, components_detail
from .motifs import MOTIF_MATCH_THRESHOLD, MOTIF_SIMILARITY


def score(interp, ctx: ScoringContext) -> dict:
    from bench import metrics as M

    assignment = M.motif_assignment(interp.motifs, ctx.true_motifs, threshold=MOTIF_MATCH_THRESHOLD,
                                    similarity=MOTIF_SIMILARITY)
    n = len(ctx.x)
    out = {f"instances/{k}": v for k, v in M.instance_scores(interp.instances, ctx.truth, assignment,
                                                            n_sequences=n).items()}
    parts = M.instance_components(interp.instances, ctx.truth, assignment, n_sequences=n).drop(columns="seq")
    out["per_sequence/instances"] = (float(len(parts)), components_detail(parts))
    return out


_ROW = "per_sequence/instances"

FAMILY = Family(
    name="instances",
    description="instance calls against the planted sites (calls are scored through the motifs they name)",
    # instances are scored through the motifs they name, so the family needs both
    needs=("motifs", "instances"),
    headline=("precision", "recall", "f1", "paper_precision", "paper_recall", "average_precision", "best_f1"),
    paired={
        "instances/f1": (_ROW, {"tp": 2.0}, {"n_calls": 1.0, "n_truth": 1.0}, True),
        "instances/f1_identity": (_ROW, {"tp_identity": 2.0}, {"n_calls": 1.0, "n_truth": 1.0}, True),
        "instances/paper_precision": (_ROW, {"paper_hits": 1.0}, {"n_calls": 1.0}, True),
        "instances/recall": (_ROW, {"tp": 1.0}, {"n_truth": 1.0}, True),
        "instances/precision": (_ROW, {"tp": 1.0}, {"n_calls": 1.0}, True),
        # at the cut-off on the call score where F1 is highest (an oracle; what the positive control bounds)
        "instances/best_f1": (_ROW, {"tp_best": 2.0}, {"n_calls_best": 1.0, "n_truth": 1.0}, True),
        "instances/best_f1_identity": (_ROW, {"tp_identity_best": 2.0}, {"n_calls_best": 1.0, "n_truth": 1.0}, True),
    },
    score=score,
    order=20,
)
