"""The runner: owns loops, seeds, caching, timing and execution; components stay plain functions.

A cell is (simulation × model × seed). Its stages, each cached under a key built from
the stage's code version, its canonical parameters, its derived seed and the keys of
the stages it consumes (never from the command line):

    dataset (shared by every model of a simulation and seed)
      → trained model (+ prediction metrics)
        → interpretation, one per method
          → scores (the cell's result rows)

With the ``consistency`` family, a second pass once every cell is done reads each cell's sequences
again with another seed's model (seed stability) and on their reverse complements (strand consistency).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import registry
from .cache import StageCache
from .executors import frozen_heap, make_executor
from .gate import gate, learned_bar
from .results import provenance, row, to_frame, with_earlier_runs, write_results
from .suite import Suite, derive_seed, stable_hash

log = logging.getLogger("bench")

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
_code_versions: dict = {}


def code_version(*relative_paths: str) -> str:
    """Hash of the source files under the given package paths: changing the code changes the key."""
    key = tuple(relative_paths)
    if key not in _code_versions:
        h = hashlib.sha256()
        for rel in relative_paths:
            p = _PACKAGE_ROOT / rel
            files = sorted(p.rglob("*.py")) + sorted(p.rglob("*.yaml")) if p.is_dir() else [p]
            for f in files:
                h.update(str(f.relative_to(_PACKAGE_ROOT)).encode())
                h.update(f.read_bytes())
        _code_versions[key] = h.hexdigest()[:12]
    return _code_versions[key]


# --------------------------------------------------------------------------- keys


def dataset_key(sim, seed: int) -> tuple[str, int]:
    data_seed = derive_seed("dataset", sim.identity(), seed)
    return stable_hash("dataset", code_version("simulations"), sim.identity(), data_seed), data_seed


def torch_threads() -> int:
    """The intra-op threads this process trains and interprets with (set by the executor)."""
    import torch

    return int(torch.get_num_threads())


def model_key(sim, model, seed: int, ds_key: str, device: str = "auto") -> tuple[str, int]:
    """The trained model's cache key and seed. The key holds the torch thread count: float sums split
    over another number of threads round differently and training carries that into another model,
    so a model trained in-process (serial executor, 2 threads here) is never served to a pool worker
    (1 thread each) or the reverse; each is reproducible on its own. For the same reason a model
    trained on a GPU (``device``, as the training stage resolves it) has a key of its own; a CPU key is
    what it was before GPUs were supported."""
    model_seed = derive_seed("model", sim.identity(), model.identity(), seed)
    where = registry.training_device(model, device)
    key = stable_hash("model", code_version("models"), model.identity(), ds_key, model_seed,
                      {"torch_threads": torch_threads()}, *_plugin_part(model),
                      *(({"device": where.split(":")[0]},) if where != "cpu" else ()))
    return key, model_seed


def _family_part(metrics, base) -> tuple:
    """The source hashes of the metric-family plug-ins in ``metrics`` (imported here, from ``base``,
    so a pool worker has them before scoring), as one more key part; nothing for built-ins."""
    from .plugins import is_plugin, load_family, source_hash

    hashes = {m: source_hash(load_family(m, base).source) for m in metrics if is_plugin(m)}
    return ({"family_sources": hashes},) if hashes else ()


def _plugin_part(*components) -> tuple:
    """The source hashes of the plug-ins among ``components``, as one more key part; nothing for
    built-ins (so their keys are what they were): an edited plug-in module is recomputed."""
    from .plugins import plugin_hashes

    hashes = plugin_hashes(*components)
    return ({"plugin_sources": hashes},) if hashes else ()


def cell_seed(purpose: str, sim, seed: int) -> int:
    """The seed of one use within a (simulation, seed) (``"interpret"``: which sequences every method
    reads; ``"method"``: the methods' shuffled references; ``"syntax"``: the in-silico backgrounds).

    The model is deliberately not part of it: every model of a seed explains the same sequences
    against the same references, so a comparison of two models carries no reference noise. Like the
    dataset and model seeds it hashes the cell's identity only, never a stage key: a code change
    that leaves a stage's output alone must not move the seeds downstream of it.
    """
    return derive_seed(purpose, sim.identity(), seed)


def method_key(method, m_key: str, interpret: dict, method_seed: int, index=None) -> tuple[str, int]:
    """The interpretation's cache key and seed. ``index``: the interpreted sequences (dataset indices),
    so that a change in which sequences are read (the classes rule, say) never serves an interpretation
    of other sequences."""
    # one seed for every method of a cell: the attribution routes shuffle the same references, so
    # DeepLiftSHAP and IG are compared on equal terms and MoDISco reads the scored DeepLiftSHAP maps
    version = code_version("bench/methods", "models")
    read = None if index is None else stable_hash([int(i) for i in np.asarray(index)])
    return (stable_hash("interpretation", version, method.identity(), m_key, interpret, method_seed, read,
                        *_plugin_part(method)),
            method_seed)


# --------------------------------------------------------------------------- the cell task


@dataclass
class CellTask:
    """Everything a worker needs to run one cell (picklable)."""

    suite: str
    cache_root: str
    simulation: object
    model: object
    seed: int
    methods: list
    metrics: list
    interpret: dict
    ds_key: str = ""
    #: the folder metric-family plug-ins in ``metrics`` are imported from (a worker imports them again)
    metrics_base: str | None = None
    #: where the cell's models run (``executor.device``; resolved in the worker)
    device: str = "auto"


@dataclass
class CellResult:
    rows: list
    counters: dict
    failed: bool


def run_cell(task: CellTask) -> CellResult:
    """Run one cell end to end; never raises (failures become rows with a reason)."""
    cache = StageCache(task.cache_root)
    sim, model, seed = task.simulation, task.model, task.seed
    base = dict(suite=task.suite, simulation=sim.label, model=model.label, seed=seed,
                model_params=json.dumps(model.identity(), sort_keys=True, default=str))
    try:  # a plug-in that cannot be imported here fails its cell with a reason, as any stage does
        m_key, m_seed = model_key(sim, model, seed, task.ds_key, task.device)
        cell_key = stable_hash("cell", code_version("bench", "models", "simulations"), m_key,
                               [m.identity() for m in task.methods], task.metrics, task.interpret,
                               *_plugin_part(*task.methods), *_family_part(task.metrics, task.metrics_base))
    except Exception as exc:
        rows = [row(**base, method="(model)", metric="train", status="failed", reason=_reason(exc))]
        return CellResult(rows, cache.counters(), True)

    try:
        if cache.has("cell", cell_key):
            rows = json.loads((cache.path("cell", cell_key) / "rows.json").read_text())
            cache.hits["cell"] += 1
        else:
            rows = _compute_cell(task, cache, base, m_key, m_seed)
            # a cell with failures is not cached, so that the next run retries what failed
            if not any(r["status"] == "failed" for r in rows):
                # what the rows were computed from: a damaged model or interpretation under an intact cell
                # entry makes the cell count as absent, so everything downstream of it is computed again
                interp_keys = [json.loads(r["detail"])["interpretation_key"] for r in rows
                               if r["metric"] == "runtime_s/interpret" and r["detail"]]
                cache.get_or_compute("cell", cell_key,
                                     lambda tmp: (tmp / "rows.json").write_text(json.dumps(rows, default=str)),
                                     meta={"cell": base},
                                     depends={"dataset": [task.ds_key], "model": [m_key],
                                              "interpretation": interp_keys})
    except Exception as exc:  # the cell's own bookkeeping failed: still a row, never a silent drop
        rows = [row(**base, method="(cell)", metric="cell", status="failed", reason=_reason(exc))]
    failed = any(r["status"] == "failed" for r in rows)
    return CellResult(rows, cache.counters(), failed)


def _reason(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _stage(task: CellTask, what: str) -> None:
    """One line per stage in the run's log: the terminal shows the latest of each cell (StageWatcher)."""
    log.info("%s %s·%s·%s: %s", STAGE_TAG, task.simulation.label, task.model.label, task.seed, what)


def _epoch_line(entry: dict, cap: int) -> str:
    """What the terminal shows of a cell while it trains: the epoch and its validation auROC."""
    auroc = entry.get("valid_auroc")
    shown = f", valid auROC {auroc:.3f}" if isinstance(auroc, float) and auroc == auroc else ""
    return f"training epoch {entry['epoch'] + 1} of at most {cap}{shown}"


def _compute_cell(task: CellTask, cache: StageCache, base: dict, m_key: str, m_seed: int) -> list:
    rows = []
    ds = registry.load_dataset(cache.path("dataset", task.ds_key))
    _stage(task, "training" if not cache.has("model", m_key) else "model from the cache")

    # ---- train (cached)
    t0 = time.perf_counter()
    try:
        model_path = cache.get_or_compute(
            "model", m_key,
            lambda tmp: registry.train_and_save(task.model, ds, m_seed, tmp, device=task.device,
                                                on_epoch=lambda entry, cap: _stage(task, _epoch_line(entry, cap))),
            meta={"model": task.model.identity(), "dataset": task.ds_key, "seed": m_seed})
        trained = registry.load_trained(model_path, task.model, ds, device=task.device)
    except Exception as exc:
        log.exception("training failed")
        return [row(**base, method="(model)", metric="train", status="failed", reason=_reason(exc))]
    train_info = trained.info
    # the stage keys travel with the results, so the report draws exactly this run's cached outputs
    rows.append(row(**base, method="(model)", metric="runtime_s/train",
                    value=train_info.get("train_time_s", time.perf_counter() - t0),
                    detail=json.dumps({"model_key": m_key, "dataset_key": task.ds_key})))
    test_metrics = train_info.get("test_metrics", {})
    rows.extend(_training_health_rows(base, train_info))
    if "prediction" in task.metrics:
        for name, value in test_metrics.items():
            rows.append(row(**base, method="(model)", metric=f"prediction/{name}", value=value))

    # ---- the learned gate: an untrained model's interpretations are kept, never scored as evidence
    # one held-out record per dataset (both ceilings, the likelihood ratio of each test sequence), cached
    # beside it: every model of the (simulation, seed) reads the same
    held_entry = cache.get_or_compute(
        "held_out", task.ds_key,
        lambda tmp: (tmp / "held_out.json").write_text(json.dumps(registry.held_out(ds))),
        depends={"dataset": [task.ds_key]})
    held = json.loads((held_entry / "held_out.json").read_text())
    ceiling = held["value"]
    learned, gate_reason = gate(test_metrics.get("auroc"), ceiling)
    rows.append(row(**base, method="(model)", metric="training/learned", value=float(learned),
                    detail=json.dumps({"bar": learned_bar(ceiling), "ceiling_likelihood_ratio": ceiling,
                                       "reason": gate_reason})))
    if ceiling is not None:
        rows.append(row(**base, method="(model)", metric="training/ceiling_likelihood_ratio", value=ceiling))
    rows.extend(_record_rows(base, train_info, trained, ds, held))

    # ---- the sequences every method interprets, the same for every model of this seed
    index, classes = registry.interpret_index(ds, task.interpret, cell_seed("interpret", task.simulation, task.seed))
    # the dataset rows read (in the order every interpretation holds them), so figures can find them again
    rows.append(row(**base, method="(interpret)", metric="interpret/n_sequences", value=len(index),
                    detail=json.dumps({"classes": classes, "index": [int(i) for i in index],
                                       "dataset_key": task.ds_key})))
    x = ds.x[index].astype(np.float32)
    control = [m for m in task.methods if m.name == "positive_control"]
    try:
        truth = registry.scoring_truth(ds, index, x, scan=control[0].params if control else None)
    except Exception as exc:  # the background scan failed: score against the planted truth alone, and say so
        log.exception("scanning the background matches failed")
        truth = ds.truth_for(index)
        rows.append(row(**base, method="(interpret)", metric="interpret/background_matches", status="failed",
                        reason=_reason(exc)))

    interpretations = {}
    method_seed = cell_seed("method", task.simulation, task.seed)
    for method in task.methods:
        mbase = dict(base, method=method.label,
                     method_params=json.dumps(method.identity(), sort_keys=True, default=str))
        reason = registry.skip_reason(method, trained)
        if reason:
            rows.append(row(**mbase, metric="(method)", status="skipped", reason=reason))
            continue
        i_key, i_seed = method_key(method, m_key, task.interpret, method_seed, index)
        _stage(task, f"{method.label}")
        try:
            path = cache.get_or_compute(
                "interpretation", i_key,
                lambda tmp: registry.interpret_and_save(method, trained, x, ds, i_seed, tmp),
                meta={"method": method.identity(), "model": m_key, "labels": {
                    "simulation": base["simulation"], "model": base["model"], "seed": base["seed"],
                    "method": method.label}})
            interp = registry.load_interpretation(path)
        except Exception as exc:
            log.exception("method %s failed", method.label)
            rows.append(row(**mbase, metric="(method)", status="failed", reason=_reason(exc)))
            continue
        interpretations[method.label] = interp
        rows.append(row(**mbase, metric="runtime_s/interpret", value=interp.runtime_s,
                        detail=json.dumps({"interpretation_key": i_key, "dataset_key": task.ds_key})))
        rows.extend(_score(registry.score_interpretation, mbase, interp, ds, truth, x, task.metrics,
                           method_name=method.name, trained=trained,
                           seed=cell_seed("deletion", task.simulation, task.seed), gate_reason=gate_reason))

    # ---- metrics that compare methods, or that probe the model directly
    _stage(task, "cross-method and in-silico scores")
    rows.extend(_score(registry.score_cross_method, dict(base, method="(cross)", method_params=""),
                       interpretations, ds, truth, x, task.metrics, trained=trained,
                       seed=cell_seed("null_references", task.simulation, task.seed),
                       null_references=_dls_references(task.methods), gate_reason=gate_reason))
    if "syntax" in task.metrics:
        rows.extend(_score(registry.score_syntax, dict(base, method="(in silico)", method_params=""),
                           trained, ds, truth, x, task.metrics,
                           seed=cell_seed("syntax", task.simulation, task.seed), gate_reason=gate_reason))
    return rows


def _dls_references(methods) -> int:
    """The shuffles DeepLiftSHAP uses in this suite, so its reference-redraw null uses as many."""
    from .methods import METHODS

    for m in methods:
        if m.name == "deeplift_shap":
            return int(m.params.get("n_references", METHODS["deeplift_shap"].default_params["n_references"]))
    return int(METHODS["deeplift_shap"].default_params["n_references"])


def _score(fn, base, *args, gate_reason: str = "", **kwargs) -> list:
    """Turn a scorer's ``{metric: value}`` into rows; a failing scorer becomes a failed row.

    With a ``gate_reason`` (the model failed the learned gate) every defined value keeps its number
    but takes the status ``not_learned`` and that reason, so no mean or verdict reads it.
    """
    try:
        scores = fn(*args, **kwargs)
    except Exception as exc:
        log.exception("scoring failed")
        return [row(**base, metric=f"({fn.__name__})", status="failed", reason=_reason(exc))]
    out = []
    for name, value in scores.items():
        if isinstance(value, tuple):  # (value, detail)
            value, detail = value
        else:
            detail = ""
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out.append(row(**base, metric=name, value=float("nan"), status="skipped",
                           reason=detail or "undefined for this cell", detail=detail))
        elif gate_reason:
            out.append(row(**base, metric=name, value=float(value), status="not_learned", reason=gate_reason,
                           detail=detail))
        else:
            out.append(row(**base, metric=name, value=float(value), detail=detail))
    return out


# --------------------------------------------------------------------------- the consistency stage


@dataclass
class ConsistencyTask:
    """One cell's consistency checks (the ``consistency`` family), run once every cell is done.

    ``replicate``: the ``(seed, dataset key)`` of the model whose maps of this cell's sequences are
    compared with the cell's own (the next seed of the suite; None with one seed); ``gate_reason``:
    why this cell's model, or the replicate, failed the learned gate ("" when both passed).
    """

    cell: CellTask
    replicate: tuple | None
    gate_reason: str = ""


def consistency_tasks(cells: list, seeds: list, rows: list) -> list:
    """The consistency task of every cell whose model trained. Each cell's replicate is the model of
    the next seed (cyclically): models of one grammar that differ by training seed and by the draw of
    their training set, so every seed's sequences are read once by another seed's model."""
    gate_of = {(r["simulation"], r["model"], r["seed"]): r for r in rows if r["metric"] == "training/learned"}
    keys = {(c.simulation.label, c.seed): c.ds_key for c in cells}
    out = []
    for c in cells:
        mine = gate_of.get((c.simulation.label, c.model.label, c.seed))
        if mine is None:  # the model did not train: its cell already says why
            continue
        replicate, reasons = None, [mine["reason"]] if mine["status"] != "ok" or mine["value"] != 1 else []
        if len(seeds) > 1:
            other = seeds[(list(seeds).index(c.seed) + 1) % len(seeds)]
            theirs = gate_of.get((c.simulation.label, c.model.label, other))
            if theirs is not None and (c.simulation.label, other) in keys:
                replicate = (other, keys[(c.simulation.label, other)])
                if theirs["value"] != 1:
                    reasons.append(f"the replicate (seed {other}) did not learn")
        out.append(ConsistencyTask(c, replicate, "; ".join(r for r in reasons if r) or
                                   ("the model did not learn" if reasons else "")))
    return out


def run_consistency(task: ConsistencyTask) -> CellResult:
    """Seed stability of every attribution route (its maps of the cell's sequences by the cell's model
    and by the replicate, with the same references) and reverse-complement consistency of every
    instance route (the method run again on the reverse complements, by the same model with the same
    seed). Their interpretations are cached as any other; never raises."""
    from .metrics.consistency import reverse_complement
    from .families.consistency import score_rc_instances, score_seed_stability

    c = task.cell
    cache = StageCache(c.cache_root)
    base = dict(suite=c.suite, simulation=c.simulation.label, model=c.model.label, seed=c.seed,
                model_params=json.dumps(c.model.identity(), sort_keys=True, default=str))
    rows = []
    try:
        ds = registry.load_dataset(cache.path("dataset", c.ds_key))
        m_key, _ = model_key(c.simulation, c.model, c.seed, c.ds_key, c.device)
        trained = registry.load_trained(cache.path("model", m_key), c.model, ds, device=c.device)
        other = None
        if task.replicate is not None:
            r_key, _ = model_key(c.simulation, c.model, task.replicate[0], task.replicate[1], c.device)
            if cache.has("model", r_key):
                other = registry.load_trained(cache.path("model", r_key), c.model, ds, device=c.device)
        index, _ = registry.interpret_index(ds, c.interpret, cell_seed("interpret", c.simulation, c.seed))
        x = ds.x[index].astype(np.float32)
        x_rc = np.ascontiguousarray(reverse_complement(x), dtype=np.float32)
        truth = ds.truth_for(index)
    except Exception as exc:
        rows.append(row(**base, method="(consistency)", metric="consistency", status="failed", reason=_reason(exc)))
        return CellResult(rows, cache.counters(), True)
    method_seed = cell_seed("method", c.simulation, c.seed)
    for method in c.methods:
        mbase = dict(base, method=method.label,
                     method_params=json.dumps(method.identity(), sort_keys=True, default=str))
        i_key, i_seed = method_key(method, m_key, c.interpret, method_seed, index)
        if registry.skip_reason(method, trained) or not cache.has("interpretation", i_key):
            continue  # skipped or failed in its cell, which says so
        try:
            interp = registry.load_interpretation(cache.path("interpretation", i_key))
            declared = registry.method_of(method)
            if "attributions" in declared.produces and interp.attributions is not None and other is not None:
                key = stable_hash("replicate", i_key, m_key, task.replicate)
                path = cache.get_or_compute(
                    "interpretation", key,
                    lambda tmp: registry.interpret_and_save(method, other, x, ds, i_seed, tmp),
                    meta={"method": method.identity(), "replicate_of": i_key})
                replicate = registry.load_interpretation(path)
                rows.extend(_score(score_seed_stability, mbase, interp, replicate, x, truth, c.metrics,
                                   gate_reason=task.gate_reason))
            if "instances" in declared.produces:
                path = cache.get_or_compute(
                    "interpretation", stable_hash("reverse_complement", i_key),
                    lambda tmp: registry.interpret_and_save(method, trained, x_rc, ds, i_seed, tmp),
                    meta={"method": method.identity(), "reverse_complement_of": i_key})
                mirrored = registry.load_interpretation(path)
                rows.extend(_score(score_rc_instances, mbase, interp, mirrored, x, c.metrics,
                                   same_motif=_same_motifs(interp.motifs, mirrored.motifs),
                                   gate_reason=task.gate_reason))
        except Exception as exc:
            log.exception("consistency of %s failed", method.label)
            rows.append(row(**mbase, metric="(consistency)", status="failed", reason=_reason(exc)))
    return CellResult(rows, cache.counters(), any(r["status"] == "failed" for r in rows))


def _same_motifs(a, b) -> bool:
    """Whether two runs' motifs are the same set by name (every name of one run is in the other with an
    equal matrix: a read-out's filters, a control's fixed motifs): then a call on the reverse complement
    must carry its forward call's motif name. Routes that discover motifs anew on each run (MoDISco's
    patterns, seqlet clusters) reuse names for other matrices, so their calls are matched by place."""
    ma = {m.name: np.asarray(m.pfm) for m in a}
    mb = {m.name: np.asarray(m.pfm) for m in b}
    return bool(ma) and ma.keys() == mb.keys() and all(
        ma[k].shape == mb[k].shape and np.allclose(ma[k], mb[k], atol=1e-6) for k in ma)


# --------------------------------------------------------------------------- the suite


@dataclass
class RunSummary:
    results: object  # DataFrame
    paths: dict
    counters: dict
    n_failed: int
    wall_s: float


@frozen_heap()
def run_suite(suite: Suite, executor=None, progress: bool = True, report: bool = True) -> RunSummary:
    """Run every cell of a suite (resuming from its cache), write the results and the report."""
    t0 = time.perf_counter()
    out = Path(suite.output).resolve()
    out.mkdir(parents=True, exist_ok=True)
    cache_root = out / "cache"
    cache = StageCache(cache_root)
    _setup_logging(out)
    log.info("suite %s (%s): %d simulations x %d models x %d seeds, %d methods", suite.name, suite.hash,
             len(suite.simulations), len(suite.models), len(suite.seeds), len(suite.methods))

    if executor is None:
        ex = suite.raw.executor
        executor = make_executor(ex.kind, ex.workers, ex.address, ex.device)
    all_rows, counters, n_failed, bar = [], {}, 0, None
    # the workers start (and import the stages) while this process simulates the datasets
    executor.start(len(list(suite.cells())))
    try:
        # datasets first, in this process: cells of the same simulation and seed share them
        ds_keys, ds_failed = {}, {}
        bar = _progress(len(suite.simulations) * len(suite.seeds), progress, f"{suite.name}: datasets", "dataset")
        for sim in suite.simulations:
            for seed in suite.seeds:
                if bar:
                    bar.set_postfix_str(f"{sim.label}·{seed}", refresh=True)
                key, data_seed = dataset_key(sim, seed)
                try:
                    cache.get_or_compute("dataset", key, lambda tmp, sim=sim, s=data_seed: registry.simulate_and_save(
                        sim, s, tmp), meta={"simulation": sim.identity(), "label": sim.label, "seed": data_seed})
                except Exception as exc:  # e.g. a background rejection that cannot converge: this
                    # simulation's cells fail, every other one runs
                    log.exception("simulating %s (seed %s) failed", sim.label, seed)
                    ds_failed[(sim.label, seed)] = _reason(exc)
                else:
                    ds_keys[(sim.label, seed)] = key
                if bar:
                    bar.update(1)
        if bar:
            bar.close()
        counters = _merge({}, cache.counters())

        interpret = suite.raw.interpret.model_dump()
        tasks = []
        for sim, model, seed in suite.cells():
            if (sim.label, seed) in ds_failed:
                all_rows.append(row(suite.name, sim.label, model.label, seed, "(dataset)", "simulate", status="failed",
                                    reason=ds_failed[(sim.label, seed)]))
                n_failed += 1
                continue
            tasks.append(CellTask(suite.name, str(cache_root), sim, model, seed, suite.methods, suite.metrics,
                                  interpret, ds_keys[(sim.label, seed)], metrics_base=suite.metrics_base,
                                  device=suite.raw.executor.device))
        bar = _progress(len(tasks), progress, f"{suite.name}: cells")
        with StageWatcher(_log_file(), bar) as watcher:
            for i, result in executor.map(run_cell, tasks):
                all_rows.extend(result.rows)
                counters = _merge(counters, result.counters)
                n_failed += int(result.failed)
                t = tasks[i]
                watcher.done(f"{t.simulation.label}·{t.model.label}·{t.seed}")
                if bar:
                    bar.update(1)
        if "consistency" in suite.metrics:
            if bar:
                bar.close()
            checks = consistency_tasks(tasks, suite.seeds, all_rows)
            bar = _progress(len(checks), progress, f"{suite.name}: consistency", "check")
            for _, result in executor.map(run_consistency, checks):
                all_rows.extend(result.rows)
                counters = _merge(counters, result.counters)
                n_failed += int(result.failed)
                if bar:
                    bar.update(1)
    finally:
        if bar:
            bar.close()
        executor.close()
    df = to_frame(all_rows)
    wall = time.perf_counter() - t0
    paths = write_results(df, out, with_earlier_runs(provenance(suite, counters, wall), out / "provenance.json"))
    log.info("wrote %s (%d rows, %d failed cells) in %.1f s", paths["parquet"], len(df), n_failed, wall)
    if report:
        from .report import build_report

        paths["report"] = build_report(df, out / "report", title=suite.name, cache_root=cache_root,
                                       description=suite.raw.description)
    return RunSummary(df, paths, counters, n_failed, wall)


def _merge(a: dict, b: dict) -> dict:
    out = {k: dict(v) for k, v in a.items()}
    for stage, c in b.items():
        d = out.setdefault(stage, {"hits": 0, "misses": 0})
        d["hits"] += c["hits"]
        d["misses"] += c["misses"]
    return out


#: marks the stage lines of the run's log (see _stage)
STAGE_TAG = "stage"


class StageWatcher:
    """Shows each running cell's current stage beside the progress bar, read from the stage lines the
    workers write to the run's log (every executor's workers log there), polled once a second."""

    def __init__(self, log_file: Path | None, bar):
        self.log_file, self.bar, self.current = log_file, bar, {}
        self._stop = None
        self._offset = log_file.stat().st_size if log_file is not None and log_file.exists() else 0

    def __enter__(self):
        import threading

        if self.bar is None or self.log_file is None:
            return self
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        if self._stop is not None:
            self._stop.set()
            self._thread.join(2.0)

    def _run(self):
        while not self._stop.wait(1.0):
            try:
                self.poll()
            except Exception:  # the display must never stop a run
                return

    def poll(self) -> dict:
        """Read new stage lines; returns {cell: stage} of cells not finished (and shows them)."""
        with open(self.log_file, "r", errors="replace") as f:
            f.seek(self._offset)
            text = f.read()
            self._offset = f.tell()
        for line in text.splitlines():
            _, sep, rest = line.partition(f" {STAGE_TAG} ")
            if sep and ": " in rest:
                cell, what = rest.split(": ", 1)
                self.current[cell] = what
        if self.bar is not None and self.current:
            shown = list(self.current.items())[-4:]
            self.bar.set_postfix_str(" | ".join(f"{c} {w}" for c, w in shown), refresh=True)
        return dict(self.current)

    def done(self, cell: str) -> None:
        self.current.pop(cell, None)


def _progress(total, enabled, desc, unit="cell"):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit)


