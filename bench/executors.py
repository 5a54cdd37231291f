"""Executors: run independent cell tasks serially, on a local process pool, or on Ray.

All three take the same picklable task list and a top-level function, and yield
``(index, result)`` as tasks finish, so the runner's bookkeeping is identical.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


@contextmanager
def frozen_heap():
    """``gc.freeze()`` for the duration (a context manager or a decorator).

    What is alive when a run or a report starts (torch, pandas, the stages) outlives it, so full
    collections need not walk it again (each costs ~0.1 s with torch loaded). The outermost use
    unfreezes on exit, so that a long session calling runs one after another does not keep the
    objects of earlier ones out of collection.
    """
    outermost = gc.get_freeze_count() == 0
    gc.freeze()
    try:
        yield
    finally:
        if outermost:
            gc.unfreeze()


# what every worker imports anyway; the fork server imports them once for all workers
_WORKER_MODULES = ["torch", "models", "bench.runner"]


def _process_context():
    """Start method of the local workers and report helpers.

    A fork server is a clean process started once per session that imports the workers' modules
    and then forks each worker: a worker is ready in milliseconds and exits without tearing torch
    down (spawning one took about 2 s to import and 1 s to exit on 2 cores). Forking the caller
    itself is not an option: it may already hold torch's or numba's thread pools, and a fork of those
    can deadlock; the server never computes anything. Spawn where there is no fork server.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover - Windows
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_WORKER_MODULES)
    return ctx


def prestart_local_workers() -> bool:
    """Start the local workers' fork server now, in the background, and return at once.

    Its imports (torch and the stages, about 2 s on 2 cores) then run on another core while the
    caller does its own, instead of after them: ``python -m bench run`` calls this before it imports
    anything heavy, and the pool it builds later forks its workers from this server. Returns whether
    a server was started (not on one core, nor where there is no fork server).
    """
    if cpu_count() < 2:
        return False
    ctx = _process_context()
    if ctx.get_start_method() != "forkserver":  # pragma: no cover - Windows
        return False
    from multiprocessing import forkserver

    forkserver.ensure_running()
    return True


def _init_worker(threads: int):
    # torch and numba (memelite, modisco) are already imported where the fork server preloaded
    # them, with as many threads as cores: both are told the worker's share. numba's OpenMP layer
    # sets the process's OpenMP thread count whenever it runs, and torch uses that count too, so
    # an unset numba would turn every worker's torch multi-threaded after its first FIMO scan
    # (two workers x two threads on two cores: training ran 3-7x slower).
    import sys

    # what the fork server preloaded lives as long as the worker: full collections need not walk it
    gc.freeze()
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if "numba" in sys.modules:
        # numba refuses a changed NUMBA_NUM_THREADS once its pool is up; it takes a smaller share
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    else:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)


class SerialExecutor:
    kind = "serial"

    def __init__(self, workers: int | None = None):
        self.workers = 1

    def start(self, n_tasks: int) -> None:
        pass

    def map(self, fn: Callable, tasks: list) -> Iterator[tuple[int, object]]:
        for i, t in enumerate(tasks):
            yield i, fn(t)

    def close(self):
        pass


