"""The Python API: one call per stage, for a notebook.

::

    import bench

    data = bench.simulate("spi1_single", n=2000, seed=0)        # a preset, a YAML grammar or a dict
    fitted = bench.fit("argminn", data, seed=0, epochs=10)        # models.TrainResult (.model, .history)
    interp = bench.interpret("deeplift_shap", fitted, data, n=100, n_references=10)
    scores = bench.score(interp, data)                            # {"attributions/auroc": ..., ...}
    summary = bench.run("suite.yaml")                             # a whole suite, cached and resumable

Each call does what the runner does for one stage (same components, same checks, same seeds); only
:func:`run` caches. The functions take and return the package's own objects, so their results can be
passed on to the lower-level functions in :mod:`simulations`, :mod:`models` and :mod:`bench.metrics`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import SuiteError

__all__ = ["simulate", "fit", "interpret", "score", "run"]


def simulate(grammar, n: int = 2000, seed: int = 0):
    """Simulate ``n`` sequences under a grammar.

    Parameters
    ----------
    grammar : str, Path or dict
        A preset name (``python -m bench list simulations``), a YAML grammar file or a grammar dict.
    n : int
        Number of sequences, split train/valid/test as in a suite.
    seed : int
        Same seed, same dataset.

    Returns
    -------
    simulations.SimulatedDataset
        ``x`` one-hot ``(n, 4, L)``, ``y``, ``splits``, ``instances`` (the planted truth), ``motifs``.
    """
    from simulations import simulate as _simulate

    return _simulate(grammar, n=n, seed=seed)


def fit(model, data, seed: int = 0, params: dict | None = None, **train):
    """Build and train a model on ``data``'s train split.

    Parameters
    ----------
    model : str or torch.nn.Module
        A model name (``python -m bench list models``), a plug-in ``"module:Class"``, or a module already
        built (trained in place).
    data : simulations.SimulatedDataset
    seed : int
        Seeds the initial weights (for a name) and the batches.
    params : dict, optional
        The model's constructor parameters (with a name).
    **train
        :class:`models.TrainConfig` fields (``epochs``, ``batches_per_epoch``, ``schedule``, ...); the
        defaults are the package's (adaptive schedule).

    Returns
    -------
    models.TrainResult
        ``model`` (best weights, eval mode), ``history`` (one dict per epoch), ``test_metrics``, ``events``.
    """
    import torch

    import models

    if isinstance(model, torch.nn.Module):
        module = model
    elif isinstance(model, str):
        from .plugins import is_plugin
        from .registry import _load_model_plugin
        from .suite import Component

        component = Component(model, dict(params or {}), base=str(Path.cwd()))
        if is_plugin(model):
            _load_model_plugin(component, "model")
        module = models.build_model(model, dict(params or {}), input_length=data.length, seed=seed)
    else:
        raise ValueError(f"model must be a model name, 'module:Class' or a torch.nn.Module, got {type(model).__name__}")
    config = models.TrainConfig.from_dict(dict(train))
    return models.fit(module, data, config, seed=seed)


def interpret(method, model, data, n: int = 200, split: str = "test", classes="auto", seed: int = 0,
              **params):
    """Run one interpretation route on sequences of ``data``.

    Parameters
    ----------
    method : str
        A method name (``python -m bench list methods``) or a plug-in ``"module:function"``.
    model : torch.nn.Module or models.TrainResult
        The trained model (a :func:`fit` result is unwrapped).
    data : simulations.SimulatedDataset
    n : int
        At most this many sequences of ``split`` (a seeded draw, as a suite's ``interpret.n_sequences``).
    split : str
        ``"train"``, ``"valid"`` or ``"test"``.
    classes : "auto", "all" or list of str
        Which classes' sequences (``interpret.classes``; auto: the positives plus every class holding a
        functional motif no positive holds).
    seed : int
        Seeds the sequence draw and the method's references.
    **params
        The method's parameters (checked against its declaration).

    Returns
    -------
    bench.methods.Interpretation
        ``motifs``, ``instances`` and/or ``attributions`` ``(n, 4, L)``, as the method declares; its
        ``details["index"]`` holds the dataset indices of the interpreted sequences (``score`` reads them).
    """
    from .registry import interpret_index, method_of
    from .families import functional_motifs
    from .suite import Component

    if split not in getattr(data, "splits", {}):
        raise ValueError(f"split must be one of {sorted(data.splits)}, got {split!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    module = getattr(model, "model", model)
    try:
        declared = method_of(Component(method, dict(params), base=str(Path.cwd())), "method")
    except KeyError:
        from .methods import METHODS

        raise ValueError(f"unknown method {method!r}; methods are {sorted(METHODS)} (or module:function)") from None
    except SuiteError as exc:
        raise ValueError(str(exc)) from None
    index, _ = interpret_index(data, {"split": split, "n_sequences": int(n), "classes": classes}, seed)
    x = np.ascontiguousarray(data.x[index], dtype=np.float32)
    interp = declared.run(module, x, dict(params), seed=seed, truth_motifs=functional_motifs(data))
    interp.details["index"] = [int(i) for i in index]
    return interp


def score(interp, data, metrics=None, index=None) -> dict:
    """Score an interpretation against the planted truth of the sequences it read.

    Parameters
    ----------
    interp : bench.methods.Interpretation
        From :func:`interpret` (or any route, with ``index``).
    data : simulations.SimulatedDataset
    metrics : list of str, optional
        Metric families (default: motifs, instances, attributions, those the method produces).
    index : array of int, optional
        The dataset indices of the interpreted sequences (default: ``interp.details["index"]``).

    Returns
    -------
    dict
        ``{"family/measure": value}``; per-sequence components (``per_sequence/*``) left out.
    """
    from .registry import check_metrics, scoring_truth
    from .scoring import score_interpretation

    if index is None:
        index = (interp.details or {}).get("index")
        if index is None:
            raise ValueError("index: the interpretation does not say which sequences it read "
                             "(give index=, the dataset indices of its rows)")
    index = np.asarray(index, dtype=np.int64)
    families = check_metrics(list(metrics) if metrics is not None else ["motifs", "instances", "attributions"])
    x = np.ascontiguousarray(data.x[index], dtype=np.float32)
    truth = scoring_truth(data, index, x)
    out = score_interpretation(interp, data, truth, x, families, method_name=(interp.details or {}).get("method", ""))
    return {k: (v[0] if isinstance(v, tuple) else v) for k, v in out.items() if not k.startswith("per_sequence/")}


def run(suite, out=None, executor=None, workers: int | None = None, report: bool = True, progress: bool = True):
    """Run a whole suite (a YAML path or a dict), resuming from its cache; returns the run's summary
    (``results``: the results table, ``paths``, ``wall_s``)."""
    from .executors import make_executor
    from .runner import run_suite
    from .suite import load_suite

    loaded = load_suite(Path(suite) if isinstance(suite, str) else suite)
    if out is not None:
        loaded.output = str(out)
    ex = None
    if executor is not None or workers is not None:
        raw = loaded.raw.executor
        ex = make_executor(executor or raw.kind, workers or raw.workers, raw.address, raw.device)
    return run_suite(loaded, executor=ex, progress=progress, report=report)
