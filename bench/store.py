"""SQLite results store: one file per run folder, one row per (run, system, item, column).

Every write is its own transaction, so a run killed at any instant leaves a consistent database
holding exactly the items that finished; a re-run fills in the rest. ``position`` columns record
plan order (systems: row order of the config; outputs: the item's index in test-set, then loader
order), so readers can list rows and items as configured; ``talk_type`` keeps an AEC item's talk
type for the listening page. Databases from before these columns existed gain them in place (NULL)
when opened.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from typing import TYPE_CHECKING

from bench.errors import StorageError
from bench.item import Item
from bench.metric import Column, Metric
from bench.status import Status
from bench.system import SystemCard

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL,
    config TEXT NOT NULL, config_hash TEXT NOT NULL, provenance TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS systems (
    run_id TEXT NOT NULL, label TEXT NOT NULL, card TEXT NOT NULL, position INTEGER,
    PRIMARY KEY (run_id, label)
);
CREATE TABLE IF NOT EXISTS columns (
    run_id TEXT NOT NULL, metric TEXT NOT NULL, metric_version TEXT NOT NULL, column_name TEXT NOT NULL,
    higher_is_better INTEGER NOT NULL, lower REAL, upper REAL, unit TEXT NOT NULL,
    ratio_num TEXT, ratio_den TEXT, hidden INTEGER NOT NULL,
    PRIMARY KEY (run_id, column_name)
);
CREATE TABLE IF NOT EXISTS outputs (
    run_id TEXT NOT NULL, system TEXT NOT NULL, testset TEXT NOT NULL, subset TEXT NOT NULL,
    item_id TEXT NOT NULL, task TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
    output_path TEXT, input_path TEXT, reference_path TEXT, enrollment_path TEXT, far_end_path TEXT,
    seconds REAL, position INTEGER, talk_type TEXT, published_file TEXT, published_sha256 TEXT,
    extra_reference_paths TEXT,
    PRIMARY KEY (run_id, system, testset, item_id)
);
CREATE TABLE IF NOT EXISTS scores (
    run_id TEXT NOT NULL, system TEXT NOT NULL, testset TEXT NOT NULL, subset TEXT NOT NULL,
    item_id TEXT NOT NULL, task TEXT NOT NULL, column_name TEXT NOT NULL, value REAL,
    PRIMARY KEY (run_id, system, testset, item_id, column_name)
);
"""

ADDED_COLUMNS = (("systems", "position INTEGER"), ("outputs", "position INTEGER"), ("outputs", "talk_type TEXT"),
                 ("outputs", "published_file TEXT"), ("outputs", "published_sha256 TEXT"),
                 ("outputs", "extra_reference_paths TEXT"))
"""Columns added after schema version 1, added in place to older databases."""

OUTPUT_COLUMNS = ("run_id", "system", "testset", "subset", "item_id", "task", "status", "reason", "output_path",
                  "input_path", "reference_path", "enrollment_path", "far_end_path", "seconds", "position", "talk_type",
                  "published_file", "published_sha256", "extra_reference_paths")
"""``published_file``/``published_sha256``: for outputs read from disk (the ``folder`` system), the
file scored, relative to the folder's root, and its sha256 (``|``-joined per source); else NULL.
``extra_reference_paths``: a separation item's references after the first (``reference_path``), as
a JSON list; else NULL."""


