"""The one place where the harness meets the stages: simulations, models, methods and metrics.

The runner calls only these functions, so each stage package stays a set of plain
functions that knows nothing of suites, caches or executors.
"""

from __future__ import annotations

import difflib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import SuiteError
# the metric families, each declared once in bench/families/<name>.py: every list here is derived
from .families import DEFAULT_METRIC_FAMILIES, FAMILIES, METRIC_FAMILIES, RERUN_FAMILIES  # noqa: F401

log = logging.getLogger("bench")

# --------------------------------------------------------------------------- validation


def _suggest(name, valid) -> str:
    close = difflib.get_close_matches(name, list(valid), n=3, cutoff=0.5)
    return f" Did you mean {', '.join(close)}?" if close else ""


def _load_model_plugin(component, where: str | None = None):
    """Import a ``module:attr`` model (registering it with ``models``) where the component names one."""
    from .plugins import is_plugin, load_model

    if is_plugin(component.name):
        try:
            load_model(component.name, getattr(component, "base", None))
        except SuiteError as exc:
            if where is None:
                raise
            raise SuiteError(f"{where}.name: {exc}") from None


def method_of(component, where: str | None = None):
    """The :class:`~bench.methods.Method` a component names: a built-in, or its plug-in (imported)."""
    from .methods import METHODS
    from .plugins import is_plugin, load_method

    if is_plugin(component.name):
        try:
            return load_method(component.name, getattr(component, "base", None))
        except SuiteError as exc:
            if where is None:
                raise
            raise SuiteError(f"{where}.name: {exc}") from None
    return METHODS[component.name]


def check_model(component, where: str):
    import models

    _load_model_plugin(component, where)
    valid = models.list_models(include_plugins=True)
    if component.name not in valid:
        raise SuiteError(f"{where}.name: unknown model {component.name!r}; models are {sorted(valid)}."
                         + _suggest(component.name, valid))
    try:
        models.check_model_params(component.name, component.params)
    except ValueError as exc:
        raise SuiteError(f"{where}.params: {exc}") from None
    try:
        models.TrainConfig.from_dict(component.train or {})
    except (ValueError, TypeError) as exc:
        raise SuiteError(f"{where}.train: {exc}") from None


def check_method(component, where: str):
    from .methods import METHODS
    from .plugins import is_plugin

    if not is_plugin(component.name) and component.name not in METHODS:
        raise SuiteError(f"{where}.name: unknown method {component.name!r}; methods are {sorted(METHODS)} "
                         f"(or a plug-in: module:function)." + _suggest(component.name, METHODS))
    method = method_of(component, where)
    try:
        method.check_params(component.params)
    except ValueError as exc:
        raise SuiteError(f"{where}.params: {exc}") from None


def check_metrics(metrics, base_dir=None) -> list[str]:
    """A suite's ``metrics``: built-in family names (:mod:`bench.families`) or plug-ins (``module:attr``,
    a :class:`bench.families.Family`, imported from ``base_dir`` first); None gives the defaults."""
    if metrics is None:
        return list(DEFAULT_METRIC_FAMILIES)
    from .plugins import is_plugin, load_family, resolve_installed

    if not isinstance(metrics, (list, tuple)):
        raise SuiteError(f"metrics must be a list of metric family names, got {metrics!r}")
    metrics = [resolve_installed("metrics", m, METRIC_FAMILIES) for m in metrics]
    for i, m in enumerate(metrics):
        if is_plugin(m):
            try:
                load_family(m, base_dir)
            except Exception as exc:  # PluginError and a declaration's own ValueError alike
                raise SuiteError(f"metrics[{i}]: {exc}") from None
        elif m not in METRIC_FAMILIES:
            raise SuiteError(f"metrics[{i}]: unknown metric family {m!r}; families are {list(METRIC_FAMILIES)}, "
                             f"or a plug-in module:attr." + _suggest(str(m), METRIC_FAMILIES))
    if len(set(map(str, metrics))) != len(metrics):
        raise SuiteError(f"metrics lists a family twice: {list(metrics)}")
    return list(metrics)


