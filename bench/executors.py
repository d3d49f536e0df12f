"""Where jobs run. An executor maps Jobs to JobResults; the driver records them as they arrive.

Executors are looked up by name (``--executor``); each keeps models loaded for the whole run:

- ``serial``: in this process, in plan order; the reference the others must reproduce.
- ``local`` (the default): one spawned process per core, each holding one Worker.
- ``ray``: enhancement and scoring actors on a Ray cluster (``bench.ray_executor``).

The parallel executors first settle in the driver every job the cache answers completely (no
process is started for a fully cached re-run), then schedule the rest dynamically: the jobs are cut
into units (``job_units``: one job each, except that a system which batches gets up to
``batch_size`` items of one variant per unit), longest input first, and each worker pulls the next
unit when it has finished its last, so no worker idles while units are left and the slowest
finishes at most one unit after the others. Every result is seeded per item
(``bench.pipeline.seed_everything``), so where and in which order a job runs never changes its scores.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterator, Sequence

from threadpoolctl import threadpool_limits

from bench.audio import audio_info
from bench.config import RunConfig
from bench.crashwatch import CrashWatch
from bench.errors import ConfigError, StorageError
from bench.metric import METRICS
from bench.plan import Job
from bench.system import SYSTEMS, System
from bench.worker import JobResult, Worker, failed_results

Executor = Callable[[RunConfig, Sequence[Job]], Iterator[JobResult]]
Unit = list[Job]
"""Jobs one worker call processes together."""


def serial(config: RunConfig, jobs: Sequence[Job]) -> Iterator[JobResult]:
    """In-process, in plan order: the reference every parallel executor must reproduce.

    A native crash in a system kills this process, and with it the run; ``CrashWatch`` then names
    the system and item, and lets the next run skip that item (``bench.crashwatch``)."""
    if not jobs:
        return
    with threadpool_limits(1, user_api="blas"):  # as in every worker: see limit_threads
        worker = Worker(config)
        watch = CrashWatch(config.run_dir)
        try:
            for job in jobs:
                watch.running(job.label, job.testset, job.item.id)
                yield worker.process(job)
        finally:
            watch.close()


# --- scheduling --------------------------------------------------------------------------------


def available_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def settle_cached(config: RunConfig, jobs: Sequence[Job], probe: Worker | None = None) -> tuple[list[JobResult], list[Job]]:
    """(results the cache holds completely, jobs left to compute), checked in this process without
    loading any model: a fully cached re-run never starts a worker. ``probe``: the driver's own
    Worker, if it keeps one, so the output keys it computes here are not computed again."""
    if not config.use_cache:
        return [], list(jobs)
    probe = probe or Worker(config)
    settled, todo = [], []
    for job in jobs:
        result = probe.cached_result(job)
        if result is None:
            todo.append(job)
        else:
            settled.append(result)
    return settled, todo


def _frames(job: Job) -> int:
    """Input length in samples, the work estimate; an unreadable input costs little (it fails at once)."""
    try:
        return audio_info(job.item.input)[1]
    except Exception:
        return 0


def job_units(config: RunConfig, jobs: Sequence[Job]) -> list[Unit]:
    """Jobs cut into units, longest total input first (ties in plan order).

    A unit is one job, except for systems that override ``enhance_batch``: their jobs of one variant
    share a model call, so up to ``batch_size`` of them (in plan order) form a unit.
    """
    units: list[Unit] = []
    open_batches: dict[tuple[int, str], Unit] = {}
    for job in jobs:
        cls: type[System] = SYSTEMS.get(config.systems[job.system_index].name)
        if cls.batch_size <= 1 or cls.enhance_batch is System.enhance_batch:
            units.append([job])
            continue
        key = (job.system_index, job.variant)
        if key not in open_batches or len(open_batches[key]) >= cls.batch_size:
            open_batches[key] = []
            units.append(open_batches[key])
        open_batches[key].append(job)
    frames = {job.item_key: _frames(job) for job in jobs}
    order = {id(unit): index for index, unit in enumerate(units)}
    return sorted(units, key=lambda unit: (-sum(frames[job.item_key] for job in unit), order[id(unit)]))


def plugin_modules(config: RunConfig) -> list[str]:
    """Modules defining the configured systems and metrics, imported by every worker first so a
    class registered by a plugin in the driver is registered in the worker too."""
    classes = [SYSTEMS.get(spec.name) for spec in config.systems] + [METRICS.get(spec.name) for spec in config.metrics]
    return sorted({cls.__module__ for cls in classes} - {"__main__"})


def limit_threads(threads: int) -> None:
    """Keep workers x library threads within the cores, and BLAS single-threaded everywhere.

    BLAS (numpy's and scipy's OpenBLAS) runs one thread in every executor, serial included: a
    threaded dot product sums in another order, so scores would differ in the last bits between
    executors, and the metrics' small vector ops gain nothing from threads (on a busy 2-core
    machine, SI-SDR ran 10x and STOI 3x slower with 2 BLAS threads than with 1). OpenMP pools
    (torch) get ``threads``. Environment variables cover libraries loaded later.
    """
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    threadpool_limits(1, user_api="blas")
    threadpool_limits(threads, user_api="openmp")
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


class _WorkerHost:
    """What a worker process or actor holds: one Worker, built after importing the plugins.

    A start-up failure is kept and reported on every unit rather than crashing the process, so
    the driver records a clear reason instead of restarting a worker that can never start.
    """

    def __init__(self, config: RunConfig, modules: Sequence[str], threads: int) -> None:
        self.threads = threads
        self.worker: Worker | None = None
        self.error: str | None = None
        try:
            limit_threads(threads)
            for module in modules:
                importlib.import_module(module)
            self.worker = Worker(config)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def run(self, unit: Unit) -> list[JobResult]:
        if self.worker is None:
            return failed_results(unit, f"worker start-up failed: {self.error}", "WorkerStartupError")
        results = self.worker.process_batch(unit)
        limit_threads(self.threads)  # a model loaded during this unit may have brought torch in
        return results


class _Queue:
    """Units waiting for a worker. Each worker holds one unit at a time (none waits behind a long
    one on a busy worker while another worker idles); a unit whose worker died is retried job by
    job at the front."""

    def __init__(self, units: list[Unit]) -> None:
        self._units = deque(units)

    def __bool__(self) -> bool:
        return bool(self._units)

    def pop(self) -> Unit:
        return self._units.popleft()

    def push_front(self, units: Sequence[Unit]) -> None:
        self._units.extendleft(reversed(units))


DIED = "worker process died while processing this item (a crash in native code?)"


# --- local process pool -----------------------------------------------------------------------

_HOST: _WorkerHost | None = None


def _start_process(config: RunConfig, modules: Sequence[str], threads: int, driver: int) -> None:
    global _HOST
    for stop in (signal.SIGINT, signal.SIGTERM):  # sent to the whole process group: the driver stops us
        signal.signal(stop, signal.SIG_IGN)
    threading.Thread(target=_exit_with_driver, args=(driver,), daemon=True).start()
    _HOST = _WorkerHost(config, modules, threads)


def _exit_with_driver(driver: int) -> None:
    """A driver killed with SIGKILL cannot stop its pool, and the workers would live on (computing
    into the cache for nobody); so each worker leaves as soon as its parent is gone."""
    while os.getppid() == driver:
        time.sleep(1.0)
    os._exit(1)


def _run_in_process(unit: Unit) -> list[JobResult]:
    assert _HOST is not None, "worker process was not initialised"
    return _HOST.run(unit)


class _Lane:
    """One worker process (a single-process pool) running one unit at a time, so when the process
    dies the unit it held is the one that killed it. A fresh process takes over; a unit of several
    jobs is retried job by job, and a job that kills a process on its own is recorded as failed.
    That is how a segfaulting system fails one item and not the run."""

    def __init__(self, start: Callable[[], ProcessPoolExecutor]) -> None:
        self._start = start
        self._pool = start()
        self.unit: Unit | None = None
        self.future: Future | None = None

    def submit(self, unit: Unit) -> None:
        self.unit, self.future = unit, self._pool.submit(_run_in_process, unit)

    def collect(self, queue: _Queue) -> list[JobResult]:
        """The finished unit's results ([] while it runs); after a crash, what to retry is queued."""
        if self.future is None or not self.future.done():
            return []
        unit, future = self.unit, self.future
        self.unit = self.future = None
        assert unit is not None
        error = future.exception()
        if error is None:
            return future.result()
        if isinstance(error, StorageError):  # the cache's disk, not this unit: stop the run
            raise error
        if not isinstance(error, BrokenProcessPool):
            return failed_results(unit, f"worker error: {type(error).__name__}: {error}", type(error).__name__)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._start()
        if len(unit) > 1:
            queue.push_front([[job] for job in unit])
            return []
        return failed_results(unit, DIED, "WorkerDied")

    def kill(self) -> list[multiprocessing.process.BaseProcess]:
        """Kill the worker process and let the pool go; returns the process, to be reaped."""
        processes = list(getattr(self._pool, "_processes", {}).values())
        for process in processes:
            process.kill()
        self._pool.shutdown(wait=False, cancel_futures=True)
        return processes