def _log_file() -> Path | None:
    for h in log.handlers:
        if isinstance(h, logging.FileHandler):
            return Path(h.baseFilename)
    return None


def _setup_logging(out: Path):
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(logs / f"run-{time.strftime('%Y%m%d-%H%M%S')}.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for h in list(log.handlers):
        if isinstance(h, logging.FileHandler):
            log.removeHandler(h)
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def _record_rows(base: dict, train_info: dict, trained, ds, held: dict) -> list:
    """What the report draws about a trained model, computed here so that the report reads it from the
    results and never reopens the cache or runs a model (family ``record``, shown in no table of its own):
    ``record/training_history`` (the validation curve), ``record/held_out`` (the dataset's ceilings),
    ``record/shortfall`` (where the model falls short of the likelihood-ratio ceiling, by weakest planted
    site) and, for ARGMINN, ``record/argminn_examples`` (its read-out on example sequences)."""
    import models

    from .metrics.shortfall import shortfall_record

    out = []
    history = train_info.get("history") or []
    if history:
        curve = {k: [h.get(k) for h in history] for k in ("epoch", "valid_auroc", "best", "weight_overlap")}
        curve["valid_auroc"] = [None if v is None else round(float(v), 4) for v in curve["valid_auroc"]]
        curve["best"] = [bool(v) for v in curve["best"]]
        curve["weight_overlap"] = [float(v or 0.0) for v in curve["weight_overlap"]]
        out.append(row(**base, method="(model)", metric="record/training_history", value=float(len(history)),
                       detail=json.dumps(curve)))
    if held.get("value") is not None:
        out.append(row(**base, method="(model)", metric="record/held_out", value=held["value"],
                       detail=json.dumps({"ceiling_likelihood_ratio": held["value"],
                                          "ceiling_planted_content": held.get("planted_content")})))
        test = np.asarray(ds.splits["test"])
        try:
            rec = shortfall_record(ds.instances, ds.y, test, models.predict(trained.model, ds.x[test]),
                                   held["ratio_scores"])
        except Exception:  # a record for the report: never fail the cell for it
            log.exception("the shortfall record failed")
            rec = {}
        if rec:
            out.append(row(**base, method="(model)", metric="record/shortfall", value=rec["gap"],
                           detail=json.dumps(rec)))
    from .methods import METHODS, check_requirements

    if check_requirements(METHODS["argminn_readout"], trained.model) is None:
        try:
            examples = registry.argminn_examples(trained.model, ds)
        except Exception:
            log.exception("the ARGMINN read-out examples failed")
            examples = None
        if examples:
            out.append(row(**base, method="(model)", metric="record/argminn_examples",
                           value=float(len(examples["examples"])), detail=json.dumps(examples)))
    return out


def _training_health_rows(base: dict, train_info: dict) -> list:
    """How training went (:func:`models.health.training_health`): ``training/healthy`` (1 for converged or
    recovered) with the whole record in its detail, and the numbers the report tabulates."""
    from models.health import training_health

    history = train_info.get("history") or []
    if not history:
        return []
    h = training_health(history, train_info.get("events"), train_info.get("outcome"))
    h["schedule"] = (train_info.get("train") or {}).get("schedule", "paper")
    rows = [row(**base, method="(model)", metric="training/healthy",
                value=float(h["status"] in ("converged", "recovered")), detail=json.dumps(h))]
    for key in ("epochs_trained", "still_rising", "collapsed"):
        rows.append(row(**base, method="(model)", metric=f"training/{key}", value=float(h[key])))
    if h["ramp_start"] is not None:
        rows.append(row(**base, method="(model)", metric="training/ramp_start_epoch", value=float(h["ramp_start"])))
    return rows
