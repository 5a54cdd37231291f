"""Faults a run must survive: concurrent writers, damaged cache files, a killed or terminated run."""

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bench.executors import cpu_count

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- concurrent writers

_WRITER = textwrap.dedent("""
    import sys, time
    import pandas as pd
    from bench.results import write_results
    out, n, seconds, tag = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    df = pd.DataFrame({"suite": "s", "simulation": "a", "model": tag, "seed": range(n), "method": "m",
                       "metric": "x", "value": 1.0, "status": "ok"})
    end, writes, errors = time.time() + seconds, 0, 0
    while time.time() < end:
        try:
            write_results(df, out, {"writer": tag, "writes": writes})
        except Exception as exc:
            errors += 1
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        writes += 1
    print(writes, errors)
""")


def test_concurrent_writers_never_fail_and_a_reader_never_sees_a_part(tmp_path):
    """Two processes rewriting one run folder's results while a third reads them: every write
    succeeds (no shared temporary name), and every read finds a whole table."""
    n = 7000
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), str(n), "4", tag], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for tag in ("p", "q")]
    reads, bad = 0, []
    try:
        while any(w.poll() is None for w in writers):
            for name in ("results.parquet", "results.csv", "provenance.json"):
                path = tmp_path / name
                if not path.exists():
                    continue
                try:
                    if name == "provenance.json":
                        assert json.loads(path.read_text())["writer"] in ("p", "q")
                    else:
                        df = pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path)
                        assert len(df) == n and df.model.nunique() == 1
                except Exception as exc:
                    bad.append(f"{name}: {type(exc).__name__}: {exc}")
                reads += 1
    finally:
        outs = [w.communicate(timeout=60) for w in writers]
    for (stdout, stderr), w in zip(outs, writers):
        assert w.returncode == 0, stderr
        writes, errors = map(int, stdout.split())
        assert writes > 0 and errors == 0, stderr[-2000:]
    assert reads > 10 and bad == []
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert leftovers == []


# --------------------------------------------------------------------------- a damaged cache

def _tiny(out, kind="serial", seeds=(0,), epochs=1, batches=3, **train):
    return {
        "name": "tiny",
        "output": str(out),
        "seeds": list(seeds),
        "simulations": [{"preset": "spi1_single", "n": 400}],
        "models": [{"name": "cnn", "train": {"epochs": epochs, "batches_per_epoch": batches, "batch_size": 32,
                                             **train}}],
        "methods": [{"name": "deeplift_shap", "params": {"n_references": 2}}],
        "metrics": ["prediction", "attributions"],
        "interpret": {"split": "test", "n_sequences": 20, "classes": ["positive"]},
        "executor": {"kind": kind},
    }


def _comparable(df):
    df = df[~df.metric.str.startswith("runtime_s")]
    return df.drop(columns=["detail"]).reset_index(drop=True)


def _cut(path):
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)


def _only(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, (pattern, found)
    return found[0]


def test_truncated_cache_files_are_recomputed_not_served(tmp_path, caplog):
    """Each stage's file cut short (a full disk, an interrupted copy): the next run logs the entry by
    its path, recomputes it and gives the same results, instead of failing the cell on every run."""
    import shutil

    from bench.executors import SerialExecutor
    from bench.runner import run_suite
    from bench.suite import load_suite

    def run():
        return run_suite(load_suite(_tiny(tmp_path / "run")), executor=SerialExecutor(), progress=False,
                         report=False)

    first = run()
    assert first.n_failed == 0
    cache = tmp_path / "run" / "cache"
    files = {"cell": _only(cache, "cell/*/rows.json"), "dataset": _only(cache, "dataset/*/dataset/arrays.npz"),
             "model": _only(cache, "model/*/model.pt"),
             "interpretation": _only(cache, "interpretation/*/interpretation/arrays.npz")}
    for stage, path in files.items():
        _cut(path)
        if stage != "cell":  # the cell's rows come from above the damaged stage: make the run read it
            shutil.rmtree(files["cell"].parent)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="bench"):
            again = run()
        assert again.n_failed == 0, (stage, again.results[again.results.status == "failed"].reason.tolist())
        assert again.counters[stage]["misses"] == 1, (stage, again.counters)
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(str(path.parent) in m or str(path.parents[1]) in m for m in warned), (stage, warned)
        pd.testing.assert_frame_equal(_comparable(first.results), _comparable(again.results))
        files["cell"] = _only(cache, "cell/*/rows.json")


# --------------------------------------------------------------------------- worker logs

def _log_and_fail(i):
    log = logging.getLogger("bench")
    try:
        raise RuntimeError(f"boom {i} in a worker")
    except RuntimeError:
        log.exception("method failed")
    return os.getpid()


@pytest.mark.skipif(cpu_count() < 2, reason="one core: no worker pool")
def test_worker_tracebacks_reach_the_run_log(tmp_path):
    from bench.executors import LocalExecutor

    log = logging.getLogger("bench")
    handler = logging.FileHandler(tmp_path / "run.log")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    old_level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    ex = LocalExecutor(2)
    try:
        pids = {pid for _, pid in ex.map(_log_and_fail, [0, 1, 2])}
    finally:
        ex.close()
        log.removeHandler(handler)
        handler.close()
        log.setLevel(old_level)
    assert os.getpid() not in pids
    text = (tmp_path / "run.log").read_text()
    assert text.count("ERROR bench: method failed") == 3 and "RuntimeError: boom 2 in a worker" in text
    assert "Traceback (most recent call last)" in text


# --------------------------------------------------------------------------- killed runs

def _children_map():
    kids = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(name))
    return kids