class LocalExecutor:
    """A process pool sized to the machine, with torch threads split between workers.

    ``start(n_tasks)`` spawns the workers ahead of ``map``, so that their imports overlap the
    caller's own work (the runner simulates the datasets meanwhile); ``close`` shuts them down.
    """

    kind = "local"

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or cpu_count())
        self._pool = None

    def _n_workers(self, n_tasks: int) -> int:
        return min(self.workers, max(1, n_tasks))

    def start(self, n_tasks: int) -> None:
        workers = self._n_workers(n_tasks)
        if workers == 1 or self._pool is not None:
            return
        threads = max(1, cpu_count() // workers)
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=_process_context(),
                                         initializer=_init_worker, initargs=(threads,))
        for _ in range(workers):  # the pool starts a worker per submitted task
            self._pool.submit(os.getpid)

    def map(self, fn: Callable, tasks: list) -> Iterator[tuple[int, object]]:
        if self._pool is None and self._n_workers(len(tasks)) == 1:
            _init_worker(max(1, cpu_count()))
            yield from SerialExecutor().map(fn, tasks)
            return
        self.start(len(tasks))
        futures = {self._pool.submit(fn, t): i for i, t in enumerate(tasks)}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class RayExecutor:
    """Runs tasks as Ray remote functions: a local cluster, or an existing one via ``address``."""

    kind = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None):
        try:
            import ray
        except ImportError as exc:
            raise RuntimeError("the Ray executor needs the ray extra: pip install -e '.[ray]'") from exc
        self.ray = ray
        self.address = address
        self.workers = workers or cpu_count()
        self._started = False

    def _ensure(self):
        if not self.ray.is_initialized():
            kwargs = dict(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
            if self.address:
                self.ray.init(address=self.address, **kwargs)
            else:
                self.ray.init(num_cpus=self.workers, **kwargs)
            self._started = True

    def start(self, n_tasks: int) -> None:
        self._ensure()

    def map(self, fn: Callable, tasks: list) -> Iterator[tuple[int, object]]:
        self._ensure()
        threads = max(1, cpu_count() // max(1, min(self.workers, len(tasks) or 1)))

        def _run(task, threads=threads):
            _init_worker(threads)
            return fn(task)

        remote = self.ray.remote(num_cpus=1)(_run)
        refs = {remote.remote(t): i for i, t in enumerate(tasks)}
        pending = list(refs)
        while pending:
            done, pending = self.ray.wait(pending, num_returns=1)
            for ref in done:
                yield refs[ref], self.ray.get(ref)

    def close(self):
        if self._started:
            self.ray.shutdown()
            self._started = False


def make_executor(kind: str = "local", workers: int | None = None, address: str | None = None):
    if kind == "serial":
        return SerialExecutor(workers)
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(workers, address)
    raise ValueError(f"executor must be one of local, ray, serial; got {kind!r}")


def run_all(executor, fn: Callable, tasks: Iterable) -> Iterator[tuple[int, object]]:
    return executor.map(fn, list(tasks))


def _call(job):
    fn, args = job
    return fn(*args)


# the job counters share_work's helpers claim from: set in each helper by _init_helper
_shared_bounds = None


def _init_helper(threads: int, bounds) -> None:
    global _shared_bounds
    _init_worker(threads)
    _shared_bounds = bounds


def _claim(bounds, end: int):
    """Index of the next unclaimed job from the front (``end`` 0) or the back (1), or None."""
    with bounds.get_lock():
        if bounds[0] > bounds[1]:
            return None
        i = bounds[end]
        bounds[end] += 1 if end == 0 else -1
        return i


def _drain(jobs: list) -> dict:
    """In a helper: run jobs from the front until none is left; ``{index: result}``."""
    done = {}
    while (i := _claim(_shared_bounds, 0)) is not None:
        done[i] = _call(jobs[i])
    return done


def share_work(jobs: list, helpers: int | None = None) -> list:
    """Run ``fn(*args)`` for each ``(fn, args)`` in ``jobs`` here and on helper processes.

    The helpers take jobs from the front of the list, one at a time, while this process takes them
    from the back, through counters in shared memory: each job runs exactly once, this process works
    while the helpers start, and nobody idles while a job is left (a process pool would queue jobs
    ahead for a helper, which this process could then not take). The job list travels to each helper
    once, so an argument shared by many jobs is pickled once. ``helpers`` defaults to one fewer than
    the cores; with none, or a single job, everything runs here. Functions and arguments must be
    picklable.

    Returns
    -------
    list
        The results in the order of ``jobs``.
    """
    helpers = (cpu_count() - 1) if helpers is None else helpers
    helpers = min(max(0, helpers), len(jobs) - 1)
    if helpers <= 0:
        return [_call(job) for job in jobs]
    ctx = _process_context()
    bounds = ctx.Array("l", [0, len(jobs) - 1])  # next from the front, next from the back
    done = {}
    # the helpers and this process share the cores: each helper takes its share of threads
    with ProcessPoolExecutor(max_workers=helpers, mp_context=ctx, initializer=_init_helper,
                             initargs=(max(1, cpu_count() // (helpers + 1)), bounds)) as pool:
        drains = [pool.submit(_drain, jobs) for _ in range(helpers)]
        try:
            while (i := _claim(bounds, 1)) is not None:
                done[i] = _call(jobs[i])
        except BaseException:
            with bounds.get_lock():  # the helpers stop after their current job
                bounds[0] = len(jobs)
            raise
        for drain in drains:
            done.update(drain.result())
    return [done[i] for i in range(len(jobs))]
