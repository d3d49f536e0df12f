"""Where leaderboard rows come from: stored runs (run folders, or results stores copied from other
machines) with the provenance a row carries, and published tables from ``reports/reference``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from bench.errors import ConfigError
from bench.store import ResultStore
from reports.aggregate import RunData, load_run, resolve_store


@dataclass(frozen=True)
class Source:
    """One stored run plus what identifies it on a leaderboard row."""

    run: RunData
    path: Path
    created_at: float
    config_hash: str
    column_metrics: dict[str, str]
    """Column -> metric name, so a version mismatch flags exactly that metric's columns."""

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def date(self) -> str:
        return dt.datetime.fromtimestamp(self.created_at, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    @property
    def git_revision(self) -> str | None:
        return self.run.provenance.get("git_revision")

    def provenance(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "name": self.name, "date": self.date, "config_hash": self.config_hash,
                "git_revision": self.git_revision, "path": str(self.path),
                "metric_versions": dict(self.run.metric_versions)}


def parse_run_argument(text: str) -> tuple[Path, str | None]:
    """``PATH`` (newest run in the store) or ``PATH#RUN_ID`` (one run of a store holding several)."""
    path, _, run_id = text.partition("#")
    return Path(path), run_id or None


def load_source(text: str) -> Source:
    path, run_id = parse_run_argument(text)
    store_path = resolve_store(path)
    run = load_run(store_path, run_id)
    store = ResultStore(store_path)
    try:
        record = store.runs().set_index("run_id").loc[run.run_id]
        return Source(run=run, path=store_path.parent, created_at=float(record["created_at"]),
                      config_hash=str(record["config_hash"] or ""), column_metrics=store.column_metrics(run.run_id))
    finally:
        store.close()


def load_sources(arguments: Sequence[str]) -> list[Source]:
    """Every run named, in the order given (the first is the reference for comparability)."""
    if not arguments:
        raise ConfigError("a leaderboard needs at least one run folder")
    sources = [load_source(text) for text in arguments]
    seen: dict[str, Path] = {}
    for source in sources:
        if source.run_id in seen:
            raise ConfigError(f"run {source.run_id} is given twice ({seen[source.run_id]} and {source.path})")
        seen[source.run_id] = source.path
    return sources
