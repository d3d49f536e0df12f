"""LaTeX tables made for papers: they fit the column and the page, align on the decimal point, explain their marks.

A results table with eight metric columns is about twice as wide as a two-column paper's column,
so by default (``layout="column"``) the metric columns are split into groups that each fit
``width`` points, stacked in one float under one caption and label; ``"wide"`` makes a
``table*`` across both columns (split only if even that is too narrow) and ``"resize"`` keeps one
tabular scaled to ``\\columnwidth`` (needs ``graphicx``). Widths are estimated from the glyph
widths of Computer Modern at ``\\small`` in a 10 pt document; the test suite compiles the result
in a two-column template and fails on any overfull box.

Heights are budgeted the same way (``pack_floats``): a float taller than the page is cut off at its
bottom, so stacked groups, and the rows of a long table, continue in further floats ("continued
from Table~\\ref{...}") of at most ``FLOAT_FRACTION`` of ``height``, cut between subsets where
possible; a float taller than LaTeX's ``\\topfraction`` is placed ``[!t]`` so it is not held back
to the end of the paper.

Numbers align on the decimal point the way siunitx ``S`` columns do, without the package: every
metric is a ``r@{}l`` column pair (integer part | point, decimals and marks), so bold, daggers
and interval subscripts never break the alignment. Negative numbers get a real minus (``$-$``).
Only ``booktabs`` is needed (plus ``graphicx`` for ``resize``).

Every float goes through one path: a ``Grid`` (columns with their estimated widths, LaTeX rows, the
group of each row) cut by ``grid_latex``. The results tables, the side tables (reported vs
reproduced, paired comparisons: layout ``fit``) and the leaderboard build their grids; nothing
else here knows which table it writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from bench.errors import ConfigError
from reports.tables import LATEX_SPECIALS, Cell, Table, latex_escape, legend, symmetric_half_width

LAYOUTS = ("column", "wide", "resize")
COLUMN_WIDTH_PT = 229.0
"""``\\columnwidth`` of the standard two-column article (10 pt); IEEE is 252 pt, ACL 219 pt."""
COLUMN_SEP_PT = 10.0
TEXT_HEIGHT_PT = 550.0
"""``\\textheight`` of the standard article (10 pt, letter); IEEE and ACL pages are taller."""
FLOAT_FRACTION = 0.9
"""Share of ``\\textheight`` one float may fill (a margin for the height estimate)."""
TOP_FRACTION = 0.65
"""Floats estimated taller than this share of the page are placed ``[!t]``: LaTeX's default
``\\topfraction`` is 0.7, and a ``[t]`` float above it waits for the end of the document."""
TABCOLSEP_PT = 4.0

_TEXT_SYMBOLS = {"†": r"$^\dagger$", "±": r"$\pm$", "<": r"$<$", ">": r"$>$", "≥": r"$\geq$", "≤": r"$\leq$",
                 "↑": r"$\uparrow$", "↓": r"$\downarrow$", "−": r"$-$", "Δ": r"$\Delta$", "`": "", "–": "--",
                 "≠": r"$\neq$", "§": r"\S{}", "‡": r"\ddag{}", "×": r"$\times$"}

# Advance widths (pt) of Computer Modern Roman at \small (9 pt) in a 10 pt document, measured with
# \settowidth: digits 4.62, lower case 4.54 on average, upper case 6.62, "." 2.57, "-" 3.08,
# "@" 7.19, a math minus or plus-minus 7.19; bold is 15% wider. Rounded up a little.
_DIGIT, _NARROW, _LOWER, _UPPER, _WIDE, _MATH_SCRIPT, _BOLD = 4.65, 2.6, 4.6, 6.9, 7.2, 0.7, 1.15
_WIDE_CHARS = "@MWmw−±Δ↑↓≠×"
# Vertical sizes (pt) at \small: baselineskip, a booktabs top/bottom rule with its padding, a
# midrule with its padding, the caption's skip, the \medskip between stacked column groups.
_LINE, _RULE, _MIDRULE, _CAPTION_SKIP, _GROUP_GAP = 11.0, 3.7, 5.3, 10.0, 6.0


def latex_text(text: str) -> str:
    """Prose (captions, legends) with the symbols the Markdown uses turned into LaTeX."""
    return "".join(_TEXT_SYMBOLS.get(ch) or LATEX_SPECIALS.get(ch, ch) for ch in text)


def latex_number(value: float, decimals: int, *, signed: bool = False) -> str:
    """``-5.20`` -> ``$-$5.20`` (a hyphen is not a minus sign); ``signed`` adds ``+`` to positives."""
    text = f"{abs(value):.{decimals}f}"
    negative = value < 0 and float(text) != 0
    sign = "$-$" if negative else ("+" if signed and float(text) != 0 else "")
    return sign + text


_MARKUP = ((r"$-$", "−"), (r"$\pm$", "±"), (r"$\Delta$", "Δ"), (r"$<$", "<"), (r"$>$", ">"), (r"\_", "_"),
           (r"\%", "%"), (r"\&", "&"), (r"\#", "#"), (r"$\uparrow$", "↑"), (r"$\downarrow$", "↓"), (r"$\neq$", "≠"),
           (r"\S{}", "§"), (r"\ddag{}", "‡"), (r"$\times$", "×"))


def _text_width(text: str) -> float:
    """Estimated width in pt at \\small of text that may hold the simple markup this module writes."""
    for markup, glyph in _MARKUP:
        text = text.replace(markup, glyph)
    text = re.sub(r"\\[a-zA-Z]+\s?|[{}$^]", "", text)
    width = 0.0
    for ch in text:
        if ch.isdigit():
            width += _DIGIT
        elif ch in _WIDE_CHARS:
            width += _WIDE
        elif ch in ".,:;'!|()[]ilj -_":
            width += _NARROW if ch not in "-_ " else 3.3
        elif ch.isupper() or ch in "%&#<>":
            width += _UPPER
        else:
            width += _LOWER
    return width


@dataclass(frozen=True)
class Part:
    """One decimal-aligned numeric cell: integer part (with sign), then point, decimals and marks."""

    left: str
    right: str
    width_left: float
    width_right: float


def _ci_script(cell: Cell) -> tuple[str, float]:
    if cell.ci_low is None or cell.ci_high is None or cell.mean is None:
        return "", 0.0
    d = cell.decimals
    half = symmetric_half_width(cell)
    if half is not None:
        text = rf"$_{{\pm {half:.{d}f}}}$"
        plain = f"+{half:.{d}f}"
    else:
        up, down = cell.ci_high - cell.mean, cell.mean - cell.ci_low
        text = rf"$^{{+{up:.{d}f}}}_{{-{down:.{d}f}}}$"
        plain = f"+{max(up, down):.{d}f}"
    return text, _text_width(plain) * _MATH_SCRIPT + 2.0


def numeric_part(cell: Cell, with_ci: bool, suffix: str = "") -> Part:
    """``suffix`` (a leaderboard's `` (2)`` rank) follows the decimals and marks, in the cell's style."""
    number = latex_number(cell.mean, cell.decimals)
    whole, _, fraction = number.partition(".")
    right = f".{fraction}" if fraction else ""
    width_right = _text_width(right)
    if cell.partial:
        right += r"$^\dagger$"
        width_right += 3.5
    if with_ci:
        script, width = _ci_script(cell)
        right += script
        width_right += width
    right += suffix
    width_right += _text_width(suffix)
    style = r"\bfseries\boldmath " if cell.bold else r"\itshape " if cell.tie else ""
    scale = _BOLD if cell.bold else 1.0
    return Part(style + whole, (style + right) if right else "", _text_width(whole) * scale, width_right * scale)


def header_lines(name: str, unit: str, higher: bool) -> list[str]:
    """``DNSMOS_OVRL`` -> [``DNSMOS``, ``OVRL``]; unit and direction arrow on the last line."""
    family, _, member = name.partition("_")
    lines = [family] + ([member] if member else []) + ([f"({unit})"] if unit else [])
    lines[-1] += " ↑" if higher else " ↓"
    return lines


def _header_cell(lines: list[str]) -> str:
    body = r"\\".join(latex_text(line) for line in lines)
    return rf"\multicolumn{{2}}{{c}}{{\begin{{tabular}}[b]{{@{{}}c@{{}}}}{body}\end{{tabular}}}}"


@dataclass(frozen=True)
class GridColumn:
    """One column of a table before it is cut to fit the page: header, alignment, estimated width."""

    header: str
    """LaTeX of the header cell."""
    align: str
    """``l``, ``r``, or ``r@{}l`` for a decimal-aligned pair (integer part | point, decimals and marks)."""
    width: float
    """Estimated width in pt at \\small, ``\\tabcolsep`` on both sides included."""
    header_lines: int = 1

    @property
    def span(self) -> int:
        """How many tabular columns it takes (2 for a decimal-aligned pair)."""
        return len(re.sub(r"@\{[^}]*\}", "", self.align))


@dataclass(frozen=True)
class Grid:
    """A table as every LaTeX float of this module is written from it: the results tables, the side
    tables and the leaderboard build one, and ``grid_latex`` cuts it to the page's width and height."""

    columns: tuple[GridColumn, ...]
    rows: tuple[tuple[str, ...], ...]
    """LaTeX of each row's cells, one per column (a pair's cell holds its own ``&``)."""
    groups: tuple[str, ...] | None = None
    """Per row, the LaTeX name of its group (a subset): a spanning italic row opens each group."""
    stub: int = 1
    """Leading columns (the system label) repeated in every column group."""


def widest(texts: Sequence[str]) -> float:
    """Estimated width in pt of a plain column holding ``texts`` (header included), with its padding."""
    return max(_text_width(text) for text in texts) + 2 * TABCOLSEP_PT


def pair_column(lines: list[str], entries: Sequence[Part | str]) -> tuple[GridColumn, list[str]]:
    """A decimal-aligned column under a header of ``lines`` and its cells: each entry a number's
    ``Part``, or a status text (``-``, ``fail``, blank) centred across both halves."""
    parts = [e for e in entries if isinstance(e, Part)]
    texts = [e for e in entries if isinstance(e, str)]
    width = max(max(_text_width(line) for line in lines),
                max((p.width_left for p in parts), default=0.0) + max((p.width_right for p in parts), default=0.0),
                max((_text_width(t) for t in texts), default=0.0)) + 2 * TABCOLSEP_PT
    cells = [f"{e.left} & {e.right}" if isinstance(e, Part)
             else rf"\multicolumn{{2}}{{c}}{{{'--' if e == '-' else latex_text(e)}}}" for e in entries]
    return GridColumn(_header_cell(lines), "r@{}l", width, len(lines)), cells


def table_grid(table: Table) -> Grid:
    """The grid of one results table: system labels, then a decimal-aligned pair per metric column."""
    columns = [GridColumn("System", "l", widest([system for _, system, _ in table.rows] + ["System"]))]
    cells: list[list[str]] = []
    for index in range(len(table.columns)):
        entries = [numeric_part(row[index], table.with_ci) if row[index].mean is not None else row[index].text
                   for _, _, row in table.rows]
        column, texts = pair_column(header_lines(table.columns[index], table.unit(index), table.arrows[index]), entries)
        columns.append(column)
        cells.append(texts)
    rows = tuple((latex_escape(system), *(texts[r] for texts in cells)) for r, (_, system, _) in enumerate(table.rows))
    groups = tuple(latex_escape(subset) for subset, _, _ in table.rows) if table.show_subset else None
    return Grid(tuple(columns), rows, groups)


def grid_groups(grid: Grid, width: float) -> list[list[int]]:
    """The non-stub columns (0 = the first after the stub) split, in order, into groups whose
    tabular, stub included, fits ``width`` points."""
    budget = width - sum(c.width for c in grid.columns[:grid.stub])
    groups: list[list[int]] = [[]]
    used = 0.0
    for index, column in enumerate(grid.columns[grid.stub:]):
        if groups[-1] and used + column.width > budget:
            groups.append([])
            used = 0.0
        groups[-1].append(index)
        used += column.width
    return groups


def column_groups(table: Table, width: float) -> list[list[int]]:
    """Metric column indices of a results table split, in order, into groups that fit ``width`` points."""
    return grid_groups(table_grid(table), width)


def _shown(grid: Grid, indices: Sequence[int]) -> list[GridColumn]:
    return [*grid.columns[:grid.stub], *(grid.columns[grid.stub + i] for i in indices)]


def _tabular(grid: Grid, indices: list[int], rows: Sequence[int]) -> list[str]:
    """The tabular of the stub and columns ``indices`` over the rows ``rows`` (a group's name is
    repeated when a part starts inside it)."""
    columns = _shown(grid, indices)
    positions = [*range(grid.stub), *(grid.stub + i for i in indices)]
    lines = [rf"\begin{{tabular}}{{@{{}}{''.join(c.align for c in columns)}@{{}}}}", r"\toprule",
             " & ".join(c.header for c in columns) + r" \\", r"\midrule"]
    span = sum(c.span for c in columns)
    previous = None
    for r in rows:
        if grid.groups is not None and grid.groups[r] != previous:
            if previous is not None:
                lines.append(r"\midrule")
            lines.append(rf"\multicolumn{{{span}}}{{@{{}}l}}{{\textit{{{grid.groups[r]}}}}} \\")
            previous = grid.groups[r]
        lines.append(" & ".join(grid.rows[r][p] for p in positions) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return lines


def _tabular_height(grid: Grid, indices: list[int], rows: Sequence[int]) -> float:
    """Estimated height in pt of ``_tabular(grid, indices, rows)`` at \\small."""
    header = max(c.header_lines for c in _shown(grid, indices))
    groups = len({grid.groups[r] for r in rows}) if grid.groups is not None else 0
    return _LINE * (header + len(rows) + groups) + 2 * _RULE + _MIDRULE * max(1, groups)


def _caption_height(caption: str, width: float) -> float:
    """Estimated height in pt of a caption (``Table 10: `` and the text, set at \\small in ``width``)."""
    plain = re.sub(r"\\[a-zA-Z]+\s?|[{}$^]", "", caption)
    return _LINE * -(-(_text_width("Table 10: " + plain) * 1.05) // width) + _CAPTION_SKIP


def _runs(keys: Sequence[str] | None, rows: Sequence[int]) -> list[list[int]]:
    """``rows`` cut where their key (subset) changes; one run when there are no keys."""
    runs: list[list[int]] = []
    for r in rows:
        if runs and (keys is None or keys[runs[-1][-1]] == keys[r]):
            runs[-1].append(r)
        else:
            runs.append([r])
    return runs


def _largest_part(rows: list[int], keys: Sequence[str] | None, height: Callable[[list[int]], float],
                  room: float) -> list[int]:
    """The longest prefix of ``rows`` whose tabular fits ``room``: whole subsets when at least one
    fits, otherwise rows of the first subset (at least one row, so packing always progresses)."""
    taken: list[int] = []
    for run in _runs(keys, rows):
        if height(taken + run) > room:
            break
        taken += run
    if taken:
        return taken
    count = 1
    while count < len(rows) and height(rows[:count + 1]) <= room:
        count += 1
    return rows[:count]


@dataclass
class _Float:
    """One float of a table: its (metric columns, rows) tabulars and its estimated height in pt."""

    parts: list[tuple[list[int], list[int]]]
    height: float


def pack_floats(n_rows: int, groups: list[list[int]], keys: Sequence[str] | None,
                height: Callable[[list[int], list[int]], float], limit: float, first_caption: float,
                next_caption: float) -> list[_Float]:
    """Tabulars (column group x rows) packed into floats none of which is estimated taller than ``limit``.

    A float taller than the page is cut off at its bottom (LaTeX only warns "Float too large"), so
    column groups are stacked while they fit; a group that does not fit what is left opens a new
    float ("continued"), and a group taller than a whole float is cut between subsets (between rows
    when one subset alone is too tall), the header repeated in each part.
    """
    floats = [_Float([], first_caption)]
    for indices in groups:
        rows = list(range(n_rows))
        while True:  # at least one part per group: a table without rows still shows its header
            gap = _GROUP_GAP if floats[-1].parts else 0.0
            if floats[-1].parts and height(indices, rows) > limit - floats[-1].height - gap:
                floats.append(_Float([], next_caption))
                continue
            part = _largest_part(rows, keys, lambda r: height(indices, r), limit - floats[-1].height - gap)
            floats[-1].parts.append((indices, part))
            floats[-1].height += height(indices, part) + gap
            rows = rows[len(part):]
            if not rows:
                break
    return floats


def placement(float_height: float, text_height: float) -> str:
    """``[t]``, or ``[!t]`` for a float taller than LaTeX's ``\\topfraction`` (0.7) of the page, which
    ``[t]`` alone would hold back to the end of the document."""
    return "[!t]" if float_height > TOP_FRACTION * text_height else "[t]"


def _continued(title: str, label: str) -> str:
    return rf"{title}, continued from Table~\ref{{{label}}}."


def _float_head(float_env: str, packed: _Float, text_height: float, number: int, title: str, caption: str,
                label: str) -> list[str]:
    """The opening lines of float ``number`` of a table: the full caption and label on the first,
    a "continued" caption and a ``-partN`` label on the others."""
    heading = ([rf"\caption{{{caption}}}", rf"\label{{{label}}}"] if number == 0 else
               [rf"\caption{{{_continued(title, label)}}}", rf"\label{{{label}-part{number + 1}}}"])
    return [rf"\begin{{{float_env}}}{placement(packed.height, text_height)}", r"\centering", r"\small",
            rf"\setlength{{\tabcolsep}}{{{TABCOLSEP_PT:g}pt}}", *heading]


def latex_options(layout: str | None, width: float | None, height: float | None) -> dict[str, Any]:
    """``--latex-layout/--latex-width/--latex-height`` (None: the default) as keyword arguments of
    the renderers; a bad value is a ConfigError naming the option."""
    layout = layout or "column"
    if layout not in LAYOUTS:
        raise ConfigError(f"unknown --latex-layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    lengths = {"width": COLUMN_WIDTH_PT, "height": TEXT_HEIGHT_PT}
    for key, value in (("width", width), ("height", height)):
        if value is None:
            continue
        try:
            lengths[key] = float(value)
        except (TypeError, ValueError):
            lengths[key] = float("nan")
        if not lengths[key] > 0:
            raise ConfigError(f"--latex-{key} takes a length in pt above 0, got {value!r}")
    return {"layout": layout, **lengths}


def label_for(run_name: str, testset: str, prefix: str = "tab") -> str:
    """``tab:<run>-<test set>``: two reports in one paper do not collide."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{run_name}-{testset}".lower()).strip("-")
    return f"{prefix}:{slug}"


FIT = "fit"
"""The side tables' layout: one tabular in ``table`` if it fits the column, else in ``table*``, scaled
to ``\\textwidth`` (needs graphicx) only if even that is too narrow."""


@dataclass(frozen=True)
class _Frame:
    """What a layout makes of a grid: the float, the width it offers, the column groups stacked in
    it, the scale of a ``\\resizebox`` (1: none) and what that box is scaled to."""

    env: str
    width: float
    groups: list[list[int]]
    scale: float = 1.0
    resize_to: str = ""


def _frame(grid: Grid, layout: str, width: float) -> _Frame:
    wide = 2 * width + COLUMN_SEP_PT
    everything = [list(range(len(grid.columns) - grid.stub))]
    total = sum(c.width for c in grid.columns)
    if layout == "column":
        return _Frame("table", width, grid_groups(grid, width))
    if layout == "wide":
        return _Frame("table*", wide, grid_groups(grid, wide))
    if layout == "resize":
        return _Frame("table", width, everything, width / total, r"\columnwidth")
    if layout == FIT:
        if total <= width:
            return _Frame("table", width, everything)
        return _Frame("table*", wide, everything, *((wide / total, r"\textwidth") if total > wide else ()))
    raise ValueError(f"unknown LaTeX layout {layout!r}; choose from {', '.join(LAYOUTS)}")


def grid_latex(grid: Grid, *, title: str, caption: str, label: str, layout: str = "column",
               width: float = COLUMN_WIDTH_PT, height: float = TEXT_HEIGHT_PT) -> str:
    """The floats of one table: cut into column groups to fit ``width`` (see the module docstring
    for the layouts), and into floats of at most ``FLOAT_FRACTION`` of ``height`` that continue the
    first (captioned ``title, continued from``), between groups (subsets) where possible."""
    frame = _frame(grid, layout, width)
    floats = pack_floats(len(grid.rows), frame.groups, grid.groups,
                         lambda cols, rows: _tabular_height(grid, cols, rows) * frame.scale,
                         FLOAT_FRACTION * height, _caption_height(caption, frame.width),
                         _caption_height(_continued(title, label), frame.width))
    out: list[str] = []
    for number, packed in enumerate(floats):
        out += ([""] if number else []) + _float_head(frame.env, packed, height, number, title, caption, label)
        for position, (indices, rows) in enumerate(packed.parts):
            if position:
                out.append(r"\par\medskip")
            body = _tabular(grid, indices, rows)
            if frame.resize_to:
                body = [rf"\resizebox{{{frame.resize_to}}}{{!}}{{%"] + body + ["}"]
            out += body
        out.append(rf"\end{{{frame.env}}}")
    return "\n".join(out)


def table_latex(table: Table, *, layout: str = "column", width: float = COLUMN_WIDTH_PT,
                height: float = TEXT_HEIGHT_PT) -> str:
    """The floats of one test set; see the module docstring for the layouts."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown LaTeX layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    where = latex_escape(table.testset) + (f" ({latex_escape(table.run_name)})" if table.run_name else "")
    notes = " ".join(latex_text(n) for n in legend([table], dash="--", fail="fail", bold="Bold", tie="italic"))
    return grid_latex(table_grid(table), title=f"Results on {where}", caption=f"Results on {where}: mean over items. {notes}",
                      label=label_for(table.run_name, table.testset), layout=layout, width=width, height=height)


def render_latex(tables: Sequence[Table], *, layout: str = "column", width: float = COLUMN_WIDTH_PT,
                 height: float = TEXT_HEIGHT_PT) -> str:
    """Tables ready to \\input{} (needs \\usepackage{booktabs}; ``resize`` also graphicx)."""
    return "\n\n".join(table_latex(t, layout=layout, width=width, height=height) for t in tables) + "\n"


def simple_latex_table(title: str, notes: str, label: str, header: Sequence[str], body: Sequence[Sequence[str]],
                       align: str, *, groups: Sequence[str] | None = None, width: float = COLUMN_WIDTH_PT,
                       height: float = TEXT_HEIGHT_PT) -> str:
    """A plain booktabs float for the side tables (reported vs reproduced, paired comparisons).

    The caption is ``title. notes`` (a continuation repeats only the title). Cells are LaTeX already;
    ``align`` has one letter (``l``, ``r``, ``c``) per column. ``groups`` (one label per body row)
    turns a leading key into spanning rows, as the results tables do with subsets. The float spans
    both columns (``table*``) when it would not fit one, and is scaled to ``\\textwidth`` (needs
    graphicx) when it would not fit that; a table taller than a page is continued in further floats
    (54 paired tests are 600 pt of rows).
    """
    columns = tuple(GridColumn(head, letter, widest([head, *(row[i] for row in body)]))
                    for i, (head, letter) in enumerate(zip(header, align, strict=True)))
    grid = Grid(columns, tuple(tuple(row) for row in body), tuple(groups) if groups is not None else None)
    return grid_latex(grid, title=title, caption=f"{title}. {notes}".strip(), label=label, layout=FIT,
                      width=width, height=height) + "\n"
