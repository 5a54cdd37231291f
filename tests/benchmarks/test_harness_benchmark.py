"""The harness's own cost: the quick suite's cells with trivial stages.

Every stage is replaced by an instant stand-in (200 simulated sequences, an untrained model, a
method that returns the planted motifs and the one-hot sequence as attributions), so what is left
is the harness: validation, seeds, the stage caches and their atomic writes, scheduling, scoring
glue, the results table with provenance, and the report with its figures. Issue 6's target: under
5% of a quick-suite run (51-53 s on 2 cores; the slow test below measures each part: 4.5-4.8% on
2026-11-26, and 5.0-5.5% on a slower day later that session, when it fails). Run with ``pytest
tests/benchmarks/test_harness_benchmark.py --benchmark-enable``; the slow test runs the real quick
suite and checks the ratio on this machine.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import models
from bench.executors import make_executor
from bench.methods import Interpretation, Method
from bench.runner import run_suite
from bench.suite import load_suite

QUICK = Path(__file__).resolve().parents[2] / "suites" / "quick.yaml"
TARGET_FRACTION = 0.05


def _patch_trivial(monkeypatch):
    def no_training(model, ds, config, seed=0, on_epoch=None):
        return models.TrainResult(model.eval(), [], {"auroc": 0.5, "average_precision": 0.5, "accuracy": 0.5})

    def planted_answer(self, model, x, params=None, seed=0, truth_motifs=None):
        return Interpretation(motifs=list(truth_motifs or []), attributions=x.copy(), hypothetical=x.copy(),
                              details={"method": self.name})

    monkeypatch.setattr(models, "fit", no_training)
    monkeypatch.setattr(Method, "run", planted_answer)


@pytest.fixture
def trivial_stages(monkeypatch):
    _patch_trivial(monkeypatch)


def _run_trivial(tmp_path_factory, report=True):
    suite = load_suite(QUICK)
    suite.output = tmp_path_factory.mktemp("trivial")
    for sim in suite.simulations:
        sim.n = 200
    return run_suite(suite, executor=make_executor("serial"), progress=False, report=report)


def _pool_start_s() -> float:
    """Starting the default local executor (two workers forked from the fork server) and using it once:
    a run pays this once. The probe started the fork server before its imports, as ``python -m bench
    run`` does, so what is left here is the part of the server's own imports those did not hide."""
    t0 = time.perf_counter()
    ex = make_executor("local", 2)
    try:
        list(ex.map(abs, [-1, -2]))
    finally:
        ex.close()
    return time.perf_counter() - t0


def measure(kind: str, out: Path) -> dict:
    """Seconds of one part of the overhead comparison, in this (fresh) interpreter.

    ``quick``: the real quick suite as a user runs it. ``trivial``: the worker pool's start (cold, as
    in every run), then the quick suite's cells with trivial stages (serially, so that the stand-ins
    apply) and the report they make, drawn with the pool's warm fork server as after a real run.
    """
    suite = load_suite(QUICK)
    suite.output = out
    if kind == "quick":
        t0 = time.perf_counter()
        run_suite(suite, progress=False)
        return {"quick": time.perf_counter() - t0}
    from bench.report import build_report

    pool = _pool_start_s()
    _patch_trivial(pytest.MonkeyPatch())
    for sim in suite.simulations:
        sim.n = 200
    t0 = time.perf_counter()
    summary = run_suite(suite, executor=make_executor("serial"), progress=False, report=False)
    bookkeeping = time.perf_counter() - t0
    t0 = time.perf_counter()
    build_report(summary.results, out / "report", title="trivial", cache_root=out / "cache")
    return {"pool": pool, "bookkeeping": bookkeeping, "report": time.perf_counter() - t0}


def _measure_fresh(kind: str, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "tests.benchmarks.overhead_probe", kind, str(out)],
                          cwd=QUICK.parents[1], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_harness_overhead_trivial_stages(benchmark, trivial_stages, tmp_path_factory):
    summary = benchmark.pedantic(_run_trivial, args=(tmp_path_factory,), rounds=3, iterations=1)
    assert summary.n_failed == 0 and (Path(summary.paths["report"])).exists()
    benchmark.extra_info["rows"] = len(summary.results)


@pytest.mark.slow
def test_harness_overhead_is_a_small_fraction_of_the_quick_suite(tmp_path):
    """The worker pool, bookkeeping (validation, seeds, caches, scheduling, results) and the report
    together must stay under 5% of a quick-suite run (issue 6). Each part runs in a fresh interpreter,
    as a user's run does, and is printed on its own."""
    quick = _measure_fresh("quick", tmp_path / "quick")["quick"]
    parts = _measure_fresh("trivial", tmp_path / "trivial")
    overhead = sum(parts.values())
    print("\n" + ", ".join(f"{k} {v:.2f} s ({v / quick:.1%})" for k, v in parts.items())
          + f"; quick suite {quick:.1f} s")
    assert overhead / quick < TARGET_FRACTION, (parts, quick)

