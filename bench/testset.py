"""The TestSet interface: a loader that yields Items from a data set's official layout."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Iterable

from bench.audio import audio_info
from bench.builtins import BUILTIN_TESTSETS
from bench.errors import AudioError
from bench.item import Item
from bench.registry import Registry


class TestSet(ABC):
    """Subclasses take their options (root folder, subset, ...) as keyword config."""

    __test__ = False  # not a pytest class
    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"

    def __init__(self, **config: Any) -> None:
        self.config: dict[str, Any] = dict(config)

    @abstractmethod
    def items(self) -> Iterable[Item]:
        """Yield items in a stable order."""

    def prepare(self) -> list[str]:
        """Build (where the set is generated) and verify: every referenced file readable at its rate.

        Returns one line per problem; an empty list means the set is ready.
        """
        problems = []
        for item in self.items():
            for field_name in ("input", "reference", "enrollment", "far_end"):
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

    def card(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "config": self.config}


TESTSETS: Registry[TestSet] = Registry("test set", "sebench.testsets", BUILTIN_TESTSETS)
register_testset = TESTSETS.register
