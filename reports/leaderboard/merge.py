"""Rows of every run and published table, per (test set, subset) board, with comparability checks.

The first run named is the reference. Against it, per board:

* **items**: a run scored on another set of items (ids or count), or on a test set built with other
  options (``synthetic:seed=1`` reuses seed 0's item ids for other audio; the data root may differ),
  is not comparable; its rows are flagged and left out of the ranking (a mean over other clips is
  another experiment);
* **metric version**: a metric whose version differs (implementation, options, the sha256 of any
  model file; for WER also the ASR model and the text normaliser) flags that run's columns of it;
  the rows are left out of the ranking;
* **duplicate labels**: one label from two runs with different system cards (config, version,
  checkpoint) are two systems: both rows are kept, labelled with their run and flagged; the same
  label with the same card is one system, shown once (the first run's numbers).

``strict`` turns every flag into a refusal. Published rows (``--reference``) are marked
``reported``: their numbers come from the paper's full test set, not from these items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import pandas as pd

from bench.errors import ConfigError
from bench.metric import Column
from reports.aggregate import OK, UNSUPPORTED, aggregate, display_decimals, pick_columns
from reports.leaderboard.sources import Source
from reports.reference import Reference

REPRODUCED, REPORTED, BOUND = "reproduced", "reported", "bound"
ITEMS, METRIC_VERSION, DUPLICATE_LABEL = "items", "metric-version", "duplicate-label"
EXCLUDING = frozenset({ITEMS, METRIC_VERSION})
"""Flags that keep a row out of the ranking (its numbers are not comparable)."""


@dataclass(frozen=True)
class Flag:
    kind: str
    detail: str
    columns: tuple[str, ...] = ()
    """The columns concerned; empty for the whole row."""


@dataclass
class Row:
    """One line of one board."""

    label: str
    system: str
    kind: str
    source: Source | None = None
    reference: Reference | None = None
    values: dict[str, float | None] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    per_item: pd.DataFrame | None = None
    """item_id x column (hidden ratio columns included), for the bootstrap."""
    flags: list[Flag] = field(default_factory=list)
    also_in: list[str] = field(default_factory=list)

    @property
    def comparable(self) -> bool:
        return not any(flag.kind in EXCLUDING for flag in self.flags)

    @property
    def card(self) -> dict[str, Any]:
        return self.source.run.systems.get(self.system, {}) if self.source else {}


@dataclass
class Board:
    testset: str
    subset: str
    items: tuple[str, ...]
    reference_run: str
    columns: list[Column]
    rows: list[Row]

    @property
    def key(self) -> str:
        return self.testset if self.subset == self.testset else f"{self.testset}/{self.subset}"

    def decimals(self) -> dict[str, int]:
        return {c.name: display_decimals(c) for c in self.columns}


def _version_parts(version: str) -> dict[str, str]:
    parts = {}
    for part in version.split(";"):
        if "@sha256:" in part:
            name, _, digest = part.partition("@sha256:")
            parts[f"model file {name}"] = f"sha256 {digest[:12]}"
        else:
            key, _, value = part.partition("=")
            parts[key] = value
    return parts


def version_difference(metric: str, reference: str, other: str) -> str:
    """What differs between two versions of one metric, in words (which model file, which option)."""
    a, b = _version_parts(reference), _version_parts(other)
    changes = []
    for key in list(dict.fromkeys([*a, *b])):
        if a.get(key) != b.get(key):
            what = "implementation" if key == metric else key
            if metric == "wer" and key != metric:  # the ASR model, its backend and the text normaliser
                what = f"ASR {key}"
            changes.append(f"{what} {a.get(key, 'absent')} -> {b.get(key, 'absent')}")
    return f"{metric}: " + ("; ".join(changes) or "version string differs")


def _merged_columns(sources: Sequence[Source]) -> dict[str, Column]:
    columns: dict[str, Column] = {}
    for source in sources:
        for column in source.run.visible_columns:
            known = columns.setdefault(column.name, column)
            if known.higher_is_better != column.higher_is_better:
                raise ConfigError(f"column {column.name} is higher-is-better in one run and lower-is-better in "
                                  f"another ({source.path}); these runs cannot share a leaderboard")
    return columns


LOCATION_KEYS = frozenset({"name", "label", "root", "subset", "subsets"})
"""Test-set options that say where the data is or which part is read, not what it is: a store copied
from another machine has another root, and a subset selection shows in the item ids."""


def testset_options(source: Source, testset: str) -> dict[str, Any]:
    """The options a run's test set was built with (seed, size, rate, ...), location keys left out."""
    for spec in source.run.config.get("testsets", []):
        spec = {"name": spec} if isinstance(spec, str) else dict(spec)
        if spec.get("label", spec.get("name")) == testset:
            return {k: v for k, v in spec.items() if k not in LOCATION_KEYS}
    return {}


