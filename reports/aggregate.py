"""From per-item rows in the results store to one cell per (system, test set, subset, column).

A cell's value is the mean over the items the system produced an output for, except for columns
with ``ratio_of`` (corpus WER), whose value is a ratio of sums of two hidden per-item columns. Each
cell carries its seeded 95% interval and the counts that explain it (items scored,
items failed), so a renderer never has to go back to the item rows. Interval methods: ``reports.stats``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from bench.errors import ConfigError, StorageError
from bench.metric import Column
from bench.status import Status
from bench.store import ResultStore
from reports.order import item_ranks, sort_rows, system_order
from reports.stats import CI_METHOD, CONFIDENCE, RESAMPLES, SMALL_N, cell_rng, mean_ci, ratio, ratio_ci

OK, UNSUPPORTED, FAILED = Status.OK.value, Status.UNSUPPORTED.value, Status.FAILED.value
NOT_APPLICABLE = "n/a"
"""Cell statuses: an output status, or n/a where the metric does not apply."""
"""Cell statuses: a value; the system does not do this task (`-`); every item failed; the metric
does not apply to these items (no reference on real recordings, say)."""

CELL_FIELDS = ("system", "testset", "subset", "column", "status", "mean", "ci_low", "ci_high",
               "n", "n_failed", "n_items")

BOUND_SYSTEMS = frozenset({"oracle", "silence"})
"""Sanity rows that bound the scale rather than compete: never marked best (the oracle would win
every intrusive column)."""


@dataclass
class RunData:
    """Everything a renderer needs from one stored run."""

    run_id: str
    name: str
    run_dir: Path
    config: dict[str, Any]
    provenance: dict[str, Any]
    systems: dict[str, dict[str, Any]]
    columns: dict[str, Column]
    scores: pd.DataFrame
    outputs: pd.DataFrame
    metric_versions: dict[str, str] = field(default_factory=dict)
    column_metrics: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Column -> (metric name, version of the instance that wrote it), for footnotes naming models."""
    _item_order: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def seed(self) -> int:
        return int(self.config.get("seed", 0) or 0)

    @property
    def visible_columns(self) -> list[Column]:
        return [c for c in self.columns.values() if not c.hidden]

    def shown_columns(self, names: Sequence[str] | None) -> list[Column]:
        """The visible columns ``--columns`` names (``pick_columns``)."""
        return pick_columns(self.visible_columns, names)

    @property
    def item_order(self) -> pd.DataFrame:
        """(testset, subset, item_id) rows in report order, with their ranks (``reports.order``)."""
        if self._item_order is None:
            self._item_order = item_ranks(self.outputs, self.scores, self.config)
        return self._item_order

    def testsets(self) -> list[str]:
        """Test-set labels in config order."""
        return _distinct(self.item_order["testset"])

    def subsets(self, testset: str) -> list[str]:
        """A test set's subsets in its loader's order."""
        order = self.item_order
        return _distinct(order.loc[order["testset"] == testset, "subset"])

    def items(self, testset: str, subset: str) -> list[str]:
        """A subset's item ids in its loader's order."""
        order = self.item_order
        return _distinct(order.loc[(order["testset"] == testset) & (order["subset"] == subset), "item_id"])

    def labels(self) -> list[str]:
        """System row labels in config order."""
        return system_order(self.systems, pd.concat([self.outputs["system"], self.scores["system"]]))

    def is_bound(self, label: str) -> bool:
        return self.systems.get(label, {}).get("name") in BOUND_SYSTEMS


def pick_columns(visible: Iterable[Column], names: Sequence[str] | None, *, option: str = "--columns") -> list[Column]:
    """The columns of ``visible`` that ``names`` picks, in the order named; all of them, in their own
    order, when nothing is named. Every table, plot, page and board that honours ``--columns`` asks
    here, so an unknown (or hidden) name is the same error everywhere instead of an empty output."""
    known = {c.name: c for c in visible}
    if not names:
        return list(known.values())
    unknown = [n for n in dict.fromkeys(names) if n not in known]
    if unknown:
        raise ConfigError(f"unknown column(s) {', '.join(unknown)} in {option}; choose from {', '.join(known) or 'none'}")
    return [known[n] for n in dict.fromkeys(names)]


def _distinct(values: pd.Series) -> list[str]:
    return [str(v) for v in pd.unique(values)]


def resolve_store(path: Path | str) -> Path:
    """A run folder or its results.sqlite; a clear error when neither is there."""
    path = Path(path)
    store = path / "results.sqlite" if path.is_dir() else path
    if not store.is_file():
        raise ConfigError(f"no results store at {store} (expected a run folder holding results.sqlite)")
    return store


