"""Verdicts: which route recovers the planted truth better, where a paired interval says so.

Read from the results table the run wrote: each interpretation's per-sequence components
(``per_sequence/instances`` and ``per_sequence/attributions`` rows, whose ``detail`` holds the
arrays) and the per-model metrics. Every comparison pairs two routes of one simulation on the same
seeds and interpreted sequences and runs :func:`bench.metrics.paired.paired_difference`.

A verdict is ``better`` or ``worse`` (for route A against route B) only where the 95% interval of
the difference excludes zero, ``tie`` otherwise, and ``not learned`` where no seed is left once the
cells whose model failed the learned gate (:mod:`bench.gate`) are set aside.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .families import paired_measures
from .metrics.paired import paired_difference

#: metric -> (components row, numerator weights, denominator weights, higher is better); a
#: components row of None marks a metric with one value per trained model. Declared by each family
#: (``Family.paired``, bench/families)
VERDICT_METRICS = paired_measures()
#: the attribution measures every attribution pair is compared on
ATTRIBUTION_METRICS = ("attributions/auroc", "attributions/mass_in_motifs", "attributions/pooled_topk_recall",
                       "attributions/site_pfm_cosine")
#: the comparisons the issue tracker and the README ask for (read-out vs DeepLiftSHAP + MoDISco)
#: (``best_f1``: each route at its best cut-off, so a win there is not where the route stops calling)
READOUT_METRICS = ("instances/f1", "instances/best_f1", "instances/f1_identity", "instances/precision",
                   "instances/recall", "instances/paper_precision", "motifs/recall", "motifs/n_redundant")
#: what a scan of the true motifs (the positive control) should bound, as (the route's measure, the
#: control's): a route's F1 against the control's F1 at its best cut-off. Not against the control's
#: F1 at the benchmark's cut-off rule: where the background holds many weak matches of a true motif
#: (TAL/GATA, E2F6/MAX in the paper suite) that rule calls them and a route that stops earlier beats
#: it without knowing more than the motif scores. Not recall alone: the rule reaches 90% of
#: PFM-sampled sites by design, and a route calling more loosely reaches more at a lower precision
CONTROL_BOUNDED = (("instances/f1", "instances/best_f1"), ("instances/f1_identity", "instances/best_f1_identity"),
                   ("motifs/recall", "motifs/recall"))
VERDICT_COLUMNS = ["simulation", "metric", "route_a", "route_b", "difference", "ci_low", "ci_high", "n_seeds",
                   "n_sequences", "verdict", "value_a", "value_b", "floor", "undefined_share", "min_denominator"]
#: attribution routes compared with DeepLiftSHAP on each model (route A the new one, B DeepLiftSHAP): the
#: gradient routes and in-silico mutagenesis
ATTRIBUTION_VS_DLS = ("saliency", "gradient", "smoothgrad", "expected_gradients", "ism")
#: routes with a ``gradient_correction`` parameter: where a suite runs one with it on and off (the
#: other parameters equal), the two are compared (A on, B off)
GRADIENT_ROUTES = ("integrated_gradients", "saliency", "gradient", "smoothgrad", "expected_gradients")
#: MoDISco-free motif routes, compared with the read-out like MoDISco
SEQLET_ROUTES = ("seqlets",)
N_BOOT = 2000
#: a metric with one value per trained model (motif recall) gets an interval, and so a verdict other
#: than ``tie``, only from this many seeds on: with two, a bootstrap over seeds is just their range
MIN_SEEDS_PER_MODEL = 3
#: a per-sequence comparison gets no interval (so ``tie``) when either route's denominator (its calls,
#: for a precision) sums to fewer than this in a seed, or when more than this share of the bootstrap
#: replicates was undefined
MIN_DENOMINATOR = 10
MAX_UNDEFINED_SHARE = 0.01


def _name(params: str) -> str:
    try:
        return json.loads(params or "{}").get("name", "")
    except (TypeError, ValueError):
        return ""


def _resolved_params(method_name: str, method_params: str) -> dict | None:
    """A route's parameters with its method's defaults filled in, or None for a method the registry
    does not know (or unreadable parameters)."""
    from .methods import METHODS

    if method_name not in METHODS:
        return None
    try:
        given = json.loads(method_params or "{}").get("params") or {}
    except (TypeError, ValueError, AttributeError):
        return None
    return {**METHODS[method_name].defaults(), **given}


def _correction_pairs(g: pd.DataFrame) -> list[tuple]:
    """(route on, route off) of one simulation: the same model and gradient route, the correction on
    in one and off in the other, every other parameter equal."""
    out = []
    grad = g[g.method_name.isin(GRADIENT_ROUTES)]
    for (model, name), h in grad.groupby(["model", "method_name"], sort=False):
        resolved = [(r, _resolved_params(name, r.method_params)) for r in h.itertuples()]
        resolved = [(r, p) for r, p in resolved if p is not None and "gradient_correction" in p]
        for ra, pa in resolved:
            if pa["gradient_correction"] is not True:
                continue
            for rb, pb in resolved:
                rest_a = {k: v for k, v in pa.items() if k != "gradient_correction"}
                rest_b = {k: v for k, v in pb.items() if k != "gradient_correction"}
                if pb["gradient_correction"] is False and rest_a == rest_b:
                    out.append(((ra.model, ra.method), (rb.model, rb.method)))
    return out


def _routes(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (simulation, model label, method label) that produced scores (ok, or kept as not
    learned; a route a model cannot take has only a skipped row), with the model's and method's names."""
    scored = df[~df.method.astype(str).str.startswith("(") & df.status.isin(["ok", "not_learned"])
                & ~df.metric.astype(str).str.startswith("(")]
    r = scored[["simulation", "model", "method", "model_params", "method_params"]].drop_duplicates(
        ["simulation", "model", "method"])
    return r.assign(model_name=r.model_params.map(_name), method_name=r.method_params.map(_name))