def _options_flag(reference: dict[str, Any], mine: dict[str, Any], testset: str, reference_run: str) -> Flag | None:
    """Same item ids can hide other audio (``synthetic:seed=1`` names its items as seed 0 does)."""
    changed = [f"{k} {reference.get(k, 'default')} -> {mine.get(k, 'default')}"
               for k in sorted(set(reference) | set(mine)) if reference.get(k) != mine.get(k)]
    if not changed:
        return None
    return Flag(ITEMS, f"test set {testset} built with other options than in the reference run {reference_run}: "
                       + ", ".join(changed))


def _items_flag(reference: tuple[str, ...], mine: tuple[str, ...], reference_run: str) -> Flag | None:
    if set(mine) == set(reference):
        return None
    common = len(set(mine) & set(reference))
    return Flag(ITEMS, f"scored on {len(mine)} items, {common} of them among the {len(reference)} items of the "
                       f"reference run {reference_run}")


def _rows_of(source: Source, cells: pd.DataFrame, testset: str, subset: str, columns: list[str]) -> list[Row]:
    part = cells[(cells["testset"] == testset) & (cells["subset"] == subset)]
    scores = source.run.scores
    scores = scores[(scores["testset"] == testset) & (scores["subset"] == subset)]
    rows = []
    for label in source.run.labels():
        mine = part[part["system"] == label].set_index("column")
        if mine.empty or (mine["status"] == UNSUPPORTED).all():
            continue  # the system does not do this task: no row, as in the paper tables
        row = Row(label=label, system=label, kind=BOUND if source.run.is_bound(label) else REPRODUCED, source=source)
        for column in columns:
            if column in mine.index:
                cell = mine.loc[column]
                row.values[column] = float(cell["mean"]) if cell["status"] == OK else None
                row.status[column] = str(cell["status"])
                row.counts[column] = int(cell["n"])
        own = scores[scores["system"] == label]
        if not own.empty:
            row.per_item = own.pivot_table(index="item_id", columns="column", values="value", aggfunc="first")
        rows.append(row)
    return rows


def _metric_flags(source: Source, anchor_versions: dict[str, str], columns: list[str]) -> list[Flag]:
    flags = []
    for metric, version in source.run.metric_versions.items():
        reference = anchor_versions.get(metric)
        if reference is None or reference == version:
            continue
        concerned = tuple(c for c in columns if source.column_metrics.get(c) == metric)
        if concerned:
            flags.append(Flag(METRIC_VERSION, version_difference(metric, reference, version), concerned))
    return flags


def _card_identity(card: dict[str, Any]) -> tuple[Any, ...]:
    return (card.get("name"), card.get("variant"), card.get("version"),
            repr(sorted((card.get("config") or {}).items())), card.get("checkpoint_sha256"))