def load_run(path: Path | str, run_id: str | None = None) -> RunData:
    """A stored run in report order; a damaged database is one ConfigError naming the file."""
    store_path = resolve_store(path)
    try:
        return _load_run(store_path, run_id)
    except (StorageError, sqlite3.DatabaseError, pd.errors.DatabaseError, json.JSONDecodeError, KeyError) as exc:
        raise ConfigError(f"{store_path} is not a readable sebench results database "
                          f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no detail'})") from exc


def _load_run(store_path: Path, run_id: str | None) -> RunData:
    store = ResultStore(store_path)
    try:
        return _read_run(store, store_path, run_id)
    finally:  # an open connection keeps the run in the WAL file, not in the .sqlite a user copies away
        store.close()


def _read_run(store: ResultStore, store_path: Path, run_id: str | None) -> RunData:
    runs = store.runs()
    if runs.empty:
        raise ConfigError(f"{store_path} holds no runs")
    if run_id is None:
        run_id = store.latest_run_id()
    row = runs[runs["run_id"] == run_id]
    if row.empty:
        raise ConfigError(f"{store_path} has no run {run_id!r}; runs: {', '.join(runs['run_id'])}")
    record = row.iloc[0]
    run = RunData(
        run_id=run_id, name=str(record["name"]), run_dir=store_path.parent,
        config=json.loads(record["config"]), provenance=json.loads(record["provenance"]),
        systems=store.systems(run_id),
        columns=store.column_specs(run_id),
        scores=store.scores_frame(run_id), outputs=store.outputs_frame(run_id),
        metric_versions=store.metric_versions(run_id),
        column_metrics=_column_metrics(store, run_id),
    )
    return in_report_order(run)


def _column_metrics(store: ResultStore, run_id: str) -> dict[str, tuple[str, str]]:
    versions = store.column_versions(run_id)
    return {column: (metric, versions[column]) for column, metric in store.column_metrics(run_id).items()}


def in_report_order(run: RunData) -> RunData:
    """Sort the run's rows into report order (plan order, never the order workers finished in), so
    every renderer that walks the frames walks them the same way."""
    systems = run.labels()
    run.outputs = sort_rows(run.outputs, run.item_order, systems)
    run.scores = sort_rows(run.scores, run.item_order, systems, "column")
    return run


def _group_cell(run: RunData, column: Column, scores: pd.DataFrame, by_column: dict[str, np.ndarray],
                key: tuple[str, str, str], n_items: int, n_failed: int, n_ok: int) -> dict[str, Any]:
    system, testset, subset = key
    cell: dict[str, Any] = {"system": system, "testset": testset, "subset": subset, "column": column.name,
                            "status": OK, "mean": None, "ci_low": None, "ci_high": None, "n": 0,
                            "n_failed": n_failed, "n_items": n_items}
    rng = cell_rng(run.seed, system, testset, subset, column.name)
    if column.ratio_of:
        num_name, den_name = column.ratio_of
        wide = scores[scores["column"].isin([num_name, den_name])].pivot_table(
            index="item_id", columns="column", values="value", aggfunc="first")
        if num_name in wide and den_name in wide:
            wide = wide[[num_name, den_name]].dropna()
            if not wide.empty:
                num, den = wide[num_name].to_numpy(), wide[den_name].to_numpy()
                cell["mean"] = ratio(num, den)
                cell["ci_low"], cell["ci_high"] = ratio_ci(num, den, rng)
                cell["n"] = len(wide)
    else:
        values = by_column.get(column.name, np.empty(0))
        values = values[np.isfinite(values)]
        if values.size:
            cell["mean"] = float(values.mean())
            cell["ci_low"], cell["ci_high"] = mean_ci(values, rng)
            cell["n"] = int(values.size)
    for bound in ("ci_low", "ci_high"):
        if cell[bound] is not None and not np.isfinite(cell[bound]):
            cell[bound] = None  # one item: no interval
    if cell["mean"] is None or not np.isfinite(cell["mean"]):
        cell["mean"] = None
        cell["status"] = FAILED if n_ok == 0 and n_failed > 0 else NOT_APPLICABLE
    return cell


def aggregate(run: RunData) -> pd.DataFrame:
    """One row per (system, test set, subset, visible column), in table order."""
    rows: list[dict[str, Any]] = []
    keys = ["system", "testset", "subset"]
    outputs = {k: g for k, g in run.outputs.groupby(keys, sort=False)}
    scores = {k: g for k, g in run.scores.groupby(keys, sort=False)}
    empty_out, empty_sc = run.outputs.iloc[0:0], run.scores.iloc[0:0]
    for testset in run.testsets():
        for subset in run.subsets(testset):
            for system in run.labels():
                out = outputs.get((system, testset, subset), empty_out)
                sc = scores.get((system, testset, subset), empty_sc)
                if out.empty and sc.empty:
                    continue
                status = out["status"]
                n_unsupported = int((status == UNSUPPORTED).sum())
                n_failed = int((status == FAILED).sum())
                n_ok = int((status == OK).sum()) if not out.empty else int(sc["item_id"].nunique())
                n_items = len(out) if not out.empty else n_ok
                key = (system, testset, subset)
                by_column = {c: g.to_numpy(dtype=np.float64) for c, g in sc.groupby("column", sort=False)["value"]}
                for column in run.visible_columns:
                    if n_items and n_unsupported == n_items:
                        rows.append({"system": system, "testset": testset, "subset": subset, "column": column.name,
                                     "status": UNSUPPORTED, "mean": None, "ci_low": None, "ci_high": None,
                                     "n": 0, "n_failed": 0, "n_items": n_items})
                    else:
                        rows.append(_group_cell(run, column, sc, by_column, key, n_items - n_unsupported,
                                                n_failed, n_ok))
    return pd.DataFrame(rows, columns=list(CELL_FIELDS))


def _overlap(a: pd.Series, b: pd.Series) -> bool:
    """Whether two cells' intervals overlap; a cell without one (a single item) overlaps anything."""
    if a["ci_low"] is None or b["ci_low"] is None or pd.isna(a["ci_low"]) or pd.isna(b["ci_low"]):
        return True
    return float(a["ci_low"]) <= float(b["ci_high"]) and float(b["ci_low"]) <= float(a["ci_high"])


def rank_cells(run: RunData, cells: pd.DataFrame, decimals: dict[str, int]) -> pd.DataFrame:
    """Columns ``best`` and ``tie`` for every cell of ``cells``.

    Within a (test set, subset, column), the leader is the best mean at display precision (bound
    rows such as the oracle are not ranked; a lone contender is best of nothing). It is ``best``
    (bold) only when it leads alone and its 95% interval overlaps no other contender's: a lead
    inside the noise is not a result. Otherwise the leaders and every contender whose interval
    overlaps a leader's are ``tie`` (tied for best), and nothing is bold.
    """
    marks = pd.DataFrame({"best": False, "tie": False}, index=cells.index)
    ranked = cells[(cells["status"] == OK) & ~cells["system"].map(run.is_bound)]
    for (_, _, column), group in ranked.groupby(["testset", "subset", "column"], sort=False):
        if len(group) < 2:
            continue
        shown = group["mean"].astype(float).round(decimals[column])
        target = shown.max() if run.columns[column].higher_is_better else shown.min()
        leaders = group[shown == target]
        others = group[shown != target]
        tied = [i for i, other in others.iterrows() if any(_overlap(other, leader) for _, leader in leaders.iterrows())]
        if len(leaders) == 1 and not tied:
            marks.loc[leaders.index, "best"] = True
        else:
            marks.loc[list(leaders.index) + tied, "tie"] = True
    return marks


def display_decimals(column: Column) -> int:
    """Three decimals for unit-interval scores (STOI, WER as a fraction), two for the rest."""
    return 3 if column.upper is not None and column.upper <= 1 else 2


def confidence_description(run: RunData) -> dict[str, Any]:
    return {"level": CONFIDENCE, "method": CI_METHOD, "resamples": RESAMPLES, "seed": run.seed,
            "small_n": SMALL_N}


def small_n_cells(cells: pd.DataFrame) -> pd.Series:
    """True for cells with a value resting on fewer than ``SMALL_N`` items."""
    return (cells["status"] == OK) & (cells["n"].astype(int) < SMALL_N)


def small_n_warning(cells: pd.DataFrame) -> str | None:
    """The sentence every output carries when some cell rests on fewer than ``SMALL_N`` items."""
    ok = cells[cells["status"] == OK]
    return small_n_sentence([int(n) for n in ok["n"]])


def small_n_sentence(counts: list[int]) -> str | None:
    """From the item counts of the cells with a value; None when none is below ``SMALL_N``."""
    small = sorted(n for n in counts if n < SMALL_N)
    if not small:
        return None
    span = f"n = {small[0]}" if small[0] == small[-1] else f"n = {small[0]} to {small[-1]}"
    return (f"Small samples: {len(small)} of {len(counts)} cells rest on fewer than {SMALL_N} items ({span}); "
            "their intervals are wide and their ranking is fragile.")
