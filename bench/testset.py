"""The TestSet interface: a loader that yields Items from a data set's official layout."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable

from bench.audio import audio_info
from bench.errors import AudioError
from bench.item import Item
from bench.options import Configurable
from bench.registry import Registry

SIGNAL_FIELDS = ("input", "reference", "enrollment", "far_end")
LENGTH_FIELDS = ("input", "reference", "far_end")
"""Files that cover the same time span as the input (the enrollment is another utterance)."""
LENGTH_TOLERANCE_SECONDS = 0.1
"""A reference or far-end this much longer or shorter than its input is reported: metrics truncate
to the shortest, and AEC systems align the far end sample by sample, so seconds of difference
usually mean the wrong file or a different excerpt."""


@dataclass(frozen=True)
class FileWarning:
    """Something about an item's files that the harness will handle but the user should know."""

    item_id: str
    problem: str
    files: str
    """The files concerned as ``field: rate Hz, seconds`` (what to look at)."""


def file_warnings(item: Item) -> list[FileWarning]:
    """Mixed sample rates across an item's files, and references or far ends whose length differs
    from the input's. Unreadable files are ``prepare``'s problems, not warnings, and are skipped."""
    info: dict[str, tuple[int, float]] = {}
    for field_name in SIGNAL_FIELDS:
        path = getattr(item, field_name)
        if path is not None:
            try:
                rate, frames = audio_info(path)
            except AudioError:
                continue
            info[field_name] = (rate, frames / rate)

    def describe(fields: Iterable[str]) -> str:
        return "; ".join(f"{f}: {info[f][0]} Hz, {info[f][1]:.2f} s" for f in fields)

    warnings = []
    if len({rate for rate, _ in info.values()}) > 1:
        warnings.append(FileWarning(item.id, "mixed sample rates (each file is resampled on reading)", describe(info)))
    if "input" in info:
        for field_name in LENGTH_FIELDS[1:]:
            if field_name in info and abs(info[field_name][1] - info["input"][1]) > LENGTH_TOLERANCE_SECONDS:
                what = "far end" if field_name == "far_end" else field_name
                warnings.append(FileWarning(item.id, f"{what} length differs from the input's (metrics truncate "
                                            "to the shortest)", describe(("input", field_name))))
    return warnings


class TestSet(Configurable, ABC):
    """Subclasses take their options (root folder, subset, ...) as keyword config."""

    __test__ = False  # not a pytest class
    kind = "test set"
    version: ClassVar[str] = "1"

    @abstractmethod
    def items(self) -> Iterable[Item]:
        """Yield items in a stable order."""

    def prepare(self) -> list[str]:
        """Build (where the set is generated) and verify: every referenced file readable at its rate.

        Returns one line per problem; an empty list means the set is ready.
        """
        problems = []
        for item in self.items():
            for field_name in SIGNAL_FIELDS:
                path = getattr(item, field_name)
                if path is None:
                    continue
                try:
                    rate, _ = audio_info(path)
                except AudioError as exc:
                    problems.append(f"{item.id}: {exc}")
                    continue
                if item.sample_rate is not None and rate != item.sample_rate:
                    problems.append(f"{item.id}: {path} is at {rate} Hz, expected {item.sample_rate} Hz")
        return problems

    def warnings(self) -> list[FileWarning]:
        """Per-item file warnings (mixed rates, length mismatches); ``prepare`` prints them as a table."""
        return [warning for item in self.items() for warning in file_warnings(item)]

    def card(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "config": self.config}


TESTSETS: Registry[TestSet] = Registry("test set", "sebench.testsets")
register_testset = TESTSETS.register