def _components(df: pd.DataFrame) -> dict:
    """(simulation, model, method, component row) -> {seed: DataFrame of per-sequence arrays}."""
    out = {}
    rows = df[(df.status == "ok") & df.metric.str.startswith("per_sequence/")]
    for r in rows.itertuples():
        arrays = json.loads(r.detail)
        out.setdefault((r.simulation, r.model, r.method, r.metric), {})[int(r.seed)] = pd.DataFrame(arrays)
    return out


def _per_model(df: pd.DataFrame) -> dict:
    """(simulation, model, method, metric) -> {seed: value} over ok rows."""
    ok = df[(df.status == "ok") & df.metric.isin([m for m, spec in VERDICT_METRICS.items() if spec[0] is None])]
    out = {}
    for r in ok.itertuples():
        out.setdefault((r.simulation, r.model, r.method, r.metric), {})[int(r.seed)] = float(r.value)
    return out


def _kept(df: pd.DataFrame) -> dict:
    """(simulation, model, method) -> seeds with rows kept as not_learned (they had data)."""
    bad = df[df.status == "not_learned"]
    out = {}
    for sim, model, method, seed in zip(bad.simulation, bad.model, bad.method, bad.seed.astype(int)):
        out.setdefault((sim, model, method), set()).add(seed)
    return out


