"""Name -> class registries for systems, test sets and metrics; trainers for ``sebench train``.

Two ways in, so nobody edits the core to add one: the ``@register`` decorator (in a module named by
``--plugin`` / $SEBENCH_PLUGINS), and entry points in the groups ``sebench.systems``,
``sebench.testsets``, ``sebench.metrics`` and ``sebench.trainers``, whose modules are imported only
when their name is asked for, so a missing optional dependency never breaks unrelated commands.

sebench declares its own built-ins the same way, in its ``pyproject.toml``. An installed sebench
reads them from its package metadata; sebench run from a source checkout (an editable install,
``python -m bench.cli`` in a clone) reads that checkout's ``pyproject.toml`` instead, so its
metadata, written when it was installed, can never hide a built-in added since.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

from bench.errors import ConfigError

T = TypeVar("T")

DISTRIBUTION = "sebench"
TRAINERS_GROUP = "sebench.trainers"


@lru_cache(maxsize=1)
def _checkout_entry_points() -> dict[str, dict[str, str]] | None:
    """{group: {name: target}} from the pyproject.toml beside this package, if sebench runs from a
    source checkout (None for an installed wheel, or on Python 3.10 without tomllib)."""
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    try:
        import tomllib
    except ModuleNotFoundError:
        return None
    if not pyproject.is_file():
        return None
    project = tomllib.loads(pyproject.read_text()).get("project", {})
    if project.get("name") != DISTRIBUTION:
        return None
    return {group: dict(targets) for group, targets in project.get("entry-points", {}).items()}


@lru_cache(maxsize=None)
def declared(group: str) -> dict[str, str]:
    """Every entry point of ``group``: name -> ``module:attribute``, sebench's own first. Read once
    per process (callers must not change the dict): each read scans every installed distribution's
    entry points and metadata, 25-40 ms, and every registry lookup and the command line's parser ask."""
    checkout = _checkout_entry_points()
    own = dict(checkout.get(group, {})) if checkout is not None else {}
    others: dict[str, str] = {}
    for ep in entry_points(group=group):
        is_own = ep.dist is not None and ep.dist.name == DISTRIBUTION
        if is_own and checkout is not None:
            continue  # this checkout's pyproject.toml is the truth, its installed metadata may be older
        (own if is_own else others).setdefault(ep.name, ep.value)
    return {**others, **own}


def load_target(target: str) -> Any:
    """The object an entry point names (``package.module:attribute``)."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


class Registry(Generic[T]):
    def __init__(self, kind: str, group: str) -> None:
        self.kind = kind
        self.group = group
        self._classes: dict[str, type[T]] = {}

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        def decorator(cls: type[T]) -> type[T]:
            existing = self._classes.get(name)
            if existing is not None and existing is not cls:
                raise ConfigError(f"{self.kind} {name!r} is already registered by {existing.__module__}")
            cls.name = name  # type: ignore[attr-defined]
            self._classes[name] = cls
            return cls

        return decorator

    def names(self) -> list[str]:
        return sorted(set(declared(self.group)) | set(self._classes))

    def get(self, name: str) -> type[T]:
        if name in self._classes:
            return self._classes[name]
        target = declared(self.group).get(name)
        if target is None:
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        if ":" in target:
            cls = load_target(target)
        else:  # a module whose @register decorator registers the name on import
            importlib.import_module(target)
            cls = self._classes.get(name)
        if cls is None:
            raise ConfigError(f"{self.kind} {name!r}: {target} did not register it")
        self._classes.setdefault(name, cls)
        if getattr(cls, "name", None) != name:
            cls.name = name  # type: ignore[attr-defined]
        return self._classes[name]


PLUGINS_ENV = "SEBENCH_PLUGINS"


def load_plugins(modules: list[str] | None = None) -> None:
    """Import user modules whose ``@register_*`` decorators add systems, test sets or metrics.

    Modules come from ``--plugin`` and the comma-separated ``SEBENCH_PLUGINS`` variable. Nothing is
    exported: worker processes import the modules that define the run's systems and metrics by
    name (``bench.executors.plugin_modules``), so one run's plugins never leak into the next.
    """
    import os

    names = [m for m in os.environ.get(PLUGINS_ENV, "").split(",") if m]
    names += [m for m in modules or [] if m not in names]
    for module in names:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(f"cannot import plugin module {module!r}: {exc}") from exc
