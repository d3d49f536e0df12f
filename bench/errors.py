"""Exception types the harness turns into per-item failure records or clear CLI messages."""

from __future__ import annotations


class SebenchError(Exception):
    """Base class: anything the CLI should print as one line rather than a traceback."""


class AudioError(SebenchError):
    """An audio file is unreadable, empty, or at a sample rate other than the one declared."""


class MissingWeightsError(SebenchError):
    """A system or metric needs a weights file the user has not put in place.

    The message must name the missing file, where the loader looked, and where the official file
    is published, because nothing is ever downloaded at run time.
    """


class MissingDependencyError(SebenchError):
    """An optional dependency is absent; the message names the pip extra that provides it."""

    def __init__(self, package: str, extra: str, detail: str = "") -> None:
        message = f"'{package}' is not installed: pip install 'sebench[{extra}]'"
        if detail:
            message += f" ({detail})"
        super().__init__(message)
        self.package = package
        self.extra = extra


class BadOutputError(SebenchError):
    """A system returned something unusable: NaN/inf, silence, or the wrong length."""


class ConfigError(SebenchError):
    """A CLI flag, spec string or YAML config is malformed or names something unknown."""
