"""Figures (matplotlib, Agg, PNG + PDF): quality vs compute, SEFlow's width/depth grid, distributions.

Every figure is per subset (a subset is one task; pooling denoise with AEC items mixes scales), its
panels are facets that wrap so no figure grows past ``MAX_INCHES`` however many systems a run has,
and every number is one the tables print. Bound rows (oracle, silence) are left out of the
distributions, whose scale they would flatten (SI-SDR +-100 dB); each panel names their values
instead. Labels on the quality-vs-compute plots are placed so they do not overlap (crowded ones are
listed under the panel); the heatmaps share one colour scale per metric across subsets, never
narrower than ``MIN_SPAN`` of the metric's range, and print each value.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from reports.aggregate import OK, RunData, display_decimals  # noqa: E402
from reports.compare import item_values  # noqa: E402
from reports.stats import SMALL_N  # noqa: E402
from reports.tables import header_name  # noqa: E402

SEFLOW_VARIANT = re.compile(r"^f-(\d+)-(\d+)$")
FORMATS = ("png", "pdf")
DPI = 90
MAX_INCHES = 16.0
"""No figure is wider or taller than this (1440 px at DPI): more systems make more facets."""
SYSTEMS_PER_PANEL = 20
MIN_SPAN = 0.05
"""A heatmap's colour scale spans at least this share of its metric's range (or of its values)."""


def _save(fig: plt.Figure, out_dir: Path, stem: str, formats: Sequence[str]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        fig.savefig(path, dpi=DPI, metadata={"CreationDate": None} if fmt == "pdf" else {"Software": None})
        paths.append(path)
    plt.close(fig)
    return paths


def _stem(kind: str, testset: str, subset: str | None = None) -> str:
    """``distribution_dns_no_reverb``; a test set that is its own only subset is named once."""
    parts = [kind, testset] + ([subset] if subset is not None and subset != testset else [])
    return "_".join(re.sub(r"[^A-Za-z0-9._-]+", "-", p).strip("-") or "x" for p in parts)


def _grid(n: int, width: float, height: float) -> tuple[plt.Figure, list[plt.Axes]]:
    """``n`` facets of ``width`` x ``height`` inches, wrapped into rows, shrunk to fit ``MAX_INCHES``."""
    cols = max(1, min(n, int(MAX_INCHES // width)))
    rows = -(-n // cols)
    scale = min(1.0, MAX_INCHES / (rows * height))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * width, rows * height * scale), squeeze=False,
                             layout="constrained")
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _direction(run: RunData, column: str) -> str:
    spec = run.columns[column]
    return f"{header_name(column, spec.unit)} {'↑' if spec.higher_is_better else '↓'}"


def _wanted(run: RunData, columns: Sequence[str] | None) -> list[str]:
    return [c.name for c in run.shown_columns(columns)]


def _subset_means(cells: pd.DataFrame, testset: str, subset: str) -> pd.DataFrame:
    return cells[(cells["testset"] == testset) & (cells["subset"] == subset) & (cells["status"] == OK)]


def _small_n(counts) -> str:
    """The small-sample warning every output carries, short enough for a figure title."""
    counts = [int(n) for n in counts]
    return f" (small sample: n = {min(counts)} items)" if counts and min(counts) < SMALL_N else ""


def _title(testset: str, subset: str) -> str:
    return testset if subset == testset else f"{testset} / {subset}"


# --- quality vs compute --------------------------------------------------------------------------

def pareto_front(x: np.ndarray, y: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Indices of points not dominated by a cheaper-or-equal, better-or-equal point, by cost."""
    order = np.lexsort((-y if higher_is_better else y, x))
    front, best = [], None
    for i in order:
        if best is None or (y[i] > best if higher_is_better else y[i] < best):
            front.append(i)
            best = y[i]
    return np.asarray(front, dtype=int)


