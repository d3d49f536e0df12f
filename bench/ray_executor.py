"""The Ray executor: enhancement and scoring as two stages of actors, for clusters with no shared disk.

Why two stages: on a cluster the expensive resource is the GPU an enhancement model sits on; an
actor that also ran DNSMOS, PESQ and Whisper on CPU would hold that GPU idle meanwhile. So:

- **Enhancement actors** hold the systems: each reserves its GPU share (``ray_gpus``) and no CPU,
  so on a CPU-only cluster the cores stay free for whichever stage has work (``workers`` of them;
  by default one per GPU share, or one per CPU without GPUs).
- **Scoring actors** hold the metrics: one CPU each (``ray_score_cpus``; by default one per CPU of
  the nodes that may score).
- **The driver is the queue between them**: it hands each enhancement actor the next unit of jobs
  as soon as it has room (pull, not static shards; two units each, so none waits for the driver),
  and each finished unit's outputs go straight to the next free scoring actor (Ray moves them from
  node to node; the driver never re-sends them) while the enhancement actors carry on. Enhancement
  stops only when the scoring backlog is full (bounded memory).
- **Custom resources pin a stage to nodes** (``ray_enhance_resources``/``ray_score_resources``,
  e.g. ``{"gpu_node": 0.01}``), and actors are spread over the nodes that qualify.

No shared filesystem is assumed. Item files travel to actors through Ray's object store
(``bench.item_files``: each node stages them once, content-addressed); outputs come back the same
way and the driver writes every output and score it records into *its own* cache, so the run's
store, reports and listening page only ever name files on the driver's machine. Each actor caches
into its node's ``$SEBENCH_HOME/cache``, or into ``ray_cache`` when given (an fsspec URL all nodes
share, e.g. ``s3://bucket/sebench-cache``). The driver first settles everything its own cache
answers, and sends jobs whose output it already holds straight to scoring.

An actor that dies (node lost, out of memory, a crash in native code) is replaced. Ray runs an
actor's tasks in submission order, so the unit it was working on is the suspect: its jobs are
retried once each, alone; a job that kills its actor again is recorded as failed. The units queued
behind it go back to the queue untouched. Every result is seeded per item, so where and in which
order a job runs never changes its scores: results equal the serial run's.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from bench.cache import Cache
from bench.config import RunConfig
from bench.errors import ConfigError, MissingDependencyError, StorageError
from bench.executors import job_units, limit_threads, plugin_modules, settle_cached
from bench.fsspec_cache import open_cache
from bench.item_files import Blobs, Manifest, Staging, manifest, pack
from bench.paths import sebench_home
from bench.plan import Job
from bench.status import Status
from bench.worker import JobResult, Worker, failed_results

Unit = list[Job]
Outputs = list["tuple[np.ndarray, int] | None"]
"""Per job of a unit: its output at the item's rate, or None where enhancement failed."""

DIED = "Ray actor died while processing this item, twice (a crash in native code, or its node was lost)"
STARTUP_DEATHS = 3
"""Actors of one stage that may die before they are up, in a row, before the stage gives up: an
actor that cannot even start (a crash importing a library) would otherwise be replaced forever."""
DEATH_SETTLE_SECONDS = 30.0
"""How long the tasks of a dead actor may take to be reported finished or lost."""
SCORE_BACKLOG = 2
"""Enhanced units waiting for scoring, per scoring actor, before enhancement pauses."""


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("ray", "ray", "needed for --executor ray") from exc
    return ray


# --- actors -----------------------------------------------------------------------------------


class _Host:
    """What an actor of either stage holds: a Worker on its node's cache, and the node's staging
    folder for item files. A start-up failure is reported on every unit instead of crashing."""

    def __init__(self, config: RunConfig, modules: Sequence[str], cache: str | None) -> None:
        self.worker: Worker | None = None
        self.error: str | None = None
        home = sebench_home()  # this node's, not the driver's
        self.staging = Staging(home / "ray-inputs")
        try:
            limit_threads(1)
            for module in modules:
                importlib.import_module(module)
            self.worker = Worker(config)
            self.worker.cache = open_cache(cache or home / "cache")
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def _localise(self, unit: Unit, files: Mapping[tuple[str, str], Manifest], blobs: list[Any]) -> Unit:
        import ray

        fetched: list[Blobs] = []

        def fetch() -> Blobs:
            if not fetched:
                fetched.append(ray.get(blobs[0]))
            return fetched[0]

        return [replace(job, item=self.staging.localise(job.item, files[job.item_key], fetch)) for job in unit]

    def _started(self, unit: Unit) -> list[JobResult] | None:
        if self.worker is None:
            return failed_results(unit, f"worker start-up failed: {self.error}", "WorkerStartupError")
        return None

    def node(self) -> dict[str, str]:
        """Where this actor runs (for tests and logs): Ray node id and the node's SEBENCH_HOME."""
        import ray

        return {"node_id": ray.get_runtime_context().get_node_id(), "home": str(sebench_home()), "pid": str(os.getpid())}


