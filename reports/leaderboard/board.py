"""A ranked leaderboard as plain data: boards with their rankings, rows in display order, and the
JSON document (versioned schema ``leaderboard.schema.json``) every renderer reads from."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from reports.aggregate import display_decimals
from reports.leaderboard.merge import BOUND, REPORTED, Board, Flag, Row
from reports.leaderboard.ranking import BoardRanking, RankingConfig, rank_board
from reports.leaderboard.sources import Source
from reports.reference import Reference

SCHEMA_NAME = "sebench.leaderboard"
SCHEMA_VERSION = 1
SCHEMA_FILE = Path(__file__).with_name("leaderboard.schema.json")
FLAG_MARKS = {"items": "≠", "metric-version": "§", "duplicate-label": "‡"}


@dataclass
class RankedBoard:
    board: Board
    ranking: BoardRanking

    def ordered_rows(self) -> list[Row]:
        """Ranked rows by rank, then unranked comparable rows, flagged ones, reported ones, bounds."""
        def key(pair: tuple[int, Row]) -> tuple[int, float, int]:
            index, row = pair
            ranked = self.ranking.of(row)
            if ranked is not None:
                return (0, ranked.rank, index)
            group = 4 if row.kind == BOUND else 3 if row.kind == REPORTED else 2 if row.flags else 1
            return (group, 0.0, index)

        return [row for _, row in sorted(enumerate(self.board.rows), key=key)]


@dataclass
class Leaderboard:
    sources: list[Source]
    references: list[Reference]
    boards: list[RankedBoard]
    config: RankingConfig
    listening: dict[str, str]
    """run id -> listening page path relative to the output folder (where one was written)."""


def build_leaderboard(sources: Sequence[Source], references: Sequence[Reference], boards: Sequence[Board],
                      config: RankingConfig) -> Leaderboard:
    return Leaderboard(list(sources), list(references), [RankedBoard(b, rank_board(b, config)) for b in boards],
                       config, {})


def _number(value: Any) -> Any:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _flag(flag: Flag) -> dict[str, Any]:
    return {"kind": flag.kind, "detail": flag.detail, "columns": list(flag.columns)}


def row_document(ranked: RankedBoard, row: Row) -> dict[str, Any]:
    rank = ranked.ranking.of(row)
    return {
        "label": row.label, "system": row.system, "kind": row.kind,
        "run_id": row.source.run_id if row.source else None,
        "reference": row.reference.id if row.reference else None,
        "rank": rank.rank if rank else None,
        "mean_rank": _number(rank.mean_rank) if rank else None,
        "stability": _number(rank.stability) if rank else None,
        "rank_interval": list(rank.interval) if rank and rank.interval else None,
        "values": {c.name: _number(row.values.get(c.name)) for c in ranked.board.columns},
        "ranks": {c: rank.column_ranks[c] for c in ranked.ranking.columns} if rank else {},
        "status": {c.name: row.status.get(c.name, "absent") for c in ranked.board.columns},
        "n": {c: n for c, n in row.counts.items()},
        "flags": [_flag(f) for f in row.flags],
        "also_in": list(row.also_in),
        "card": row.card,
    }


def leaderboard_document(board: Leaderboard) -> dict[str, Any]:
    return {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "ranking": {
            "method": "dense rank per column in its direction at display precision; overall = dense rank of the "
                      "weighted mean rank; a missing value ranks after every value",
            "columns": list(board.config.columns) if board.config.columns is not None else None,
            "weights": dict(board.config.weights),
            "include_reported": board.config.include_reported,
            "resamples": board.config.resamples,
            "seed": board.config.seed,
        },
        "sources": [dict(s.provenance(), listening=board.listening.get(s.run_id)) for s in board.sources],
        "references": [{"id": r.id, "title": r.title, "citation": r.citation, "url": r.url} for r in board.references],
        "boards": [{
            "testset": rb.board.testset, "subset": rb.board.subset, "n_items": len(rb.board.items),
            "reference_run": rb.board.reference_run,
            "columns": [{"name": c.name, "higher_is_better": c.higher_is_better, "unit": c.unit,
                         "decimals": display_decimals(c),
                         "ranked": c.name in rb.ranking.columns, "weight": rb.ranking.weights.get(c.name)}
                        for c in rb.board.columns],
            "rows": [row_document(rb, row) for row in rb.ordered_rows()],
        } for rb in board.boards],
    }
