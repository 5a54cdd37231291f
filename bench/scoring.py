"""Turn interpretations and trained models into named scores, using `bench.metrics`.

The runner calls three scorers per cell; each returns ``{metric_name: value}`` (or
``(value, detail)``), where names are ``family/measure`` so the report can group them.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

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


#: blind naming: a discovered motif is named by its best Tomtom hit among the JASPAR CORE
#: vertebrate motifs when that hit's q-value is at most this (bench.metrics.naming)
NAMING_Q_THRESHOLD = 0.05
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


def _declared_method(method, method_name: str):
    """The :class:`~bench.methods.Method` whose output is scored: ``method`` itself, else the built-in
    or loaded plug-in named ``method_name``; None for a name that is neither (a direct call)."""
    if method is not None:
        return method
    if not method_name:
        return None
    from .plugins import find_method

    return find_method(method_name)


def _family_scored(method, family: str) -> bool:
    """Does the method produce what ``family`` needs (``motifs``, ``instances``)? An undeclared method (a
    direct call without a known name) is scored on whatever its interpretation holds."""
    return True if method is None else method.scores(family)


def score_interpretation(interp, ds, truth: pd.DataFrame, x: np.ndarray, metrics: list,
                         method_name: str = "", model=None, seed: int = 0, method=None) -> dict:
    """One method's interpretation against the truth of the interpreted sequences.

    Each family scores the interpretation only when the method declares what that family needs
    (``Method.produces``, :data:`bench.methods.FAMILY_NEEDS`): an attribution-only route has no motifs
    to score, so it gets no motif rows (rather than recall 0). ``method``: the
    :class:`~bench.methods.Method` (else it is looked up by ``method_name``). The paper's own quality rule
    is counted for a method that declares one (``Method.quality_rule``).

    With ``model`` (the trained model the interpretation explains) the attribution maps are also
    checked against the model itself, with the ``faithfulness`` family: deletion curves (``faithfulness/deletion_*``), with
    references drawn from ``seed``.
    """
    from . import metrics as M
    from .metrics.attributions import attribution_components, site_cosine_components, site_pfm_cosine
    from .metrics.instances import instance_components

    out = {}
    true_motifs = functional_motifs(ds)
    declared = _declared_method(method, method_name)
    if _family_scored(declared, "motifs") and "motifs" in metrics:
        rec = M.motif_recovery(interp.motifs, true_motifs, threshold=MOTIF_MATCH_THRESHOLD,
                               similarity=MOTIF_SIMILARITY)
        out.update({f"motifs/{k}": v for k, v in rec.items()})
        for threshold in MOTIF_SWEEP:
            swept = M.motif_recovery(interp.motifs, true_motifs, threshold=threshold, similarity=MOTIF_SIMILARITY)
            out[f"motifs/recall_at_{threshold:.2f}"] = swept["recall"]
        rule = None if declared is None else declared.quality_rule
        if rule is not None:
            # the paper's own (asymmetric) quality rule, for parity with its counts
            paper = M.motif_recovery(interp.motifs, true_motifs, threshold=MOTIF_MATCH_THRESHOLD,
                                     similarity=MOTIF_SIMILARITY, quality=rule)
            out["motifs/n_passing_paper_rule"] = paper["n_passing"]
        out.update({f"motifs/{k}": v for k, v in _naming(interp.motifs, ds, true_motifs).items()})
    if _family_scored(declared, "instances") and "instances" in metrics:
        assignment = M.motif_assignment(interp.motifs, true_motifs, threshold=MOTIF_MATCH_THRESHOLD,
                                        similarity=MOTIF_SIMILARITY)
        scores = M.instance_scores(interp.instances, truth, assignment, n_sequences=len(x))
        out.update({f"instances/{k}": v for k, v in scores.items()})
        parts = instance_components(interp.instances, truth, assignment, n_sequences=len(x)).drop(columns="seq")
        out["per_sequence/instances"] = (float(len(parts)), _components_detail(parts))
    # attribution maps are scored wherever the interpretation holds them (None is their absence, so
    # unlike an empty motif list it cannot be mistaken for a finding): as before the declarations
    if interp.attributions is not None and "attributions" in metrics:
        scores = M.attribution_scores(interp.attributions, x, truth)
        out.update({f"attributions/{k}": v for k, v in scores.items()})
        parts = attribution_components(interp.attributions, x, truth)
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
        sites = site_pfm_cosine(hyp if use_hyp else interp.attributions, truth, ds.motifs,
                                x=None if use_hyp else x)
        site_parts = site_cosine_components(sites, len(x))
        n_sites = int(site_parts["n_sites"].sum())
        out["attributions/site_pfm_cosine"] = (float(site_parts["site_cosine_sum"].sum() / n_sites) if n_sites
                                               else np.nan)
        out["attributions/n_sites_scored"] = float(n_sites)
        paired["site_cosine_sum"] = site_parts["site_cosine_sum"].to_numpy(np.float64)
        paired["n_sites"] = site_parts["n_sites"].to_numpy(np.float64)
        if model is not None and "faithfulness" in metrics:
            faithful, deletion = _deletion(model, x, interp.attributions, truth, seed)
            out.update({f"faithfulness/{k}": v for k, v in faithful.items()})
            for col in ("area", "area_random", "scale"):
                paired[f"deletion_{col}"] = deletion[col].to_numpy(np.float64)
        out["per_sequence/attributions"] = (float(len(paired)), _components_detail(paired))
    for key, value in (interp.details or {}).items():
        if key.startswith("completeness") and isinstance(value, (int, float)):
            out[f"completeness/{key.removeprefix('completeness_')}"] = float(value)
    return out


def _naming(motifs, ds, true_motifs) -> dict:
    """Blind naming of the discovered motifs against the planted motifs' JASPAR matrices."""
    from .metrics.naming import naming_scores, planted_jaspar_ids

    from simulations.motifs import MotifError

    from .metrics.naming import jaspar_entry

    ids = []
    for matrix_id in planted_jaspar_ids(ds.spec, [m.name for m in true_motifs]).values():
        try:
            ids.append(jaspar_entry(matrix_id).matrix_id if matrix_id else None)
        except MotifError:  # a matrix of an older release only: its name cannot be checked, leave it out
            ids.append(None)
    return naming_scores(list(motifs), ids, q_threshold=NAMING_Q_THRESHOLD)