def _end(lanes: Sequence[_Lane]) -> None:
    """End every worker process at once. After a complete run they are idle and all they computed
    is in the driver's hands: a spawned interpreter's orderly exit (tearing down torch and the
    model sessions) took about 1.1 s per worker, one lane after the other, at the end of every run.
    After an interrupted or failed run they must not finish an item nobody will record (workers
    ignore SIGINT and SIGTERM). All are killed before any is reaped: the kernel frees a worker's
    memory in about 0.1 s, and the workers' frees overlap."""
    processes = [process for lane in lanes for process in lane.kill()]
    for process in processes:
        process.join()  # reaped here, so the workers' CPU time counts among this process's children


def local(config: RunConfig, jobs: Sequence[Job]) -> Iterator[JobResult]:
    """A process per core (``workers``), each loading its models on first need; results stream
    back as each unit finishes. Processes are spawned, not forked: forking after torch or
    onnxruntime started threads in the driver can deadlock."""
    settled, todo = settle_cached(config, jobs)
    yield from settled
    units = job_units(config, todo)
    if not units:
        return
    workers = min(config.workers or available_cores(), len(units))
    if workers < 1:
        raise ConfigError(f"need at least one worker, got {workers}")
    modules = plugin_modules(config)
    threads = max(1, available_cores() // workers)
    context = multiprocessing.get_context("spawn")

    def start() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(1, mp_context=context, initializer=_start_process,
                                   initargs=(config, modules, threads, os.getpid()))

    queue = _Queue(units)
    lanes = [_Lane(start) for _ in range(workers)]
    try:
        while True:
            for lane in lanes:
                if queue and lane.future is None:
                    lane.submit(queue.pop())
            busy = [lane.future for lane in lanes if lane.future is not None]
            if not busy:
                break
            wait(busy, return_when=FIRST_COMPLETED)
            for lane in lanes:
                yield from lane.collect(queue)
    finally:
        _end(lanes)


# --- Ray ----------------------------------------------------------------------------------------


def ray_executor(config: RunConfig, jobs: Sequence[Job]) -> Iterator[JobResult]:
    """Enhancement and scoring as two stages of Ray actors, for clusters with no shared disk:
    ``bench.ray_executor`` (imported only when used)."""
    from bench.ray_executor import ray_executor as run

    yield from run(config, jobs)


EXECUTORS: dict[str, Executor] = {"serial": serial, "local": local, "ray": ray_executor}


def get_executor(name: str) -> Executor:
    if name not in EXECUTORS:
        raise ConfigError(f"unknown executor {name!r}; known: {', '.join(sorted(EXECUTORS))}")
    return EXECUTORS[name]