class EnhanceHost(_Host):
    def enhance(self, unit: Unit, files: Mapping[tuple[str, str], Manifest], blobs: list[Any]) -> tuple[list[JobResult], Outputs]:
        failed = self._started(unit)
        if failed is not None:
            return failed, [None] * len(unit)
        local = self._localise(unit, files, blobs)
        results, outputs = self.worker.enhance_batch(local)
        limit_threads(1)  # a model loaded for this unit may have brought torch in
        _restore(results, unit, local)
        return results, [None if i not in outputs else (outputs[i][0], outputs[i][1]) for i in range(len(unit))]


class ScoreHost(_Host):
    def score(self, unit: Unit, files: Mapping[tuple[str, str], Manifest], blobs: list[Any],
              enhanced: list[JobResult], outputs: Outputs) -> tuple[list[JobResult], dict[str, dict[str, float]]]:
        """Scores for each job with an output; also every score entry read or written, for the
        driver's cache."""
        failed = self._started(unit)
        if failed is not None:
            return failed, {}
        local = self._localise(unit, files, blobs)
        recorder = _RecordingScores(self.worker.cache)
        self.worker.cache = recorder
        try:
            for job, result, output in zip(local, enhanced, outputs):
                if output is not None:
                    result.job = job
                    self.worker.score(job.item, output[0], output[1], result)
        finally:
            self.worker.cache = recorder.inner
        _restore(enhanced, unit, local)
        return enhanced, recorder.entries