def compare(df: pd.DataFrame, simulation: str, metric: str, route_a: tuple, route_b: tuple,
            cache: dict | None = None, seed: int = 0, metric_b: str | None = None) -> dict:
    """One paired comparison of ``route_a = (model, method)`` against ``route_b`` on a metric.

    ``metric_b`` (default ``metric``): route B's measure, where A's is set against another of B's
    (the positive control's F1 at its best cut-off, say); both must come from the same components row
    (or both be per-model values)."""
    cache = cache if cache is not None else {}
    if "components" not in cache:
        kept = _kept(df)
        # (simulation, model, seed) cells whose model failed the learned gate
        gated = {(sim, model, s) for (sim, model, _), seeds in kept.items() for s in seeds}
        cache.update(components=_components(df), per_model=_per_model(df), gated=gated, kept=kept)
    metric_b = metric if metric_b is None else metric_b
    source, num_w, den_w, higher = VERDICT_METRICS[metric]
    source_b, num_wb, den_wb, higher_b = VERDICT_METRICS[metric_b]
    if (source is None) != (source_b is None) or higher != higher_b:
        raise ValueError(f"metric_b {metric_b!r} cannot be set against {metric!r}: both must be per-sequence "
                         "(or both per-model) measures with the same direction")
    gated = cache["gated"]
    if source is None:
        a = cache["per_model"].get((simulation, *route_a, metric), {})
        b = cache["per_model"].get((simulation, *route_b, metric_b), {})
    else:
        a = cache["components"].get((simulation, *route_a, source), {})
        b = cache["components"].get((simulation, *route_b, source_b), {})
    # a seed counts as gated when both routes have rows there (kept as not_learned) but one of the
    # two models failed the gate
    kept_a = cache["kept"].get((simulation, *route_a), set())
    kept_b = cache["kept"].get((simulation, *route_b), set())
    gated_seeds = {s for s in (kept_a | set(a)) & (kept_b | set(b))
                   if (simulation, route_a[0], s) in gated or (simulation, route_b[0], s) in gated}
    seeds = sorted(s for s in set(a) & set(b) if s not in gated_seeds)
    out = {"simulation": simulation, "metric": metric, "route_a": " · ".join(route_a),
           "route_b": " · ".join(route_b)}
    nan = float("nan")
    empty = {"difference": nan, "ci_low": nan, "ci_high": nan, "n_seeds": 0, "n_sequences": 0, "value_a": nan,
             "value_b": nan, "undefined_share": nan, "min_denominator": nan}
    if not seeds:
        return {**out, **empty, "verdict": "not learned" if gated_seeds else "no data"}
    if source is None:
        per_seed = [(a[s], b[s]) for s in seeds]
    else:
        per_seed = []
        for s in seeds:
            ca, cb = a[s], b[s]
            if len(ca) != len(cb):  # not the same interpreted sequences: no paired comparison
                return {**out, **empty, "verdict": "no data"}
            if not (all(c in ca for c in (*num_w, *den_w)) and all(c in cb for c in (*num_wb, *den_wb))):
                # results written before this measure's components were stored
                return {**out, **empty, "verdict": "no data"}
            per_seed.append((sum(w * ca[c].to_numpy(float) for c, w in num_w.items()),
                             sum(w * ca[c].to_numpy(float) for c, w in den_w.items()),
                             sum(w * cb[c].to_numpy(float) for c, w in num_wb.items()),
                             sum(w * cb[c].to_numpy(float) for c, w in den_wb.items())))
    res = paired_difference(per_seed, n_boot=N_BOOT, seed=seed)
    if source is None and res["n_seeds"] < MIN_SEEDS_PER_MODEL:
        # one value per trained model: with one or two seeds there is no interval to speak of
        res["ci_low"] = res["ci_high"] = float("nan")
    if source is not None and (res["undefined_share"] > MAX_UNDEFINED_SHARE
                               or res["min_denominator"] < MIN_DENOMINATOR):
        # a route with a handful of calls (or planted sites): its resamples are often undefined and the
        # kept ones all see the same few calls, so the interval would be far too tight
        res["ci_low"] = res["ci_high"] = float("nan")
    if res["n_seeds"] == 0:
        verdict = "no data"
    elif not np.isfinite(res["ci_low"]):
        verdict = "tie"
    elif res["ci_low"] > 0:
        verdict = "better" if higher else "worse"
    elif res["ci_high"] < 0:
        verdict = "worse" if higher else "better"
    else:
        verdict = "tie"
    return {**out, **res, "verdict": verdict}


def planned_pairs(df: pd.DataFrame) -> list[tuple]:
    """``(simulation, metric, route_a, route_b)`` for every comparison the verdict table holds.

    - ARGMINN's read-out against DeepLiftSHAP + MoDISco on every model (ARGMINN included), on the
      instance and motif metrics;
    - DeepLiftSHAP on ARGMINN against DeepLiftSHAP on every other model, and DeepLiftSHAP against
      Integrated Gradients on each model, on attribution AUROC;
    - each gradient route and ISM (:data:`ATTRIBUTION_VS_DLS`, A) against DeepLiftSHAP (B) on the same
      model, on attribution AUROC;
    - a gradient route with the one-hot gradient correction (A) against the same route without it
      (B), on the same model, where a suite runs both (:data:`GRADIENT_ROUTES`), on attribution AUROC;
    - ARGMINN's read-out against the seqlet route (:data:`SEQLET_ROUTES`) on every model, on the
      instance and motif metrics (as against MoDISco).

    The first three are the pairs the table held before the new routes; the rest follow them.
    """
    routes = _routes(df)
    pairs = []
    for sim, g in routes.groupby("simulation", sort=True):
        readout = g[g.method_name == "argminn_readout"]
        modisco = g[g.method_name == "modisco"]
        for ra in readout.itertuples():
            for rb in modisco.itertuples():
                pairs += [(sim, m, (ra.model, ra.method), (rb.model, rb.method)) for m in READOUT_METRICS]
        dls = g[g.method_name == "deeplift_shap"]
        ig = g[g.method_name == "integrated_gradients"]
        for ra in dls[dls.model_name == "argminn"].itertuples():
            for rb in dls[dls.model_name != "argminn"].itertuples():
                pairs += [(sim, m, (ra.model, ra.method), (rb.model, rb.method)) for m in ATTRIBUTION_METRICS]
        for ra in dls.itertuples():
            for rb in ig[ig.model == ra.model].itertuples():
                pairs += [(sim, m, (ra.model, ra.method), (rb.model, rb.method)) for m in ATTRIBUTION_METRICS]
        newer = g[g.method_name.isin(ATTRIBUTION_VS_DLS)]
        for rb in dls.itertuples():
            for ra in newer[newer.model == rb.model].itertuples():
                pairs += [(sim, m, (ra.model, ra.method), (rb.model, rb.method)) for m in ATTRIBUTION_METRICS]
        pairs += [(sim, m, a, b) for a, b in _correction_pairs(g) for m in ATTRIBUTION_METRICS]
        seqlets = g[g.method_name.isin(SEQLET_ROUTES)]
        for ra in readout.itertuples():
            for rb in seqlets.itertuples():
                pairs += [(sim, m, (ra.model, ra.method), (rb.model, rb.method)) for m in READOUT_METRICS]
    return pairs


