"""The outcome of one (system variant, item) job, as stored and reported."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """A str subclass, so a stored ``"ok"`` and ``Status.OK`` compare equal and pandas filters on
    the plain strings keep working; the store writes ``.value`` and reads members back."""

    OK = "ok"
    FAILED = "failed"
    UNSUPPORTED = "unsupported"
    """The system does not support the item's task: never run, shown as ``-`` in tables."""

    def __str__(self) -> str:
        return self.value
