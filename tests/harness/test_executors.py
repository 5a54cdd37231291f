import operator
import os

import pytest

from bench.executors import share_work


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