class _RecordingScores(Cache):
    """A cache that passes everything through and notes each score entry it serves or stores."""

    def __init__(self, inner: Cache) -> None:
        self.inner = inner
        self.entries: dict[str, dict[str, float]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get_scores(self, key: str) -> dict[str, float] | None:
        scores = self.inner.get_scores(key)
        if scores is not None:
            self.entries[key] = scores
        return scores

    def put_scores(self, key: str, scores: Mapping[str, float]) -> None:
        self.inner.put_scores(key, scores)
        self.entries[key] = dict(scores)


def _restore(results: list[JobResult], unit: Unit, local: Unit) -> None:
    """Give results back their driver-side jobs, and name the driver's files in failure texts
    rather than this node's staged copies."""
    for result, job, staged in zip(results, unit, local):
        result.job = job
        driver_files = dict(job.item.files())
        swaps = [(str(path), str(driver_files[role])) for role, path in staged.item.files()]
        result.reason = _swap(result.reason, swaps)
        result.metric_errors = {name: (kind, _swap(text, swaps)) for name, (kind, text) in result.metric_errors.items()}


def _swap(text: str | None, swaps: list[tuple[str, str]]) -> str | None:
    if text:
        for old, new in swaps:
            text = text.replace(old, new)
    return text


# --- driver -----------------------------------------------------------------------------------


@dataclass
class _Task:
    """A unit on its way through the stages."""

    unit: Unit
    retry: bool = False
    """Its jobs already died with an actor once: one more death and they are recorded as failed."""
    files: dict[tuple[str, str], Manifest] = field(default_factory=dict)
    blobs: Any = None
    """ObjectRef of the unit's item files (sha256 -> bytes), put once for both stages."""
    enhanced: list[JobResult] = field(default_factory=list)
    outputs: Any = None
    """ObjectRef of the unit's outputs (``Outputs``), from the enhancement actor or the driver."""
    keys: list[str | None] = field(default_factory=list)
    """Output cache key per job, computed once by the driver when the task is made (None where it
    cannot be: an unreadable item file); once enhanced, None also where enhancement failed."""


@dataclass
class _Actor:
    handle: Any
    node: str
    """The Ray node it was placed on (softly: a replacement goes elsewhere if that node is gone)."""
    ready: bool = False
    held: deque = field(default_factory=deque)
    """(ref, task) in submission order: Ray runs them in that order, so the first is the running one."""


class _Stage:
    """A pool of actors of one kind; each holds up to two tasks, and a dead one is replaced."""

    def __init__(self, ray: Any, name: str, make: Callable[[str], Any], nodes: Sequence[str]) -> None:
        self.ray, self.name, self._make = ray, name, make
        self.actors = [self._start(node) for node in nodes]
        self.queue: deque[_Task] = deque()
        self.refs: dict[Any, tuple[_Actor, _Task | None]] = {}
        self.startup_deaths = 0
        self.broken: str | None = None
        """Why the stage gave up (its actors kept dying on start-up); its jobs are then failed."""
        for actor in self.actors:
            self._watch_ready(actor)

    def _start(self, node: str) -> _Actor:
        return _Actor(self._make(node), node)

    def _watch_ready(self, actor: _Actor) -> None:
        self.refs[actor.handle.node.remote()] = (actor, None)

    def depth(self) -> int:
        return 2 if len(self.queue) > 2 * len(self.actors) else 1

    def dispatch(self, submit: Callable[[Any, _Task], Any], allowed: Callable[[], bool] = lambda: True) -> None:
        for actor in self.actors:
            while actor.ready and self.queue and len(actor.held) < self.depth() and allowed():
                task = self.queue.popleft()
                ref = submit(actor.handle, task)
                actor.held.append((ref, task))
                self.refs[ref] = (actor, task)

    def busy(self) -> bool:
        return any(actor.held for actor in self.actors) or bool(self.queue)

    def finish(self, ref: Any) -> tuple[_Actor, _Task | None]:
        actor, task = self.refs.pop(ref)
        if task is None:
            actor.ready = True
            self.startup_deaths = 0
        else:
            actor.held = deque(entry for entry in actor.held if entry[0] != ref)
        return actor, task

    def replace(self, dead: _Actor, *, restart: bool = True) -> list[tuple[Any, _Task]]:
        """Start a new actor for a dead one (unless ``restart`` is false); returns the tasks it
        held with their refs, in submission order."""
        held = list(dead.held)
        self.refs = {ref: entry for ref, entry in self.refs.items() if entry[0] is not dead}
        self.ray.kill(dead.handle, no_restart=True)
        if not dead.ready:
            self.startup_deaths += 1
        if restart:
            fresh = self._start(dead.node)
            self.actors[self.actors.index(dead)] = fresh
            self._watch_ready(fresh)
        else:
            self.actors.remove(dead)
        return held

    def give_up(self, reason: str) -> list[_Task]:
        """Stop every actor; returns every task the stage still had, held or queued."""
        self.broken = reason
        tasks: list[_Task] = []
        for actor in list(self.actors):
            tasks += [task for _, task in self.replace(actor, restart=False)]
        tasks += self.queue
        self.queue.clear()
        return tasks

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor.handle, no_restart=True)


def _qualifies(resources: Mapping[str, float], need: Mapping[str, float]) -> bool:
    return all(resources.get(name, 0.0) >= amount for name, amount in need.items())


def _fits(resources: Mapping[str, float], need: Mapping[str, float]) -> int | None:
    """How many actors needing ``need`` a node holds (None: no limit, nothing is reserved)."""
    counts = [int(resources.get(name, 0.0) / amount + 1e-9) for name, amount in need.items() if amount > 0]
    return min(counts) if counts else None


def _spread(capacity: Mapping[str, int], count: int) -> list[str]:
    """The nodes of ``count`` actors, in proportion to each node's capacity (each actor to the least
    filled node; ties to the larger node, then in the nodes' order), so a stage never piles onto one
    node while another has room; any prefix of the list is spread as well."""
    placed = {node: 0 for node in capacity}
    order = []
    for _ in range(count):
        node = min(placed, key=lambda n: (placed[n] / capacity[n], -capacity[n]))
        placed[node] += 1
        order.append(node)
    return order


