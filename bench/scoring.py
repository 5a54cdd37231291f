"""Turn interpretations and trained models into named scores, using `bench.metrics`.

The runner calls three scorers per cell; each returns ``{metric_name: value}`` (or
``(value, detail)``), where names are ``family/measure`` so the report can group them.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

# methods whose output is attributions only: they have no motifs or instances to score
ATTRIBUTION_ONLY = {"deeplift_shap", "integrated_gradients", "captum_deeplift_shap", "shap_deep_explainer", "ism",
                    "saliency", "gradient", "smoothgrad", "expected_gradients"}
# Motifs are matched by Pearson correlation over aligned columns (best offset and strand, at least
# max(4, min(W) - 2) columns overlapping, so an overhang of a few columns cannot match): a motif
# scores 1 against itself however soft it is. The reference's cross-correlation does not (a soft PFM
# scores ~0.6-0.7 against itself), so a fixed threshold on it would penalize soft motifs.
MOTIF_SIMILARITY = "pearson"
MOTIF_MATCH_THRESHOLD = 0.75


def functional_motifs(ds, truth: pd.DataFrame | None = None) -> list:
    """The motifs that carry label information (every grammar motif that is not only a decoy)."""
    inst = ds.instances
    names = sorted(set(inst.loc[inst.functional, "motif"]))
    return [ds.motifs[n] for n in names if n in ds.motifs]


#: similarity thresholds of the motif-match sweep (the report shows recall against each, beside the
#: negative control's: a route's recall means something only where random motifs stay below it)
MOTIF_SWEEP = (0.6, 0.7, 0.8, 0.9, 0.95)


def _components_detail(frame: pd.DataFrame) -> str:
    """Per-sequence components as compact JSON (one list per column), for the paired bootstrap."""
    out = {}
    for col in frame.columns:
        v = frame[col].to_numpy(np.float64)
        if np.all(np.isnan(v)):
            continue
        if np.all(np.isnan(v) | (v == np.round(v))):
            out[col] = [int(a) for a in np.nan_to_num(v)]
        else:
            out[col] = [round(float(a), 5) for a in np.nan_to_num(v)]
    return json.dumps(out, separators=(",", ":"))


def score_interpretation(interp, ds, truth: pd.DataFrame, x: np.ndarray, metrics: list,
                         method_name: str = "") -> dict:
    from . import metrics as M
    from .metrics.attributions import attribution_components
    from .metrics.instances import instance_components

    out = {}
    true_motifs = functional_motifs(ds)
    produces_motifs = method_name not in ATTRIBUTION_ONLY
    if produces_motifs and "motifs" in metrics:
        rec = M.motif_recovery(interp.motifs, true_motifs, threshold=MOTIF_MATCH_THRESHOLD,
                               similarity=MOTIF_SIMILARITY)
        out.update({f"motifs/{k}": v for k, v in rec.items()})
        for threshold in MOTIF_SWEEP:
            swept = M.motif_recovery(interp.motifs, true_motifs, threshold=threshold, similarity=MOTIF_SIMILARITY)
            out[f"motifs/recall_at_{threshold:.2f}"] = swept["recall"]
        if "argminn" in method_name or "modisco" in method_name:
            # the paper's own (asymmetric) quality rule, for parity with its counts
            rule = "argminn" if "argminn" in method_name else "modisco"
            paper = M.motif_recovery(interp.motifs, true_motifs, threshold=MOTIF_MATCH_THRESHOLD,
                                     similarity=MOTIF_SIMILARITY, quality=rule)
            out["motifs/n_passing_paper_rule"] = paper["n_passing"]
    if produces_motifs and "instances" in metrics:
        assignment = M.motif_assignment(interp.motifs, true_motifs, threshold=MOTIF_MATCH_THRESHOLD,
                                        similarity=MOTIF_SIMILARITY)
        scores = M.instance_scores(interp.instances, truth, assignment, n_sequences=len(x))
        out.update({f"instances/{k}": v for k, v in scores.items()})
        parts = instance_components(interp.instances, truth, assignment, n_sequences=len(x)).drop(columns="seq")
        out["per_sequence/instances"] = (float(len(parts)), _components_detail(parts))
    if interp.attributions is not None and "attributions" in metrics:
        scores = M.attribution_scores(interp.attributions, x, truth)
        out.update({f"attributions/{k}": v for k, v in scores.items()})
        parts = attribution_components(interp.attributions, x, truth)
        auroc = parts["auroc"].to_numpy(np.float64)
        paired = pd.DataFrame({"auroc": np.nan_to_num(auroc), "defined": np.isfinite(auroc).astype(float)})
        out["per_sequence/attributions"] = (float(len(paired)), _components_detail(paired))
    for key, value in (interp.details or {}).items():
        if key.startswith("completeness") and isinstance(value, (int, float)):
            out[f"completeness/{key.removeprefix('completeness_')}"] = float(value)
    return out


def score_cross_method(interps: dict, ds, truth, x, metrics: list, model=None, seed: int = 0,
                       null_references: int = 10) -> dict:
    """Agreement between DeepLiftSHAP and Integrated Gradients, beside its null.

    The null is DeepLiftSHAP against itself under another draw of the shuffled references (seed
    ``seed``, ``null_references`` shuffles): two attributions of one model that differ only by
    reference noise. DeepLiftSHAP and IG agree no better than that is the most they can show.
    """
    from . import metrics as M

    out = {}
    if "agreement" not in metrics:
        return out
    by_name = {}
    for label, interp in interps.items():
        by_name.setdefault(interp.details.get("method", label), interp)
    a, b = by_name.get("deeplift_shap"), by_name.get("integrated_gradients")
    if a is None or a.attributions is None:
        return out
    if b is not None and b.attributions is not None:
        scores = M.sign_agreement(a.attributions, b.attributions, truth)
        out.update({f"agreement/dls_vs_ig_{k}": v for k, v in scores.items()})
        if model is not None:
            from .methods.attribution import attribute

            redrawn, _, _ = attribute(model, x, "deeplift_shap", n_references=null_references, seed=seed,
                                      hypothetical=False)
            null = M.sign_agreement(a.attributions, redrawn, truth)
            out.update({f"agreement/dls_vs_dls_redrawn_{k}": v for k, v in null.items()
                        if k in NULL_AGREEMENT})
    return out


#: the agreement measures given beside their null (the reference-redraw of DeepLiftSHAP)
NULL_AGREEMENT = ("cosine_instance_mean", "spearman", "sign_agreement", "background_sign_agreement", "cosine")


# --------------------------------------------------------------------------- syntax


def planted_pair_rules(spec: dict) -> list[dict]:
    """Two-motif chains of the grammar: which class they define, and their planted gaps."""
    rules = []
    for cls in spec["classes"]:
        label = np.atleast_1d(cls["label"])[0]
        for cfg in cls["configs"]:
            chain = cfg.get("motifs") or []
            if len(chain) != 2:
                continue
            gap = chain[1].get("gap", 0)
            rules.append({"class": cls["name"], "positive": bool(label > 0), "a": chain[0]["motif"],
                          "b": chain[1]["motif"], "gaps": _gap_support(gap), "config": cfg["name"]})
    return rules


def _gap_support(gap) -> tuple[np.ndarray, np.ndarray]:
    """Gap values and their probabilities."""
    if isinstance(gap, int):
        return np.array([gap]), np.array([1.0])
    if "values" in gap:
        w = np.asarray(gap.get("weights") or [1] * len(gap["values"]), dtype=float)
        return np.asarray(gap["values"]), w / w.sum()
    if "min" in gap:
        v = np.arange(gap["min"], gap["max"] + 1)
        return v, np.full(v.size, 1 / v.size)
    lo, hi = max(0, int(gap["mean"] - 4 * gap["sd"])), int(gap["mean"] + 4 * gap["sd"]) + 1
    v = np.arange(lo, hi)
    p = np.exp(-0.5 * ((v - gap["mean"]) / max(gap["sd"], 1e-9)) ** 2)
    return v, p / p.sum()


def _background(ds, n: int, seed: int) -> np.ndarray:
    from simulations import BackgroundModel
    from simulations.grammar import Background

    bg = BackgroundModel(Background(**ds.spec["background"]))
    codes = bg.sample(n, ds.length, np.random.default_rng(seed))
    return (codes[:, None, :] == np.arange(4)[None, :, None]).astype(np.float32)


def score_syntax(model, ds, seed: int, n_background: int = 64) -> dict:
    """In-silico experiments on the trained model against the planted grammar."""
    import models

    from . import metrics as M

    rules = planted_pair_rules(ds.spec)
    if not rules:
        return {}
    background = _background(ds, n_background, seed)

    def predict_fn(xb):
        return models.predict(model, np.asarray(xb, dtype=np.float32))

    out = {}
    for rule in rules:
        a, b = ds.motifs[rule["a"]].pfm, ds.motifs[rule["b"]].pfm
        gaps, probs = rule["gaps"]
        name = f"{rule['a']}+{rule['b']}"
        if rule["positive"]:
            spacings = np.arange(0, int(gaps.max()) + 11)
            curve = M.spacing_curve(predict_fn, background, a, b, spacings, seed=seed)
            agreement = M.curve_agreement(curve, gaps, probs)
            out.update({f"syntax/{name}_{k}": v for k, v in agreement.items()})
            # the whole curve travels in the detail column, so the report can draw it
            detail = json.dumps({"spacing": curve["spacing"].tolist(), "delta": curve["delta"].round(5).tolist(),
                                 "delta_sem": curve["delta_sem"].round(5).tolist(),
                                 "planted": gaps.tolist(), "planted_weight": np.round(probs, 5).tolist()})
            out[f"syntax/{name}_peak_delta"] = (float(curve["delta"].max()), detail)
        else:
            inter = M.interaction(predict_fn, background, a, b, int(gaps[np.argmax(probs)]), seed=seed)
            out[f"syntax/{name}_interaction"] = inter["interaction"]
            out[f"syntax/{name}_repression_recovered"] = float(inter["interaction"] < 0)
    return out
