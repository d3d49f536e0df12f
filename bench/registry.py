"""Name -> class registries for systems, test sets and metrics.

Three ways in, so nobody edits the core to add one: the ``@register`` decorator, a lazy table of
built-ins (``bench.builtins``; modules are imported only when their name is asked for, so a missing
optional dependency never breaks unrelated commands), and ``importlib.metadata`` entry points in the
groups ``sebench.systems``, ``sebench.testsets`` and ``sebench.metrics``.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Callable, Generic, TypeVar

from bench.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, group: str, builtins: dict[str, str]) -> None:
        self.kind = kind
        self.group = group
        self._lazy: dict[str, str] = dict(builtins)
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

    def _targets(self) -> dict[str, str]:
        targets = dict(self._lazy)
        for ep in entry_points(group=self.group):
            targets.setdefault(ep.name, ep.value)
        return targets

    def names(self) -> list[str]:
        return sorted(set(self._targets()) | set(self._classes))

    def get(self, name: str) -> type[T]:
        if name in self._classes:
            return self._classes[name]
        target = self._targets().get(name)
        if target is None:
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        module_name, _, attr = target.partition(":")
        module = importlib.import_module(module_name)
        cls = getattr(module, attr) if attr else self._classes.get(name)
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
