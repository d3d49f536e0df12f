"""The Metric interface: pure functions of (output, item) that declare their columns and needs.

Following torchmetrics, the numerical work lives in stateless functions; a Metric class is a thin
wrapper that declares ``columns`` (each with ``higher_is_better``), ``needs`` and a ``version`` that
includes the sha256 of any model file, so the score cache invalidates when a model changes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from bench.audio import load_audio, resample
from bench.builtins import BUILTIN_METRICS
from bench.item import Item, task_parts
from bench.registry import Registry
from bench.spec import Spec

NEEDS = ("reference", "transcript", "enrollment", "far_end", "loss_trace", "talk_type")


@dataclass(frozen=True)
class Column:
    """One table column a metric produces.

    ``ratio_of`` makes the corpus value a ratio of sums of two hidden per-item columns (corpus WER =
    total edits / total reference words) instead of a mean of per-item values.
    """

    name: str
    higher_is_better: bool
    lower: float | None = None
    upper: float | None = None
    unit: str = ""
    ratio_of: tuple[str, str] | None = None
    hidden: bool = False


class ScoringContext:
    """The output under test plus the item's other signals, for every metric scoring that output.

    Built once per (item, output) and shared by all metrics: each file is read once and each signal
    resampled once per rate asked for (both memoised), whichever metric asks first.
    """

    def __init__(self, item: Item, output: np.ndarray, output_rate: int) -> None:
        self.item = item
        self._native: dict[str, tuple[np.ndarray, int]] = {"output": (np.asarray(output, dtype=np.float32), output_rate)}
        self._resampled: dict[tuple[str, int], np.ndarray] = {}

    @property
    def output_rate(self) -> int:
        return self._native["output"][1]

    def _signal(self, name: str, sample_rate: int | None) -> np.ndarray:
        if name not in self._native:
            path = getattr(self.item, name)
            if path is None:
                raise KeyError(f"item {self.item.id} has no {name}")
            self._native[name] = load_audio(path, expected_rate=self.item.sample_rate)
        audio, rate = self._native[name]
        if sample_rate is None or sample_rate == rate:
            return audio
        if (name, sample_rate) not in self._resampled:
            self._resampled[(name, sample_rate)] = resample(audio, rate, sample_rate)
        return self._resampled[(name, sample_rate)]

    def output(self, sample_rate: int | None = None) -> np.ndarray:
        return self._signal("output", sample_rate)

    def input(self, sample_rate: int | None = None) -> np.ndarray:
        """The degraded input (the microphone signal for AEC, the mixture for TSE)."""
        return self._signal("input", sample_rate)

    def reference(self, sample_rate: int | None = None) -> np.ndarray:
        return self._signal("reference", sample_rate)

    def enrollment(self, sample_rate: int | None = None) -> np.ndarray:
        return self._signal("enrollment", sample_rate)

    def far_end(self, sample_rate: int | None = None) -> np.ndarray:
        return self._signal("far_end", sample_rate)


class Metric(ABC):
    """Base class. ``score`` may omit columns that do not apply to an item (absent, not an error)."""

    name: ClassVar[str] = ""
    columns: ClassVar[tuple[Column, ...]] = ()
    needs: ClassVar[frozenset[str]] = frozenset()
    tasks: ClassVar[frozenset[str] | None] = None
    """Tasks the metric applies to (``None``: all). PLCMOS on a TSE item would mean nothing."""
    implementation_version: ClassVar[str] = "1"

    def __init__(self, **config: Any) -> None:
        self.config: dict[str, Any] = dict(config)

    def model_files(self) -> dict[str, str]:
        """{description: sha256} of every model file the metric uses; part of ``version``."""
        return {}

    @cached_property
    def version(self) -> str:
        parts = [f"{self.name}={self.implementation_version}"]
        parts += [f"{k}={v}" for k, v in sorted(self.config.items())]
        parts += [f"{k}@sha256:{v}" for k, v in sorted(self.model_files().items())]
        return ";".join(parts)

    def applies_to(self, item: Item) -> bool:
        if self.tasks is not None and not (task_parts(item.task) & self.tasks):
            return False
        return all(item.has(need) for need in self.needs)

    def load(self) -> None:
        """Load models once per worker."""

    @abstractmethod
    def score(self, ctx: ScoringContext) -> dict[str, float]:
        """Return {column name: value} for the columns that apply to ``ctx.item``."""


METRICS: Registry[Metric] = Registry("metric", "sebench.metrics", BUILTIN_METRICS)
register_metric = METRICS.register


def build_metric(spec: Spec) -> Metric:
    return METRICS.get(spec.name)(**spec.config)
