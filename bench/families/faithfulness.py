"""The ``faithfulness`` family: attribution maps checked against the model itself (re-runs it).

Per attribution route: deletion curves (the highest-attributed positions replaced first, against a
random order). Per cell: DeepLiftSHAP on the reverse complement and on a randomized model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import Family, ScoringContext, components_detail

#: deletion curves (bench.metrics.faithfulness): the share of positions replaced by the end of the
#: curve, and its steps
DELETION_MAX_FRACTION = 0.2
DELETION_STEPS = 20
#: the model-based checks (deletion curves, DeepLiftSHAP on the reverse complement and on a randomized
#: model) read at most this many of the interpreted sequences (a seeded sample): each costs model
#: passes per sequence (measured on 200 x 500 bp, 2 shared CPU threads, 10 references: deletion 9 s
#: for the CNN and 25 s for ARGMINN per attribution method; the two extra DeepLiftSHAP runs of the
#: cross-method checks 25 s for the CNN and 75-150 s for ARGMINN, about twice one DeepLiftSHAP run)
MODEL_CHECK_MAX_SEQUENCES = 200


def planted_rows(truth: pd.DataFrame, n: int) -> np.ndarray:
    """Boolean (n,): sequences carrying at least one functional planted instance."""
    func = truth.loc[truth["functional"].to_numpy(bool)] if "functional" in truth.columns else truth
    rows = np.zeros(n, dtype=bool)
    rows[func["seq"].to_numpy(np.int64)] = True
    return rows


def sample_rows(n: int, seed: int, cap: int | None = None) -> np.ndarray:
    """Boolean (n,): all rows, or a seeded sample of ``cap`` (default :data:`MODEL_CHECK_MAX_SEQUENCES`)."""
    cap = MODEL_CHECK_MAX_SEQUENCES if cap is None else cap
    keep = np.zeros(n, dtype=bool)
    if n <= cap:
        keep[:] = True
    else:
        keep[np.random.default_rng([int(seed), 0x5E9]).choice(n, size=cap, replace=False)] = True
    return keep


def renumbered(truth: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The truth of the sequences ``rows`` (boolean), renumbered 0 .. rows.sum() - 1."""
    new = np.cumsum(rows) - 1
    keep = rows[truth["seq"].to_numpy(np.int64)]
    sub = truth.loc[keep].copy()
    sub["seq"] = new[sub["seq"].to_numpy(np.int64)]
    return sub.reset_index(drop=True)


def deletion(model, x, attr, truth, seed: int):
    """Deletion curves of one map (a dinucleotide shuffle of each sequence as the reference, scored on
    the sequences with a functional instance, at most :data:`MODEL_CHECK_MAX_SEQUENCES` of all) and the
    per-sequence components (zero elsewhere)."""
    import models

    from bench.methods.attribution import make_references
    from bench.metrics.faithfulness import deletion_components, deletion_curves, deletion_scores

    rows = planted_rows(truth, len(x)) & sample_rows(len(x), seed)
    parts = pd.DataFrame({"area": np.zeros(len(x)), "area_random": np.zeros(len(x)), "scale": np.zeros(len(x))})
    if not rows.any():
        return {"deletion_auc": np.nan, "deletion_auc_random": np.nan, "deletion_gain": np.nan,
                "deletion_n_sequences": 0.0}, parts
    xs = np.ascontiguousarray(x[rows], dtype=np.float32)
    reference = make_references(xs, 1, seed)[:, 0]
    curves = deletion_curves(lambda b: models.predict(model, b), xs, np.asarray(attr)[rows], reference,
                             DELETION_MAX_FRACTION, DELETION_STEPS, seed=seed)
    scores = deletion_scores(curves)
    comp = deletion_components(curves)
    for col in parts.columns:
        parts.loc[rows, col] = comp[col].to_numpy(np.float64)
    return {"deletion_auc": scores["deletion_auc"], "deletion_auc_random": scores["deletion_auc_random"],
            "deletion_gain": scores["deletion_gain"], "deletion_n_sequences": scores["n_sequences"]}, parts


