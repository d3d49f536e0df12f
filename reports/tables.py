"""Paper tables: one table per test set, rows grouped by subset, a column per metric column.

The layout follows the LLaSE README's DNSMOS table: the best value per column within a subset in
bold (direction from ``Column.higher_is_better``) when its interval clears the others', italic
when it is tied, ``-`` where a system does not support the task. Markdown is rendered here and
LaTeX in ``reports.latex``, by hand rather than through tabulate so the golden tests can pin them
byte for byte across library versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from reports.aggregate import (FAILED, NOT_APPLICABLE, OK, UNSUPPORTED, RunData, aggregate, display_decimals,
                               load_run, rank_cells, small_n_sentence)
from reports.notes import notes_markdown
from reports.stats import CI_METHOD_SHORT

PARTIAL_MARK = "†"


@dataclass(frozen=True)
class Cell:
    """One table cell: a status text (``-``, ``fail``, blank) or a mean with its interval and marks."""

    text: str
    bold: bool = False
    partial: bool = False
    numeric: bool = True
    tie: bool = False
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    decimals: int = 2
    n: int = 0


@dataclass(frozen=True)
class Table:
    """A renderer-agnostic table for one test set: header plus rows of cells."""

    testset: str
    columns: tuple[str, ...]
    arrows: tuple[bool, ...]
    show_subset: bool
    rows: tuple[tuple[str, str, tuple[Cell, ...]], ...]
    """(subset, system label, cells)."""
    units: tuple[str, ...] = ()
    with_ci: bool = False
    run_name: str = ""

    def _any(self, test) -> bool:
        return any(test(c) for _, _, cells in self.rows for c in cells)

    @property
    def has_partial(self) -> bool:
        return self._any(lambda c: c.partial)

    @property
    def has_tie(self) -> bool:
        return self._any(lambda c: c.tie)

    @property
    def has_bold(self) -> bool:
        return self._any(lambda c: c.bold)

    def has_text(self, text: str) -> bool:
        return self._any(lambda c: not c.numeric and c.text == text)

    def unit(self, index: int) -> str:
        return self.units[index] if index < len(self.units) else ""


def symmetric_half_width(cell: Cell) -> float | None:
    """The interval's half-width when it is symmetric at display precision, else None."""
    if cell.ci_low is None or cell.ci_high is None or cell.mean is None:
        return None
    up, down = round(cell.ci_high - cell.mean, cell.decimals), round(cell.mean - cell.ci_low, cell.decimals)
    return up if up == down else None


def cell_text(status: str) -> str:
    return {UNSUPPORTED: "-", FAILED: "fail", NOT_APPLICABLE: ""}.get(status, "")


def build_tables(run: RunData, cells: pd.DataFrame | None = None, *, with_ci: bool = False,
                 columns: Sequence[str] | None = None) -> list[Table]:
    """One Table per test set; columns without a single value in a test set are left out of it, and
    a test set with no value at all gets no table."""
    cells = aggregate(run) if cells is None else cells
    decimals = {c.name: display_decimals(c) for c in run.visible_columns}
    cells = pd.concat([cells, rank_cells(run, cells, decimals)], axis=1)
    wanted = [c.name for c in run.shown_columns(columns)]
    tables = []
    for testset in run.testsets():
        part = cells[cells["testset"] == testset]
        present = set(part.loc[part["status"] == OK, "column"])
        shown = [c for c in wanted if c in present]
        if not shown:
            continue
        subsets = run.subsets(testset)
        rows = []
        for subset in subsets:
            sub = part[part["subset"] == subset]
            for system in run.labels():
                mine = sub[sub["system"] == system].set_index("column")
                if mine.empty:
                    continue
                row = []
                for column in shown:
                    c = mine.loc[column]
                    if c["status"] == OK:
                        row.append(Cell(f"{c['mean']:.{decimals[column]}f}", bold=bool(c["best"]), tie=bool(c["tie"]),
                                        partial=int(c["n_failed"]) > 0, mean=float(c["mean"]),
                                        ci_low=_number(c["ci_low"]), ci_high=_number(c["ci_high"]),
                                        decimals=decimals[column], n=int(c["n"])))
                    else:
                        row.append(Cell(cell_text(c["status"]), numeric=False))
                rows.append((subset, system, tuple(row)))
        specs = [run.columns[c] for c in shown]
        tables.append(Table(testset=testset, columns=tuple(shown), arrows=tuple(s.higher_is_better for s in specs),
                            show_subset=len(subsets) > 1 or subsets != [testset], rows=tuple(rows),
                            units=tuple(s.unit for s in specs), with_ci=with_ci, run_name=run.name))
    return tables


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def legend(tables: Sequence[Table], *, dash: str = "`-`", fail: str = "`fail`", dagger: str = PARTIAL_MARK,
           plus_minus: str = "±", bold: str = "Bold", tie: str = "italic") -> list[str]:
    """The sentences explaining the marks these tables actually use (shared by Markdown and LaTeX)."""
    notes = []
    if any(t.has_text("-") for t in tables):
        notes.append(f"{dash}: the system does not support the task.")
    if any(t.has_text("fail") for t in tables):
        notes.append(f"{fail}: every item failed.")
    if any(t.has_text("") for t in tables):
        notes.append("Blank: the metric does not apply (no reference).")
    if any(t.has_partial for t in tables):
        notes.append(f"{dagger} some items failed; the mean is over the items that succeeded.")
    if any(t.has_bold for t in tables):
        notes.append(f"{bold}: best per column within a subset, its 95% CI clear of every other system's.")
    if any(t.has_tie for t in tables):
        notes.append(f"{tie[0].upper() + tie[1:]}: tied for best (95% CIs overlap), so no bold.")
    if any(t.has_bold or t.has_tie for t in tables):
        notes.append("Oracle and silence are bounds, not ranked.")
    if any(t.with_ci for t in tables):
        notes.append(f"{plus_minus} half-width of the 95% CI ([low, high] when asymmetric; {CI_METHOD_SHORT}).")
    warning = small_n_sentence(item_counts(tables))
    if warning:
        notes.append(warning)
    return notes


