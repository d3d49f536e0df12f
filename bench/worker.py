"""The per-process worker: holds loaded systems and metrics, turns Jobs into JobResults.

Executors (serial, process pool, Ray) differ only in where Workers live; each Worker loads every
model once, and only when something actually has to be computed (a fully cached re-run loads
nothing), and the driver alone writes to the results store.
"""

from __future__ import annotations

import random
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from bench.audio import audio_hash
from bench.cache import Cache, enhancement_key, score_key
from bench.config import RunConfig
from bench.errors import SebenchError
from bench.item import Item
from bench.metric import METRICS, Metric
from bench.pipeline import ItemTimeout, build_input, finish_output, score_item, time_limit
from bench.registry import load_plugins
from bench.spec import Spec
from bench.system import SYSTEMS, EnhanceInput, System

LOAD_STAGE = "load"
ENHANCE_STAGE = "enhance"


@dataclass(frozen=True)
class Job:
    testset: str
    item: Item
    system_index: int
    label: str
    variant: str

    @property
    def item_key(self) -> tuple[str, str]:
        """What shards and batches group on: every job reading the same input file."""
        return (self.testset, self.item.id)


@dataclass
class JobResult:
    job: Job
    status: str
    reason: str | None = None
    output_path: str | None = None
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


def build_system(spec: Spec) -> System:
    return SYSTEMS.get(spec.name)(**spec.config)


def build_metric(spec: Spec) -> Metric:
    return METRICS.get(spec.name)(**spec.config)


def seed_everything(run_seed: int, key: str) -> None:
    """Per-item seed, so a result never depends on the order or the worker that ran it."""
    seed = zlib.crc32(f"{run_seed}:{key}".encode())
    random.seed(seed)
    np.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


@dataclass
class _Prepared:
    """One job on its way through enhancement: the system-rate input and where its output goes."""

    index: int
    inputs: EnhanceInput
    item_rate: int
    length: int
    key: str