def _resolve_duplicates(rows: list[Row]) -> list[Row]:
    """One row per (label, card); differing cards under one label become labelled, flagged rows."""
    kept: list[Row] = []
    by_label: dict[str, list[Row]] = {}
    for row in rows:
        same = next((r for r in by_label.get(row.label, []) if _card_identity(r.card) == _card_identity(row.card)), None)
        if same is not None:
            assert row.source is not None
            same.also_in.append(row.source.run_id)
            continue
        by_label.setdefault(row.label, []).append(row)
        kept.append(row)
    for label, group in by_label.items():
        if len(group) < 2:
            continue
        for row in group:
            assert row.source is not None
            others = ", ".join(r.source.name for r in group if r is not row and r.source)
            row.flags.append(Flag(DUPLICATE_LABEL, f"label {label!r} also names a differently configured system "
                                                   f"in run {others}"))
            row.label = f"{label} [{row.source.name}]"
    return kept


def _reported_rows(reference: Reference, testset: str, subset: str, columns: set[str]) -> list[Row]:
    if reference.testset != testset:
        return []
    published_subsets = [name for name, ours in reference.subsets.items() if ours == subset]
    rows = []
    for published in reference.systems:
        values: dict[str, float | None] = {}
        for published_subset in published_subsets:
            for published_column, ours in reference.columns.items():
                if ours in columns:
                    values[ours] = reference.value(published, published_subset, published_column)
        if not any(v is not None for v in values.values()):
            continue
        rows.append(Row(label=published, system=published, kind=REPORTED, reference=reference, values=values,
                        status={c: OK if v is not None else "n/a" for c, v in values.items()}))
    return rows


def build_boards(sources: Sequence[Source], references: Sequence[Reference] = (), *,
                 strict: bool = False) -> list[Board]:
    """Every (test set, subset) any run scored, in the first run's order, then later runs' new ones."""
    merged = _merged_columns(sources)
    anchor_versions: dict[str, str] = {}
    for source in sources:
        for metric, version in source.run.metric_versions.items():
            anchor_versions.setdefault(metric, version)
    cells = {source.run_id: aggregate(source.run) for source in sources}
    keys: list[tuple[str, str]] = []
    for source in sources:
        for testset in source.run.testsets():
            keys += [(testset, s) for s in source.run.subsets(testset) if (testset, s) not in keys]
    boards = []
    for testset, subset in keys:
        anchor: tuple[str, ...] | None = None
        anchor_run = ""
        anchor_options: dict[str, Any] = {}
        rows: list[Row] = []
        for source in sources:
            items = tuple(source.run.items(testset, subset))
            if not items:
                continue
            options = testset_options(source, testset)
            if anchor is None:
                anchor, anchor_run, anchor_options = items, source.name, options
            mine = _rows_of(source, cells[source.run_id], testset, subset, list(merged))
            flags = [f for f in [_items_flag(anchor, items, anchor_run),
                                 _options_flag(anchor_options, options, testset, anchor_run)] if f]
            flags += _metric_flags(source, anchor_versions, list(merged))
            for row in mine:
                row.flags.extend(flags)
            rows.extend(mine)
        rows = _resolve_duplicates(rows)
        present = [c for c in merged.values() if any(r.values.get(c.name) is not None for r in rows)]
        for reference in references:
            rows.extend(_reported_rows(reference, testset, subset, {c.name for c in present}))
        boards.append(Board(testset, subset, anchor or (), anchor_run, present, rows))
    if strict:
        problems = [f"{board.key}: {row.label} ({row.source.name if row.source else 'reported'}): {flag.detail}"
                    for board in boards for row in board.rows for flag in row.flags]
        if problems:
            raise ConfigError("these runs are not comparable (drop --strict to merge them with flags):\n  "
                              + "\n  ".join(dict.fromkeys(problems)))
    return boards


def board_columns(boards: Sequence[Board]) -> list[Column]:
    """Every column some board shows, in first-seen order."""
    return list({c.name: c for board in boards for c in board.columns}.values())


def restrict_columns(boards: Sequence[Board], names: Sequence[str]) -> list[Board]:
    """Only the named columns, in that order (``--columns``); an unknown name is an error."""
    chosen = [c.name for c in pick_columns(board_columns(boards), names)]
    for board in boards:
        by_name = {c.name: c for c in board.columns}
        board.columns = [by_name[n] for n in chosen if n in by_name]
    return [board for board in boards if board.columns]
