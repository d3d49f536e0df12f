"""The Metric interface: pure functions of (output, item) that declare their columns and needs.

Following torchmetrics, the numerical work lives in stateless functions; a Metric class is a thin
wrapper that declares ``columns`` (each with ``higher_is_better``), ``needs`` and a ``version`` that
includes the sha256 of any model file, so the score cache invalidates when a model changes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, ClassVar, Mapping

import numpy as np

from bench.audio import audio_info, load_audio, resample
from bench.errors import ConfigError
from bench.item import SEPARATION, Item, task_parts
from bench.options import Configurable
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
    resampled once per rate asked for (both memoised), whichever metric asks first. The output is
    kept at the rate it was produced at, so a metric's resampling is the only one it goes through.
    A separation output has one row per source: ``sources`` gives them, ``output`` refuses it.
    """

    def __init__(self, item: Item, output: np.ndarray, output_rate: int) -> None:
        self.item = item
        audio = np.asarray(output, dtype=np.float32)
        self._native: dict[str, tuple[np.ndarray, int]] = {}
        self._output_rate = output_rate
        rows = [audio] if audio.ndim == 1 else list(audio)
        for index, row in enumerate(rows):
            self._native[f"output/{index}"] = (row, output_rate)
        self._source_count = len(rows)
        self._resampled: dict[tuple[str, int], np.ndarray] = {}
        self._assignment: tuple[int, ...] | None = None

    @property
    def output_rate(self) -> int:
        """The rate the output was produced at (the system's, or a published file's own)."""
        return self._output_rate

    @property
    def item_rate(self) -> int:
        """The rate of the item's own files (its input's): where metrics that compare against the
        reference at full bandwidth (SI-SDR, STOI, ERLE) work, so every system is scored alike."""
        if self.item.sample_rate is not None:
            return self.item.sample_rate
        if "input" in self._native:
            return self._native["input"][1]
        return audio_info(self.item.input)[0]

    def _file(self, key: str, path: Any) -> None:
        if key not in self._native:
            if path is None:
                raise KeyError(f"item {self.item.id} has no {key}")
            self._native[key] = load_audio(path, expected_rate=self.item.sample_rate)

    def _signal(self, key: str, sample_rate: int | None) -> np.ndarray:
        audio, rate = self._native[key]
        if sample_rate is None or sample_rate == rate:
            return audio
        if (key, sample_rate) not in self._resampled:
            self._resampled[(key, sample_rate)] = resample(audio, rate, sample_rate)
        return self._resampled[(key, sample_rate)]

    def _item_signal(self, name: str, sample_rate: int | None) -> np.ndarray:
        self._file(name, getattr(self.item, name))
        return self._signal(name, sample_rate)

    def output(self, sample_rate: int | None = None) -> np.ndarray:
        if self._source_count > 1:
            raise ValueError(f"item {self.item.id}: the output has {self._source_count} sources; "
                             "a metric that scores separation reads ctx.sources()")
        return self._signal("output/0", sample_rate)

    def sources(self, sample_rate: int | None = None) -> list[np.ndarray]:
        """The output's signals, one per source (one for every task but separation)."""
        return [self._signal(f"output/{i}", sample_rate) for i in range(self._source_count)]

    def input(self, sample_rate: int | None = None) -> np.ndarray:
        """The degraded input (the microphone signal for AEC, the mixture for TSE)."""
        return self._item_signal("input", sample_rate)

    def reference(self, sample_rate: int | None = None) -> np.ndarray:
        return self._item_signal("reference", sample_rate)

    def references(self, sample_rate: int | None = None) -> list[np.ndarray]:
        """Every reference in source order (one, except for separation)."""
        out = []
        for index, path in enumerate(self.item.references):
            self._file(f"reference/{index}", path)
            out.append(self._signal(f"reference/{index}", sample_rate))
        return out

    def assignment(self) -> tuple[int, ...]:
        """For each reference, the index of the output source paired with it: the permutation with
        the best mean SI-SDR at the item's rate (``bench.metrics.separation``), chosen once per
        output so every metric scores the same pairing."""
        if self._assignment is None:
            from bench.metrics.separation import best_assignment

            rate = self.item_rate
            self._assignment = best_assignment(self.references(rate), self.sources(rate))
        return self._assignment

    def enrollment(self, sample_rate: int | None = None) -> np.ndarray:
        return self._item_signal("enrollment", sample_rate)

    def far_end(self, sample_rate: int | None = None) -> np.ndarray:
        return self._item_signal("far_end", sample_rate)


class Metric(Configurable, ABC):
    """Base class. ``score`` may omit columns that do not apply to an item (absent, not an error)."""

    kind = "metric"
    columns: ClassVar[tuple[Column, ...]] = ()
    needs: ClassVar[frozenset[str]] = frozenset()
    tasks: ClassVar[frozenset[str] | None] = None
    """Tasks the metric applies to (``None``: all). PLCMOS on a TSE item would mean nothing."""
    implementation_version: ClassVar[str] = "1"
    scope: ClassVar[str] = ""
    """What part of each item the metric scores, when that is not simply all of it (AECMOS: the
    first 20 s); report footnotes quote it."""
    handles_sources: ClassVar[bool] = False
    """Scores separation outputs (one per source, best assignment); other metrics skip those items."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.column_renames: dict[str, str] = {}

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
        if SEPARATION in task_parts(item.task) and not self.handles_sources:
            return False
        return all(item.has(need) for need in self.needs)

    def relabel(self, label: str) -> None:
        """Suffix every column with ``@label`` (``ratio_of`` references too) and put the label in
        the config, hence the version: scores cached under one label never answer for another.
        Two instances of one metric with different configs need this to keep their columns apart."""
        if any(ch in label for ch in ",:|@ ") or not label:
            raise ConfigError(f"metric {self.name}: label {label!r} must be non-empty, without ',', ':', '|', '@' or spaces")
        renamed = {column.name: f"{column.name}@{label}" for column in self.columns}
        self.columns = tuple(
            replace(column, name=renamed[column.name],
                    ratio_of=None if column.ratio_of is None else tuple(renamed.get(c, c) for c in column.ratio_of))
            for column in self.columns
        )
        self.config["label"] = label
        self.column_renames = renamed

    def load(self) -> None:
        """Load models once per worker."""

    @abstractmethod
    def score(self, ctx: ScoringContext) -> dict[str, float]:
        """Return {column name: value} for the columns that apply to ``ctx.item``."""


METRICS: Registry[Metric] = Registry("metric", "sebench.metrics")
register_metric = METRICS.register


def build_metric(spec: Spec) -> Metric:
    metric = METRICS.get(spec.name)(**spec.config)
    if spec.label is not None:
        metric.relabel(str(spec.label))
    return metric


def rename_scores(metric: Metric, scores: Mapping[str, float]) -> dict[str, float]:
    """A metric's scores under its (possibly labelled) column names."""
    return {metric.column_renames.get(name, name): value for name, value in scores.items()}
