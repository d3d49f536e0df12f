"""Figures (matplotlib, Agg, PNG + PDF): quality vs compute, SEFlow's width/depth grid, distributions.

Each figure is one test set with a panel per metric column, so the number of files grows with test
sets rather than with metrics x test sets. Values are the same cell means the tables print.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402
import pandas as pd  # noqa: E402

from reports.aggregate import OK, RunData, display_decimals  # noqa: E402
from reports.compare import item_values  # noqa: E402

SEFLOW_VARIANT = re.compile(r"^f-(\d+)-(\d+)$")
FORMATS = ("png", "pdf")


def _save(fig: plt.Figure, out_dir: Path, stem: str, formats: Sequence[str]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        fig.savefig(path, dpi=90, bbox_inches="tight", metadata={"CreationDate": None} if fmt == "pdf" else None)
        paths.append(path)
    plt.close(fig)
    return paths


def _panels(n: int, width: float = 4.0, height: float = 3.2) -> tuple[plt.Figure, list[plt.Axes]]:
    cols = 2 if n == 4 else min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _testset_means(cells: pd.DataFrame, testset: str) -> pd.DataFrame:
    """(system, column) -> mean over the test set's subsets, weighting subsets by their items."""
    part = cells[(cells["testset"] == testset) & (cells["status"] == OK)].copy()
    part["weighted"] = part["mean"].astype(float) * part["n"]
    grouped = part.groupby(["system", "column"], sort=False)[["weighted", "n"]].sum()
    return (grouped["weighted"] / grouped["n"]).rename("mean").reset_index()


