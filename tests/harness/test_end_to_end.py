"""End to end on a tiny suite: results, resume, failures, executors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch
import pytest

from bench import registry
from bench.executors import SerialExecutor, make_executor
from bench.results import RESULT_COLUMNS
from bench.runner import run_suite
from bench.suite import load_suite

ROOT = Path(__file__).resolve().parents[2]


def tiny_suite(out, methods=None, seeds=(0,)):
    return {
        "name": "tiny",
        "output": str(out),
        "seeds": list(seeds),
        "simulations": [{"preset": "spi1_single", "n": 400}],
        # a fixed single epoch (the paper schedule): an untrained model, for the learned gate
        "models": [{"name": "cnn", "train": {"epochs": 1, "batches_per_epoch": 3, "batch_size": 32, "schedule": "paper"}}],
        "methods": methods if methods is not None else [
            {"name": "deeplift_shap", "params": {"n_references": 2}},
            {"name": "filter_readout"},
            {"name": "argminn_readout"},
        ],
        "metrics": ["prediction", "motifs", "instances", "attributions"],
        "interpret": {"split": "test", "n_sequences": 20, "classes": ["positive"]},
        "executor": {"kind": "serial"},
    }


def _comparable(df):
    df = df[~df.metric.str.startswith("runtime_s")]
    return df.drop(columns=["detail"]).reset_index(drop=True)


def test_tiny_suite_runs_and_resumes_from_cache(tmp_path):
    suite = load_suite(tiny_suite(tmp_path / "run"))
    first = run_suite(suite, executor=SerialExecutor(), progress=False, report=True)
    df = first.results
    assert list(df.columns) == RESULT_COLUMNS
    assert set(df.status) <= {"ok", "skipped", "not_learned"}
    # 3 training batches leave the CNN at chance: the gate keeps its interpretations, as not learned
    gate = df[df.metric == "training/learned"]
    assert gate.value.tolist() == [0.0] and "did not learn" in json.loads(gate.detail.iloc[0])["reason"]
    read = df[(df.method == "deeplift_shap") & ~df.metric.str.startswith("runtime_s")]
    assert len(read) and (read.status == "not_learned").all() and read.reason.str.contains("did not learn").all()
    assert read.value.notna().any()  # the values stay in the results
    # ARGMINN's read-out cannot read a CNN: a skipped row with a reason, not a silent drop
    skipped = df[df.method == "argminn_readout"]
    assert len(skipped) == 1 and skipped.status.iloc[0] == "skipped" and "argminn" in skipped.reason.iloc[0].lower()
    assert {"prediction/auroc", "attributions/auroc", "motifs/recall"} <= set(df.metric)
    assert (tmp_path / "run" / "results.parquet").exists() and (tmp_path / "run" / "provenance.json").exists()
    assert (tmp_path / "run" / "report" / "index.html").exists()
    # figures drawn from this run's cached stage outputs, found through the keys in the results
    assert (tmp_path / "run" / "report" / "figures" / "logos_spi1_single.png").exists()
    assert (tmp_path / "run" / "report" / "figures" / "training_spi1_single.png").exists()
    assert "(failed)" not in (tmp_path / "run" / "report" / "README.md").read_text()
    prov = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert prov["packages"]["torch"] and prov["suite_hash"] == suite.hash and "earlier_runs" not in prov

    second = run_suite(load_suite(tiny_suite(tmp_path / "run")), executor=SerialExecutor(), progress=False,
                       report=False)
    assert second.counters["cell"]["hits"] == 1 and second.counters.get("model", {}).get("misses", 0) == 0
    pd.testing.assert_frame_equal(_comparable(first.results), _comparable(second.results))
    # the cached rerun's provenance keeps the first run's (its wall time, what it computed)
    again = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert again["earlier_runs"] == [prov] and again["cache"]["cell"]["hits"] == 1


def test_a_failing_method_fails_only_its_rows(tmp_path, monkeypatch):
    real = registry.interpret_and_save

    def flaky(component, *args, **kwargs):
        if component.name == "filter_readout":
            raise RuntimeError("boom in filter_readout")
        return real(component, *args, **kwargs)

    monkeypatch.setattr(registry, "interpret_and_save", flaky)
    summary = run_suite(load_suite(tiny_suite(tmp_path / "run")), executor=SerialExecutor(), progress=False,
                        report=False)
    df = summary.results
    failed = df[df.status == "failed"]
    assert set(failed.method) == {"filter_readout"} and "boom in filter_readout" in failed.reason.iloc[0]
    assert df[df.method == "deeplift_shap"].status.isin(["ok", "not_learned"]).all()
    assert summary.n_failed == 1
    # the failed cell is not cached: the next run retries it (and now succeeds)
    monkeypatch.setattr(registry, "interpret_and_save", real)
    again = run_suite(load_suite(tiny_suite(tmp_path / "run")), executor=SerialExecutor(), progress=False,
                      report=False)
    assert again.n_failed == 0 and again.counters["model"]["hits"] >= 1


def test_cli_run_exit_code_and_kill_resume(tmp_path):
    """Kill a CLI run after its first finished cell; the rerun reuses it and matches a clean run."""
    spec = tiny_suite(tmp_path / "killed", seeds=(0, 1, 2))
    import yaml

    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text(yaml.safe_dump(spec))
    env = dict(os.environ, PYTHONHASHSEED="0")
    cmd = [sys.executable, "-m", "bench", "run", str(suite_file), "--quiet", "--no-report"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    cells = tmp_path / "killed" / "cache" / "cell"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if cells.exists() and any((p / ".complete").exists() for p in cells.iterdir()):
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = sum((p / ".complete").exists() for p in cells.iterdir()) if cells.exists() else 0

    rerun = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"cell {done_before} reused" in rerun.stdout
    resumed = pd.read_parquet(tmp_path / "killed" / "results.parquet")

    clean_spec = tiny_suite(tmp_path / "clean", seeds=(0, 1, 2))
    clean = run_suite(load_suite(clean_spec), executor=SerialExecutor(), progress=False, report=False).results
    pd.testing.assert_frame_equal(_comparable(resumed), _comparable(clean))


@pytest.mark.slow
def test_serial_and_pool_runs_never_share_a_model(tmp_path):
    """In-process (all cores' threads) and pool workers (one thread each) round float sums differently,
    so they train different models; the model key holds the thread count, so one is never served as
    the other, and each is reproducible. (Local and Ray pools agree: tests/harness/test_executors.py.)"""
    import torch

    if torch.get_num_threads() < 2:
        pytest.skip("one core: in-process and pool workers use the same thread count")
    run = lambda name, ex: run_suite(load_suite(tiny_suite(tmp_path / name, seeds=(0, 1))), executor=ex,
                                     progress=False, report=False).results
    serial, again = run("serial", SerialExecutor()), run("again", SerialExecutor())
    local = run("local", make_executor("local", 2))
    pd.testing.assert_frame_equal(_comparable(serial), _comparable(again))

    def keys(df):
        return set(df[df.metric == "runtime_s/train"].detail.map(lambda d: json.loads(d)["model_key"]))
    assert keys(serial) == keys(again) and not keys(serial) & keys(local)


def test_consistency_family_reads_each_seed_with_the_other_seeds_model_and_the_reverse_complement(tmp_path):
    cfg = tiny_suite(tmp_path / "run", seeds=(0, 1), methods=[
        {"name": "deeplift_shap", "params": {"n_references": 2}}, {"name": "filter_readout"}])
    cfg["metrics"] = ["attributions", "instances", "consistency"]
    first = run_suite(load_suite(cfg), executor=SerialExecutor(), progress=False, report=False)
    df = first.results
    seed_rows = df[df.metric == "consistency/seed_cosine_mean"]
    # one row per (route, seed): seed 0's sequences read by seed 1's model and the reverse
    assert sorted(seed_rows.seed) == [0, 1] and set(seed_rows.method) == {"deeplift_shap"}
    assert seed_rows.value.between(-1, 1).all()
    # both tiny models stayed at chance: the values are kept, as not learned, in no mean
    assert (seed_rows.status == "not_learned").all()
    rc = df[df.metric == "consistency/rc_f1"]
    assert sorted(rc.seed) == [0, 1] and set(rc.method) == {"filter_readout"} and rc.value.between(0, 1).all()
    # the families that re-run the models are the only ones not scored by default
    assert not df.metric.str.startswith("faithfulness/").any()
    # a rerun serves every extra interpretation from the cache
    second = run_suite(load_suite(cfg), executor=SerialExecutor(), progress=False, report=False)
    assert second.counters["interpretation"]["misses"] == 0
    pd.testing.assert_frame_equal(_comparable(first.results), _comparable(second.results))
    # one seed: no replicate, so no seed stability, but the strand check still runs
    cfg["seeds"] = [0]
    one = run_suite(load_suite(cfg), executor=SerialExecutor(), progress=False, report=False).results
    assert not (one.metric == "consistency/seed_cosine_mean").any() and (one.metric == "consistency/rc_f1").any()


def test_the_terminal_shows_each_running_cells_stage_from_the_log(tmp_path):
    from bench.runner import STAGE_TAG, StageWatcher

    class Bar:
        postfix = ""

        def set_postfix_str(self, text, refresh=True):
            self.postfix = text

    log_file = tmp_path / "run.log"
    log_file.write_text("2026-12-02 10:00:00 INFO bench: suite default\n")
    bar = Bar()
    watcher = StageWatcher(log_file, bar)  # reads only what is written after it starts
    with open(log_file, "a") as f:
        f.write(f"2026-12-02 10:00:01 INFO bench: {STAGE_TAG} spi1·argminn·0: training\n")
        f.write(f"2026-12-02 10:00:02 INFO bench: {STAGE_TAG} spi1·cnn·0: training\n")
        f.write(f"2026-12-02 10:00:09 INFO bench: {STAGE_TAG} spi1·argminn·0: deeplift_shap\n")
    assert watcher.poll() == {"spi1·argminn·0": "deeplift_shap", "spi1·cnn·0": "training"}
    assert bar.postfix == "spi1·argminn·0 deeplift_shap | spi1·cnn·0 training"
    watcher.done("spi1·cnn·0")
    assert watcher.poll() == {"spi1·argminn·0": "deeplift_shap"}


def test_a_run_logs_every_stage_of_every_cell(tmp_path):
    summary = run_suite(load_suite(tiny_suite(tmp_path / "run")), executor=SerialExecutor(), progress=False,
                        report=False)
    assert summary.n_failed == 0
    text = "".join(p.read_text() for p in (tmp_path / "run" / "logs").glob("run-*.log"))
    # the one-epoch CNN of the tiny suite shows its epoch, then its routes
    for stage in ("spi1_single·cnn·0: training", "spi1_single·cnn·0: training epoch 1 of at most 1, valid auROC 0.",
                  "spi1_single·cnn·0: deeplift_shap",
                  "spi1_single·cnn·0: filter_readout", "spi1_single·cnn·0: cross-method"):
        assert stage in text, stage


def test_the_report_reads_what_the_run_wrote_and_runs_no_model(tmp_path, monkeypatch):
    """The run records what the report draws about its models (training curves, ceilings, shortfall,
    ARGMINN's read-out examples); a report from results.parquet alone, with no cache and with every way
    of loading or running a model broken, still has the seed selection, the ceilings and those figures."""
    import models
    from bench.report import build_report

    data = tiny_suite(tmp_path / "run", methods=[{"name": "argminn_readout"}])
    data["models"] = [{"name": "argminn", "params": {"num_filters": 2, "num_layers": 1},
                       "train": {"epochs": 1, "batches_per_epoch": 2, "batch_size": 32, "schedule": "paper"}}]
    df = run_suite(load_suite(data), executor=SerialExecutor(), progress=False, report=False).results
    records = set(df.metric[df.metric.str.startswith("record/")])
    assert records == {"record/training_history", "record/held_out", "record/shortfall", "record/argminn_examples"}
    ex = json.loads(df.detail[df.metric == "record/argminn_examples"].iloc[0])
    assert 1 <= len(ex["examples"]) <= 3 and len(ex["examples"][0]["attention"]) == 1  # one attention layer

    def no_model(*a, **k):
        raise AssertionError("the report loaded or ran a model")

    monkeypatch.setattr(models, "load_model", no_model)
    monkeypatch.setattr(models, "predict", no_model)
    monkeypatch.setattr(torch.nn.Module, "__call__", no_model)
    out = tmp_path / "report"
    build_report(pd.read_parquet(tmp_path / "run" / "results.parquet"), out, title="tiny", cache_root=None)
    figures = {p.name for p in (out / "figures").iterdir()}
    assert {"argminn_examples_spi1_single.png", "training_spi1_single.png"} <= figures
    for table in ("seed_selected_on_validation", "simulation_ceilings", "ceiling_shortfall"):
        assert len(pd.read_csv(out / "tables" / f"{table}.csv")) == 1, table
    assert "(failed)" not in (out / "README.md").read_text()


def test_the_talks_figures_read_the_interpreted_sequences_the_run_recorded(tmp_path):
    """DeepLiftSHAP and IG tracks on the same sequences, and every route's instance calls on them, drawn
    from the cached interpretations of the rows the run recorded (``interpret/n_sequences``' index)."""
    data = tiny_suite(tmp_path / "run", methods=[{"name": "deeplift_shap", "params": {"n_references": 2}},
                                                 {"name": "integrated_gradients", "params": {"n_references": 2,
                                                                                             "n_steps": 4}},
                                                 {"name": "positive_control"}, {"name": "filter_readout"}])
    df = run_suite(load_suite(data), executor=SerialExecutor(), progress=False, report=True).results
    rec = json.loads(df.detail[df.metric == "interpret/n_sequences"].iloc[0])
    assert len(rec["index"]) == df.value[df.metric == "interpret/n_sequences"].iloc[0] and rec["dataset_key"]
    figures = tmp_path / "run" / "report" / "figures"
    for name in ("attribution_tracks_spi1_single.png", "instance_calls_spi1_single.png"):
        assert (figures / name).stat().st_size > 10_000, name
    readme = (tmp_path / "run" / "report" / "README.md").read_text()
    assert "(failed)" not in readme and "DeepLiftSHAP and IG on the same sequences" in readme


def test_the_terminal_counts_datasets_cells_and_training_epochs(tmp_path, capsys):
    """Progress per stage: a bar over the datasets (simulated in this process), one over the cells,
    and, beside it, each training cell's epoch (from the stage lines, see StageWatcher)."""
    data = tiny_suite(tmp_path / "run", methods=[])
    data["seeds"] = [0, 1]
    data["metrics"] = ["prediction"]
    summary = run_suite(load_suite(data), executor=SerialExecutor(), progress=True, report=False)
    assert summary.n_failed == 0
    err = capsys.readouterr().err
    assert "datasets: 100%" in err and "2/2" in err and "cells: 100%" in err
    text = "".join(p.read_text() for p in (tmp_path / "run" / "logs").glob("run-*.log"))
    assert "spi1_single·cnn·1: training epoch 1 of at most 1" in text
