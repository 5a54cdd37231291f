"""The ``agreement`` family: DeepLiftSHAP against Integrated Gradients on the same model, beside its null.

The null is DeepLiftSHAP against itself under another draw of the shuffled references (seed
``ctx.seed``, ``ctx.null_references`` shuffles): two attributions of one model that differ only by
reference noise. DeepLiftSHAP and IG agree no better than that is the most they can show.
"""

from __future__ import annotations

from . import Family, ScoringContext

#: the agreement measures given beside their null (the reference-redraw of DeepLiftSHAP)
NULL_AGREEMENT = ("cosine_instance_mean", "spearman", "sign_agreement", "background_sign_agreement", "cosine")


def score_cell(interps: dict, ctx: ScoringContext) -> dict:
    from bench import metrics as M
    from . import route_maps

    a, b = route_maps(interps)
    if a is None or b is None:
        return {}
    out = {f"agreement/dls_vs_ig_{k}": v for k, v in M.sign_agreement(a.attributions, b.attributions,
                                                                       ctx.truth).items()}
    if ctx.model is not None:
        from bench.methods.attribution import attribute

        redrawn, _, _ = attribute(ctx.model, ctx.x, "deeplift_shap", n_references=ctx.null_references,
                                  seed=ctx.seed, hypothetical=False)
        null = M.sign_agreement(a.attributions, redrawn, ctx.truth)
        out.update({f"agreement/dls_vs_dls_redrawn_{k}": v for k, v in null.items() if k in NULL_AGREEMENT})
    return out


FAMILY = Family(
    name="agreement",
    description="DeepLiftSHAP against Integrated Gradients on one model, beside DeepLiftSHAP against itself "
                "under another reference draw (the null)",
    # within-instance cosine and Spearman lead, each beside its null; sign agreement on planted positions
    # is near 1 by construction
    headline=("dls_vs_ig_cosine_instance_mean", "dls_vs_dls_redrawn_cosine_instance_mean", "dls_vs_ig_spearman",
              "dls_vs_dls_redrawn_spearman", "dls_vs_ig_background_sign_agreement",
              "dls_vs_dls_redrawn_background_sign_agreement"),
    score_cell=score_cell,
    order=40,
)
