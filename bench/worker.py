"""The per-process worker: holds built systems and metrics, turns Jobs into JobResults.

Executors (serial, process pool, Ray) differ only in where Workers live and how jobs reach them.
A Worker builds each system and metric on first use and loads its model only on the first cache
miss that needs it, so a fully cached re-run loads nothing; the driver alone writes to the store.

Per job: look the output up in the cache (key: system card identity, task, input hashes), else
enhance through ``bench.pipeline.enhance_prepared``; then score the output with every applicable
metric against one shared ``ScoringContext``, each metric's scores cached and its failure isolated.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from bench.audio import audio_hash
from bench.cache import Cache, check_item_files, enhancement_key, score_key
from bench.config import RunConfig
from bench.errors import AudioError, SebenchError
from bench.item import Item
from bench.metric import Metric, ScoringContext, build_metric
from bench.pipeline import ItemTimeout, PreparedInput, enhance_prepared, prepare_input, score_metric, seed_everything
from bench.plan import Job
from bench.status import Status
from bench.system import System, SystemFault, build_system, system_code

LOAD_STAGE = "load"
ENHANCE_STAGE = "enhance"


@dataclass
class JobResult:
    job: Job
    status: Status
    reason: str | None = None
    """What went wrong, as stored: the job's failure, or the failed metrics of an ok job."""
    error_type: str | None = None
    """The exception class that failed the job (failure summaries group on it)."""
    metric_errors: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Metric name -> (exception class, text), for metrics that failed on an ok job."""
    output_path: str | None = None
    provenance: dict[str, str] = field(default_factory=dict)
    """Where a read-from-disk output came from (``published_file``, ``published_sha256``)."""
    seconds: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    enhanced: int = 0
    enhance_cache_hits: int = 0
    scored: int = 0
    score_cache_hits: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    """Seconds spent computing, per stage: 'load' (models), 'enhance', and one per metric name.
    Cache hits cost nothing here; the throughput benchmark sums these."""

    def add_time(self, stage: str, seconds: float) -> None:
        self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + seconds

    def fail(self, exc: BaseException, *, by_system: bool = False, prefix: str = "") -> None:
        self.status = Status.FAILED
        self.reason = prefix + describe_error(exc, by_system=by_system)
        self.error_type = type(unwrap(exc)).__name__


def failed_results(jobs: Sequence[Job], reason: str, error_type: str) -> list[JobResult]:
    """Results for jobs that never got a verdict from a worker (it died, or could not start)."""
    return [JobResult(job=job, status=Status.FAILED, reason=reason, error_type=error_type) for job in jobs]


Output = tuple[np.ndarray, int, Path]
"""An enhanced output at the rate it was produced: (audio, rate, its file in the cache)."""


class Worker:
    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.cache = Cache(config.resolved_cache_dir)
        self._systems: dict[int, System] = {}
        self._loaded_systems: set[int] = set()
        self._load_errors: dict[int, Exception] = {}
        self._metrics: list[Metric] | None = None
        self._loaded_metrics: set[int] = set()
        self._output_keys: dict[tuple[int, str, tuple[str, str]], str] = {}

    def system(self, index: int) -> System:
        """The built system; its weights load on the first cache miss (``card`` works without them)."""
        if index not in self._systems:
            with system_code():
                self._systems[index] = build_system(self.config.systems[index])
        return self._systems[index]

    def metrics(self) -> list[Metric]:
        if self._metrics is None:
            self._metrics = [build_metric(spec) for spec in self.config.metrics]
        return self._metrics

    def _loaded_system(self, index: int, result: JobResult) -> System:
        system = self.system(index)
        if index in self._load_errors:  # failed once: not retried for every item
            raise self._load_errors[index]
        if index not in self._loaded_systems:
            start = time.perf_counter()
            try:
                with system_code():
                    system.load()
            except Exception as exc:
                self._load_errors[index] = exc
                raise
            self._loaded_systems.add(index)
            result.add_time(LOAD_STAGE, time.perf_counter() - start)
        return system

    def _loaded_metric(self, position: int, result: JobResult) -> Metric:
        metric = self.metrics()[position]
        if position not in self._loaded_metrics:
            start = time.perf_counter()
            metric.load()
            self._loaded_metrics.add(position)
            result.add_time(LOAD_STAGE, time.perf_counter() - start)
        return metric

    # --- cache only ------------------------------------------------------------------------------

    def cached_result(self, job: Job) -> JobResult | None:
        """The job's result if the cache holds its output and every applicable score, else None.

        Loads no model and computes nothing, so a driver can settle a fully cached job without
        starting a worker process; anything unusual (an unreadable input) is left to ``process``.
        """
        try:
            key = self.output_key(job)
            hit = self._cached_output(job, key)
            if hit is None:
                return None
            output, rate, path = hit
            out_hash = audio_hash(output, rate)
            result = JobResult(job=job, status=Status.OK, output_path=str(path), seconds=0.0, enhance_cache_hits=1)
            for metric in self.metrics():
                if metric.applies_to(job.item):
                    scores = self.cache.get_scores(score_key(metric.version, out_hash, job.item))
                    if scores is None:
                        return None
                    result.scores.update(scores)
                    result.score_cache_hits += 1
            return result
        except Exception:
            return None

    # --- compute ---------------------------------------------------------------------------------

    def process(self, job: Job) -> JobResult:
        return self.process_batch([job])[0]

    def process_batch(self, jobs: Sequence[Job]) -> list[JobResult]:
        """Results equal to ``process`` on each job, computed with less repeated work: every
        job's output (``enhance_batch``), then its scores (``score``). Results come back in the
        order of ``jobs``."""
        results, outputs = self.enhance_batch(jobs)
        for index, (output, rate, _) in outputs.items():
            self.score(jobs[index].item, output, rate, results[index])
        return results

    def enhance_batch(self, jobs: Sequence[Job]) -> tuple[list[JobResult], dict[int, Output]]:
        """Every job's output, from the cache or enhanced, without scoring it: (results in the
        order of ``jobs``, {job index: output}); a job with no output has failed. Executors that
        score elsewhere (the Ray executor's scoring actors) call this and ``score`` apart.

        Each item's input is read and resampled once per system, however many of its variants are
        in the batch; the cache misses of one (system, variant) go through ``enhance_prepared``
        together, so a system that batches gets them in one call.
        """
        results = [JobResult(job=job, status=Status.OK) for job in jobs]
        outputs: dict[int, Output] = {}
        misses: dict[tuple[int, str], list[int]] = {}
        keys: dict[int, str] = {}
        for index, job in enumerate(jobs):
            try:
                keys[index] = self.output_key(job)
                hit = self._cached_output(job, keys[index])
            except AudioError as exc:  # a missing or unreadable item file: this job only
                results[index].fail(exc)
                results[index].seconds = 0.0
                continue
            except Exception as exc:  # the system cannot be built or give its card: its jobs only
                results[index].fail(exc, by_system=True, prefix=starting_failed(job.label))
                results[index].seconds = 0.0
                continue
            if hit is None:
                misses.setdefault((job.system_index, job.variant), []).append(index)
            else:
                results[index].enhance_cache_hits += 1
                results[index].seconds = 0.0
                outputs[index] = hit
        prepared: dict[tuple[int, tuple[str, str]], PreparedInput] = {}
        for (system_index, variant), members in misses.items():
            outputs.update(self._enhance(system_index, variant, members, jobs, results, keys, prepared))
        for index, (_, _, path) in outputs.items():
            results[index].output_path = str(path)
        return results, outputs

    def _cached_output(self, job: Job, key: str) -> Output | None:
        system = self.system(job.system_index)
        if not (self.config.use_cache and system.cache_outputs):
            return None
        cached = self.cache.get_audio(key)
        if cached is None:
            return None
        return cached[0], cached[1], self.cache.audio_path(key)

    def output_key(self, job: Job) -> str:
        """The cache key of the job's enhanced output (system card identity, task, input hashes);
        raises for an item file that is missing (``check_item_files``: the item fails for every
        system, before any model loads) or a system that cannot give its card. Kept per job for
        this worker's life (a run): a driver asks once to settle the cache and again to schedule."""
        memo = (job.system_index, job.variant, job.item_key)
        if memo not in self._output_keys:
            check_item_files(job.item)
            system = self.system(job.system_index)
            with system_code():
                card = system.card(job.variant)
            self._output_keys[memo] = enhancement_key(card.identity(), job.item, system.uses_reference)
        return self._output_keys[memo]

    def _enhance(self, system_index: int, variant: str, members: list[int], jobs: Sequence[Job],
                 results: list[JobResult], keys: dict[int, str],
                 prepared: dict[tuple[int, tuple[str, str]], PreparedInput]) -> dict[int, Output]:
        """Enhance the cache misses of one (system, variant); returns {job index: output}."""
        try:
            system = self._loaded_system(system_index, results[members[0]])
        except Exception as exc:
            for index in members:
                results[index].fail(exc, by_system=True, prefix=starting_failed(jobs[index].label))
                results[index].seconds = 0.0
            return {}
        ready: list[int] = []
        for index in members:
            job, start = jobs[index], time.perf_counter()
            try:
                shared = (system_index, job.item_key)
                if shared not in prepared:
                    prepared[shared] = prepare_input(system, job.item)
                ready.append(index)
            except Exception as exc:
                results[index].fail(exc)
                results[index].seconds = time.perf_counter() - start
            results[index].add_time(ENHANCE_STAGE, time.perf_counter() - start)
        if not ready:
            return {}
        label = jobs[ready[0]].label
        batch = [(jobs[i].item, prepared[(system_index, jobs[i].item_key)]) for i in ready]
        enhanced = enhance_prepared(system, variant, batch, timeout=self.config.timeout,
                                    seed=lambda item: seed_everything(self.config.seed, f"{label}/{item.id}"))
        outputs = {}
        for index, (_, inputs), outcome in zip(ready, batch, enhanced):
            result = results[index]
            result.seconds = outcome.seconds
            result.add_time(ENHANCE_STAGE, outcome.seconds)
            if outcome.error is not None:
                result.fail(outcome.error, by_system=True)
                continue
            result.enhanced += 1
            result.provenance = outcome.provenance
            path = self.cache.put_audio(keys[index], outcome.output, outcome.rate)
            outputs[index] = (outcome.output, outcome.rate, path)
        return outputs

    def score(self, item: Item, output: np.ndarray, rate: int, result: JobResult) -> None:
        """Every applicable metric on one output through one shared ScoringContext (built on the
        first cache miss), each metric's scores cached and its failure recorded apart."""
        out_hash = audio_hash(output, rate)
        ctx: ScoringContext | None = None
        data_errors = 0
        for position, metric in enumerate(self.metrics()):
            if not metric.applies_to(item):
                continue
            key = score_key(metric.version, out_hash, item)
            cached = self.cache.get_scores(key) if self.config.use_cache else None
            if cached is not None:
                result.score_cache_hits += 1
                result.scores.update(cached)
                continue
            try:
                self._loaded_metric(position, result)
            except Exception as exc:
                result.metric_errors[metric.name] = (type(exc).__name__, f"loading failed: {describe_error(exc)}")
                continue
            ctx = ctx or ScoringContext(item, output, rate)
            start = time.perf_counter()
            seed_everything(self.config.seed, f"{metric.name}/{item.id}")
            scores, error = score_metric(metric, ctx)
            result.add_time(metric.name, time.perf_counter() - start)
            if error is not None:
                result.metric_errors[metric.name] = (type(error).__name__, describe_error(error))
                data_errors += isinstance(error, AudioError)
                continue
            result.scored += 1
            self.cache.put_scores(key, scores)
            result.scores.update(scores)
        if result.metric_errors:
            result.reason = "; ".join(f"{name}: {text}" for name, (_, text) in sorted(result.metric_errors.items()))
        if data_errors:  # the item's own files are broken: its scores would be incomplete or wrong
            result.status = Status.FAILED
            result.error_type = AudioError.__name__


def starting_failed(label: str) -> str:
    """Prefix of the reason when a system fails before enhancing anything (build, card, load)."""
    return f"system {label!r} could not start: "


def unwrap(exc: BaseException) -> BaseException:
    """What the system actually raised, for a ``SystemFault`` (``SystemExit`` and friends)."""
    return exc.original if isinstance(exc, SystemFault) else exc


def describe_error(exc: BaseException, *, by_system: bool = False) -> str:
    """The failure text stored per item. Harness errors (bad output, unreadable file, timeout) speak
    for themselves; anything else raised inside a system's code is blamed on the system."""
    by_system = by_system or isinstance(exc, SystemFault)
    exc = unwrap(exc)
    if by_system and not isinstance(exc, (SebenchError, ItemTimeout)):
        return f"system raised {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"