def _floors(df: pd.DataFrame) -> dict:
    """(simulation, metric) -> the negative control's mean (the value random motifs reach)."""
    routes = _routes(df)
    neg = routes[routes.method_name == "negative_control"]
    keys = set(zip(neg.simulation, neg.model, neg.method))
    ok = df[(df.status == "ok") & df.metric.isin(list(VERDICT_METRICS))]
    ok = ok[np.array([k in keys for k in zip(ok.simulation, ok.model, ok.method)], dtype=bool)]
    return ok.groupby(["simulation", "metric"])["value"].mean().to_dict()


def verdict_table(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Every planned comparison with its paired interval (columns :data:`VERDICT_COLUMNS`)."""
    cache: dict = {}
    rows = [compare(df, sim, metric, a, b, cache, seed=seed) for sim, metric, a, b in planned_pairs(df)]
    if not rows:
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    out = pd.DataFrame(rows)
    floors = _floors(df)
    out["floor"] = [floors.get((s, m), np.nan) for s, m in zip(out.simulation, out.metric)]
    return out[VERDICT_COLUMNS]


def route_intervals(df: pd.DataFrame, metrics=None, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Each route's value of each per-sequence measure with its 95% hierarchical bootstrap interval
    (seeds, then sequences: :func:`bench.metrics.paired.paired_difference` against a route of zeros),
    over the seeds whose model learned. Columns ``simulation, model, method, metric, value, ci_low,
    ci_high, n_seeds``. The figures draw these instead of lone seed dots."""
    wanted = [m for m in (metrics or VERDICT_METRICS) if VERDICT_METRICS.get(m, (None,))[0] is not None]
    components = _components(df)
    gated = {(sim, model, s) for (sim, model, _), seeds in _kept(df).items() for s in seeds}
    rows = []
    for (sim, model, method, source), by_seed in components.items():
        for metric in wanted:
            src, num_w, den_w, _ = VERDICT_METRICS[metric]
            if src != source:
                continue
            per_seed = []
            for s, c in sorted(by_seed.items()):
                if (sim, model, s) in gated or not all(k in c for k in (*num_w, *den_w)):
                    continue
                num = sum(w * c[k].to_numpy(float) for k, w in num_w.items())
                den = sum(w * c[k].to_numpy(float) for k, w in den_w.items())
                per_seed.append((num, den, np.zeros_like(num), den))
            if not per_seed:
                continue
            res = paired_difference(per_seed, n_boot=n_boot, seed=seed)
            if res["n_seeds"]:
                rows.append({"simulation": sim, "model": model, "method": method, "metric": metric,
                             "value": res["difference"], "ci_low": res["ci_low"], "ci_high": res["ci_high"],
                             "n_seeds": res["n_seeds"]})
    return pd.DataFrame(rows, columns=["simulation", "model", "method", "metric", "value", "ci_low", "ci_high",
                                       "n_seeds"])


#: the comparisons a reader looks for first, as ((method A, model A), (method B, model B), metrics, question):
#: ARGMINN's one-pass read-out against DeepLiftSHAP + MoDISco on the standard CNN (the paper's claim), its
#: maps against the CNN's, and the two attribution choices every user makes (DeepLiftSHAP or IG; the
#: one-hot gradient correction or not)
HEADLINE = (
    (("argminn_readout", "argminn"), ("modisco", "cnn"),
     ("instances/f1", "instances/best_f1", "instances/precision", "instances/recall", "motifs/recall"),
     "ARGMINN read-out vs CNN + DeepLiftSHAP + MoDISco"),
    (("deeplift_shap", "argminn"), ("deeplift_shap", "cnn"), ("attributions/auroc",),
     "DeepLiftSHAP: ARGMINN vs CNN"),
    (("deeplift_shap", "cnn"), ("integrated_gradients", "cnn"), ("attributions/auroc",),
     "CNN: DeepLiftSHAP vs IG"),
)


def headline_verdicts(verdicts: pd.DataFrame, df: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``verdicts`` that answer :data:`HEADLINE`'s questions, plus the one-hot gradient
    correction on the CNN (each corrected gradient route against itself uncorrected), with a
    ``question`` column; empty when the run holds none of those routes."""
    if verdicts.empty:
        return verdicts.assign(question=pd.Series(dtype=str))
    routes = _routes(df)
    names = {(r.simulation, f"{r.model} · {r.method}"): (r.method_name, r.model_name) for r in routes.itertuples()}
    a = [names.get(k) for k in zip(verdicts.simulation, verdicts.route_a)]
    b = [names.get(k) for k in zip(verdicts.simulation, verdicts.route_b)]
    question = []
    for ra, rb, metric, label_b in zip(a, b, verdicts.metric, verdicts.route_b):
        q = None
        method_b = str(label_b).split(" · ", 1)[-1]
        for want_a, want_b, metrics, text in HEADLINE:
            # (the same method's patterns under a second label give the same motifs: its motif rows repeat)
            if ra == want_a and rb == want_b and metric in metrics and not (
                    method_b != want_b[0] and metric.startswith("motifs/")):
                # a second entry of the same method under its own label (modisco_seqlets) says so
                q = text + (f" ({method_b})" if method_b != want_b[0] else "")
        if (q is None and ra is not None and rb is not None and ra[0] == rb[0] and ra[1] == rb[1] == "cnn"
                and ra[0] in GRADIENT_ROUTES and ra[0] != "integrated_gradients" and metric == "attributions/auroc"):
            q = f"CNN {ra[0]}: one-hot correction on vs off"
        question.append(q)
    out = verdicts.assign(question=question)
    return out[out.question.notna()].reset_index(drop=True)


def verdict_summary(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Across simulations: how often route A wins, ties and loses against route B, per metric.

    Route labels are reduced to ``model · method`` without the simulation, so the same pair on
    several grammars counts once per grammar.
    """
    cols = ["metric", "route_a", "route_b", "better", "tie", "worse", "not learned", "n_simulations"]
    if verdicts.empty:
        return pd.DataFrame(columns=cols)
    counts = (verdicts.groupby(["metric", "route_a", "route_b"])["verdict"].value_counts().unstack(fill_value=0))
    for c in ("better", "tie", "worse", "not learned"):
        if c not in counts:
            counts[c] = 0
    counts["n_simulations"] = verdicts.groupby(["metric", "route_a", "route_b"]).simulation.nunique()
    return counts.reset_index()[cols]


def control_bounds(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Each route against the positive control (the true motifs scanned) on what the control bounds
    (:data:`CONTROL_BOUNDED`: the route's F1 against the control's at its best cut-off; motif recall).

    A route whose interval lies above the control's (verdict ``better``) beats every cut-off of a scan
    with the true motifs: the route knows what a scan cannot (which sites the model uses, from their
    context), or the route's score is an artefact. The report flags every such row, to be explained
    before the route's numbers are read. ``control_metric`` names the control's measure; results
    written before the best cut-off was scored have no such rows.
    """
    routes = _routes(df)
    rows, cache = [], {}
    for sim, g in routes.groupby("simulation", sort=True):
        control = g[g.method_name == "positive_control"]
        others = g[~g.method_name.isin(["positive_control", "negative_control"])]
        for ctrl in control.itertuples():
            for r in others[others.model == ctrl.model].itertuples():
                for metric, control_metric in CONTROL_BOUNDED:
                    res = compare(df, sim, metric, (r.model, r.method), (ctrl.model, ctrl.method), cache, seed=seed,
                                  metric_b=control_metric)
                    if res["verdict"] != "no data":
                        rows.append({**res, "control_metric": control_metric})
    columns = [c for c in VERDICT_COLUMNS if c != "floor"] + ["control_metric", "beats_control"]
    if not rows:
        return pd.DataFrame(columns=columns)
    out = pd.DataFrame(rows)
    out["beats_control"] = out.verdict == "better"
    return out[columns]
