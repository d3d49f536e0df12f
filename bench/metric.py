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
    """The output under test plus the item's other signals, each resampled on demand and memoised."""

    def __init__(self, item: Item, output: np.ndarray, output_rate: int) -> None:
        self.item = item
        self._output = (np.asarray(output, dtype=np.float32), output_rate)
        self._cache: dict[tuple[str, int | None], tuple[np.ndarray, int]] = {}

    @property
    def output_rate(self) -> int:
        return self._output[1]

    def output(self, sample_rate: int | None = None) -> np.ndarray:
        audio, rate = self._output
        if sample_rate is None or sample_rate == rate:
            return audio
        key = ("output", sample_rate)
        if key not in self._cache:
            self._cache[key] = (resample(audio, rate, sample_rate), sample_rate)
        return self._cache[key][0]

    def _signal(self, field_name: str, sample_rate: int | None) -> np.ndarray:
        path = getattr(self.item, field_name)
        if path is None:
            raise KeyError(f"item {self.item.id} has no {field_name}")
        key = (field_name, sample_rate)
        if key not in self._cache:
            self._cache[key] = load_audio(path, sample_rate, expected_rate=self.item.sample_rate)
        return self._cache[key][0]

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
