"""Keyword config of systems, test sets and metrics: declared keys, defaults, the data root.

Spec strings (``dns:root=/x,subset=no_reverb``) and YAML entries arrive as keyword config. The base
classes check it here, once: a key the class does not declare (``subsets`` for ``subset``) is an
error naming the keys it knows, never silently ignored; declared defaults are filled in (and so are
part of a system card's identity and a metric's version); a class with ``data_root`` gets its
required ``root`` folder checked and expanded as ``self.root``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Mapping

from bench.errors import ConfigError


def reject_unknown(config: Mapping[str, Any], known: set[str], what: str) -> None:
    """A typo in a key must not be silently ignored."""
    unknown = sorted(set(config) - known)
    if unknown:
        raise ConfigError(f"{what}: unknown config keys {unknown}; known: {sorted(known)}")


def expand_root(value: str | os.PathLike[str] | None, what: str) -> Path:
    """A configured folder (``~`` and ``$VARS`` expanded, made absolute), which must exist.

    Absolute, so items stay valid in worker processes and in stored results whatever the cwd.
    """
    if value is None or str(value).strip() == "":
        raise ConfigError(f"{what}: 'root' is required (the data set's folder)")
    path = Path(os.path.expandvars(os.path.expanduser(str(value))))
    if not path.is_dir():
        raise ConfigError(f"{what}: folder {path} does not exist")
    return path.resolve()


class Configurable:
    """Base of ``System``, ``TestSet`` and ``Metric``: built from keyword config.

    ``options`` maps every accepted key to its default (``None``: no default, absent unless
    given). A class that leaves ``options`` as ``None`` checks its own keys (LLaSE parses a config
    file) or accepts any: plugins written before options existed keep working.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "component"
    """What error messages call it: system, test set, metric."""
    options: ClassVar[Mapping[str, Any] | None] = None
    data_root: ClassVar[bool] = False
    """True: the required ``root`` key is the data's folder, checked and expanded as ``self.root``."""

    def __init__(self, **config: Any) -> None:
        if self.options is not None:
            reject_unknown(config, set(self.options) | ({"root"} if self.data_root else set()), f"{self.kind} {self.name!r}")
            defaults = {key: value for key, value in self.options.items() if value is not None}
            config = {**defaults, **config}
        self.config: dict[str, Any] = dict(config)
        if self.data_root:
            self.root = expand_root(config.get("root"), self.name)