def pareto_front(x: np.ndarray, y: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Indices of points not dominated by a cheaper-or-equal, better-or-equal point, by cost."""
    order = np.lexsort((-y if higher_is_better else y, x))
    front, best = [], None
    for i in order:
        if best is None or (y[i] > best if higher_is_better else y[i] < best):
            front.append(i)
            best = y[i]
    return np.asarray(front, dtype=int)


def _wanted(run: RunData, columns: Sequence[str] | None) -> list[str]:
    return [c.name for c in run.visible_columns if columns is None or c.name in columns]


def plot_pareto(run: RunData, cells: pd.DataFrame, out_dir: Path, *, cost: str = "params",
                formats: Sequence[str] = FORMATS, columns: Sequence[str] | None = None) -> list[Path]:
    """Quality vs compute per test set; only systems whose card reports ``cost`` appear."""
    costs = {label: card.get(cost) for label, card in run.systems.items() if card.get(cost)}
    if len(costs) < 2:
        return []
    xlabel = "parameters" if cost == "params" else "MACs per second of audio"
    written = []
    for testset in run.testsets():
        means = _testset_means(cells, testset)
        means = means[means["system"].isin(costs)]
        shown = [c for c in _wanted(run, columns) if c in set(means["column"])]
        if not shown:
            continue
        fig, axes = _panels(len(shown))
        for ax, column in zip(axes, shown):
            sub = means[means["column"] == column]
            x = np.array([float(costs[s]) for s in sub["system"]])
            y = sub["mean"].to_numpy(dtype=float)
            higher = run.columns[column].higher_is_better
            ax.scatter(x, y, color="tab:blue", zorder=3)
            for xi, yi, label in zip(x, y, sub["system"]):
                ax.annotate(label, (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=7)
            front = pareto_front(x, y, higher)
            ax.step(x[front], y[front], where="post", color="tab:orange", label="Pareto front", zorder=2)
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.margins(x=0.15, y=0.15)
            ax.ticklabel_format(axis="y", useOffset=False)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(f"{column} ({'higher' if higher else 'lower'} is better)")
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=7)
        fig.suptitle(f"Quality vs compute: {testset} (mean over all its items)")
        fig.tight_layout()
        written += _save(fig, out_dir, f"pareto_{cost}_{testset}", formats)
    return written


def plot_seflow_heatmaps(run: RunData, cells: pd.DataFrame, out_dir: Path, *,
                         formats: Sequence[str] = FORMATS, columns: Sequence[str] | None = None) -> list[Path]:
    """Blocks x heads grid of SEFlow sub-networks (variants ``f-B-H``), one panel per column."""
    grid = {}
    for label, card in run.systems.items():
        match = SEFLOW_VARIANT.match(str(card.get("variant", "")))
        if card.get("name") == "seflow" and match:
            grid[label] = (int(match.group(1)), int(match.group(2)))
    if not grid:
        return []
    blocks = sorted({b for b, _ in grid.values()})
    heads = sorted({h for _, h in grid.values()})
    written = []
    for testset in run.testsets():
        means = _testset_means(cells, testset)
        means = means[means["system"].isin(grid)]
        shown = [c for c in _wanted(run, columns) if c in set(means["column"])]
        if not shown:
            continue
        fig, axes = _panels(len(shown), width=0.5 * len(heads) + 3.0, height=0.35 * len(blocks) + 1.8)
        for ax, column in zip(axes, shown):
            values = np.full((len(blocks), len(heads)), np.nan)
            for row in means[means["column"] == column].itertuples():
                b, h = grid[row.system]
                values[blocks.index(b), heads.index(h)] = row.mean
            higher = run.columns[column].higher_is_better
            image = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis" if higher else "viridis_r")
            for (i, j), v in np.ndenumerate(values):
                if np.isfinite(v):
                    bright = image.norm(v) > 0.6 if higher else image.norm(v) < 0.4
                    ax.text(j, i, f"{v:.{display_decimals(run.columns[column])}f}", ha="center", va="center", fontsize=7,
                            color="black" if bright else "white")
            ax.set_xticks(range(len(heads)), [str(h) for h in heads])
            ax.set_yticks(range(len(blocks)), [str(b) for b in blocks])
            ax.set_xlabel("attention heads")
            ax.set_ylabel("residual blocks")
            ax.set_title(f"{column} ({'higher' if higher else 'lower'} is better)", fontsize=9)
            fig.colorbar(image, ax=ax)
        fig.suptitle(f"SEFlow sub-networks: {testset} (mean over all its items)")
        fig.tight_layout()
        written += _save(fig, out_dir, f"seflow_grid_{testset}", formats)
    return written


def plot_distributions(run: RunData, out_dir: Path, *, formats: Sequence[str] = FORMATS,
                       columns: Sequence[str] | None = None) -> list[Path]:
    """Per-item score distributions (box plots) per system, one panel per column, per test set."""
    written = []
    for testset in run.testsets():
        panels = []
        for column in _wanted(run, columns):
            data, names = [], []
            for label in run.labels():
                values = pd.concat([item_values(run, label, testset, subset, column) for subset in run.subsets(testset)])
                if not values.empty:
                    data.append(values.to_numpy(dtype=float))
                    names.append(label)
            if data:
                panels.append((column, data, names))
        if not panels:
            continue
        fig, axes = _panels(len(panels), width=max(4.0, 0.6 * max(len(p[2]) for p in panels) + 1.5))
        for ax, (column, data, names) in zip(axes, panels):
            ax.boxplot(data, showmeans=True)
            ax.set_xticks(range(1, len(names) + 1), names, rotation=45, ha="right", fontsize=7)
            higher = run.columns[column].higher_is_better
            ax.set_title(f"{column} ({'higher' if higher else 'lower'} is better)", fontsize=9)
            ax.grid(axis="y", alpha=0.3)
        fig.suptitle(f"Per-item scores: {testset}")
        fig.tight_layout()
        written += _save(fig, out_dir, f"distribution_{testset}", formats)
    return written


def write_plots(run: RunData, cells: pd.DataFrame, out_dir: Path, *, formats: Sequence[str] = FORMATS,
                columns: Sequence[str] | None = None) -> list[Path]:
    written = plot_pareto(run, cells, out_dir, cost="params", formats=formats, columns=columns)
    written += plot_pareto(run, cells, out_dir, cost="macs_per_second", formats=formats, columns=columns)
    written += plot_seflow_heatmaps(run, cells, out_dir, formats=formats, columns=columns)
    written += plot_distributions(run, out_dir, formats=formats, columns=columns)
    return written
