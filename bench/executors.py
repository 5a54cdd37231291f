"""Executors: run independent cell tasks serially, on a local process pool, or on Ray.

All three take the same picklable task list and a top-level function, and yield
``(index, result)`` as tasks finish, so the runner's bookkeeping is identical.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Callable, Iterator


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


# --------------------------------------------------------------------------- worker lifetime
#
# A worker is forked from the fork server, not from the process that runs the suite, and it holds
# the fork server's and the resource tracker's pipes: were it to outlive that process (SIGKILL, the
# OOM killer, a supervisor's SIGTERM), it would go on computing, then idle, and keep both of them
# alive. So each worker watches the process that started its pool and ends itself when that one
# exits; its fork server and resource tracker then see their pipes close and exit too. A worker
# also takes SIGTERM as the end: the stage it is computing is interrupted (its temporary cache
# entry is removed, a subprocess it waits on is killed), and the process exits.

# how long an ending worker may take to clean up its current stage before it exits regardless
WORKER_GRACE_S = 5.0
_ending = threading.Event()


def _children(pid: int) -> list[int]:
    """The direct children of ``pid`` (from ``/proc``; empty where there is none)."""
    out = []
    try:
        names = os.listdir("/proc")
    except OSError:  # pragma: no cover - no /proc
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append(int(name))
    return out


def _exit_now(code: int = 1, finalize: bool = False) -> None:
    """End this worker at once, and any subprocess it left (a modisco job). ``finalize`` first runs
    multiprocessing's finalizers, as a worker's normal exit does (they unlink the semaphores it made,
    e.g. tqdm's lock, which the resource tracker would otherwise report as leaked); only from the
    main thread, once its stage is cleaned up."""
    for child in _children(os.getpid()):
        try:
            os.kill(child, signal.SIGKILL)
        except OSError:
            pass
    if finalize:
        try:
            from multiprocessing import util

            util._run_finalizers(0)
            util._run_finalizers()
        except Exception:
            pass
    os._exit(code)


def _end_worker(grace: float | None = None) -> None:
    """Interrupt this worker's current stage, then exit within ``grace`` seconds whatever it does."""
    if _ending.is_set():
        return
    _ending.set()
    timer = threading.Timer(WORKER_GRACE_S if grace is None else grace, _exit_now, args=(128 + signal.SIGTERM,))
    timer.daemon = True
    timer.start()


def _on_worker_signal(signum, frame):
    """SIGTERM or SIGINT in a worker: interrupt the current stage once. A second signal (Ctrl-C to
    the process group, then the pool's SIGTERM) must not cut that stage's clean-up short (its
    temporary cache entry would stay): the grace timer ends the worker if the clean-up hangs."""
    if _ending.is_set():
        return
    _end_worker()
    if not _in_task:  # idle between tasks: leave quietly (no traceback from the pool's loop)
        raise SystemExit(128 + signum)
    raise KeyboardInterrupt


_in_task = False


def _guarded(fn: Callable, task):
    """Run a pool task; a worker that is ending exits as soon as the task's clean-up is done."""
    global _in_task
    _in_task = True
    try:
        return fn(task)
    except KeyboardInterrupt:
        if _ending.is_set():
            _exit_now(128 + signal.SIGTERM, finalize=True)
        raise
    finally:
        _in_task = False


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except (OSError, IndexError):  # pragma: no cover - no /proc
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True


def _watch_parent(pid: int) -> None:
    """Start a daemon thread that ends this worker when process ``pid`` exits (see above)."""
    try:
        fd = os.pidfd_open(pid)  # readable once the process has exited (Linux 5.3+)
    except (AttributeError, OSError):
        fd = None

    def watch():
        if fd is not None:
            select.select([fd], [], [])
        else:  # pragma: no cover - no pidfd
            while _pid_alive(pid):
                time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)  # the main thread cleans up its stage, as on SIGTERM

    if fd is None and not _pid_alive(pid):
        _exit_now()
    threading.Thread(target=watch, name=f"bench-watch-{pid}", daemon=True).start()


def _log_targets() -> list:
    """The log files of this process's ``bench`` logger, for its workers to write to as well."""
    logger = logging.getLogger("bench")
    out = []
    for h in logger.handlers:
        if isinstance(h, logging.FileHandler):
            fmt = h.formatter._fmt if h.formatter is not None else None
            out.append((h.baseFilename, fmt, h.level, logger.level))
    return out


def _forward_logs(targets) -> None:
    """In a worker: log to the caller's files too (appending), so that a worker's tracebacks (a
    training or a method that failed) reach ``logs/run-*.log`` and not the console only."""
    logger = logging.getLogger("bench")
    have = {h.baseFilename for h in logger.handlers if isinstance(h, logging.FileHandler)}
    for filename, fmt, level, logger_level in targets or ():
        if filename in have:
            continue
        handler = logging.FileHandler(filename, mode="a", delay=True)
        handler.setLevel(level)
        if fmt:
            handler.setFormatter(logging.Formatter(fmt))
        logger.addHandler(handler)
        have.add(filename)
        if logger_level and (logger.level == logging.NOTSET or logger.level > logger_level):
            logger.setLevel(logger_level)


