"""Interpretation methods: one small function per route, all returning an :class:`Interpretation`.

``METHODS[name].run(model, x, params, seed, truth_motifs) -> Interpretation``; ``check_requirements``
gives the reason a model cannot be interpreted by a method (a skipped row), or None.

Routes
------
deeplift_shap          tangermeme's exact DeepLiftSHAP (attributions only)
integrated_gradients   captum IG over the same K dinucleotide-shuffled references
captum_deeplift_shap   captum's DeepLift over those references (compared implementation)
shap_deep_explainer    shap's DeepExplainer over those references (compared implementation)
ism                    in-silico mutagenesis (assumption-free reference)
modisco                attributions -> modisco-lite patterns -> FIMO instances (quality-passing patterns)
filter_readout         first-layer filters -> PFMs, above-threshold activations -> instances
argminn_readout        ARGMINN's mechanistic read-out (models.readout)
positive_control       the true motifs and their FIMO hits
negative_control       random motifs of the true widths, their FIMO hits, position-shuffled DLS

The three scanning routes (positive_control, negative_control, modisco with ``instances: fimo``) take
the same ``scan_threshold`` rule (:mod:`bench.methods.scanning`; default
``scanning.DEFAULT_SCAN_THRESHOLD``, a per-motif cut-off reaching 90% of each motif's own sites, chosen
in ``reports/scanning/``) and the same ``merge``.
"""

from __future__ import annotations

import numpy as np

from simulations import Motif

from . import attribution as _attr
from ._core import (REQUIREMENTS, Interpretation, Method, check_requirements, library_versions,
                    normalize_instances)

__all__ = ["Interpretation", "Method", "METHODS", "REQUIREMENTS", "check_requirements", "library_versions",
           "normalize_instances"]


def _choice(key, options):
    def validate(params):
        if params[key] not in options:
            raise ValueError(f"{key} must be one of {list(options)}, got {params[key]!r}")
    return validate


def _fraction_or_none(key):
    def validate(params):
        v = params[key]
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1):
            raise ValueError(f"{key} must be a number in (0, 1) or null, got {v!r}")
    return validate


def _positive_int(*keys):
    def validate(params):
        for k in keys:
            v = params[k]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{k} must be a positive integer, got {v!r}")
    return validate


def _scan_threshold(key="scan_threshold"):
    def validate(params):
        from .scanning import check_scan_threshold

        check_scan_threshold(params[key], key)
    return validate


def _boolean(*keys):
    def validate(params):
        for k in keys:
            if not isinstance(params[k], (bool, np.bool_)):
                raise ValueError(f"{k} must be true or false, got {params[k]!r}")
    return validate


def _all(*validators):
    def validate(params):
        for v in validators:
            v(params)
    return validate


# ---------------------------------------------------------------------- attribution routes


def _attribution_details(engine, params, err) -> dict:
    d = {"engine": engine, "versions": library_versions(), "layout": "(N, 4, L); actual = hypothetical * x"}
    d.update(_attr.completeness_summary(err))
    return d


def _attribution_method(engine: str):
    def run(model, x, params, seed, truth_motifs):
        kwargs = {k: params[k] for k in ("n_references", "batch_size", "n_steps", "gradient_correction")
                  if k in params}
        actual, hyp, err = _attr.attribute(model, x, engine, seed=seed, **kwargs)
        details = _attribution_details(engine, params, err)
        if params.get("compare_exact"):
            # the same references (same seed), exact engine: how far is this implementation?
            exact, _, _ = _attr.attribute(model, x, "deeplift_shap", seed=seed, n_references=params["n_references"],
                                          batch_size=params["batch_size"])
            details.update(_attr.distance_to(actual, exact))
        return Interpretation(attributions=actual, hypothetical=hyp, details=details)
    return run


_REF = {"n_references": 10, "batch_size": _attr.DEFAULT_BATCH_SIZE}


# ---------------------------------------------------------------------- MoDISco route


