"""Spec strings and YAML entries naming a system, test set or metric with its config.

``NAME[@VARIANT][:key=value,key=value]`` on the command line, or a mapping
``{name: NAME, variant: ..., label: ..., key: value}`` in YAML. ``label`` names the table row, so
several instances of one adapter (a folder of outputs per published model) stay apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.errors import ConfigError


@dataclass(frozen=True)
class Spec:
    name: str
    variant: str | None = None
    label: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.variant is not None:
            out["variant"] = self.variant
        if self.label is not None:
            out["label"] = self.label
        out.update(self.config)
        return out

    def text(self) -> str:
        """The command-line form, the inverse of ``parse_spec`` (a run re-launched from a config)."""
        pairs = [f"{k}={v}" for k, v in self.config.items()] + ([f"label={self.label}"] if self.label else [])
        head = self.name + (f"@{self.variant}" if self.variant else "")
        return head + (":" + ",".join(pairs) if pairs else "")


def parse_spec(text: str) -> Spec:
    head, _, tail = text.partition(":")
    name, _, variant = head.partition("@")
    if not name:
        raise ConfigError(f"empty name in spec {text!r}")
    config: dict[str, Any] = {}
    for pair in filter(None, tail.split(",")):
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise ConfigError(f"spec {text!r}: expected key=value, got {pair!r}")
        config[key.strip()] = value.strip()
    label = config.pop("label", None)
    return Spec(name=name.strip(), variant=variant.strip() or None, label=label, config=config)


def spec_from_entry(entry: Any) -> Spec:
    """A YAML entry: a spec string or a mapping with ``name``."""
    if isinstance(entry, str):
        return parse_spec(entry)
    if isinstance(entry, dict):
        data = dict(entry)
        name = data.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError(f"config entry {entry!r} has no 'name'")
        variant = data.pop("variant", None)
        label = data.pop("label", None)
        return Spec(name=name, variant=None if variant is None else str(variant), label=label, config=data)
    raise ConfigError(f"config entry {entry!r} must be a string or a mapping")