class Worker:
    def __init__(self, config: RunConfig) -> None:
        load_plugins()  # a spawned worker process imports the driver's plugins too
        self.config = config
        self.cache = Cache(config.resolved_cache_dir)
        self._systems: dict[int, System] = {}
        self._loaded_systems: set[int] = set()
        self._metrics: list[Metric] | None = None
        self._loaded_metrics: set[int] = set()

    def system(self, index: int) -> System:
        """The built system; its weights load on the first cache miss (``card`` works without them)."""
        if index not in self._systems:
            self._systems[index] = build_system(self.config.systems[index])
        return self._systems[index]

    def metrics(self) -> list[Metric]:
        if self._metrics is None:
            self._metrics = [build_metric(spec) for spec in self.config.metrics]
        return self._metrics

    def _loaded_system(self, index: int, result: JobResult) -> System:
        system = self.system(index)
        if index not in self._loaded_systems:
            start = time.perf_counter()
            system.load()
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

    def process(self, job: Job) -> JobResult:
        return self.process_batch([job])[0]

    def process_batch(self, jobs: Sequence[Job]) -> list[JobResult]:
        """Results equal to ``process`` on each job, computed with less repeated work.

        Each item's input is read and resampled once per system, however many of its variants are
        in the batch. A system that overrides ``enhance_batch`` gets one call per variant over its
        cache misses (seeded once, so its contract is that results never depend on the batch); a
        batch call that raises is retried item by item, so one bad item fails alone. Other systems
        run item by item, each seeded by its own key. Results come back in the order of ``jobs``.
        """
        results = [JobResult(job=job, status="ok") for job in jobs]
        outputs: dict[int, tuple[np.ndarray, int, Path]] = {}
        misses: dict[tuple[int, str], list[int]] = {}
        keys: dict[int, str] = {}
        for index, job in enumerate(jobs):
            try:
                keys[index] = self._output_key(job)
                hit = self._cached_output(job, keys[index], results[index])
            except Exception as exc:  # an unreadable input file, a broken card: this job only
                self._fail(results[index], _reason(exc), 0.0)
                continue
            if hit is None:
                misses.setdefault((job.system_index, job.variant), []).append(index)
            else:
                outputs[index] = hit
        inputs: dict[tuple[int, tuple[str, str]], tuple[EnhanceInput, int, int]] = {}
        for (system_index, variant), members in misses.items():
            outputs.update(self._enhance_group(system_index, variant, [jobs[i] for i in members], members,
                                               results, inputs, keys))
        for index, (output, rate, path) in outputs.items():
            result = results[index]
            result.output_path = str(path)
            errors = self._score(jobs[index].item, output, rate, result)
            if errors:
                result.reason = "; ".join(f"{name}: {err}" for name, err in sorted(errors.items()))
        return results

    @staticmethod
    def _fail(result: JobResult, reason: str, seconds: float) -> None:
        result.status = "failed"
        result.reason = reason
        result.seconds = seconds

    def _cached_output(self, job: Job, key: str, result: JobResult) -> tuple[np.ndarray, int, Path] | None:
        system = self.system(job.system_index)
        if not (self.config.use_cache and system.cache_outputs):
            return None
        cached = self.cache.get_audio(key)
        if cached is None:
            return None
        result.enhance_cache_hits += 1
        result.seconds = 0.0
        return cached[0], cached[1], self.cache.audio_path(key)

    def _output_key(self, job: Job) -> str:
        system = self.system(job.system_index)
        return enhancement_key(system.card(job.variant).identity(), job.item, system.uses_reference)

    def _enhance_group(self, system_index: int, variant: str, jobs: list[Job], indices: list[int],
                       results: list[JobResult], inputs: dict, keys: dict[int, str]) -> dict[int, tuple[np.ndarray, int, Path]]:
        """Enhance the cache misses of one (system, variant); returns {job index: output}."""
        first = results[indices[0]]
        try:
            system = self._loaded_system(system_index, first)
        except Exception as exc:
            for index in indices:
                self._fail(results[index], f"loading the system failed: {_reason(exc, by_system=True)}", 0.0)
            return {}
        prepared: list[_Prepared] = []
        for job, index in zip(jobs, indices):
            start = time.perf_counter()
            try:
                shared = (system_index, job.item_key)
                if shared not in inputs:
                    inputs[shared] = build_input(system, job.item)
                record, item_rate, length = inputs[shared]
                prepared.append(_Prepared(index, record, item_rate, length, keys[index]))
            except Exception as exc:
                self._fail(results[index], _reason(exc), time.perf_counter() - start)
            results[index].add_time(ENHANCE_STAGE, time.perf_counter() - start)
        if not prepared:
            return {}
        batched = len(prepared) > 1 and type(system).enhance_batch is not System.enhance_batch
        raws = self._run_batch(system, variant, jobs[0].label, prepared, results) if batched else None
        outputs = {}
        for entry in prepared:
            result = results[entry.index]
            start = time.perf_counter()
            try:
                raw = raws[entry.index] if raws is not None else self._run_one(system, variant, entry, result)
                output = finish_output(system, result.job.item, entry.inputs, entry.item_rate, entry.length, raw)
            except Exception as exc:
                self._fail(result, _reason(exc, by_system=True), (result.seconds or 0.0) + time.perf_counter() - start)
                continue
            elapsed = time.perf_counter() - start
            result.seconds = (result.seconds or 0.0) + elapsed
            result.add_time(ENHANCE_STAGE, elapsed)
            result.enhanced += 1
            outputs[entry.index] = (output, entry.item_rate, self.cache.put_audio(entry.key, output, entry.item_rate))
        return outputs

    def _run_one(self, system: System, variant: str, entry: _Prepared, result: JobResult) -> np.ndarray:
        seed_everything(self.config.seed, f"{result.job.label}/{result.job.item.id}")
        with time_limit(self.config.timeout):
            return system.enhance_batch([entry.inputs], variant)[0]

    def _run_batch(self, system: System, variant: str, label: str, prepared: list[_Prepared],
                   results: list[JobResult]) -> dict[int, np.ndarray] | None:
        """One ``enhance_batch`` call; ``None`` (retry item by item) if it raises or miscounts."""
        start = time.perf_counter()
        seed_everything(self.config.seed, f"{label}/{results[prepared[0].index].job.item.id}")
        timeout = self.config.timeout * len(prepared) if self.config.timeout else None
        try:
            with time_limit(timeout):
                raws = system.enhance_batch([entry.inputs for entry in prepared], variant)
        except Exception:
            return None
        if len(raws) != len(prepared):
            return None
        share = (time.perf_counter() - start) / len(prepared)
        for entry in prepared:
            results[entry.index].seconds = share
            results[entry.index].add_time(ENHANCE_STAGE, share)
        return {entry.index: raw for entry, raw in zip(prepared, raws)}

    def _score(self, item: Item, output: np.ndarray, rate: int, result: JobResult) -> dict[str, str]:
        out_hash = audio_hash(output, rate)
        errors: dict[str, str] = {}
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
                errors[metric.name] = f"loading failed: {_reason(exc)}"
                continue
            start = time.perf_counter()
            seed_everything(self.config.seed, f"{metric.name}/{item.id}")
            scores, metric_errors = score_item([metric], item, output, rate)
            result.add_time(metric.name, time.perf_counter() - start)
            errors.update(metric_errors)
            if not metric_errors:
                result.scored += 1
                self.cache.put_scores(key, scores)
                result.scores.update(scores)
        return errors


def _reason(exc: BaseException, *, by_system: bool = False) -> str:
    """The failure text stored per item. Harness errors (bad output, unreadable file, timeout) speak
    for themselves; anything else raised inside a system's code is blamed on the system."""
    if by_system and not isinstance(exc, (SebenchError, ItemTimeout)):
        return f"system raised {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"