def score(interp, ctx: ScoringContext) -> dict:
    if ctx.model is None or interp.attributions is None:
        return {}
    faithful, parts = deletion(ctx.model, ctx.x, interp.attributions, ctx.truth, ctx.seed)
    out = {f"faithfulness/{k}": v for k, v in faithful.items()}
    out["per_sequence/faithfulness"] = (float(len(parts)),
                                        components_detail(parts.add_prefix("deletion_")))
    return out


def score_cell(interps: dict, ctx: ScoringContext) -> dict:
    """DeepLiftSHAP under another reference draw, on the reverse complement and on a randomized model."""
    from . import route_maps

    dls, _ = route_maps(interps)
    if ctx.model is None or dls is None:
        return {}
    return model_checks(ctx.model, dls.attributions, ctx.x, ctx.truth, ctx.seed, ctx.null_references)


def model_checks(model, attr, x, truth, seed: int, n_references: int) -> dict:
    """DeepLiftSHAP under another reference draw, on the reverse complement and on a randomized model.

    One set of references (``n_references`` shuffles, seed ``seed``: the reference-redraw null's) for
    all three: the redrawn map is the null's (answered from the attribution memo when every sequence
    is read), the reverse complement is attributed against the reverse complements of those
    references (so the two runs differ by orientation alone), and the randomized model against the
    same references. At most :data:`MODEL_CHECK_MAX_SEQUENCES` sequences (a seeded sample).
    """
    import models

    from bench import metrics as M
    from bench.methods.attribution import attribute, make_references
    from bench.metrics.consistency import rc_attribution_consistency
    from bench.metrics.faithfulness import randomization_check

    xf = np.ascontiguousarray(x, dtype=np.float32)
    refs = make_references(xf, n_references, seed)

    def dls(m, xx, references):
        return attribute(m, xx, "deeplift_shap", references=references, hypothetical=False)[0]

    rows = sample_rows(len(xf), seed)
    if rows.all():
        redrawn, _, _ = attribute(model, xf, "deeplift_shap", n_references=n_references, seed=seed,
                                  hypothetical=False)
    else:
        xf, refs, attr = np.ascontiguousarray(xf[rows]), np.ascontiguousarray(refs[rows]), np.asarray(attr)[rows]
        truth = renumbered(truth, rows)
        redrawn = dls(model, xf, refs)
    out = {}
    # stability across reference draws, in the measures of stability across training seeds
    stab = M.seed_stability([attr, redrawn], x=xf)
    out["agreement/dls_vs_dls_redrawn_map_cosine_mean"] = stab["cosine_mean"]
    out["agreement/dls_vs_dls_redrawn_jaccard_mean"] = stab["jaccard_mean"]
    rc = rc_attribution_consistency(model, xf, dls, truth, references=refs,
                                    predict=lambda b: models.predict(model, b), attr=redrawn)
    out.update({f"faithfulness/dls_rc_{k}": rc[k] for k in ("cosine", "spearman", "cosine_instance_mean")})
    out["faithfulness/rc_logit_pearson"] = rc["logit_pearson"]
    out["faithfulness/rc_logit_mean_abs_difference"] = rc["logit_mean_abs_difference"]
    rand = randomization_check(model, xf, dls, seed=seed, references=refs, attr=redrawn)
    out.update({f"faithfulness/dls_vs_randomized_model_{k}": rand[k] for k in ("spearman", "spearman_abs", "cosine")})
    return out


FAMILY = Family(
    name="faithfulness",
    description="maps checked against the model: deletion curves per route; DeepLiftSHAP on the reverse "
                "complement and on a randomized model (re-runs the model: about one DeepLiftSHAP run per route)",
    needs=("attributions",),
    opt_in=True,
    headline=None,  # every measure (up to the figure's panel limit)
    score=score,
    score_cell=score_cell,
    order=60,
)
