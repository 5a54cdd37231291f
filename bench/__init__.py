"""ARGMINN-Bench: the harness (CLI, suites, runner, methods, metrics, report).

The Python API (:mod:`bench.api`): ``bench.simulate``, ``bench.fit``, ``bench.interpret``, ``bench.score``
and ``bench.run``, one call per stage. They are imported on first use, so ``python -m bench`` starts
without loading torch.
"""

__all__ = ["simulate", "fit", "interpret", "score", "run"]


def __getattr__(name):
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
