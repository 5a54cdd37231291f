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
saliency               gradient x input (tangermeme ``saliency``)
gradient               the plain gradient as hypothetical scores (captum ``Saliency``); on one-hot inputs
                       its actual scores equal saliency's (gradient x input is the gradient at the
                       observed base): a second implementation of the same numbers
smoothgrad             the gradient averaged over noisy copies of the input (captum ``NoiseTunnel``)
expected_gradients     captum ``GradientShap`` over the same dinucleotide-shuffled references
modisco                attributions -> modisco-lite patterns -> FIMO instances (quality-passing patterns)
seqlets                attributions -> tangermeme recursive seqlets -> greedy clusters -> PFMs; the
                       seqlets are the instance calls (:mod:`bench.methods.seqlets`, no MoDISco)
filter_readout         first-layer filters -> PFMs, above-threshold activations -> instances
argminn_readout        ARGMINN's mechanistic read-out (models.readout)
positive_control       the true motifs and their FIMO hits
negative_control       random motifs of the true widths, their FIMO hits, position-shuffled DLS

Every gradient route (``integrated_gradients``, ``saliency``, ``gradient``, ``smoothgrad``,
``expected_gradients``) takes ``gradient_correction`` (Majdandzic, Rajesh & Koo 2023: the hypothetical
gradient minus its per-position mean over the four channels, before multiplying by the one-hot). It
is on by default for the four new routes, the published recommendation, and off by default for
``integrated_gradients``, the paper's IG (parity); a suite can run either with the other value.