def item_counts(tables: Sequence[Table]) -> list[int]:
    """Items behind every cell with a value, over all tables."""
    return [c.n for t in tables for _, _, cells in t.rows for c in cells if c.mean is not None]


def header_name(name: str, unit: str = "") -> str:
    """Column header text with its unit: ``SISDR (dB)``."""
    return f"{name} ({unit})" if unit else name


LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """Text safe in LaTeX (used by ``reports.latex`` and the leaderboard)."""
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in text)


# --- Markdown ------------------------------------------------------------------------------------

def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _md_cell(cell: Cell, with_ci: bool) -> str:
    text = cell.text
    if cell.numeric and with_ci and cell.ci_low is not None:
        half = symmetric_half_width(cell)
        d = cell.decimals
        text += f" ± {half:.{d}f}" if half is not None else f" [{cell.ci_low:.{d}f}, {cell.ci_high:.{d}f}]"
    text += PARTIAL_MARK if cell.partial else ""
    if not cell.numeric or not text:
        return text
    return f"**{text}**" if cell.bold else f"*{text}*" if cell.tie else text


def pipe_table(header: list[str], body: list[list[str]], right: list[bool]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    widths = [max(w, 3) for w in widths]

    def line(row: list[str]) -> str:
        padded = [v.rjust(w) if r else v.ljust(w) for v, w, r in zip(row, widths, right)]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if r else (":" + "-" * (w + 1)) for w, r in zip(widths, right)) + "|"
    return [line(header), rule, *(line(row) for row in body)]


def table_markdown(table: Table) -> str:
    header = (["Subset"] if table.show_subset else []) + ["System"]
    header += [f"{header_name(c, table.unit(i))} {'↑' if up else '↓'}"
               for i, (c, up) in enumerate(zip(table.columns, table.arrows))]
    right = [False] * (2 if table.show_subset else 1) + [True] * len(table.columns)
    body, previous = [], None
    for subset, system, cells in table.rows:
        lead = [subset if subset != previous else ""] if table.show_subset else []
        previous = subset
        body.append([_md_escape(v) for v in lead + [system]] + [_md_cell(c, table.with_ci) for c in cells])
    return "\n".join(pipe_table(header, body, right))


def render_markdown(tables: Sequence[Table], *, title: str | None = None, heading_level: int = 3) -> str:
    parts = [f"## {title}", ""] if title else []
    for table in tables:
        parts += [f"{'#' * heading_level} {table.testset}", "", table_markdown(table), ""]
    notes = legend(tables)
    if notes:
        parts += [" ".join(notes), ""]
    return "\n".join(parts)


# --- the summary `sebench run` prints ------------------------------------------------------------

def summary_markdown(store_path: Path | str, run_id: str | None = None) -> str:
    """The run's tables as Markdown, or a one-line explanation when nothing was scored."""
    run = load_run(store_path, run_id)
    if run.scores.empty and run.outputs.empty:
        return f"run {run.name} ({run.run_id}): no results recorded"
    tables = [t for t in build_tables(run) if t.rows]
    return render_markdown(tables, title=f"Results: {run.name}") + notes_markdown(run, full=False)

