"""Paper tables: one table per test set, rows grouped by subset, a column per metric column.

The layout follows the LLaSE README's DNSMOS table: the best value per column within a subset in
bold (direction from ``Column.higher_is_better``), ``-`` where a system does not support the task.
Markdown and LaTeX are rendered by hand rather than through tabulate so the golden tests can pin
them byte for byte across library versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from reports.aggregate import (FAILED, NOT_APPLICABLE, OK, UNSUPPORTED, RunData, aggregate, display_decimals,
                               load_run, mark_best)

PARTIAL_MARK = "†"
FOOTNOTE_PARTIAL = f"{PARTIAL_MARK} some items failed; the value is over the items that succeeded."
FOOTNOTE_SYMBOLS = "`-` the system does not support the task; blank: the metric does not apply; `fail`: every item failed."


@dataclass(frozen=True)
class Cell:
    text: str
    bold: bool = False
    partial: bool = False
    numeric: bool = True


@dataclass(frozen=True)
class Table:
    """A renderer-agnostic table for one test set: header plus rows of cells."""

    testset: str
    columns: tuple[str, ...]
    arrows: tuple[bool, ...]
    show_subset: bool
    rows: tuple[tuple[str, str, tuple[Cell, ...]], ...]
    """(subset, system label, cells)."""

    @property
    def has_partial(self) -> bool:
        return any(c.partial for _, _, cells in self.rows for c in cells)


def _format_value(mean: float, low: float, high: float, decimals: int, with_ci: bool) -> str:
    text = f"{mean:.{decimals}f}"
    if with_ci and low is not None and high is not None:
        text += f" ± {(high - low) / 2:.{decimals}f}"
    return text


def cell_text(status: str) -> str:
    return {UNSUPPORTED: "-", FAILED: "fail", NOT_APPLICABLE: ""}.get(status, "")


def build_tables(run: RunData, cells: pd.DataFrame | None = None, *, with_ci: bool = False,
                 columns: Sequence[str] | None = None) -> list[Table]:
    """One Table per test set; columns without a single value in a test set are left out of it, and
    a test set with no value at all gets no table."""
    cells = aggregate(run) if cells is None else cells
    decimals = {c.name: display_decimals(c) for c in run.visible_columns}
    cells = cells.assign(best=mark_best(run, cells, decimals))
    wanted = [c.name for c in run.visible_columns if columns is None or c.name in columns]
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
                        text = _format_value(c["mean"], c["ci_low"], c["ci_high"], decimals[column], with_ci)
                        row.append(Cell(text, bold=bool(c["best"]), partial=int(c["n_failed"]) > 0))
                    else:
                        row.append(Cell(cell_text(c["status"])))
                rows.append((subset, system, tuple(row)))
        higher = tuple(run.columns[c].higher_is_better for c in shown)
        tables.append(Table(testset=testset, columns=tuple(shown), arrows=higher,
                            show_subset=len(subsets) > 1 or subsets != [testset], rows=tuple(rows)))
    return tables


# --- Markdown ------------------------------------------------------------------------------------

def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _md_cell(cell: Cell) -> str:
    text = cell.text + (PARTIAL_MARK if cell.partial else "")
    return f"**{text}**" if cell.bold and text else text


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
    header += [f"{c} {'↑' if up else '↓'}" for c, up in zip(table.columns, table.arrows)]
    right = [False] * (2 if table.show_subset else 1) + [True] * len(table.columns)
    body, previous = [], None
    for subset, system, cells in table.rows:
        lead = [subset if subset != previous else ""] if table.show_subset else []
        previous = subset
        body.append([_md_escape(v) for v in lead + [system]] + [_md_cell(c) for c in cells])
    return "\n".join(pipe_table(header, body, right))


def render_markdown(tables: Sequence[Table], *, title: str | None = None, heading_level: int = 3) -> str:
    parts = [f"## {title}", ""] if title else []
    for table in tables:
        parts += [f"{'#' * heading_level} {table.testset}", "", table_markdown(table), ""]
    notes = [FOOTNOTE_SYMBOLS, "Bold: best per column within a subset (oracle and silence are bounds, not ranked)."]
    if any(t.has_partial for t in tables):
        notes.append(FOOTNOTE_PARTIAL)
    parts += [" ".join(notes), ""]
    return "\n".join(parts)


# --- LaTeX (booktabs) ----------------------------------------------------------------------------

_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                   "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in text)


def _tex_cell(cell: Cell) -> str:
    text = latex_escape(cell.text).replace("±", r"$\pm$")
    if cell.text == "-":
        text = "--"
    if cell.partial:
        text += r"$^\dagger$"
    return rf"\textbf{{{text}}}" if cell.bold and cell.text else text


def table_latex(table: Table, *, label_prefix: str = "tab:sebench") -> str:
    lead = (["Subset"] if table.show_subset else []) + ["System"]
    align = "l" * len(lead) + "r" * len(table.columns)
    header = lead + [latex_escape(c) + (r" $\uparrow$" if up else r" $\downarrow$")
                     for c, up in zip(table.columns, table.arrows)]
    lines = [r"\begin{table}[t]", r"  \centering",
             rf"  \caption{{Results on {latex_escape(table.testset)}. Bold: best per column within a subset.}}",
             rf"  \label{{{label_prefix}-{_label_slug(table.testset)}}}",
             rf"  \begin{{tabular}}{{{align}}}", r"    \toprule", "    " + " & ".join(header) + r" \\",
             r"    \midrule"]
    previous = None
    for subset, system, cells in table.rows:
        if table.show_subset and previous is not None and subset != previous:
            lines.append(r"    \midrule")
        first = [latex_escape(subset) if subset != previous else ""] if table.show_subset else []
        previous = subset
        lines.append("    " + " & ".join(first + [latex_escape(system)] + [_tex_cell(c) for c in cells]) + r" \\")
    lines += [r"    \bottomrule", r"  \end{tabular}", r"\end{table}"]
    return "\n".join(lines)


def _label_slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower())


def render_latex(tables: Sequence[Table]) -> str:
    """Tables ready to \\input{} (needs \\usepackage{booktabs})."""
    return "\n\n".join(table_latex(t) for t in tables) + "\n"


# --- the summary `sebench run` prints ------------------------------------------------------------

def summary_markdown(store_path: Path | str, run_id: str | None = None) -> str:
    """The run's tables as Markdown, or a one-line explanation when nothing was scored."""
    run = load_run(store_path, run_id)
    if run.scores.empty and run.outputs.empty:
        return f"run {run.name} ({run.run_id}): no results recorded"
    tables = [t for t in build_tables(run) if t.rows]
    return render_markdown(tables, title=f"Results: {run.name}")