def _path_or_none(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _write_output(db: sqlite3.Connection, run_id: str, label: str, testset: str, item: Item, status: Status | str,
                  reason: str | None, output_path: str | None, seconds: float | None, position: int | None,
                  provenance: Mapping[str, str] | None = None) -> None:
    status = Status(status)  # ValueError for anything that is not a status
    provenance = provenance or {}
    db.execute(
        f"INSERT OR REPLACE INTO outputs ({', '.join(OUTPUT_COLUMNS)}) VALUES ({', '.join('?' * len(OUTPUT_COLUMNS))})",
        (run_id, label, testset, item.subset, item.id, item.task, status.value, reason, output_path,
         str(item.input), _path_or_none(item.reference), _path_or_none(item.enrollment),
         _path_or_none(item.far_end), seconds, position, item.talk_type, provenance.get("published_file"),
         provenance.get("published_sha256"),
         json.dumps([str(path) for path in item.extra_references]) if item.extra_references else None),
    )


def _write_scores(db: sqlite3.Connection, run_id: str, label: str, testset: str, item: Item,
                  scores: Mapping[str, float]) -> None:
    db.execute("DELETE FROM scores WHERE run_id = ? AND system = ? AND testset = ? AND item_id = ?",
               (run_id, label, testset, item.id))
    db.executemany(
        "INSERT INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(run_id, label, testset, item.subset, item.id, item.task, col, float(value)) for col, value in scores.items()],
    )


FULL_DISK_BYTES = 1 << 20
"""Free space below which a database error is reported as a full disk."""


class ResultStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One connection for the store's life: opening and closing per write costs an fsync each
            # (~20 ms), which dominated fully cached re-runs. WAL + synchronous=NORMAL keeps every
            # committed transaction across a killed process (only an OS crash can lose the last ones).
            self._db = sqlite3.connect(self.path, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc) from exc
        with self._connect() as db:
            db.executescript(SCHEMA)
            for table, column in ADDED_COLUMNS:
                existing = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                if column.split()[0] not in existing:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed on success, rolled back on error. A database error (a full
        disk, a corrupt or foreign file) is a ``StorageError`` naming the file: one line, not a
        traceback."""
        try:
            with self._db:
                yield self._db
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _error(self, exc: BaseException) -> StorageError:
        text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        try:  # SQLite often reports a full disk as a plain "disk I/O error"
            free = shutil.disk_usage(self.path.parent).free
            if free < FULL_DISK_BYTES:
                text += f"; the disk is full ({free // 1024} KiB free)"
        except OSError:
            pass
        return StorageError(f"results store {self.path}: {text}")

    # --- writing -------------------------------------------------------------------------------

    def start_run(self, name: str, config: Mapping[str, Any], provenance: Mapping[str, Any], *, config_hash: str = "") -> str:
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        with self._connect() as db:
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, name, time.time(), json.dumps(config, sort_keys=True, default=str), config_hash,
                 json.dumps(provenance, sort_keys=True, default=str)),
            )
        return run_id

    def update_provenance(self, run_id: str, provenance: Mapping[str, Any]) -> None:
        with self._connect() as db:
            db.execute("UPDATE runs SET provenance = ? WHERE run_id = ?",
                       (json.dumps(provenance, sort_keys=True, default=str), run_id))

    def find_run(self, name: str, config_hash: str) -> str | None:
        """The newest run of this name with an identical config: the one a re-run resumes."""
        with self._connect() as db:
            row = db.execute(
                "SELECT run_id FROM runs WHERE name = ? AND config_hash = ? ORDER BY created_at DESC LIMIT 1",
                (name, config_hash),
            ).fetchone()
        return row[0] if row else None

    def delete_run(self, run_id: str) -> None:
        with self._connect() as db:
            for table in ("runs", "systems", "columns", "outputs", "scores"):
                db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))

    def record_system(self, run_id: str, label: str, card: SystemCard, position: int | None = None) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO systems (run_id, label, card, position) VALUES (?, ?, ?, ?)",
                       (run_id, label, json.dumps(card.to_dict(), sort_keys=True, default=str), position))

    def record_columns(self, run_id: str, metric: Metric) -> None:
        with self._connect() as db:
            for col in metric.columns:
                num, den = col.ratio_of if col.ratio_of else (None, None)
                db.execute(
                    "INSERT OR REPLACE INTO columns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, metric.name, metric.version, col.name, int(col.higher_is_better), col.lower,
                     col.upper, col.unit, num, den, int(col.hidden)),
                )

    def record_output(self, run_id: str, label: str, testset: str, item: Item, status: Status | str,
                      reason: str | None = None, output_path: str | None = None, seconds: float | None = None,
                      position: int | None = None) -> None:
        with self._connect() as db:
            _write_output(db, run_id, label, testset, item, status, reason, output_path, seconds, position)

    def record_scores(self, run_id: str, label: str, testset: str, item: Item, scores: Mapping[str, float]) -> None:
        with self._connect() as db:
            _write_scores(db, run_id, label, testset, item, scores)

    def record_result(self, run_id: str, label: str, testset: str, item: Item, status: Status | str, reason: str | None,
                      output_path: str | None, seconds: float | None, scores: Mapping[str, float],
                      position: int | None = None, provenance: Mapping[str, str] | None = None) -> None:
        """An item's scores and its output record in one transaction: both land or neither does.
        ``provenance`` names the published file a ``folder`` output came from."""
        with self._connect() as db:
            _write_scores(db, run_id, label, testset, item, scores)
            _write_output(db, run_id, label, testset, item, status, reason, output_path, seconds, position, provenance)

    # --- reading -------------------------------------------------------------------------------

    def _frame(self, query: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
        import pandas as pd  # only readers need it: a run's driver writes and resumes without

        with self._connect() as db:
            try:
                return pd.read_sql_query(query, db, params=params)
            except pd.errors.DatabaseError as exc:  # pandas wraps sqlite's errors
                raise self._error(exc) from exc

    def _rows(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._connect() as db:
            return db.execute(query, params).fetchall()

    def run_ids(self, name: str) -> list[str]:
        """Runs stored under ``name``, oldest first."""
        return [row[0] for row in self._rows("SELECT run_id FROM runs WHERE name = ? ORDER BY created_at", (name,))]

    def finished(self, run_id: str) -> set[tuple[str, str, str]]:
        """(system, test set, item id) of every output recorded ``ok``: what a resumed run skips."""
        rows = self._rows("SELECT system, testset, item_id FROM outputs WHERE run_id = ? AND status = ?",
                          (run_id, Status.OK.value))
        return {(system, testset, item_id) for system, testset, item_id in rows}

    def failure_reasons(self, run_id: str) -> dict[tuple[str, str, str], str]:
        """(system, test set, item id) -> reason of every output recorded ``failed``."""
        rows = self._rows("SELECT system, testset, item_id, reason FROM outputs WHERE run_id = ? AND status = ?",
                          (run_id, Status.FAILED.value))
        return {(system, testset, item_id): reason or "" for system, testset, item_id, reason in rows}

    def runs(self) -> pd.DataFrame:
        return self._frame("SELECT run_id, name, created_at, config, config_hash, provenance FROM runs ORDER BY created_at")

    def latest_run_id(self) -> str:
        runs = self.runs()
        if runs.empty:
            raise LookupError(f"{self.path} holds no runs")
        return str(runs.iloc[-1]["run_id"])

    def provenance(self, run_id: str) -> dict[str, Any]:
        rows = self._rows("SELECT provenance FROM runs WHERE run_id = ?", (run_id,))
        return json.loads(rows[0][0]) if rows else {}

    def systems(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Row label -> its card, with ``position``: the row's index in the run config (None in runs
        stored before positions were recorded). In the order recorded."""
        rows = self._rows("SELECT label, card, position FROM systems WHERE run_id = ? ORDER BY rowid", (run_id,))
        return {label: {**json.loads(card), "position": position} for label, card, position in rows}

    def scores_frame(self, run_id: str) -> pd.DataFrame:
        return self._frame(
            "SELECT system, testset, subset, item_id, task, column_name AS \"column\", value FROM scores "
            "WHERE run_id = ? ORDER BY rowid",
            (run_id,),
        )

    def outputs_frame(self, run_id: str) -> pd.DataFrame:
        """One row per (system, item): ``status`` as ``Status`` members, ``position`` the item's
        index in plan order (NaN where the run predates positions)."""
        frame = self._frame(f"SELECT {', '.join(OUTPUT_COLUMNS[1:])} FROM outputs WHERE run_id = ? ORDER BY rowid",
                            (run_id,))
        frame["status"] = frame["status"].map(Status)
        return frame

    def column_specs(self, run_id: str) -> dict[str, Column]:
        rows = self._rows("SELECT column_name, higher_is_better, lower, upper, unit, ratio_num, ratio_den, hidden "
                          "FROM columns WHERE run_id = ? ORDER BY rowid", (run_id,))
        return {
            name: Column(name=name, higher_is_better=bool(higher), lower=lower, upper=upper, unit=unit,
                         ratio_of=(num, den) if num is not None else None, hidden=bool(hidden))
            for name, higher, lower, upper, unit, num, den, hidden in rows
        }

    def column_metrics(self, run_id: str) -> dict[str, str]:
        """Column name -> the metric that produced it (a leaderboard compares versions per column)."""
        frame = self._frame("SELECT column_name, metric FROM columns WHERE run_id = ? ORDER BY rowid", (run_id,))
        return dict(zip(frame["column_name"], frame["metric"]))

    def column_versions(self, run_id: str) -> dict[str, str]:
        """Column name -> the version of the metric instance that wrote it (two instances of one
        metric, ``aecmos`` and ``aecmos:rate=48000``, have one name and two versions)."""
        return dict(self._rows("SELECT column_name, metric_version FROM columns WHERE run_id = ? ORDER BY rowid",
                               (run_id,)))

    def metric_versions(self, run_id: str) -> dict[str, str]:
        return dict(self._rows("SELECT DISTINCT metric, metric_version FROM columns WHERE run_id = ?", (run_id,)))