The three scanning routes (positive_control, negative_control, modisco with ``instances: fimo``) take
the same ``scan_threshold`` rule (:mod:`bench.methods.scanning`; default
``scanning.DEFAULT_SCAN_THRESHOLD``, a per-motif cut-off reaching 90% of each motif's own sites, chosen
in ``reports/scanning/``) and the same ``merge``.
"""

from __future__ import annotations

import copy
import math
import os

import numpy as np

from simulations import Motif

from . import attribution as _attr
from ._core import (PRODUCTS, QUALITY_RULES, REQUIREMENTS, Interpretation, Method,
                    check_requirements, library_versions, normalize_instances)

__all__ = ["Interpretation", "Method", "METHODS", "PRODUCTS", "QUALITY_RULES", "REQUIREMENTS",
           "check_requirements", "library_versions", "normalize_instances"]


# ---------------------------------------------------------------------- parameter declarations
#
# Each parameter is declared once, with its default and what it accepts (`Param`); a method's defaults
# and its validator are derived from the declarations (`_declared`). Booleans are strict (true/false:
# 'no' or 0 is refused, not read as truthy), numbers refuse booleans, and ranges are checked here, when
# the suite loads, not inside a run.


class Param:
    """One method parameter: its default and the values it accepts.

    kind : "int" (an integer in [low, high]), "number" (a finite number in the range, ``low_open``/
    ``high_open`` excluding an end), "bool", "choice" (one of ``choices``), "str", "int_list" (a
    non-empty list of integers >= low) or "scan_threshold" (:func:`scanning.check_scan_threshold`).
    nullable : None is accepted too (meaning what the method documents).
    """

    def __init__(self, default, kind: str, *, low=None, high=None, low_open: bool = False, high_open: bool = False,
                 choices=None, nullable: bool = False, null_means: str = ""):
        self.default, self.kind = default, kind
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open
        self.choices, self.nullable, self.null_means = choices, nullable, null_means

    def with_default(self, default) -> "Param":
        out = copy.copy(self)
        out.default = default
        return out

    def expected(self) -> str:
        if self.kind == "int":
            if self.high is None and self.low == 1:
                what = "a positive integer"
            elif self.high is None and self.low == 0:
                what = "a non-negative integer"
            elif self.high is None:
                what = f"an integer >= {self.low}"
            else:
                what = f"an integer in [{self.low}, {self.high}]"
        elif self.kind == "number":
            lo = "(" if self.low_open else "["
            hi = ")" if self.high_open else "]"
            if self.high is None:
                what = f"a number {'>' if self.low_open else '>='} {self.low:g}"
            else:
                what = f"a number in {lo}{self.low:g}, {self.high:g}{hi}"
        elif self.kind == "bool":
            what = "true or false"
        elif self.kind == "choice":
            return f"one of {list(self.choices)}"
        elif self.kind == "str":
            what = "a non-empty string (a path)"
        elif self.kind == "int_list":
            what = f"a non-empty list of integers >= {self.low}"
        else:
            raise AssertionError(self.kind)
        if self.nullable:
            what += f" or null{f' ({self.null_means})' if self.null_means else ''}"
        return what

    def check(self, key: str, v) -> None:
        """Raise ValueError ``"<key> must be <expected>, got <v>"`` unless ``v`` is accepted."""
        if self.kind == "scan_threshold":
            from .scanning import check_scan_threshold

            check_scan_threshold(v, key)
            return
        if self.kind == "choice":
            # by type as well as value: True == 1 and 1.0 == 1 must not pass for one another
            if not any(v is c or (type(v) is type(c) and v == c) for c in self.choices):
                raise ValueError(f"{key} must be {self.expected()}, got {v!r}")
            return
        if v is None and self.nullable:
            return
        if not self._accepts(v):
            raise ValueError(f"{key} must be {self.expected()}, got {v!r}")

    def _accepts(self, v) -> bool:
        if self.kind == "bool":
            return isinstance(v, (bool, np.bool_))
        if self.kind == "str":
            return isinstance(v, os.PathLike) or (isinstance(v, str) and bool(v.strip()))
        if self.kind == "int_list":
            return (isinstance(v, (list, tuple)) and len(v) > 0
                    and all(_is_int(w) and w >= self.low for w in v))
        if self.kind == "int":
            return _is_int(v) and (self.low is None or v >= self.low) and (self.high is None or v <= self.high)
        if self.kind == "number":
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
                return False
            if not math.isfinite(float(v)):
                return False
            if self.low is not None and (v <= self.low if self.low_open else v < self.low):
                return False
            if self.high is not None and (v >= self.high if self.high_open else v > self.high):
                return False
            return True
        raise AssertionError(self.kind)


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _declared(params: dict, *cross_checks):
    """``(defaults, validate)`` for :class:`Method` from ``{name: Param}`` declarations; each of
    ``cross_checks(params)`` may raise ValueError on a combination of values."""
    defaults = {k: copy.deepcopy(p.default) for k, p in params.items()}

    def validate(merged):
        for k, p in params.items():
            p.check(k, merged[k])
        for check in cross_checks:
            check(merged)
    return defaults, validate


def _positive(default=None):
    return Param(default, "int", low=1)


def _flag(default):
    return Param(default, "bool")


def _scan():
    return Param(_scan_default(), "scan_threshold")


def _references() -> dict:
    return {"n_references": _positive(10), "batch_size": _positive(_attr.DEFAULT_BATCH_SIZE)}


#: what each TFMoDISco argument accepts (defaults: modisco.MODISCO_DEFAULTS)
_MODISCO_TYPES = {
    "max_seqlets": Param(None, "int", low=1),
    "window": Param(None, "int", low=1, nullable=True, null_means="the whole sequence"),
    "sliding_window_size": Param(None, "int", low=1),
    "flank_size": Param(None, "int", low=0),
    "target_seqlet_fdr": Param(None, "number", low=0, high=1, low_open=True, high_open=True),
    "n_leiden_runs": Param(None, "int", low=1),
    "trim_to_window_size": Param(None, "int", low=1),
    "initial_flank_to_add": Param(None, "int", low=0),
    "final_flank_to_add": Param(None, "int", low=0),
    "min_metacluster_size": Param(None, "int", low=1),
    "final_min_cluster_size": Param(None, "int", low=1),
    "n_threads": Param(None, "int", low=1),
}


def _modisco_window_fits(params):
    window, need = params["window"], params["sliding_window_size"] + 2 * params["flank_size"]
    if window is not None and window < need:
        raise ValueError(f"window must be null (the whole sequence) or at least sliding_window_size + 2 x "
                         f"flank_size = {need} bases (no seqlet fits in a smaller crop), got {window!r}")


# ---------------------------------------------------------------------- attribution routes


def _attribution_details(engine, params, err) -> dict:
    d = {"engine": engine, "versions": library_versions(), "layout": "(N, 4, L); actual = hypothetical * x"}
    d.update(_attr.completeness_summary(err))
    return d


def _attribution_method(engine: str):
    def run(model, x, params, seed, truth_motifs):
        kwargs = {k: params[k] for k in ("n_references", "batch_size", "n_steps", "gradient_correction",
                                         "n_samples", "stdev") if k in params}
        actual, hyp, err = _attr.attribute(model, x, engine, seed=seed, **kwargs)
        details = _attribution_details(engine, params, err)
        if params.get("compare_exact"):
            # the same references (same seed), exact engine: how far is this implementation?
            exact, _, _ = _attr.attribute(model, x, "deeplift_shap", seed=seed, n_references=params["n_references"],
                                          batch_size=params["batch_size"])
            details.update(_attr.distance_to(actual, exact))
        return Interpretation(attributions=actual, hypothetical=hyp, details=details)
    return run


# ---------------------------------------------------------------------- MoDISco route


#: the last MoDISco run of this process: two routes that differ only in how instances are called (a FIMO
#: scan of the patterns, or MoDISco's own seqlets) read the same patterns from one run of modisco-lite
#: (its result depends only on the maps and its own parameters; a second run gives the same patterns)
_MODISCO_MEMO: dict = {}


def _modisco_memo_key(x, hyp, mparams, runner: int) -> str:
    import hashlib
    import json

    h = hashlib.blake2b(digest_size=16)
    for a in (x, hyp):
        a = np.ascontiguousarray(a, dtype=np.float32)
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    h.update(json.dumps(mparams, sort_keys=True, default=str).encode())
    h.update(str(runner).encode())
    return h.hexdigest()


def _run_modisco(model, x, params, seed, truth_motifs):
    import shutil
    import tempfile

    from simulations.quality import passes_quality, trim_by_ic

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
    # (the function's identity too: a test's stand-in for modisco-lite is never answered by the real one)
    memo_key = _modisco_memo_key(x, hyp, mparams, id(_mod.run_modisco))
    runner, result = _MODISCO_MEMO.get(memo_key, (None, None))
    if runner is not _mod.run_modisco:
        work = tempfile.mkdtemp(prefix="modisco_", dir=params["workdir"] or None)
        try:
            result = _mod.run_modisco(x, hyp, mparams, workdir=work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _MODISCO_MEMO.clear()  # one entry: the cell's two MoDISco routes run one after the other
        _MODISCO_MEMO[memo_key] = (_mod.run_modisco, result)  # the runner held, so its id stays its own

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


def _modisco_params() -> dict:
    from .modisco import MODISCO_DEFAULTS

    missing = sorted(set(MODISCO_DEFAULTS) ^ set(_MODISCO_TYPES))
    if missing:  # a TFMoDISco argument added or dropped without its declaration
        raise AssertionError(f"_MODISCO_TYPES and MODISCO_DEFAULTS differ in {missing}")
    return {"attribution": Param("deeplift_shap", "choice", choices=("deeplift_shap", "integrated_gradients")),
            **_references(),
            **{k: _MODISCO_TYPES[k].with_default(v) for k, v in MODISCO_DEFAULTS.items()},
            # information content in bits: 0 keeps every column, 2 only a column that is one base
            "trim_threshold": Param(0.2, "number", low=0, high=2),
            "instances": Param("fimo", "choice", choices=("fimo", "seqlets")),
            "patterns": Param("passing", "choice", choices=("passing", "all")),
            "scan_threshold": _scan(), "merge": _flag(True),
            "workdir": Param(None, "str", nullable=True, null_means="a temporary folder")}


def _scan_default() -> dict:
    from .scanning import DEFAULT_SCAN_THRESHOLD

    return dict(DEFAULT_SCAN_THRESHOLD)


# ---------------------------------------------------------------------- seqlet route (no MoDISco)

#: attributions the seqlet route can start from (those with actual contributions of every kind)
SEQLET_ATTRIBUTIONS = ("deeplift_shap", "integrated_gradients", "ism", "saliency", "gradient", "smoothgrad",
                       "expected_gradients")


def _engine_correction_default(engine: str):
    """The ``gradient_correction`` default of an attribution route, or None where it has none."""
    p = _engine_params().get(engine, {}).get("gradient_correction")
    return None if p is None else p.default


def _run_seqlets(model, x, params, seed, truth_motifs):
    from .seqlets import SEQLET_DEFAULTS, seqlet_motifs

    engine = params["attribution"]
    correction = params["gradient_correction"]
    if correction is None:
        correction = bool(_engine_correction_default(engine))
    kw = dict(n_references=params["n_references"], batch_size=params["batch_size"], gradient_correction=correction)
    # the attribution route's own defaults for what the seqlet route does not expose (IG's n_steps,
    # SmoothGrad's and expected gradients' n_samples, SmoothGrad's stdev)
    kw.update({k: p.default for k, p in _engine_params().get(engine, {}).items()
               if k in ("n_steps", "n_samples", "stdev")})
    actual, hyp, err = _attr.attribute(model, x, engine, seed=seed, **kw)
    control = None
    sp = {k: params[k] for k in SEQLET_DEFAULTS}
    if params["target_fdr"] is not None:
        # one dinucleotide shuffle per sequence (its own seed, not a reference draw), attributed alike
        shuffle_seed = int(np.random.SeedSequence([int(seed), 1]).generate_state(1)[0])
        shuffled = _attr.make_references(x, 1, seed=shuffle_seed)[:, 0]
        control, _, _ = _attr.attribute(model, shuffled, engine, seed=seed, hypothetical=False, **kw)
        sp["target_fdr"] = params["target_fdr"]
    motifs, instances, cwms, info = seqlet_motifs(x, actual, sp, control)
    details = _attribution_details(engine, params, err)
    details.update(info, gradient_correction=bool(correction),
                   seqlet_threshold="target_fdr" if control is not None else "p-value")
    return Interpretation(motifs=motifs, instances=instances, attributions=actual, hypothetical=hyp,
                          details=details, cwms=cwms)


def _seqlet_params() -> dict:
    return {"attribution": Param("deeplift_shap", "choice", choices=SEQLET_ATTRIBUTIONS),
            **_references(),
            "gradient_correction": Param(None, "bool", nullable=True,
                                         null_means="the attribution route's own default"),
            # tangermeme recursive_seqlets: a p-value cut-off (a ranking score, not an error rate)
            "threshold": Param(0.01, "number", low=0, high=1, low_open=True),
            "target_fdr": Param(None, "number", low=0, high=1, low_open=True, high_open=True, nullable=True,
                                null_means="no shuffled control; the p-value threshold"),
            "min_seqlet_len": _positive(4), "max_seqlet_len": _positive(25),
            "additional_flanks": Param(0, "int", low=0), "n_bins": Param(1000, "int", low=2),
            "signs": Param("both", "choice", choices=("both", "positive")),
            "min_similarity": Param(0.6, "number", low=0, high=1, low_open=True),
            "min_cluster_size": _positive(10), "max_seqlets": _positive(5000),
            "trim_threshold": Param(0.2, "number", low=0, high=2),
            "patterns": Param("passing", "choice", choices=("passing", "all"))}


def _seqlet_lengths(params):
    if params["min_seqlet_len"] > params["max_seqlet_len"]:
        raise ValueError(f"min_seqlet_len must be at most max_seqlet_len ({params['max_seqlet_len']}), "
                         f"got {params['min_seqlet_len']!r}")


def _seqlet_correction(params):
    if params["gradient_correction"] is not None and _engine_correction_default(params["attribution"]) is None:
        raise ValueError(f"gradient_correction must be null for attribution {params['attribution']!r} (it applies "
                         f"to gradient attributions only), got {params['gradient_correction']!r}")


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

def _engine_params() -> dict:
    return {
        "deeplift_shap": _references(),
        "integrated_gradients": {**_references(), "n_steps": _positive(50), "gradient_correction": _flag(False)},
        "captum_deeplift_shap": {**_references(), "compare_exact": _flag(True)},
        "shap_deep_explainer": {**_references(), "compare_exact": _flag(True)},
        "ism": {"batch_size": _positive(256)},
        # gradient routes: the correction on by default (published recommendation); IG's stays off (parity)
        "saliency": {"batch_size": _positive(_attr.DEFAULT_BATCH_SIZE), "gradient_correction": _flag(True)},
        "gradient": {"batch_size": _positive(_attr.DEFAULT_BATCH_SIZE), "gradient_correction": _flag(True)},
        "smoothgrad": {"batch_size": _positive(_attr.DEFAULT_BATCH_SIZE), "n_samples": _positive(20),
                       # of the one-hot's [0, 1] range: Smilkov et al. 2017 found 10-20% best
                       "stdev": Param(0.15, "number", low=0, low_open=True),
                       "gradient_correction": _flag(True)},
        "expected_gradients": {**_references(), "n_samples": _positive(50), "gradient_correction": _flag(True)},
    }


#: motifs and their instance calls (read-outs, controls) / those plus attribution maps
_CALLS = ("motifs", "instances")
_ALL = ("motifs", "instances", "attributions")


def _build() -> dict:
    methods = {}
    for engine, params in _engine_params().items():
        methods[engine] = Method(engine, _attribution_method(engine), ("differentiable",), *_declared(params),
                                  produces=("attributions",))
    methods["modisco"] = Method("modisco", _run_modisco, ("differentiable",),
                                *_declared(_modisco_params(), _modisco_window_fits),
                                produces=_ALL, quality_rule="modisco")
    methods["seqlets"] = Method("seqlets", _run_seqlets, ("differentiable",),
                                *_declared(_seqlet_params(), _seqlet_lengths, _seqlet_correction),
                                # scored as a motif finder with no paper rule: the paper has no such route
                                produces=_ALL)
    methods["filter_readout"] = Method(
        "filter_readout", _run_filter_readout, ("conv_first_layer",),
        *_declared({"quality": Param(None, "choice", choices=(None, "uniform", "argminn", "modisco")),
                    "background_fpr": Param(1e-3, "number", low=0, high=1, low_open=True, high_open=True,
                                            nullable=True, null_means="no background floor")}),
        produces=_CALLS)
    methods["argminn_readout"] = Method("argminn_readout", _run_argminn_readout, ("argminn",), {},
                                        produces=_CALLS, quality_rule="argminn")
    methods["positive_control"] = Method("positive_control", _run_positive_control, (),
                                         *_declared({"scan_threshold": _scan(), "merge": _flag(True)}),
                                         produces=_CALLS)
    methods["negative_control"] = Method(
        "negative_control", _run_negative_control, ("differentiable",),
        *_declared({"scan_threshold": _scan(), "merge": _flag(True),
                    "attributions": Param("shuffled_dls", "choice", choices=("shuffled_dls", "none")),
                    **_references(),
                    # used only without planted motifs (a direct call); a suite refuses it (bench.suite)
                    "widths": Param([10], "int_list", low=1)}),
        # the position-shuffled DeepLiftSHAP maps (attributions: none leaves them out)
        produces=_ALL)
    return methods


METHODS: dict[str, Method] = _build()
