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

UNTIMED_ROLES = ("input", "enrollment")
"""Roles whose length is not compared with the input's: the input itself, and the enrollment (another
utterance). Every other file (each reference, the far end) covers the input's time span."""
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
    """The files concerned as ``role: rate Hz, seconds`` (what to look at)."""


def file_warnings(item: Item) -> list[FileWarning]:
    """Mixed sample rates across an item's files, and references or far ends whose length differs
    from the input's. Unreadable files are ``prepare``'s problems, not warnings, and are skipped."""
    info: dict[str, tuple[int, float]] = {}
    for role, path in item.files():
        try:
            rate, frames = audio_info(path)
        except AudioError:
            continue
        info[role] = (rate, frames / rate)

    def describe(fields: Iterable[str]) -> str:
        return "; ".join(f"{f}: {info[f][0]} Hz, {info[f][1]:.2f} s" for f in fields)

    warnings = []
    if len({rate for rate, _ in info.values()}) > 1:
        warnings.append(FileWarning(item.id, "mixed sample rates (each file is resampled on reading)", describe(info)))
    if "input" in info:
        for role, (_, seconds) in info.items():
            if role not in UNTIMED_ROLES and abs(seconds - info["input"][1]) > LENGTH_TOLERANCE_SECONDS:
                warnings.append(FileWarning(item.id, f"{role.replace('_', ' ')} length differs from the input's "
                                            "(metrics truncate to the shortest)", describe(("input", role))))
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
            for _, path in item.files():
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