def gpu_count() -> int:
    """CUDA devices this process sees (0 without torch's CUDA build or a GPU)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _take_gpu(slots) -> None:
    """Give this worker the next GPU, round robin over the devices (``slots``: a shared counter): "cuda"
    and "auto" then mean that device in this worker."""
    import torch

    with slots.get_lock():
        slot = slots.value
        slots.value += 1
    torch.cuda.set_device(slot % torch.cuda.device_count())


def _init_worker(threads: int, parent: int | None = None, log_targets=(), gpu_slots=None):
    """Set up a worker process: its share of threads and, in a pool's worker (``parent`` given),
    its lifetime (it ends with ``parent``, and on SIGTERM), its logs (``log_targets``) and, where
    there are GPUs (``gpu_slots``, a shared counter), its own GPU."""
    if parent is not None:
        signal.signal(signal.SIGTERM, _on_worker_signal)
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a run started with Ctrl-C ignored keeps it so
            signal.signal(signal.SIGINT, _on_worker_signal)
        _watch_parent(parent)
    if log_targets:
        _forward_logs(log_targets)
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
    if gpu_slots is not None:
        _take_gpu(gpu_slots)


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
        if workers is not None and (isinstance(workers, bool) or workers < 1):
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        self.workers = workers or cpu_count()
        self._pool = None
        self._interrupted = False

    def _n_workers(self, n_tasks: int) -> int:
        return min(self.workers, max(1, n_tasks))

    def start(self, n_tasks: int) -> None:
        workers = self._n_workers(n_tasks)
        if workers == 1 or self._pool is not None:
            return
        threads = max(1, cpu_count() // workers)
        self._interrupted = False
        ctx = _process_context()
        # each worker its own GPU where there are several (round robin; with one, they share it)
        slots = ctx.Value("i", 0) if gpu_count() > 1 else None
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                         initargs=(threads, os.getpid(), _log_targets(), slots))
        for _ in range(workers):  # the pool starts a worker per submitted task
            self._pool.submit(os.getpid)

    def map(self, fn: Callable, tasks: list) -> Iterator[tuple[int, object]]:
        if self._pool is None and self._n_workers(len(tasks)) == 1:
            _init_worker(max(1, cpu_count()))
            yield from SerialExecutor().map(fn, tasks)
            return
        self.start(len(tasks))
        futures = {self._pool.submit(_guarded, fn, t): i for i, t in enumerate(tasks)}
        try:
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        except (KeyboardInterrupt, SystemExit):
            self._interrupted = True
            raise

    def close(self, grace: float = 2 * WORKER_GRACE_S):
        """Shut the pool down. After the tasks are done, or on an error, this waits for running tasks;
        on an interrupt (Ctrl-C, SIGTERM: a KeyboardInterrupt being handled), it stops the workers
        instead: each gets SIGTERM (its current stage is cleaned up, see ``_end_worker``), and one
        still there after ``grace`` seconds is killed."""
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        interrupted = self._interrupted or isinstance(sys.exc_info()[1], (KeyboardInterrupt, SystemExit))
        self._interrupted = False
        if not interrupted:
            pool.shutdown(cancel_futures=True)
            return
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            try:
                os.kill(p.pid, signal.SIGTERM)
            except (OSError, TypeError):
                pass
        deadline = time.monotonic() + grace
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(1.0)
        pool.shutdown(wait=True)  # the workers are gone: this only joins the pool's own thread and queues


class RayExecutor:
    """Runs tasks as Ray remote functions: a local cluster, or an existing one via ``address``."""

    kind = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None, device: str = "auto"):
        self.device = device
        try:
            import ray
        except ImportError as exc:
            raise RuntimeError("the Ray executor needs the ray extra: pip install -e '.[ray]'") from exc
        self.ray = ray
        self.address = address
        if workers is not None and (isinstance(workers, bool) or workers < 1):
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
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
        logs = _log_targets() if not self.address else []  # a remote cluster cannot reach our files

        def _run(task, threads=threads, logs=logs):
            _init_worker(threads, log_targets=logs)
            return fn(task)

        remote = self.ray.remote(num_cpus=1, num_gpus=self.gpus_per_task())(_run)
        refs = {remote.remote(t): i for i, t in enumerate(tasks)}
        pending = list(refs)
        while pending:
            done, pending = self.ray.wait(pending, num_returns=1)
            for ref in done:
                yield refs[ref], self.ray.get(ref)

    def gpus_per_task(self) -> float:
        """The GPU share each cell asks for: its part of the cluster's GPUs over the workers (at most one),
        0 with ``device: cpu`` or no GPU. A cell's MoDISco and FIMO run on the CPU inside it."""
        self._ensure()
        gpus = float(self.ray.cluster_resources().get("GPU", 0.0))
        if self.device == "cpu" or gpus <= 0:
            return 0.0
        return min(1.0, gpus / self.workers)

    def close(self):
        if self._started:
            self.ray.shutdown()
            self._started = False


def make_executor(kind: str = "local", workers: int | None = None, address: str | None = None,
                  device: str = "auto"):
    if kind == "serial":
        return SerialExecutor(workers)
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(workers, address, device)
    raise ValueError(f"executor must be one of local, ray, serial; got {kind!r}")


def _call(job):
    fn, args = job
    return fn(*args)


# the job counters share_work's helpers claim from: set in each helper by _init_helper
_shared_bounds = None


def _init_helper(threads: int, bounds, parent: int | None = None, log_targets=()) -> None:
    global _shared_bounds
    _init_worker(threads, parent, log_targets)
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
                             initargs=(max(1, cpu_count() // (helpers + 1)), bounds, os.getpid(),
                                       _log_targets())) as pool:
        drains = [pool.submit(_guarded, _drain, jobs) for _ in range(helpers)]
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
