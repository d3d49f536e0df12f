"""Published numbers with their citations, for "reported vs reproduced" tables.

Each YAML file in this folder is one published table: the citation and URL, the test set it was
measured on, how its subset and column names map to ours (``scales`` converts a unit, e.g. STOI
printed in percent), which of our systems reproduce each published row, the numbers as printed
(``null`` where the source prints ``-``) and, optionally, how many items each published subset
averages (``items``), so a reproduction on fewer items is flagged. Adding a table
is adding a file; nothing here is computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.errors import ConfigError

REFERENCE_DIR = Path(__file__).parent


@dataclass(frozen=True)
class PublishedSystem:
    name: str
    kind: str
    match: tuple[str, ...]
    """sebench system names (card ``name``) whose rows reproduce this one."""

    def matches(self, label: str, card: dict[str, Any]) -> bool:
        return card.get("name") in self.match or label.lower() == self.name.lower()


@dataclass(frozen=True)
class Reference:
    id: str
    title: str
    citation: str
    url: str
    testset: str
    subsets: dict[str, str]
    columns: dict[str, str]
    systems: dict[str, PublishedSystem]
    rows: tuple[dict[str, Any], ...]
    scales: dict[str, float] = field(default_factory=dict)
    """Published column -> factor to our unit (STOI printed in percent: 0.01); rows stay as printed."""
    items: dict[str, int] = field(default_factory=dict)
    """Published subset -> how many items its numbers average (optional; checked against ours)."""

    def value(self, system: str, subset: str, column: str) -> float | None:
        """The published number for (published system, published subset, published column), in our unit."""
        for row in self.rows:
            if row["system"] == system and row["subset"] == subset:
                value = row.get(column)
                return None if value is None else round(float(value) * self.scales.get(column, 1.0), 12)
        return None


def _parse(path: Path) -> Reference:
    try:
        data = yaml.safe_load(path.read_text())
        systems = {name: PublishedSystem(name, str(spec.get("type", "")), tuple(spec.get("match", ())))
                   for name, spec in data["systems"].items()}
        reference = Reference(id=data["id"], title=data["title"], citation=" ".join(data["citation"].split()),
                              url=data["url"], testset=data["testset"], subsets=dict(data["subsets"]),
                              columns=dict(data["columns"]), systems=systems, rows=tuple(data["rows"]),
                              scales={str(k): float(v) for k, v in (data.get("scales") or {}).items()},
                              items={str(k): int(v) for k, v in (data.get("items") or {}).items()})
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"reference table {path} is malformed: {exc}") from exc
    unknown = set(reference.items) - set(reference.subsets)
    if unknown:
        raise ConfigError(f"reference table {path}: item counts for undeclared subsets {sorted(unknown)}")
    for row in reference.rows:
        if row.get("system") not in systems or row.get("subset") not in reference.subsets:
            raise ConfigError(f"reference table {path}: row {row} names an undeclared system or subset")
    return reference


def available() -> dict[str, Path]:
    """Reference id -> file, for every table shipped here."""
    found = {}
    for path in sorted(REFERENCE_DIR.glob("*.yaml")):
        found[yaml.safe_load(path.read_text())["id"]] = path
    return found


def load_reference(name: str | Path) -> Reference:
    """By id (``llase-dns-dnsmos``) or by path to a user's own YAML file in the same format."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return _parse(path)
    known = available()
    if str(name) not in known:
        raise ConfigError(f"unknown reference table {name!r}; shipped: {', '.join(known)} (or pass a YAML file)")
    return _parse(known[str(name)])
