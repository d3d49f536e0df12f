"""The per-process worker: holds loaded systems and metrics, turns a Job into a JobResult.

Executors (serial, process pool, Ray) differ only in where Workers live; each Worker loads every
model once and the driver alone writes to the results store.
"""

from __future__ import annotations

import random
import sys
import time
import zlib
from dataclasses import dataclass, field

import numpy as np

from bench.audio import audio_hash
from bench.cache import Cache, enhancement_key, score_key
from bench.config import RunConfig
from bench.errors import SebenchError
from bench.item import Item
from bench.metric import METRICS, Metric
from bench.registry import load_plugins
from bench.pipeline import ItemTimeout, enhance_item, score_item
from bench.spec import Spec
from bench.system import SYSTEMS, System


@dataclass(frozen=True)
class Job:
    testset: str
    item: Item
    system_index: int
    label: str
    variant: str


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


class Worker:
    def __init__(self, config: RunConfig) -> None:
        load_plugins()  # a spawned worker process imports the driver's plugins too
        self.config = config
        self.cache = Cache(config.resolved_cache_dir)
        self._systems: dict[int, System] = {}
        self._metrics: list[Metric] | None = None

    def system(self, index: int) -> System:
        if index not in self._systems:
            system = build_system(self.config.systems[index])
            system.load()
            self._systems[index] = system
        return self._systems[index]

    def metrics(self) -> list[Metric]:
        if self._metrics is None:
            self._metrics = [build_metric(spec) for spec in self.config.metrics]
            for metric in self._metrics:
                metric.load()
        return self._metrics

    def process(self, job: Job) -> JobResult:
        result = JobResult(job=job, status="ok")
        start = time.perf_counter()
        try:
            output, rate, path = self._enhance(job, result)
        except (SebenchError, ItemTimeout) as exc:
            return self._failed(result, f"{type(exc).__name__}: {exc}", start)
        except Exception as exc:  # a crashing system must not take the run down
            return self._failed(result, f"system raised {type(exc).__name__}: {exc}", start)
        result.output_path = str(path)
        result.seconds = time.perf_counter() - start
        errors = self._score(job.item, output, rate, result)
        if errors:
            result.reason = "; ".join(f"{name}: {err}" for name, err in sorted(errors.items()))
        return result

    @staticmethod
    def _failed(result: JobResult, reason: str, start: float) -> JobResult:
        result.status = "failed"
        result.reason = reason
        result.seconds = time.perf_counter() - start
        return result

    def _enhance(self, job: Job, result: JobResult) -> tuple[np.ndarray, int, object]:
        system = self.system(job.system_index)
        key = enhancement_key(system.card(job.variant).identity(), job.item, system.uses_reference)
        if self.config.use_cache and system.cache_outputs:
            cached = self.cache.get_audio(key)
            if cached is not None:
                result.enhance_cache_hits += 1
                return cached[0], cached[1], self.cache.audio_path(key)
        seed_everything(self.config.seed, f"{job.label}/{job.item.id}")
        output, rate = enhance_item(system, job.variant, job.item, timeout=self.config.timeout)
        result.enhanced += 1
        return output, rate, self.cache.put_audio(key, output, rate)

    def _score(self, item: Item, output: np.ndarray, rate: int, result: JobResult) -> dict[str, str]:
        out_hash = audio_hash(output, rate)
        errors: dict[str, str] = {}
        for metric in self.metrics():
            if not metric.applies_to(item):
                continue
            key = score_key(metric.version, out_hash, item)
            cached = self.cache.get_scores(key) if self.config.use_cache else None
            if cached is not None:
                result.score_cache_hits += 1
                result.scores.update(cached)
                continue
            seed_everything(self.config.seed, f"{metric.name}/{item.id}")
            scores, metric_errors = score_item([metric], item, output, rate)
            errors.update(metric_errors)
            if not metric_errors:
                result.scored += 1
                self.cache.put_scores(key, scores)
                result.scores.update(scores)
        return errors