def _run_modisco(model, x, params, seed, truth_motifs):
    import shutil
    import tempfile

    from bench.metrics.similarity import passes_quality, trim_by_ic

    from . import modisco as _mod
    from .scanning import scan_instances

    actual, hyp, err = _attr.attribute(model, x, params["attribution"], n_references=params["n_references"],
                                       seed=seed, batch_size=params["batch_size"])
    mparams = {k: params[k] for k in _mod.MODISCO_DEFAULTS}
    # a fresh folder per call (inside workdir when given): parallel cells never share one, and
    # nothing is left behind; everything later stages need is read out of it before it goes
    if params["workdir"]:
        from pathlib import Path

        Path(params["workdir"]).mkdir(parents=True, exist_ok=True)
    work = tempfile.mkdtemp(prefix="modisco_", dir=params["workdir"] or None)
    try:
        result = _mod.run_modisco(x, hyp, mparams, workdir=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    motifs, cwms, seqlets, dropped, passing, failing = [], {}, {}, [], [], []
    for p in result.patterns:
        trimmed = trim_by_ic(p.ppm, params["trim_threshold"])
        if trimmed.shape[1] == 0:
            dropped.append(p.name)
            continue
        # trim_by_ic keeps a contiguous block; find where it starts to cut the CWM identically
        ic_keep = np.flatnonzero(_ic(p.ppm) >= params["trim_threshold"])
        a, b = int(ic_keep[0]), int(ic_keep[-1]) + 1
        ok = bool(passes_quality(trimmed, "modisco"))
        (passing if ok else failing).append(p.name)
        motifs.append(Motif(p.name, trimmed, {"route": "modisco", "n_seqlets": int(len(p.seqlets)),
                                              "untrimmed_width": int(p.ppm.shape[1]), "trim": [a, b],
                                              "passes_modisco_quality": ok}))
        cwms[p.name] = p.cwm[:, a:b].copy()
        seqlets[p.name] = _trimmed_seqlets(p.seqlets, a, b, actual, p.name)

    # every pattern stays in `motifs` (the motif metrics apply their own quality rules); only the
    # instance calls are restricted, as the reference scanned only its QC-passed patterns
    scanned = select_patterns([m.name for m in motifs], passing, params["patterns"])
    details = _attribution_details(params["attribution"], params, err)
    details.update({"modisco_params": result.params, "modisco_runtime_s": result.runtime_s,
                    "n_patterns": len(result.patterns),
                    "patterns_dropped_empty_after_trim": dropped,
                    "patterns_passing_quality": passing, "patterns_failing_quality": failing,
                    "pattern_filter": params["patterns"], "patterns_scanned": scanned,
                    "n_seqlets": int(sum(len(s) for s in seqlets.values()))})
    if result.no_patterns_reason:
        details["no_patterns_reason"] = result.no_patterns_reason
    if params["instances"] == "fimo":
        by_name = {m.name: m.pfm for m in motifs}
        instances, counts = scan_instances({n: by_name[n] for n in scanned}, x, params["scan_threshold"],
                                           params["merge"], seed)
        details.update(counts)
    else:
        import pandas as pd

        chosen = [seqlets[n] for n in scanned]
        instances = pd.concat(chosen, ignore_index=True) if chosen else None
    return Interpretation(motifs=motifs, instances=instances, attributions=actual, hypothetical=hyp,
                          details=details, cwms=cwms)


def select_patterns(names, passing, rule: str) -> list:
    """The patterns whose instances the MoDISco route calls: ``"passing"`` keeps those passing the
    paper's MoDISco quality rule (``passing``), ``"all"`` keeps every one; order of ``names``."""
    if rule == "all":
        return list(names)
    if rule == "passing":
        keep = set(passing)
        return [n for n in names if n in keep]
    raise ValueError(f"patterns must be one of ['passing', 'all'], got {rule!r}")


def _trimmed_seqlets(seqlets, a: int, b: int, actual: np.ndarray, name: str):
    """Seqlets cut to the pattern's trimmed columns ``[a, b)``, scored by their summed contribution.

    A reverse-complement seqlet reads the pattern backwards, so column ``a`` sits ``a`` bases
    before its end.
    """
    s = seqlets.copy()
    plus = (s["strand"] == "+").to_numpy()
    start, end = s["start"].to_numpy(), s["end"].to_numpy()
    s["start"] = np.where(plus, start + a, end - b)
    s["end"] = np.where(plus, start + b, end - a)
    length = actual.shape[2]
    s = s[(s["start"] >= 0) & (s["end"] <= length)].copy()
    per_pos = np.concatenate([np.zeros((len(actual), 1)), np.cumsum(actual.sum(axis=1), axis=1)], axis=1)
    seq = s["seq"].to_numpy()
    s["score"] = per_pos[seq, s["end"].to_numpy()] - per_pos[seq, s["start"].to_numpy()]
    s["motif"] = name
    return s


def _ic(pfm):
    from simulations import information_content

    return information_content(pfm)


def _modisco_defaults() -> dict:
    from .modisco import MODISCO_DEFAULTS

    return {"attribution": "deeplift_shap", **_REF, **MODISCO_DEFAULTS, "trim_threshold": 0.2,
            "instances": "fimo", "patterns": "passing", "scan_threshold": _scan_default(), "merge": True,
            "workdir": None}


def _scan_default() -> dict:
    from .scanning import DEFAULT_SCAN_THRESHOLD

    return dict(DEFAULT_SCAN_THRESHOLD)


# ---------------------------------------------------------------------- read-outs and controls


def _run_filter_readout(model, x, params, seed, truth_motifs):
    from .readouts import filter_readout

    motifs, instances, details = filter_readout(model, x, params, seed)
    return Interpretation(motifs=motifs, instances=instances, details=details)


def _run_argminn_readout(model, x, params, seed, truth_motifs):
    from .readouts import argminn_readout

    motifs, instances, details = argminn_readout(model, x, params)
    return Interpretation(motifs=motifs, instances=instances, details=details)


def _run_positive_control(model, x, params, seed, truth_motifs):
    from .scanning import scan_instances

    if not truth_motifs:
        raise ValueError("positive_control needs truth_motifs (the planted motifs)")
    motifs = [Motif(m.name, m.pfm, {"route": "positive_control"}) for m in truth_motifs]
    instances, counts = scan_instances({m.name: m.pfm for m in motifs}, x, params["scan_threshold"], params["merge"],
                                       seed)
    return Interpretation(motifs=motifs, instances=instances, details=counts)


def random_motifs(widths, seed: int, concentration: float = 0.5) -> list[Motif]:
    """Random PFMs (columns ~ Dirichlet(concentration)), one per width, named ``random_<i>``."""
    rng = np.random.default_rng(seed)
    return [Motif(f"random_{i}", rng.dirichlet(np.full(4, concentration), size=int(w)).T,
                  {"route": "negative_control", "concentration": concentration}) for i, w in enumerate(widths)]


def _run_negative_control(model, x, params, seed, truth_motifs):
    from .scanning import scan_instances

    widths = [m.width for m in truth_motifs] if truth_motifs else list(params["widths"])
    motifs = random_motifs(widths, seed)
    instances, details = scan_instances({m.name: m.pfm for m in motifs}, x, params["scan_threshold"],
                                        params["merge"], seed)
    attributions = None
    if params["attributions"] == "shuffled_dls":
        actual, _, _ = _attr.attribute(model, x, "deeplift_shap", n_references=params["n_references"], seed=seed,
                                       batch_size=params["batch_size"])
        # the same values at random positions of the same sequence: any positional signal is gone
        rng = np.random.default_rng(seed)
        perm = np.argsort(rng.random((x.shape[0], x.shape[2])), axis=1)
        attributions = np.take_along_axis(actual, perm[:, None, :], axis=2)
        details["attributions"] = "deeplift_shap, positions shuffled per sequence"
    return Interpretation(motifs=motifs, instances=instances, attributions=attributions, details=details)


# ---------------------------------------------------------------------- the registry

_ENGINE_PARAMS = {
    "deeplift_shap": dict(_REF),
    "integrated_gradients": {**_REF, "n_steps": 50, "gradient_correction": False},
    "captum_deeplift_shap": {**_REF, "compare_exact": True},
    "shap_deep_explainer": {"n_references": 10, "batch_size": _attr.DEFAULT_BATCH_SIZE, "compare_exact": True},
    "ism": {"batch_size": 256},
}


def _build() -> dict:
    methods = {}
    for engine, defaults in _ENGINE_PARAMS.items():
        ints = [k for k in ("n_references", "batch_size", "n_steps") if k in defaults]
        methods[engine] = Method(engine, _attribution_method(engine), ("differentiable",), defaults,
                                 _positive_int(*ints))
    methods["modisco"] = Method("modisco", _run_modisco, ("differentiable",), _modisco_defaults(),
                                _all(_choice("attribution", ("deeplift_shap", "integrated_gradients")),
                                     _choice("instances", ("fimo", "seqlets")),
                                     _choice("patterns", ("passing", "all")),
                                     _scan_threshold(), _boolean("merge"),
                                     _positive_int("n_references", "batch_size", "max_seqlets")))
    methods["filter_readout"] = Method("filter_readout", _run_filter_readout, ("conv_first_layer",),
                                       {"quality": None, "background_fpr": 1e-3},
                                       _all(_choice("quality", (None, "uniform", "argminn", "modisco")),
                                            _fraction_or_none("background_fpr")))
    methods["argminn_readout"] = Method("argminn_readout", _run_argminn_readout, ("argminn",), {})
    methods["positive_control"] = Method("positive_control", _run_positive_control, (),
                                         {"scan_threshold": _scan_default(), "merge": True},
                                         _all(_scan_threshold(), _boolean("merge")))
    methods["negative_control"] = Method("negative_control", _run_negative_control, ("differentiable",),
                                         {"scan_threshold": _scan_default(), "merge": True,
                                          "attributions": "shuffled_dls", **_REF, "widths": [10]},
                                         _all(_choice("attributions", ("shuffled_dls", "none")),
                                              _scan_threshold(), _boolean("merge")))
    return methods


METHODS: dict[str, Method] = _build()