CROWDED_FROM = 8
"""Panels with more points than this reserve room under the axis to list labels that found no place."""
RESERVED_LINES = 3
OFFSETS = [(dx * r, dy * r) for r in (1, 2, 3) for dx, dy in ((5, 4), (5, -11), (-5, 4), (-5, -11), (0, 9), (0, -16))]
"""Label positions tried around a point (offset points), nearest first."""


def place_labels(ax: plt.Axes, x: np.ndarray, y: np.ndarray, labels: Sequence[str], *, fontsize: float = 7) -> list[str]:
    """Annotate points without overlapping each other or the markers; returns the labels left out.

    Greedy: each label takes the first candidate position whose box is clear of every box already
    placed and inside the axes. Matplotlib has no layout for this, and a fixed offset piles 48
    labels on top of each other.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    points = ax.transData.transform(np.column_stack([x, y]))
    taken = [Bbox.from_bounds(px - 3, py - 3, 6, 6) for px, py in points]
    left_out = []
    for xi, yi, label in sorted(zip(x, y, labels), key=lambda t: (t[0], t[1])):
        for dx, dy in OFFSETS:
            text = ax.annotate(label, (xi, yi), textcoords="offset points", xytext=(dx, dy), fontsize=fontsize,
                               ha="left" if dx > 0 else "right" if dx < 0 else "center")
            box = text.get_window_extent(renderer).expanded(1.04, 1.08)
            clear = (box.x0 >= inside.x0 and box.x1 <= inside.x1 and box.y0 >= inside.y0 and box.y1 <= inside.y1
                     and not any(box.overlaps(other) for other in taken))
            if clear:
                taken.append(box)
                break
            text.remove()
        else:
            left_out.append(label)
    return left_out


def pareto_panel(ax: plt.Axes, x: np.ndarray, y: np.ndarray, higher_is_better: bool) -> None:
    """Points, and the front as a step line with its legend only when it joins two or more points."""
    front = pareto_front(x, y, higher_is_better)
    ax.scatter(x, y, color="tab:blue", zorder=3, s=14)
    if len(front) >= 2:
        ax.step(x[front], y[front], where="post", color="tab:orange", label="Pareto front", zorder=2)
        ax.legend(fontsize=7, loc="best")
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.margins(x=0.25, y=0.2)
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.grid(alpha=0.3)


def plot_pareto(run: RunData, cells: pd.DataFrame, out_dir: Path, *, cost: str = "params",
                formats: Sequence[str] = FORMATS, columns: Sequence[str] | None = None) -> list[Path]:
    """Quality vs compute per subset; only systems whose card reports ``cost`` appear."""
    costs = {label: card.get(cost) for label, card in run.systems.items() if card.get(cost)}
    if len(costs) < 2:
        return []
    xlabel = "parameters" if cost == "params" else "MACs per second of audio"
    written = []
    for testset in run.testsets():
        for subset in run.subsets(testset):
            means = _subset_means(cells, testset, subset)
            means = means[means["system"].isin(costs)]
            shown = [c for c in _wanted(run, columns) if c in set(means["column"])]
            if not shown:
                continue
            fig, axes = _grid(len(shown), 4.6, 3.6)
            points = []
            for ax, column in zip(axes, shown):
                sub = means[means["column"] == column]
                x = np.array([float(costs[s]) for s in sub["system"]])
                y = sub["mean"].to_numpy(dtype=float)
                pareto_panel(ax, x, y, run.columns[column].higher_is_better)
                ax.set_xlabel(xlabel + RESERVED_LINES * "\n " if len(x) > CROWDED_FROM else xlabel)
                ax.set_ylabel(_direction(run, column))
                ax.set_title(f"{column} (n = {int(sub['n'].min())} items)", fontsize=9)
                points.append((ax, x, y, list(sub["system"])))
            fig.suptitle(f"Quality vs compute: {_title(testset, subset)}{_small_n(means['n'])}")
            fig.canvas.draw()  # final axes positions, so label boxes can be measured
            fig.set_layout_engine("none")
            for ax, x, y, labels in points:
                crowded = place_labels(ax, x, y, labels)
                if len(x) > CROWDED_FROM:
                    note = textwrap.wrap("not labelled (crowded): " + ", ".join(crowded), 75) if crowded else []
                    if len(note) > RESERVED_LINES:
                        note = note[:RESERVED_LINES - 1] + [f"... {len(crowded)} labels in all"]
                    ax.set_xlabel("\n".join([xlabel] + note + [" "] * (RESERVED_LINES - len(note))), fontsize=8)
            written += _save(fig, out_dir, _stem(f"pareto_{cost}", testset, subset), formats)
    return written


# --- SEFlow's blocks x heads grid ----------------------------------------------------------------

def shared_norm(values: np.ndarray, lower: float | None, upper: float | None) -> Normalize:
    """One colour scale for a metric: its values' range, widened to ``MIN_SPAN`` of the metric's
    range (or of the values' magnitude when unbounded) so 0.02 of PESQ does not look like 2."""
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    natural = (upper - lower) if lower is not None and upper is not None else max(abs(low), abs(high), 1.0)
    span = max(high - low, MIN_SPAN * natural)
    middle = (low + high) / 2
    return Normalize(middle - span / 2, middle + span / 2)


def plot_seflow_heatmaps(run: RunData, cells: pd.DataFrame, out_dir: Path, *,
                         formats: Sequence[str] = FORMATS, columns: Sequence[str] | None = None) -> list[Path]:
    """Blocks x heads grid of SEFlow sub-networks (``f-B-H``): a row of panels per subset, a column
    per metric, one colour scale per metric shared by its subsets, the value printed in each cell."""
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
        part = cells[(cells["testset"] == testset) & (cells["status"] == OK) & cells["system"].isin(grid)]
        subsets = [s for s in run.subsets(testset) if s in set(part["subset"])]
        shown = [c for c in _wanted(run, columns) if c in set(part["column"])]
        if not shown:
            continue
        width, height = 0.55 * len(heads) + 1.9, 0.32 * len(blocks) + 1.2
        cols = len(shown)
        scale = min(1.0, MAX_INCHES / (cols * width), MAX_INCHES / (len(subsets) * height))
        fig, axes = plt.subplots(len(subsets), cols, figsize=(cols * width * scale, len(subsets) * height * scale),
                                 squeeze=False, layout="constrained")
        for j, column in enumerate(shown):
            spec = run.columns[column]
            values = part[part["column"] == column]
            norm = shared_norm(values["mean"].to_numpy(dtype=float), spec.lower, spec.upper)
            cmap = plt.get_cmap("viridis" if spec.higher_is_better else "viridis_r")
            decimals = display_decimals(spec)
            for i, subset in enumerate(subsets):
                ax = axes[i][j]
                matrix = np.full((len(blocks), len(heads)), np.nan)
                for row in values[values["subset"] == subset].itertuples():
                    b, h = grid[row.system]
                    matrix[blocks.index(b), heads.index(h)] = row.mean
                image = ax.imshow(matrix, origin="lower", aspect="auto", cmap=cmap, norm=norm)
                for (r, c), v in np.ndenumerate(matrix):
                    if np.isfinite(v):
                        red, green, blue, _ = cmap(norm(v))
                        ink = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"
                        ax.text(c, r, f"{v:.{decimals}f}", ha="center", va="center", fontsize=6, color=ink)
                ax.set_xticks(range(len(heads)), [str(h) for h in heads], fontsize=7)
                ax.set_yticks(range(len(blocks)), [str(b) for b in blocks], fontsize=7)
                if i == len(subsets) - 1:
                    ax.set_xlabel("attention heads", fontsize=8)
                if j == 0:
                    ax.set_ylabel(f"{subset}\nresidual blocks", fontsize=8)
                if i == 0:
                    ax.set_title(_direction(run, column), fontsize=9)
            fig.colorbar(image, ax=[axes[i][j] for i in range(len(subsets))], shrink=0.8)
        fig.suptitle(f"SEFlow f-B-H: {testset}{_small_n(part['n'])}", fontsize=10)
        written += _save(fig, out_dir, _stem("seflow_grid", testset), formats)
    return written


# --- per-item distributions ----------------------------------------------------------------------

def _bounds_note(run: RunData, testset: str, subset: str, column: str) -> str:
    """``oracle 100.00, silence -100.00``: what the left-out bound rows score here."""
    decimals = display_decimals(run.columns[column])
    notes = []
    for label in run.labels():
        if run.is_bound(label):
            values = item_values(run, label, testset, subset, column)
            if not values.empty:
                notes.append(f"{label} {values.mean():.{decimals}f}")
    return ", ".join(notes)


def distribution_panels(run: RunData, testset: str, subset: str,
                        columns: Sequence[str] | None = None) -> list[tuple[str, list[np.ndarray], list[str], str]]:
    """(column, per-system values, tick labels with n, part suffix) per panel; bound rows left out,
    at most ``SYSTEMS_PER_PANEL`` systems per panel."""
    panels = []
    for column in _wanted(run, columns):
        data, names = [], []
        for label in run.labels():
            if run.is_bound(label):
                continue
            values = item_values(run, label, testset, subset, column)
            if not values.empty:
                data.append(values.to_numpy(dtype=float))
                names.append(f"{label} (n={values.size})")
        chunks = -(-len(data) // SYSTEMS_PER_PANEL)
        for k in range(chunks):
            part = slice(k * SYSTEMS_PER_PANEL, (k + 1) * SYSTEMS_PER_PANEL)
            panels.append((column, data[part], names[part], f" ({k + 1}/{chunks})" if chunks > 1 else ""))
    return panels


def plot_distributions(run: RunData, out_dir: Path, *, formats: Sequence[str] = FORMATS,
                       columns: Sequence[str] | None = None) -> list[Path]:
    """Per-item scores per system (horizontal box plots), a figure per subset, a panel per column
    (and per ``SYSTEMS_PER_PANEL`` systems), bound rows left out and named in the panel title."""
    written = []
    for testset in run.testsets():
        for subset in run.subsets(testset):
            panels = distribution_panels(run, testset, subset, columns)
            if not panels:
                continue
            most = max(len(p[2]) for p in panels)
            fig, axes = _grid(len(panels), 4.4, 0.24 * most + 1.4)
            limits = {}
            for column, data, _, _ in panels:
                low, high = limits.get(column, (np.inf, -np.inf))
                values = np.concatenate(data)
                limits[column] = (min(low, values.min()), max(high, values.max()))
            for ax, (column, data, names, part) in zip(axes, panels):
                ax.boxplot(data, orientation="horizontal", showmeans=True, widths=0.6)
                low, high = limits[column]
                pad = 0.05 * (high - low) or 0.5
                ax.set_xlim(low - pad, high + pad)  # facets of one column share their scale
                ax.set_yticks(range(1, len(names) + 1), names, fontsize=7)
                ax.invert_yaxis()
                bounds = _bounds_note(run, testset, subset, column)
                title = _direction(run, column) + part + (f"\nnot drawn: {bounds}" if bounds else "")
                ax.set_title(title, fontsize=8)
                ax.tick_params(axis="x", labelsize=7)
                ax.grid(axis="x", alpha=0.3)
            counts = [len(values) for _, data, _, _ in panels for values in data]
            fig.suptitle(f"Per-item scores: {_title(testset, subset)}{_small_n(counts)}")
            written += _save(fig, out_dir, _stem("distribution", testset, subset), formats)
    return written


def write_plots(run: RunData, cells: pd.DataFrame, out_dir: Path, *, formats: Sequence[str] = FORMATS,
                columns: Sequence[str] | None = None) -> list[Path]:
    written = plot_pareto(run, cells, out_dir, cost="params", formats=formats, columns=columns)
    written += plot_pareto(run, cells, out_dir, cost="macs_per_second", formats=formats, columns=columns)
    written += plot_seflow_heatmaps(run, cells, out_dir, formats=formats, columns=columns)
    written += plot_distributions(run, out_dir, formats=formats, columns=columns)
    return written
