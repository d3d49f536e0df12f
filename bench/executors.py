"""Where jobs run. An executor maps Jobs to JobResults; the driver records them as they arrive.

Executors are looked up by name (``--executor``); each keeps models loaded for the whole run:

- ``serial``: in this process, in plan order; the reference the others must reproduce.
- ``local``: one spawned process per core, each holding one Worker.
- ``ray``: one Ray actor per worker slot of a cluster (or of a local Ray), each holding a Worker.

The parallel executors split the plan into deterministic shards: all jobs reading one input item
(every system and variant) form a group, so the item is read once and its variants can be batched;
groups are dealt to shards longest-first by audio length, ties broken by a stable hash of the item
key. The same plan always yields the same shards, whatever the order jobs arrive in. Every result
is seeded per item (``bench.worker.seed_everything``), so where a job runs never changes its scores.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Sequence

from threadpoolctl import threadpool_limits

from bench.audio import audio_info
from bench.config import RunConfig
from bench.errors import ConfigError, MissingDependencyError
from bench.metric import METRICS
from bench.system import SYSTEMS
from bench.worker import Job, JobResult, Worker

Executor = Callable[[RunConfig, Sequence[Job]], Iterator[JobResult]]
Group = list[Job]


def serial(config: RunConfig, jobs: Sequence[Job]) -> Iterator[JobResult]:
    """In-process, in plan order: the reference every parallel executor must reproduce."""
    with threadpool_limits(1, user_api="blas"):  # as in every worker: see limit_threads
        worker = Worker(config)
        for job in jobs:
            yield worker.process(job)


# --- sharding ---------------------------------------------------------------------------------


def available_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def stable_hash(key: tuple[str, str]) -> int:
    """A hash that is the same in every process and Python run (``hash()`` is salted per process)."""
    return int.from_bytes(hashlib.sha256("\0".join(key).encode()).digest()[:8], "big")


def group_jobs(jobs: Sequence[Job]) -> list[Group]:
    """Jobs that read the same input item, in plan order."""
    groups: dict[tuple[str, str], Group] = {}
    for job in jobs:
        groups.setdefault(job.item_key, []).append(job)
    return list(groups.values())


def _cost(group: Group) -> int:
    """Work estimate: input length x jobs. An unreadable input costs little (it fails at once)."""
    try:
        frames = audio_info(group[0].item.input)[1]
    except Exception:
        frames = 0
    return max(frames, 1) * len(group)


def shard_jobs(jobs: Sequence[Job], shards: int) -> list[list[Group]]:
    """Split jobs into at most ``shards`` lists of item groups with balanced total audio.

    Greedy longest-first assignment (each group to the least loaded shard) is deterministic given
    the set of jobs; within a shard, groups keep plan order.
    """
    if shards < 1:
        raise ConfigError(f"need at least one worker, got {shards}")
    groups = group_jobs(jobs)
    position = {id(group): index for index, group in enumerate(groups)}
    costs = {id(group): _cost(group) for group in groups}
    loads = [0] * shards
    assigned: list[list[Group]] = [[] for _ in range(shards)]
    for group in sorted(groups, key=lambda g: (-costs[id(g)], stable_hash(g[0].item_key))):
        target = loads.index(min(loads))
        assigned[target].append(group)
        loads[target] += costs[id(group)]
    return [sorted(shard, key=lambda g: position[id(g)]) for shard in assigned if shard]


def failed_results(group: Group, reason: str) -> list[JobResult]:
    return [JobResult(job=job, status="failed", reason=reason) for job in group]


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

    A start-up failure is kept and reported on every group rather than crashing the process, so
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

    def run(self, group: Group) -> list[JobResult]:
        if self.worker is None:
            return failed_results(group, f"worker start-up failed: {self.error}")
        results = self.worker.process_batch(group)
        limit_threads(self.threads)  # a model loaded during this group may have brought torch in
        return results


# --- local process pool -----------------------------------------------------------------------

_HOST: _WorkerHost | None = None


def _start_process(config: RunConfig, modules: Sequence[str], threads: int, driver: int) -> None:
    global _HOST
    threading.Thread(target=_exit_with_driver, args=(driver,), daemon=True).start()
    _HOST = _WorkerHost(config, modules, threads)


def _exit_with_driver(driver: int) -> None:
    """A driver killed with SIGKILL cannot stop its pool, and the workers would live on (computing
    into the cache for nobody); so each worker leaves as soon as its parent is gone."""
    while os.getppid() == driver:
        time.sleep(1.0)
    os._exit(1)


def _run_in_process(group: Group) -> list[JobResult]:
    assert _HOST is not None, "worker process was not initialised"
    return _HOST.run(group)


class _Lane:
    """One shard on one single-process pool: groups run in order, so when the process dies the
    first unfinished group is the one that killed it. A fresh process takes over; the group is
    retried job by job, and a job that kills a process on its own is recorded as failed. That is
    how a segfaulting system fails one item and not the run, nor the other systems on that item."""

    def __init__(self, groups: list[Group], start: Callable[[], ProcessPoolExecutor]) -> None:
        self._start = start
        self._pool = start()
        self.pending: list[tuple[Group, Future]] = [(g, self._pool.submit(_run_in_process, g)) for g in groups]

    def collect(self) -> Iterator[JobResult]:
        """Results of the leading finished groups, in order."""
        while self.pending and self.pending[0][1].done():
            group, future = self.pending.pop(0)
            error = future.exception()
            if error is None:
                yield from future.result()
            elif isinstance(error, BrokenProcessPool):
                if len(group) == 1:
                    yield from failed_results(group, "worker process died while processing this item "
                                                     "(a crash in native code?)")
                    self._restart([])
                else:
                    self._restart([[job] for job in group])
                return
            else:
                yield from failed_results(group, f"worker error: {type(error).__name__}: {error}")

    def _restart(self, first: list[Group]) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._start()
        groups = first + [group for group, _ in self.pending]
        self.pending = [(g, self._pool.submit(_run_in_process, g)) for g in groups]

    def close(self) -> None:
        """Reap the process after a complete run; abandon it (it exits after its item) otherwise."""
        self._pool.shutdown(wait=not self.pending, cancel_futures=True)


def local(config: RunConfig, jobs: Sequence[Job]) -> Iterator[JobResult]:
    """A process per core (``workers``), each loading its models once; results stream back as
    each item finishes. Processes are spawned, not forked: forking after torch or onnxruntime
    started threads in the driver can deadlock."""
    shards = shard_jobs(jobs, config.workers or available_cores()) if jobs else []
    if not shards:
        return
    modules = plugin_modules(config)
    threads = max(1, available_cores() // len(shards))
    context = multiprocessing.get_context("spawn")

    def start() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(1, mp_context=context, initializer=_start_process,
                                   initargs=(config, modules, threads, os.getpid()))

    lanes = [_Lane(groups, start) for groups in shards]
    try:
        while any(lane.pending for lane in lanes):
            wait([lane.pending[0][1] for lane in lanes if lane.pending], return_when=FIRST_COMPLETED)
            for lane in lanes:
                yield from lane.collect()
    finally:
        for lane in lanes:
            lane.close()


# --- Ray ----------------------------------------------------------------------------------------


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("ray", "ray", "needed for --executor ray") from exc
    return ray


def _ray_slots(ray: Any, config: RunConfig) -> int:
    """Workers to start: ``workers`` if set, else one per CPU (or per GPU share) of the cluster."""
    resources = ray.cluster_resources()
    gpus = resources.get("GPU", 0)
    if config.ray_gpus > gpus:  # the actors would wait for a GPU forever
        raise ConfigError(f"--ray-gpus {config.ray_gpus:g}: the Ray cluster has {gpus:g} GPUs")
    if config.workers:
        return config.workers
    slots = int(resources.get("CPU", 1))
    if config.ray_gpus > 0:
        slots = min(slots, int(gpus / config.ray_gpus))
    return max(1, slots)


def ray_executor(config: RunConfig, jobs: Sequence[Job]) -> Iterator[JobResult]:
    """The same shards on Ray actors: one actor per worker slot holds a Worker (and a GPU share
    with ``ray_gpus``). Connects to ``ray_address`` (or $RAY_ADDRESS), reuses a Ray the caller has
    already started, or else starts a local one for this run. Workers must be able to import
    sebench and the plugins named in the config (install them on every node)."""
    ray = _import_ray()
    if not jobs:
        return
    started = not ray.is_initialized()
    if started:
        address = config.ray_address or os.environ.get("RAY_ADDRESS")
        local_options = {} if address else {"include_dashboard": False}
        ray.init(address=address, logging_level=logging.WARNING, **local_options)
    actors: list[Any] = []
    try:
        shards = shard_jobs(jobs, _ray_slots(ray, config))
        modules = plugin_modules(config)
        actor_class = ray.remote(_WorkerHost).options(num_cpus=1, num_gpus=config.ray_gpus, max_restarts=1)
        pending: dict[Any, Group] = {}
        for groups in shards:
            actor = actor_class.remote(config, modules, 1)
            actors.append(actor)
            for group in groups:
                pending[actor.run.remote(group)] = group
        while pending:
            done, rest = ray.wait(list(pending), num_returns=1)
            if rest:  # sweep whatever else is ready, without waiting
                done += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
            for ref in done:
                group = pending.pop(ref)
                try:
                    results = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    summary = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    results = failed_results(group, f"Ray worker failed: {summary}")
                yield from results
    finally:
        for actor in actors:
            ray.kill(actor)
        if started:
            ray.shutdown()


EXECUTORS: dict[str, Executor] = {"serial": serial, "local": local, "ray": ray_executor}


def get_executor(name: str) -> Executor:
    if name not in EXECUTORS:
        raise ConfigError(f"unknown executor {name!r}; known: {', '.join(sorted(EXECUTORS))}")
    return EXECUTORS[name]
