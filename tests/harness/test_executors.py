import gc
import operator
import os

import pytest

from bench.executors import cpu_count, frozen_heap, share_work


def _jobs(n):
    return [(operator.mul, (i, 10)) for i in range(n)]


@pytest.mark.parametrize("helpers", [0, 1, 2])
def test_share_work_returns_every_result_in_order(helpers):
    assert share_work(_jobs(7), helpers=helpers) == [i * 10 for i in range(7)]


def test_share_work_runs_each_job_once_across_processes():
    pids = share_work([(os.getpid, ()) for _ in range(12)], helpers=1)
    assert len(pids) == 12
    # this process worked (it takes jobs from the back) while the helper started
    assert os.getpid() in pids


def _pid_after(seconds):
    import time

    time.sleep(seconds)
    return os.getpid()


def test_share_work_hands_a_helper_one_job_at_a_time():
    """While the helper is busy with a slow first job, this process takes every other job: none is
    queued ahead for the helper, where this process could not take it."""
    pids = share_work([(_pid_after, (1.0,))] + [(_pid_after, (0.15,))] * 4, helpers=1)
    assert pids[0] != os.getpid() and pids[1:] == [os.getpid()] * 4


def test_share_work_edge_cases():
    assert share_work([], helpers=3) == []
    assert share_work([(os.getpid, ())], helpers=3) == [os.getpid()]  # one job: no helper is started


def test_share_work_raises_a_job_error():
    with pytest.raises(ZeroDivisionError):
        share_work([(operator.truediv, (1, 0)), (operator.add, (1, 2))], helpers=1)


def test_local_executor_started_early_runs_the_tasks_and_closes():
    from bench.executors import LocalExecutor

    ex = LocalExecutor(2)
    ex.start(3)  # workers spawn now, before any task is known
    try:
        pool = ex._pool
        assert pool is not None
        got = dict(ex.map(abs, [-1, -2, -3]))
        assert got == {0: 1, 1: 2, 2: 3} and ex._pool is pool  # the started pool ran them
    finally:
        ex.close()
    assert ex._pool is None
    ex.close()  # a second close is harmless
    assert dict(LocalExecutor(2).map(abs, [-5])) == {0: 5}  # one task: in this process, no pool


def _threads_after_numba(_):
    """Run a parallel numba kernel (as FIMO does), then report the worker's torch and numba threads."""
    import numba
    import numpy as np
    import torch

    @numba.njit(parallel=True)
    def total(a):
        s = 0.0
        for i in numba.prange(a.size):
            s += a[i]
        return s

    total(np.ones(100))
    return torch.get_num_threads(), numba.get_num_threads()


