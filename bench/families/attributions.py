"""The ``attributions`` family: attribution maps against the planted positions and logos."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import Family, ScoringContext, components_detail


def score(interp, ctx: ScoringContext) -> dict:
    """Scored wherever the interpretation holds maps (None is their absence, so unlike an empty motif
    list it cannot be mistaken for a finding)."""
    from bench import metrics as M

    if interp.attributions is None:
        return {}
    x, truth = ctx.x, ctx.truth
    out = {f"attributions/{k}": v for k, v in M.attribution_scores(interp.attributions, x, truth).items()}
    parts = M.attribution_components(interp.attributions, x, truth)
    auroc = parts["auroc"].to_numpy(np.float64)
    paired = pd.DataFrame({"auroc": np.nan_to_num(auroc), "defined": np.isfinite(auroc).astype(float)})
    # the positional measures as ratio-of-sums components (see attribution_components)
    for col in parts.columns:
        if col not in ("seq", "auroc", "auprc", "n_positive", "n_negative"):
            paired[col] = np.nan_to_num(parts[col].to_numpy(np.float64))
    # the map at each planted site against the motif's logo: hypothetical contributions where the
    # method gives them (all four bases), else the actual ones on the observed bases
    hyp = interp.hypothetical
    use_hyp = hyp is not None and np.shape(hyp) == np.shape(interp.attributions)
    sites = M.site_pfm_cosine(hyp if use_hyp else interp.attributions, truth, ctx.ds.motifs,
                              x=None if use_hyp else x)
    site_parts = M.site_cosine_components(sites, len(x))
    n_sites = int(site_parts["n_sites"].sum())
    out["attributions/site_pfm_cosine"] = (float(site_parts["site_cosine_sum"].sum() / n_sites) if n_sites
                                           else np.nan)
    out["attributions/n_sites_scored"] = float(n_sites)
    paired["site_cosine_sum"] = site_parts["site_cosine_sum"].to_numpy(np.float64)
    paired["n_sites"] = site_parts["n_sites"].to_numpy(np.float64)
    out["per_sequence/attributions"] = (float(len(paired)), components_detail(paired))
    return out


_ROW = "per_sequence/attributions"

FAMILY = Family(
    name="attributions",
    description="attribution maps against the planted positions (AUROC, mass in motifs, top-k) and logos",
    needs=("attributions",),
    headline=("auroc", "auprc", "pooled_auroc"),
    paired={
        "attributions/auroc": (_ROW, {"auroc": 1.0}, {"defined": 1.0}, True),
        # the field's positional measures (bench/metrics/attributions.py), as ratios of per-sequence sums
        "attributions/mass_in_motifs": (_ROW, {"mass_in_motifs": 1.0}, {"mass_defined": 1.0}, True),
        "attributions/pooled_topk_recall": (_ROW, {"topk_hits": 1.0}, {"n_planted": 1.0}, True),
        "attributions/site_pfm_cosine": (_ROW, {"site_cosine_sum": 1.0}, {"n_sites": 1.0}, True),
    },
    score=score,
    order=30,
)
