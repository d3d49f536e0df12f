"""Ranks on a board: dense rank per metric (as the URGENT challenge ranks), a weighted mean of the
ranks, the overall dense rank of that mean, and how stable the overall rank is under resampling of
the items.

* Values are compared at display precision, so two systems shown as 3.65 share a rank (the same
  rule that bolds ties in the paper tables).
* A ranked system without a value in a ranked column (failed, not applicable) takes the rank after
  the last system with one: a missing number never helps.
* Bound rows (oracle, silence), non-comparable rows and, unless asked, reported rows are not
  ranked.
* Stability: the items are resampled with replacement (the same draw for every system, since they
  share the items), every rank recomputed; a system's stability is the fraction of resamples in
  which it keeps its overall rank, and its rank interval the 2.5-97.5 % range of those ranks.
  Reported rows have no per-item data and keep their published values in every resample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from bench.errors import ConfigError
from reports.aggregate import pick_columns
from reports.leaderboard.merge import REPORTED, REPRODUCED, Board, Row, board_columns
from reports.stats import CONFIDENCE, RESAMPLES, cell_rng

MEAN_RANK_DECIMALS = 9


@dataclass(frozen=True)
class RankingConfig:
    columns: tuple[str, ...] | None = None
    """Ranked columns; None: every column of the board that two ranked rows have a value for."""
    weights: Mapping[str, float] = field(default_factory=dict)
    """Per-column weight in the mean rank (default 1)."""
    include_reported: bool = False
    resamples: int = RESAMPLES
    seed: int = 0


@dataclass
class RowRank:
    rank: int
    mean_rank: float
    column_ranks: dict[str, int]
    stability: float | None = None
    interval: tuple[int, int] | None = None


@dataclass
class BoardRanking:
    columns: tuple[str, ...]
    weights: dict[str, float]
    ranks: dict[int, RowRank]
    """id(row) -> its ranks, for the rows that were ranked."""

    def of(self, row: Row) -> RowRank | None:
        return self.ranks.get(id(row))


def dense_ranks(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Dense ranks down axis 0 (1 = best; ties share a rank; NaN ranks after every value)."""
    keys = -values if higher_is_better else values.astype(np.float64, copy=True)
    keys = np.where(np.isnan(keys), np.inf, keys)
    order = np.argsort(keys, axis=0, kind="stable")
    ordered = np.take_along_axis(keys, order, axis=0)
    with np.errstate(invalid="ignore"):  # inf - inf among the missing: not a step
        steps = np.diff(ordered, axis=0) > 0
    rising = np.concatenate([np.ones((1,) + keys.shape[1:], dtype=bool), steps], axis=0)
    ranks = np.empty(keys.shape, dtype=np.int64)
    np.put_along_axis(ranks, order, np.cumsum(rising, axis=0), axis=0)
    return ranks


def _ranked_rows(board: Board, config: RankingConfig) -> list[Row]:
    kinds = {REPRODUCED, REPORTED} if config.include_reported else {REPRODUCED}
    return [row for row in board.rows if row.kind in kinds and row.comparable]


def _ranked_columns(board: Board, rows: Sequence[Row], config: RankingConfig) -> tuple[str, ...]:
    names = [c.name for c in board.columns]
    if config.columns is not None:
        return tuple(c for c in config.columns if c in names)
    return tuple(c for c in names if sum(row.values.get(c) is not None for row in rows) >= 2)


def _per_item(row: Row, column: str, items: Sequence[str]) -> np.ndarray:
    frame = row.per_item
    if frame is None or column not in frame:
        return np.full(len(items), np.nan)
    return frame[column].reindex(list(items)).to_numpy(dtype=np.float64)


def _resampled_means(board: Board, rows: Sequence[Row], column: str, draws: np.ndarray) -> np.ndarray:
    """(rows, resamples) column values over resampled items; a reported row keeps its value."""
    spec = next(c for c in board.columns if c.name == column)
    out = np.empty((len(rows), draws.shape[0]))
    for index, row in enumerate(rows):
        if row.kind == REPORTED:
            value = row.values.get(column)
            out[index] = np.nan if value is None else value
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            if spec.ratio_of:
                num = _per_item(row, spec.ratio_of[0], board.items)[draws]
                den = _per_item(row, spec.ratio_of[1], board.items)[draws]
                out[index] = np.nansum(num, axis=1) / np.nansum(den, axis=1)
            else:
                values = _per_item(row, column, board.items)[draws]
                counts = np.sum(np.isfinite(values), axis=1)
                out[index] = np.where(counts > 0, np.nansum(values, axis=1) / np.maximum(counts, 1), np.nan)
    out[~np.isfinite(out)] = np.nan
    return out


def _ranks(board: Board, columns: Sequence[str], weights: Mapping[str, float],
           values: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Per-column dense ranks, weighted mean rank and overall dense rank; arrays (rows, draws)."""
    decimals = board.decimals()
    direction = {c.name: c.higher_is_better for c in board.columns}
    per_column = {c: dense_ranks(np.round(values[c], decimals[c]), direction[c]) for c in columns}
    total = sum(weights[c] for c in columns)
    mean = sum(weights[c] * per_column[c] for c in columns) / total
    overall = dense_ranks(np.round(mean, MEAN_RANK_DECIMALS), higher_is_better=False)
    return per_column, mean, overall


def rank_board(board: Board, config: RankingConfig) -> BoardRanking:
    rows = _ranked_rows(board, config)
    columns = _ranked_columns(board, rows, config)
    weights = {c: float(config.weights.get(c, 1.0)) for c in columns}
    if any(w < 0 for w in weights.values()) or (columns and sum(weights.values()) <= 0):
        raise ConfigError(f"rank weights must be non-negative and not all zero; got {weights}")
    if not rows or not columns:
        return BoardRanking(columns, weights, {})
    full = {c: np.array([[np.nan if row.values.get(c) is None else row.values[c]] for row in rows]) for c in columns}
    per_column, mean, overall = _ranks(board, columns, weights, full)
    ranks = {id(row): RowRank(rank=int(overall[i, 0]), mean_rank=float(mean[i, 0]),
                              column_ranks={c: int(per_column[c][i, 0]) for c in columns})
             for i, row in enumerate(rows)}
    if len(board.items) > 1 and config.resamples > 0 and len(rows) > 1:  # one item: resampling shows nothing
        rng = cell_rng(config.seed, "leaderboard", board.testset, board.subset)
        draws = rng.integers(0, len(board.items), size=(config.resamples, len(board.items)))
        sampled = {c: _resampled_means(board, rows, c, draws) for c in columns}
        _, _, resampled = _ranks(board, columns, weights, sampled)
        alpha = (1 - CONFIDENCE) / 2
        for i, row in enumerate(rows):
            entry = ranks[id(row)]
            entry.stability = float(np.mean(resampled[i] == entry.rank))
            low, high = np.quantile(resampled[i], [alpha, 1 - alpha], method="nearest")
            entry.interval = (int(low), int(high))
    return BoardRanking(columns, weights, ranks)


def check_columns(boards: Sequence[Board], config: RankingConfig) -> None:
    """Ranked and weighted columns must exist somewhere; a typo should not silently rank nothing."""
    pick_columns(board_columns(boards), [*(config.columns or ()), *config.weights], option="--rank-columns/--weight")