def _planted_rows(truth: pd.DataFrame, n: int) -> np.ndarray:
    """Boolean (n,): sequences carrying at least one functional planted instance."""
    func = truth.loc[truth["functional"].to_numpy(bool)] if "functional" in truth.columns else truth
    rows = np.zeros(n, dtype=bool)
    rows[func["seq"].to_numpy(np.int64)] = True
    return rows


def _sample_rows(n: int, seed: int, cap: int | None = None) -> np.ndarray:
    """Boolean (n,): all rows, or a seeded sample of ``cap`` (default :data:`MODEL_CHECK_MAX_SEQUENCES`)."""
    cap = MODEL_CHECK_MAX_SEQUENCES if cap is None else cap
    keep = np.zeros(n, dtype=bool)
    if n <= cap:
        keep[:] = True
    else:
        keep[np.random.default_rng([int(seed), 0x5E9]).choice(n, size=cap, replace=False)] = True
    return keep


def _deletion(model, x, attr, truth, seed: int):
    """Deletion curves of one map (a dinucleotide shuffle of each sequence as the reference, scored on
    the sequences with a functional instance, at most :data:`MODEL_CHECK_MAX_SEQUENCES` of all) and the
    per-sequence components (zero elsewhere)."""
    import models

    from .methods.attribution import make_references
    from .metrics.faithfulness import deletion_components, deletion_curves, deletion_scores

    rows = _planted_rows(truth, len(x)) & _sample_rows(len(x), seed)
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


def score_cross_method(interps: dict, ds, truth, x, metrics: list, model=None, seed: int = 0,
                       null_references: int = 10) -> dict:
    """Agreement between DeepLiftSHAP and Integrated Gradients, beside its null.

    The null is DeepLiftSHAP against itself under another draw of the shuffled references (seed
    ``seed``, ``null_references`` shuffles): two attributions of one model that differ only by
    reference noise. DeepLiftSHAP and IG agree no better than that is the most they can show.
    """
    from . import metrics as M

    out = {}
    if "agreement" not in metrics and "faithfulness" not in metrics:
        return out
    by_name = {}
    for label, interp in interps.items():
        by_name.setdefault(interp.details.get("method", label), interp)
    a, b = by_name.get("deeplift_shap"), by_name.get("integrated_gradients")
    if a is None or a.attributions is None:
        return out
    if b is not None and b.attributions is not None and "agreement" in metrics:
        scores = M.sign_agreement(a.attributions, b.attributions, truth)
        out.update({f"agreement/dls_vs_ig_{k}": v for k, v in scores.items()})
        if model is not None:
            from .methods.attribution import attribute

            redrawn, _, _ = attribute(model, x, "deeplift_shap", n_references=null_references, seed=seed,
                                      hypothetical=False)
            null = M.sign_agreement(a.attributions, redrawn, truth)
            out.update({f"agreement/dls_vs_dls_redrawn_{k}": v for k, v in null.items()
                        if k in NULL_AGREEMENT})
    if model is not None and "faithfulness" in metrics:
        out.update(_model_checks(model, a.attributions, x, truth, seed, null_references))
    return out