def _descendants(pid):
    kids, out, todo = _children_map(), [], [pid]
    while todo:
        for child in kids.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _alive(pids):
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                    out.append(pid)
        except (OSError, IndexError):
            pass
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").exists() or cpu_count() < 2,
                    reason="needs /proc and a worker pool (2+ cores)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_run_leaves_no_process_behind(tmp_path, sig):
    """SIGTERM (a supervisor, ``kill``) is taken like Ctrl-C: the pool is shut down, the stage in
    progress is cleaned up, rc 143 with the resume hint. SIGKILL cannot be handled by the run, but
    its workers watch it and end with it; their fork server and resource tracker follow."""
    suite_file = tmp_path / "suite.yaml"
    # training long enough (no early stop) that both workers are mid-stage when the signal comes
    suite_file.write_text(yaml.safe_dump(_tiny(tmp_path / "run", kind="local", seeds=(0, 1), epochs=200,
                                               batches=30, patience=None)))
    proc = subprocess.Popen([sys.executable, "-m", "bench", "run", str(suite_file), "--quiet", "--no-report",
                             "--workers", "2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    models = tmp_path / "run" / "cache" / "model"
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:  # a model being trained: a temporary entry
            if models.exists() and len([p for p in models.iterdir() if p.name.startswith(".")]) >= 2:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.5)
        family = _descendants(proc.pid)
        assert len(family) >= 4, family  # fork server, resource tracker, two workers
        t0 = time.time()
        os.kill(proc.pid, sig)  # the main process only, as `kill PID` or the OOM killer does
        proc.wait(timeout=60)
        left = _alive(family)
        while left and time.time() - t0 < 15:
            time.sleep(0.2)
            left = _alive(family)
        assert left == [], f"still running {time.time() - t0:.1f} s after the signal: {left}"
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in _alive(_descendants(proc.pid)):
            os.kill(pid, signal.SIGKILL)
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM, stderr
        assert "terminated (SIGTERM): finished stages are kept" in stderr and "Traceback" not in stderr, stderr
    # the stages in progress were cleaned up: no temporary entries are left
    assert [p.name for p in models.iterdir() if p.name.startswith(".")] == []


def test_a_damaged_model_under_a_cached_cell_is_retrained(tmp_path):
    """A cut ``model.pt`` below an intact cell entry: the cell's rows are still right, but the report
    reads the model; the damaged model must be noticed on the rerun, not only by the report."""
    from bench.cache import StageCache
    from bench.executors import SerialExecutor
    from bench.runner import run_suite
    from bench.suite import load_suite

    def run():
        return run_suite(load_suite(_tiny(tmp_path / "run")), executor=SerialExecutor(), progress=False,
                         report=False)

    run()
    model = _only(tmp_path / "run" / "cache", "model/*/model.pt")
    _cut(model)
    again = run()
    assert again.counters.get("model", {}).get("misses") == 1
    assert StageCache(tmp_path / "run" / "cache").has("model", model.parent.name)


def test_report_refuses_a_folder_of_someone_elses(tmp_path):
    """`report --out` over a folder of one's own files would replace its README.md and index.html."""
    import pandas as pd

    from bench.__main__ import main
    from bench.report import build_report

    rows = pd.DataFrame([{"suite": "t", "simulation": "s", "model": "m", "seed": 0, "method": "(model)",
                          "metric": "prediction/auroc", "value": 0.9, "status": "ok", "reason": "",
                          "model_params": "{}", "method_params": "{}", "detail": ""}])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "README.md").write_text("my notes\n")
    with pytest.raises(ValueError, match="holds files no report wrote"):
        build_report(rows, mine)
    assert (mine / "README.md").read_text() == "my notes\n" and sorted(p.name for p in mine.iterdir()) == ["README.md"]
    rows.to_parquet(tmp_path / "results.parquet")
    assert main(["report", str(tmp_path / "results.parquet"), "--out", str(mine)]) == 2
    assert (mine / "README.md").read_text() == "my notes\n"
    # a report's own folder is rebuilt in place, and so is one of the committed reports (no marker yet)
    build_report(rows, tmp_path / "rep")
    build_report(rows, tmp_path / "rep")
    old = tmp_path / "old"
    old.mkdir()
    (old / "README.md").write_text("# paper: ARGMINN-Bench report\n")
    build_report(rows, old)


def test_a_simulation_that_cannot_be_simulated_fails_only_its_cells(tmp_path, monkeypatch):
    from bench import registry
    from bench.executors import SerialExecutor
    from bench.runner import run_suite
    from bench.suite import load_suite

    real = registry.simulate_and_save

    def flaky(sim, seed, directory):
        if sim.label == "spi1_single":
            raise RuntimeError("background rejection did not converge")
        return real(sim, seed, directory)

    monkeypatch.setattr(registry, "simulate_and_save", flaky)
    suite = load_suite({
        "name": "two", "output": str(tmp_path / "run"), "seeds": [0],
        "simulations": [{"preset": "spi1_single", "n": 300}, {"preset": "tal_gata_mixture", "n": 300}],
        "models": [{"name": "cnn", "train": {"epochs": 1, "batches_per_epoch": 2, "batch_size": 32}}],
        "methods": [], "metrics": ["prediction"], "executor": {"kind": "serial"}})
    summary = run_suite(suite, executor=SerialExecutor(), progress=False, report=False)
    df = summary.results
    failed = df[df.status == "failed"]
    assert summary.n_failed == 1 and set(failed.simulation) == {"spi1_single"}
    assert "did not converge" in failed.reason.iloc[0]
    assert (df[df.simulation == "tal_gata_mixture"].metric == "prediction/auroc").any()