def test_local_workers_keep_their_thread_share_after_numba_runs():
    """numba's OpenMP layer resets the process's thread count when it runs; torch in the same worker
    must keep the worker's share (two workers on two cores: one thread each), or workers oversubscribe."""
    from bench.executors import LocalExecutor, cpu_count

    ex = LocalExecutor(2)
    try:
        got = [r for _, r in ex.map(_threads_after_numba, list(range(4)))]
    finally:
        ex.close()
    share = max(1, cpu_count() // 2)
    assert got == [(share, share)] * 4


def _parent_pid(_):
    import os

    return os.getppid()


@pytest.mark.skipif(cpu_count() < 2, reason="one core: no worker pool")
def test_prestarted_fork_server_is_the_one_the_pool_forks_from(monkeypatch):
    """``python -m bench run`` starts the fork server before its own imports; the pool built later
    must fork its workers from that server rather than start another."""
    from multiprocessing import forkserver

    from bench import executors

    forkserver._forkserver._stop()  # a server left by an earlier test would hide a prestart that did nothing
    assert forkserver._forkserver._forkserver_pid is None
    assert executors.prestart_local_workers() is True
    server = forkserver._forkserver._forkserver_pid
    assert server is not None
    ex = executors.LocalExecutor(2)
    try:
        parents = {ppid for _, ppid in ex.map(_parent_pid, [0, 1, 2])}
    finally:
        ex.close()
    assert parents == {server} and forkserver._forkserver._forkserver_pid == server
    monkeypatch.setattr(executors, "cpu_count", lambda: 1)
    assert executors.prestart_local_workers() is False


def test_run_reads_the_suites_executor_kind_before_validating(tmp_path):
    from bench.__main__ import _suite_executor_kind

    (tmp_path / "serial.yaml").write_text("name: s\nexecutor: {kind: serial}\n")
    (tmp_path / "bare.yaml").write_text("name: s\n")
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    assert _suite_executor_kind(tmp_path / "serial.yaml") == "serial"
    assert _suite_executor_kind(tmp_path / "bare.yaml") == "local"
    assert _suite_executor_kind(tmp_path / "broken.yaml") == "local"  # the validation reports it
    assert _suite_executor_kind(tmp_path / "missing.yaml") == "local"


def test_frozen_heap_unfreezes_only_when_outermost():
    """A run freezes what is alive for its duration; a nested use (the report inside a run) leaves the
    freeze to the outer one, and the outermost gives every object back to the collector."""
    gc.unfreeze()
    with frozen_heap():
        assert gc.get_freeze_count() > 0
        with frozen_heap():
            pass
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def _sleep_then_clean(path):
    """A task that holds a temporary file, like a stage holds its temporary cache entry."""
    import time
    from pathlib import Path

    p = Path(path)
    p.write_text(str(os.getpid()))
    try:
        time.sleep(120)
    finally:
        p.unlink()
    return 1


@pytest.mark.skipif(cpu_count() < 2, reason="one core: no worker pool")
def test_an_interrupt_stops_the_running_tasks_and_lets_them_clean_up(tmp_path):
    """Ctrl-C or SIGTERM while the pool runs: close() does not wait for the running tasks (it
    once did, for as long as they took), but each worker cleans up its task and exits."""
    import signal
    import threading
    import time

    from bench.executors import LocalExecutor

    files = [tmp_path / f"task{i}" for i in range(2)]

    def interrupt_when_running():
        deadline = time.time() + 60
        while time.time() < deadline and not all(f.exists() for f in files):
            time.sleep(0.05)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # Ctrl-C, to this process only

    ex = LocalExecutor(2)
    # Ctrl-C must reach this process as Python's own KeyboardInterrupt, whatever handler an earlier test
    # of the session left installed (once seen in a full run: the interrupt was swallowed)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=interrupt_when_running, daemon=True).start()
    t0 = time.time()
    try:
        with pytest.raises(KeyboardInterrupt):
            try:
                for _ in ex.map(_sleep_then_clean, [str(f) for f in files]):
                    pass
            finally:
                ex.close()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert time.time() - t0 < 30
    pids = [int(f.read_text()) for f in files if f.exists()]
    assert pids == []  # each task's `finally` ran


def test_a_worker_ends_when_the_process_it_watches_exits(tmp_path):
    """The watch a pool worker keeps on its pool's owner: a subprocess stands in for the owner."""
    import subprocess
    import sys
    import time

    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    script = ("import time\n"
              "from bench.executors import _guarded, _init_worker\n"
              f"_init_worker(1, {owner.pid})\n"
              "def task(seconds):\n"
              "    print('ready', flush=True)\n"
              "    try:\n"
              "        time.sleep(seconds)\n"
              "    finally:\n"
              "        print('cleaned up', flush=True)\n"
              "_guarded(task, 60)\n"
              "print('not reached', flush=True)\n")
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    try:
        assert worker.stdout.readline().strip() == "ready"
        t0 = time.time()
        owner.kill()
        owner.wait()
        out, _ = worker.communicate(timeout=30)
    finally:
        for p in (owner, worker):
            if p.poll() is None:
                p.kill()
    # the task's clean-up ran, then the worker exited at once (128 + SIGTERM), not after its task
    assert worker.returncode == 143 and out.split() == ["cleaned", "up"] and time.time() - t0 < 10


def test_local_and_ray_executors_agree(tmp_path):
    """The Ray executor gives what the local pool gives (both give each of their workers the same
    share of threads). CI installs the ray extra, so this runs on every submission."""
    pytest.importorskip("ray")
    from bench.executors import make_executor
    from bench.runner import run_suite
    from bench.suite import load_suite
    from tests.harness.test_end_to_end import _comparable, tiny_suite

    def run(kind):
        return run_suite(load_suite(tiny_suite(tmp_path / kind, seeds=(0, 1))), executor=make_executor(kind, 2),
                         progress=False, report=False)

    local, ray_run = run("local"), run("ray")
    assert local.n_failed == 0 and ray_run.n_failed == 0
    import pandas as pd

    pd.testing.assert_frame_equal(_comparable(local.results), _comparable(ray_run.results))