def describe(what: str = "all") -> str:
    """Human-readable listing of simulations, models, methods and metric families."""
    lines = []
    if what in ("simulations", "all"):
        from simulations import list_presets, load_preset

        lines.append("simulations (presets; or give `spec:` a YAML grammar):")
        for name in list_presets():
            desc = " ".join(str(load_preset(name).get("description", "")).split())
            lines.append(f"  {name:<26} {desc[:110]}")
    if what in ("models", "all"):
        import models

        import models.registry as mreg

        lines.append("models (params: name=default):")
        for name, params in models.list_models(include_plugins=True).items():
            plugin = mreg._PLUGINS.get(name)
            where = f" (plug-in from {plugin[1]})" if plugin else ""
            lines.append(f"  {name}{where}: " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
        lines.append("  train: " + ", ".join(f"{k}={v!r}" for k, v in models.TrainConfig().to_dict().items()))
    if what in ("methods", "all"):
        from .methods import METHODS
        from .plugins import _LOADED_METHODS

        lines.append("methods (produces; needs; params: name=default):")
        for name, m in [*sorted(METHODS.items()), *sorted(_LOADED_METHODS.items())]:
            lines.append(_describe_method(name, m))
    if what in ("models", "methods", "metrics", "all"):
        from .plugins import ENTRY_POINT_GROUPS, installed

        for kind in [k for k in ENTRY_POINT_GROUPS if what in (k, "all")]:
            found = installed(kind)
            if found:
                lines.append(f"installed {kind} (entry points {ENTRY_POINT_GROUPS[kind]}): "
                             + ", ".join(f"{k} = {v}" for k, v in sorted(found.items())))
    if what in ("metrics", "all"):
        from .plugins import _LOADED_FAMILIES

        lines.append("metric families (without metrics: in a suite, all but " + " and ".join(RERUN_FAMILIES)
                     + "; needs: what a method must produce to be scored by it):")
        for name, f in [*FAMILIES.items(), *sorted(_LOADED_FAMILIES.items())]:
            needs = f" [needs {', '.join(f.needs)}]" if f.needs else ""
            extra = " (opt-in: re-runs the models)" if f.opt_in else ""
            where = f"; plug-in from {f.source}" if f.source else ""
            lines.append(f"  {name}{needs}{extra}: {f.description}{where}")
    return "\n".join(lines)


def _describe_method(name: str, m) -> str:
    rule = f", paper rule {m.quality_rule}" if m.quality_rule else ""
    if m.source:
        rule += f"; plug-in from {m.source}"
    req = f" [needs {', '.join(m.requires)}]" if m.requires else ""
    params = ", ".join(f"{k}={v!r}" for k, v in m.defaults().items())
    return f"  {name} (produces {', '.join(m.produces)}{rule}){req}: {params}"


# --------------------------------------------------------------------------- datasets


def simulate_and_save(sim, seed: int, directory: Path):
    from simulations import simulate

    ds = simulate(sim.spec, n=sim.n, seed=seed)
    ds.save(directory / "dataset")


def load_dataset(entry: Path):
    from simulations import SimulatedDataset

    return SimulatedDataset.load(Path(entry) / "dataset")


def interpreted_classes(ds, classes="auto") -> list[str]:
    """The classes whose sequences a cell interprets.

    ``"auto"``: the positive classes (label > 0), plus every class that plants a functional motif no
    positive class plants: a repressor is only seen where it represses (in SPI1/CTCF, CTCF sits in
    negatives only), so without them its recovery could only come from background look-alikes.
    ``"all"``: every class. A list: those classes (each must be a class of the grammar).
    """
    names = [str(c["name"]) for c in ds.spec["classes"]]
    if isinstance(classes, (list, tuple)):
        unknown = [c for c in classes if c not in names]
        if unknown:
            raise ValueError(f"interpret.classes names {unknown}, which the grammar {ds.name!r} does not have; "
                             f"its classes are {names}")
        return list(classes)
    if classes == "all":
        return names
    if classes != "auto":
        raise ValueError(f"interpret.classes must be 'auto', 'all' or a list of class names, got {classes!r}")
    positive = [str(c["name"]) for c in ds.spec["classes"] if np.max(np.atleast_1d(c["label"])) > 0]
    inst = ds.instances[ds.instances["functional"].to_numpy(bool)]
    cls_of = np.asarray(ds.classes)[inst["seq"].to_numpy()]
    planted = {name: set(inst["motif"][cls_of == name]) for name in names}
    in_positive = set().union(*(planted[c] for c in positive)) if positive else set()
    extra = [c for c in names if c not in positive and planted[c] - in_positive]
    return positive + extra


def interpret_index(ds, interpret: dict, seed: int) -> tuple[np.ndarray, list[str]]:
    """The sequences every method of a cell interprets: one split, the chosen classes, at most n.

    Returns the sorted dataset indices and the classes they were drawn from.
    """
    idx = np.asarray(ds.splits[interpret["split"]])
    classes = interpreted_classes(ds, interpret.get("classes", "auto"))
    idx = idx[np.isin(ds.classes[idx], classes)]
    n = interpret["n_sequences"]
    if idx.size > n:
        idx = np.sort(np.random.default_rng(seed).choice(idx, size=n, replace=False))
    return idx, classes


def held_out(ds) -> dict:
    """What the test split allows, once per dataset (the run caches it; the learned gate and the report
    read it): ``value``, the likelihood-ratio ceiling (None where the likelihood does not cover the
    grammar: the gate then measures from 1.0); ``planted_content``, the planted-content reader's auROC;
    ``ratio_scores``, the likelihood ratio of each test sequence (None without a ceiling)."""
    from .metrics.prediction import likelihood_ratio_oracle, likelihood_ratio_scores, planted_content_oracle

    test = ds.splits["test"]
    out = {"value": None, "planted_content": None, "ratio_scores": None}
    try:
        scores = likelihood_ratio_scores(ds.spec, ds.x[test])
        value = likelihood_ratio_oracle(ds.spec, ds.x[test], ds.y[test], scores)
    except (ValueError, NotImplementedError):  # a grammar the likelihood does not cover
        return out
    except Exception:  # a bug there must not fail the cell: the gate then measures from 1.0
        log.exception("the likelihood-ratio ceiling of %r failed", ds.name)
        return out
    if np.isfinite(value):
        out.update(value=float(value), ratio_scores=[round(float(v), 5) for v in scores])
        try:
            fit = np.concatenate([ds.splits["train"], ds.splits["valid"]])
            out["planted_content"] = float(planted_content_oracle(ds.instances, ds.y, fit, test, ds.spec))
        except Exception:  # the upper bound is for the report only: never fail the cell for it
            log.exception("the planted-content ceiling of %r failed", ds.name)
    return out


#: the ARGMINN read-out examples the run records for the report: read out on the first
#: ``N_READOUT_SEQUENCES`` test sequences with a planted functional motif, ``N_EXAMPLES`` of them kept
N_EXAMPLES = 3
N_READOUT_SEQUENCES = 300


def argminn_examples(model, ds) -> dict | None:
    """ARGMINN's one-pass read-out on example test sequences, as plain data for the report's figure.

    The read-out runs on the first :data:`N_READOUT_SEQUENCES` test sequences carrying a planted
    functional motif (as ``argminn_readout`` does on its sequences); the :data:`N_EXAMPLES` with the
    most planted instances are kept, each with its planted instances, the pooled attention (max over
    heads) of every layer along the sequence and the instances ARGMINN calls. None for a dataset
    without such a sequence."""
    from models import readout

    inst = ds.instances[ds.instances.functional]
    test = np.asarray(ds.splits["test"])
    index = test[np.isin(test, inst.seq.unique())][:N_READOUT_SEQUENCES]
    if index.size == 0:
        return None
    x = ds.x[index].astype(np.float32)
    motifs = readout.argminn_motifs(model, x)
    calls = readout.argminn_instances(model, x, motifs=motifs) if motifs else None
    att = readout.attention_maps(model, x)  # (N, AL, NH, L')
    # examples: sequences with the most planted instances first (grammar visible), then in order
    n_planted = inst[inst.seq.isin(index)].groupby("seq").size().reindex(index, fill_value=0).to_numpy()
    examples = []
    for i in np.argsort(-n_planted, kind="stable")[:N_EXAMPLES]:
        seq = int(index[i])
        planted = ds.instances[ds.instances.seq == seq].sort_values("start")
        mine = calls[calls.seq == i] if calls is not None and len(calls) else None
        examples.append({
            "seq": seq, "class": str(ds.classes[seq]),
            "planted": [{"start": int(p.start), "end": int(p.end), "motif": str(p.motif), "strand": str(p.strand),
                         "functional": bool(p.functional)} for p in planted.itertuples()],
            "attention": [[round(float(v), 4) for v in att[i, layer].max(axis=0)] for layer in range(att.shape[1])],
            "calls": [] if mine is None else [{"start": int(c.start), "end": int(c.end), "motif": str(c.motif)}
                                              for c in mine.itertuples()]})
    return {"length": int(ds.length), "motifs": sorted(set(map(str, ds.instances.motif))), "examples": examples}


def scoring_truth(ds, index: np.ndarray, x: np.ndarray, scan: dict | None = None) -> pd.DataFrame:
    """The planted truth of the interpreted sequences, plus the background windows a scan of the true
    motifs would call (role ``background_match``, not functional): calls there are counted apart from
    calls on nothing at all. ``scan``: the positive control's ``scan_threshold`` and ``merge`` when the
    suite sets them (else the routes' defaults), so these rows are what that control would call."""
    from .methods.scanning import background_matches
    from .families import functional_motifs

    truth = ds.truth_for(index)
    scan = scan or {}
    matches = background_matches({m.name: m.pfm for m in functional_motifs(ds)}, x, truth,
                                 scan_threshold=scan.get("scan_threshold"), merge=scan.get("merge", True))
    if not len(matches):
        return truth
    return pd.concat([truth, matches[truth.columns]], ignore_index=True).sort_values(
        ["seq", "start"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- models


@dataclass
class Trained:
    model: object
    info: dict
    name: str


def training_device(component, device: str = "auto") -> str:
    """Where ``component`` (a model entry) trains: its own ``train.device`` where it sets one, else the
    suite's ``executor.device``; "auto" resolved here (a GPU where this process sees one)."""
    import torch

    want = (component.train or {}).get("device", device) if getattr(component, "train", None) else device
    if want == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(want)


def train_and_save(component, ds, seed: int, directory: Path, device: str = "auto", on_epoch=None):
    import models

    _load_model_plugin(component)
    model = models.build_model(component.name, component.params, input_length=ds.length, seed=seed)
    # progress bars from worker processes would interleave; the runner shows per-cell progress
    config = models.TrainConfig.from_dict({"progress": False, "device": device, **(component.train or {})})
    result = models.fit(model, ds, config, seed=seed, on_epoch=on_epoch)
    models.save_model(directory / "model.pt", result.model,
                      spec={"name": component.name, "params": component.params, "input_length": ds.length},
                      provenance={"dataset": ds.fingerprint(), "seed": seed, "train": config.to_dict(),
                                  "history": result.history, "test_metrics": result.test_metrics,
                                  "events": result.events, "outcome": result.outcome,
                                  "train_time_s": result.train_time_s})


def load_trained(entry: Path, component, ds, device: str = "auto") -> Trained:
    """The cached model, in eval mode, on ``device`` (the suite's ``executor.device``; "auto": a GPU
    where there is one): every stage after training (interpretation, scoring) runs it there."""
    import models

    _load_model_plugin(component)
    spec = {"name": component.name, "params": component.params, "input_length": ds.length}
    model, prov = models.load_model(Path(entry) / "model.pt", expected_spec=spec)
    model.to(training_device(None, device)).eval()
    return Trained(model, prov, component.name)


# --------------------------------------------------------------------------- methods


def skip_reason(component, trained: Trained) -> str:
    from .methods import check_requirements

    return check_requirements(method_of(component), trained.model) or ""


def interpret_and_save(component, trained: Trained, x: np.ndarray, ds, seed: int, directory: Path):
    method = method_of(component)
    t0 = time.perf_counter()
    from .families import functional_motifs

    interp = method.run(trained.model, x, dict(component.params), seed=seed,
                        truth_motifs=functional_motifs(ds))
    interp.details["method"] = component.name
    if not interp.runtime_s:
        interp.runtime_s = time.perf_counter() - t0
    interp.save(directory / "interpretation")


def load_interpretation(entry: Path):
    from .methods import Interpretation

    return Interpretation.load(Path(entry) / "interpretation")


# --------------------------------------------------------------------------- scoring


def score_interpretation(interp, ds, truth: pd.DataFrame, x: np.ndarray, metrics: list, method_name: str,
                         trained: Trained | None = None, seed: int = 0) -> dict:
    """Score one method's interpretation against the truth of the interpreted sequences (and, with the
    ``faithfulness`` family, against the model it explains)."""
    from . import scoring

    return scoring.score_interpretation(interp, ds, truth, x, metrics, method_name=method_name,
                                        model=None if trained is None else trained.model, seed=seed)


def score_cross_method(interps: dict, ds, truth, x, metrics: list, trained: Trained, seed: int,
                       null_references: int = 10) -> dict:
    from . import scoring

    return scoring.score_cross_method(interps, ds, truth, x, metrics, model=trained.model, seed=seed,
                                      null_references=null_references)


def score_syntax(trained: Trained, ds, truth, x, metrics: list, seed: int) -> dict:
    from .families.syntax import score_syntax

    return score_syntax(trained.model, ds, seed)