def _model_checks(model, attr, x, truth, seed: int, n_references: int) -> dict:
    """DeepLiftSHAP under another reference draw, on the reverse complement and on a randomized model.

    One set of references (``n_references`` shuffles, seed ``seed``: the reference-redraw null's) for
    all three: the redrawn map is the null's (answered from the attribution memo when every sequence
    is read), the reverse complement is attributed against the reverse complements of those
    references (so the two runs differ by orientation alone), and the randomized model against the
    same references. At most :data:`MODEL_CHECK_MAX_SEQUENCES` sequences (a seeded sample).
    """
    import models

    from . import metrics as M
    from .metrics.consistency import rc_attribution_consistency
    from .metrics.faithfulness import randomization_check
    from .methods.attribution import attribute, make_references

    xf = np.ascontiguousarray(x, dtype=np.float32)
    refs = make_references(xf, n_references, seed)

    def dls(m, xx, references):
        return attribute(m, xx, "deeplift_shap", references=references, hypothetical=False)[0]

    rows = _sample_rows(len(xf), seed)
    if rows.all():
        redrawn, _, _ = attribute(model, xf, "deeplift_shap", n_references=n_references, seed=seed,
                                  hypothetical=False)
    else:
        xf, refs, attr = np.ascontiguousarray(xf[rows]), np.ascontiguousarray(refs[rows]), np.asarray(attr)[rows]
        truth = _renumbered(truth, rows)
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


def _renumbered(truth: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The truth of the sequences ``rows`` (boolean), renumbered 0 .. rows.sum() − 1."""
    new = np.cumsum(rows) - 1
    keep = rows[truth["seq"].to_numpy(np.int64)]
    sub = truth.loc[keep].copy()
    sub["seq"] = new[sub["seq"].to_numpy(np.int64)]
    return sub.reset_index(drop=True)


def score_seed_stability(interp, replicate, x: np.ndarray, truth: pd.DataFrame, metrics: list) -> dict:
    """One method's maps from two models that differ only by training seed, on the same sequences.

    ``interp`` and ``replicate`` are the same method's interpretations (same parameters, same
    references) of the same sequences ``x`` by the cell's model and by a replicate trained on the
    same task with another training seed. Keys (family ``consistency``): ``seed_cosine_mean`` and
    ``seed_jaccard_mean`` (:func:`bench.metrics.seed_stability` on actual contributions),
    ``seed_spearman`` (mean per-sequence rank correlation of the contribution tracks) and
    ``seed_cosine_instance_mean`` (mean within-instance cosine over functional planted instances).
    """
    from . import metrics as M
    from .metrics.attributions import _nanmean, track_agreement

    if "consistency" not in metrics or interp.attributions is None or replicate.attributions is None:
        return {}
    xf = np.asarray(x, dtype=np.float64)
    stab = M.seed_stability([interp.attributions, replicate.attributions], x=xf)
    per = track_agreement((np.asarray(interp.attributions) * xf).sum(axis=1),
                          (np.asarray(replicate.attributions) * xf).sum(axis=1))
    signs = M.sign_agreement(interp.attributions, replicate.attributions, truth, x=xf)
    return {"consistency/seed_cosine_mean": stab["cosine_mean"], "consistency/seed_jaccard_mean": stab["jaccard_mean"],
            "consistency/seed_spearman": _nanmean(per["spearman"]),
            "consistency/seed_cosine_instance_mean": signs["cosine_instance_mean"]}


def score_rc_instances(interp, interp_rc, x: np.ndarray, metrics: list, same_motif: bool = True) -> dict:
    """One method's instance calls on ``x`` against its calls on the reverse complement of ``x``.

    ``interp_rc`` is the same method run (same model, parameters and seed) on
    ``bench.metrics.consistency.reverse_complement(x)``. ``same_motif``: a call matches only a call
    of the same motif name (True for read-outs, whose motifs are the model's filters; pass False for
    routes that discover and name motifs anew on each run, such as MoDISco). Keys (family
    ``consistency``): ``rc_f1``, ``rc_forward_matched_fraction``, ``rc_reverse_matched_fraction``.
    """
    from .metrics.consistency import rc_instance_agreement

    if "consistency" not in metrics:
        return {}
    r = rc_instance_agreement(interp.instances, interp_rc.instances, int(np.shape(x)[2]), same_motif=same_motif)
    return {"consistency/rc_f1": r["f1"], "consistency/rc_forward_matched_fraction": r["forward_matched_fraction"],
            "consistency/rc_reverse_matched_fraction": r["reverse_matched_fraction"]}


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