def _stage_nodes(alive: Sequence[Mapping[str, Any]], need: Mapping[str, float], wanted: int | None, *,
                 stage: str, flags: str, count_flag: str) -> list[str]:
    nodes = [node for node in alive if _qualifies(node["Resources"], need)]
    if not nodes:
        raise ConfigError(f"no node of the Ray cluster has {_describe(need)} for the {stage} actors ({flags})")
    fits = {node["NodeID"]: _fits(node["Resources"], need) for node in nodes}
    cpus = {node["NodeID"]: max(1, int(node["Resources"].get("CPU", 0))) for node in nodes}
    if None in fits.values():  # nothing reserved: as many as the node has CPUs, by default
        capacity, room = cpus, None
    else:
        capacity = {n: f for n, f in fits.items() if f}
        room = sum(capacity.values())
    count = wanted or room or sum(capacity.values())
    if room is not None and count > room:
        raise ConfigError(f"{count_flag} {count}: the Ray cluster has room for {room} {stage} actors "
                          f"with {_describe(need)} each")
    return _spread(capacity, count)


def stage_plan(nodes: Sequence[Mapping[str, Any]], config: RunConfig) -> tuple[list[str], list[str]]:
    """The node of each enhancement actor and of each scoring actor, checked so that every actor
    can be placed (an actor Ray cannot place would hold its tasks forever).

    Enhancement actors reserve their GPU share and custom resources (by default as many as fit; with
    no reservation at all, one per CPU); scoring actors one CPU and their custom resources (by
    default one per CPU that qualifies).
    """
    alive = [node for node in nodes if node.get("Alive", True)]
    enhance_need = {**config.ray_enhance_resources, **({"GPU": config.ray_gpus} if config.ray_gpus else {})}
    enhancers = _stage_nodes(alive, enhance_need, config.workers, stage="enhancement",
                             flags="--ray-gpus, --ray-enhance-resource", count_flag="--workers")
    score_need = {"CPU": 1.0, **config.ray_score_resources}
    scorers = _stage_nodes(alive, score_need, config.ray_score_cpus, stage="scoring",
                           flags="--ray-score-resource", count_flag="--ray-score-cpus")
    return enhancers, scorers


def _describe(need: Mapping[str, float]) -> str:
    return ", ".join(f"{name}={amount:g}" for name, amount in need.items()) or "no resources"


def _is_death(ray: Any, exc: BaseException) -> bool:
    """The actor (or the node holding the task's objects) is gone, as opposed to an error raised
    by the task's code."""
    errors = ray.exceptions
    return isinstance(exc, (errors.RayActorError, errors.ObjectLostError, errors.OwnerDiedError))


def _summary(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _Pipeline:
    def __init__(self, ray: Any, config: RunConfig, jobs: Sequence[Job], driver: Worker) -> None:
        self.ray, self.config = ray, config
        self.driver = driver
        """The driver's own cache and cache keys: every output and score it records lands here."""
        units = job_units(config, jobs)
        direct, to_enhance = [], []
        for unit in units:
            keys = [self._driver_output_key(job) for job in unit]
            if config.metrics and all(key is not None and self._has_output(key) for key in keys):
                direct.append(_Task(unit, keys=keys, enhanced=[
                    JobResult(job=job, status=Status.OK, output_path=str(self.driver.cache.audio_path(key)), seconds=0.0,
                              enhance_cache_hits=1) for job, key in zip(unit, keys)]))
            else:
                to_enhance.append(_Task(unit, keys=keys))
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        enhancers, scorers = stage_plan(ray.nodes(), config)
        modules = plugin_modules(config)
        enhance_options = {"num_cpus": 0, "num_gpus": config.ray_gpus, "resources": dict(config.ray_enhance_resources)}
        score_options = {"num_cpus": 1, "resources": dict(config.ray_score_resources)}

        def starter(host: type, options: dict[str, Any]) -> Callable[[str], Any]:
            actor_class = ray.remote(host)

            def start(node: str) -> Any:
                return actor_class.options(**options, max_restarts=0, scheduling_strategy=NodeAffinitySchedulingStrategy(
                    node, soft=True)).remote(config, modules, config.ray_cache)

            return start

        self.scoring = bool(config.metrics)
        self.enhance = _Stage(ray, "enhancement", starter(EnhanceHost, enhance_options), enhancers[:len(to_enhance)])
        self.score = _Stage(ray, "scoring", starter(ScoreHost, score_options), scorers[:len(units)] if self.scoring else [])
        self.enhance.queue.extend(to_enhance)
        self.score.queue.extend(direct)

    def _driver_output_key(self, job: Job) -> str | None:
        try:
            return self.driver.output_key(job)
        except Exception:  # an unreadable input: the actor records the failure as a worker would
            return None

    def _has_output(self, key: str) -> bool:
        """The cache holds this output intact: read as the scoring stage will read it. A file that
        merely exists may be damaged (``Cache.get_audio`` then answers None), and its job must be
        enhanced again, as the local executor does, not scored from nothing."""
        return self.config.use_cache and self.driver.cache.get_audio(key) is not None

    def run(self) -> Iterator[JobResult]:
        try:
            while self.enhance.busy() or self.score.busy():
                self.enhance.dispatch(self._submit_enhance, self._room_to_score)
                self.score.dispatch(self._submit_score)
                refs = list(self.enhance.refs) + list(self.score.refs)
                done, rest = self.ray.wait(refs, num_returns=1)
                if rest:  # sweep whatever else is ready, without waiting
                    done += self.ray.wait(rest, num_returns=len(rest), timeout=0)[0]
                for ref in done:
                    for stage in (self.enhance, self.score):
                        if ref in stage.refs:  # not if its actor died meanwhile: requeued already
                            yield from self._completed(stage, ref)
        finally:
            self.enhance.close()
            self.score.close()

    def _room_to_score(self) -> bool:
        return not self.score.actors or len(self.score.queue) < SCORE_BACKLOG * len(self.score.actors)

    # --- submitting ---

    def _ship_files(self, task: _Task) -> None:
        if task.blobs is not None:
            return
        blobs: dict[str, bytes] = {}
        for job in task.unit:
            if job.item_key not in task.files:
                task.files[job.item_key] = manifest(job.item)
                blobs.update(pack(job.item, task.files[job.item_key]))
        task.blobs = self.ray.put(blobs)

    def _submit_enhance(self, actor: Any, task: _Task) -> Any:
        self._ship_files(task)
        meta, task.outputs = actor.enhance.options(num_returns=2).remote(task.unit, task.files, [task.blobs])
        return meta

    def _submit_score(self, actor: Any, task: _Task) -> Any:
        self._ship_files(task)
        if task.outputs is None:  # outputs the driver holds: sent from its cache
            task.outputs = self.ray.put([None if key is None else self.driver.cache.get_audio(key) for key in task.keys])
        return actor.score.remote(task.unit, task.files, [task.blobs], task.enhanced, task.outputs)

    # --- collecting ---

    def _completed(self, stage: _Stage, ref: Any) -> Iterator[JobResult]:
        actor, task = stage.refs[ref]
        if task is None:
            yield from self._ready(stage, actor, ref)
            return
        try:
            value = self._fetch(stage, task, ref)
        except self.ray.exceptions.RayError as exc:
            if _is_death(self.ray, exc):
                yield from self._actor_died(stage, actor)
                return
            cause = getattr(exc, "cause", None)
            if isinstance(cause, StorageError):  # a node's cache disk, not this unit: stop, as local does
                raise cause from None
            stage.finish(ref)
            yield from self._failed(stage, task, f"Ray worker failed: {_summary(exc)}", type(exc).__name__)
            return
        stage.finish(ref)
        yield from self._collect(stage, task, value)

    def _fetch(self, stage: _Stage, task: _Task, ref: Any, timeout: float | None = None) -> Any:
        if stage is self.enhance:
            return self.ray.get(ref, timeout=timeout), self.ray.get(task.outputs, timeout=timeout)
        return self.ray.get(ref, timeout=timeout)

    def _collect(self, stage: _Stage, task: _Task, value: Any) -> Iterator[JobResult]:
        if stage is self.enhance:
            yield from self._enhanced(task, *value)
        else:
            yield from self._scored(task, *value)

    def _enhanced(self, task: _Task, results: list[JobResult], outputs: Outputs) -> Iterator[JobResult]:
        keys = []
        for job, result, output, known in zip(task.unit, results, outputs, task.keys, strict=True):
            key = None
            if result.status == Status.OK and output is not None:
                key = known or self.driver.output_key(job)
                result.output_path = self._keep_output(key, *output)
            keys.append(key)
        task.keys = keys
        task.enhanced = results
        if not self.scoring:
            yield from results
            return
        yield from (result for result, key in zip(results, task.keys) if key is None)
        if any(key is not None for key in task.keys):
            if self.score.broken:
                yield from self._failed(self.score, task, self.score.broken)
            else:
                self.score.queue.append(task)

    def _keep_output(self, key: str, audio: np.ndarray, rate: int) -> str:
        """The output in the driver's cache (the run's own copy, wherever it was computed)."""
        path = Path(self.driver.cache.audio_path(key))
        if not path.is_file():
            path = Path(self.driver.cache.put_audio(key, audio, rate))
        return str(path)

    def _scored(self, task: _Task, results: list[JobResult], entries: dict[str, dict[str, float]]) -> Iterator[JobResult]:
        for key, scores in entries.items():
            self.driver.cache.put_scores(key, scores)
        yield from (result for result, key in zip(results, task.keys) if key is not None)

    def _actor_died(self, stage: _Stage, actor: _Actor) -> Iterator[JobResult]:
        """A dead actor is replaced. Ray runs an actor's tasks in submission order, so of the
        tasks it held, those it finished are collected as usual, the first it did not finish is
        the one it died running, and those behind it never started."""
        held = stage.replace(actor)
        self.ray.wait([ref for ref, _ in held], num_returns=len(held), timeout=DEATH_SETTLE_SECONDS)
        lost: list[_Task] = []
        for ref, task in held:
            if not lost:
                try:
                    value = self._fetch(stage, task, ref, timeout=0)
                except self.ray.exceptions.RayError:
                    lost.append(task)
                    continue
                yield from self._collect(stage, task, value)
            else:
                lost.append(task)
        if lost:
            yield from self._requeue(stage, lost)

    def _requeue(self, stage: _Stage, lost: list[_Task]) -> Iterator[JobResult]:
        """The task an actor died running is retried job by job (or recorded as failed if it
        already was a retry); the tasks queued behind it go back to the front of the queue."""
        if stage is self.score:
            for task in lost:
                task.outputs = None  # re-sent from the driver's cache: the originals may be lost
        suspect, rest = lost[0], lost[1:]
        retries: list[_Task] = []
        if suspect.retry:
            yield from self._failed(stage, suspect, DIED)
        else:
            for index, job in enumerate(suspect.unit):
                keys = suspect.keys[index:index + 1]
                if stage is self.score and keys[0] is None:
                    continue  # failed at enhancement, already recorded
                retries.append(_Task([job], retry=True, files=suspect.files, blobs=suspect.blobs,
                                     enhanced=suspect.enhanced[index:index + 1], keys=keys))
        stage.queue.extendleft(reversed(retries + rest))

    def _ready(self, stage: _Stage, actor: _Actor, ref: Any) -> Iterator[JobResult]:
        try:
            self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            if _is_death(self.ray, exc):
                stage.replace(actor)
                yield from self._check_startup(stage, exc)
            else:  # Ray cannot create it at all (no node can hold it, its runtime env fails)
                reason = f"Ray {stage.name} actors cannot start: {_summary(exc)}"
                for task in stage.give_up(reason):
                    yield from self._failed(stage, task, reason)
            return
        stage.finish(ref)

    def _check_startup(self, stage: _Stage, exc: BaseException) -> Iterator[JobResult]:
        """Give a stage up once its fresh actors keep dying before they are up."""
        if stage.startup_deaths < STARTUP_DEATHS:
            return
        reason = (f"Ray {stage.name} actors keep dying while starting "
                  f"({stage.startup_deaths} in a row; last: {_summary(exc)})")
        for task in stage.give_up(reason):
            yield from self._failed(stage, task, reason)

    def _failed(self, stage: _Stage, task: _Task, reason: str, error_type: str = "ActorDied") -> Iterator[JobResult]:
        """The task's jobs as failed (in the scoring stage, those its enhancement had not failed)."""
        jobs = task.unit if stage is self.enhance else [j for j, k in zip(task.unit, task.keys) if k is not None]
        yield from failed_results(jobs, reason, error_type)


def ray_executor(config: RunConfig, jobs: Sequence[Job]) -> Iterator[JobResult]:
    """Two stages of Ray actors (see the module docstring). Connects to ``ray_address`` (or
    $RAY_ADDRESS), reuses a Ray the caller has already started, or else starts a local one."""
    ray = _import_ray()
    driver = Worker(config)
    settled, todo = settle_cached(config, jobs, driver)
    yield from settled
    if not todo:
        return
    started = not ray.is_initialized()
    if started:
        address = config.ray_address or os.environ.get("RAY_ADDRESS")
        local_options = {} if address else {"include_dashboard": False}
        ray.init(address=address, logging_level=logging.WARNING, **local_options)
    try:
        yield from _Pipeline(ray, config, todo, driver).run()
    finally:
        if started:
            ray.shutdown()
