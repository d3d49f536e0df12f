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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

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
                 "↑": r"$\uparrow$", "↓": r"$\downarrow$", "−": r"$-$", "Δ": r"$\Delta$", "`": ""}

# Advance widths (pt) of Computer Modern Roman at \small (9 pt) in a 10 pt document, measured with
# \settowidth: digits 4.62, lower case 4.54 on average, upper case 6.62, "." 2.57, "-" 3.08,
# "@" 7.19, a math minus or plus-minus 7.19; bold is 15% wider. Rounded up a little.
_DIGIT, _NARROW, _LOWER, _UPPER, _WIDE, _MATH_SCRIPT, _BOLD = 4.65, 2.6, 4.6, 6.9, 7.2, 0.7, 1.15
_WIDE_CHARS = "@MWmw−±Δ↑↓"
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
           (r"\%", "%"), (r"\&", "&"), (r"$\uparrow$", "↑"), (r"$\downarrow$", "↓"))


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
class _Part:
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


def _numeric_part(cell: Cell, with_ci: bool) -> _Part:
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
    style = r"\bfseries\boldmath " if cell.bold else r"\itshape " if cell.tie else ""
    scale = _BOLD if cell.bold else 1.0
    return _Part(style + whole, (style + right) if right else "", _text_width(whole) * scale, width_right * scale)


def _header_lines(name: str, unit: str, higher: bool) -> list[str]:
    """``DNSMOS_OVRL`` -> [``DNSMOS``, ``OVRL``]; unit and direction arrow on the last line."""
    family, _, member = name.partition("_")
    lines = [family] + ([member] if member else []) + ([f"({unit})"] if unit else [])
    lines[-1] += " ↑" if higher else " ↓"
    return lines


def _header_cell(lines: list[str]) -> str:
    body = r"\\".join(latex_text(line) for line in lines)
    return rf"\multicolumn{{2}}{{c}}{{\begin{{tabular}}[b]{{@{{}}c@{{}}}}{body}\end{{tabular}}}}"


def _column_width(table: Table, index: int) -> float:
    lines = _header_lines(table.columns[index], table.unit(index), table.arrows[index])
    header = max(_text_width(line) for line in lines)
    parts = [_numeric_part(cells[index], table.with_ci) for _, _, cells in table.rows if cells[index].mean is not None]
    left = max((p.width_left for p in parts), default=0.0)
    right = max((p.width_right for p in parts), default=0.0)
    text = max((_text_width(cells[index].text) for _, _, cells in table.rows if cells[index].mean is None), default=0.0)
    return max(header, left + right, text) + 2 * TABCOLSEP_PT


def _label_width(table: Table) -> float:
    widths = [_text_width(system) for _, system, _ in table.rows] + [_text_width("System")]
    return max(widths) + 2 * TABCOLSEP_PT


def column_groups(table: Table, width: float) -> list[list[int]]:
    """Metric column indices split, in order, into groups whose tabular fits ``width`` points."""
    budget = width - _label_width(table)
    groups: list[list[int]] = [[]]
    used = 0.0
    for index in range(len(table.columns)):
        need = _column_width(table, index)
        if groups[-1] and used + need > budget:
            groups.append([])
            used = 0.0
        groups[-1].append(index)
        used += need
    return groups


def _tabular(table: Table, indices: list[int], rows: Sequence[int]) -> list[str]:
    """The tabular of metric columns ``indices`` over the table rows ``rows`` (a subset's name is
    repeated when a part starts inside it)."""
    align = "@{}l" + "r@{}l" * len(indices) + "@{}"
    header = ["System"] + [_header_cell(_header_lines(table.columns[i], table.unit(i), table.arrows[i]))
                           for i in indices]
    lines = [rf"\begin{{tabular}}{{{align}}}", r"\toprule", " & ".join(header) + r" \\", r"\midrule"]
    previous = None
    span = 1 + 2 * len(indices)
    for subset, system, cells in (table.rows[r] for r in rows):
        if table.show_subset and subset != previous:
            if previous is not None:
                lines.append(r"\midrule")
            lines.append(rf"\multicolumn{{{span}}}{{@{{}}l}}{{\textit{{{latex_escape(subset)}}}}} \\")
        previous = subset
        row = [latex_escape(system)]
        for i in indices:
            cell = cells[i]
            if cell.mean is None:
                row.append(rf"\multicolumn{{2}}{{c}}{{{'--' if cell.text == '-' else latex_escape(cell.text)}}}")
            else:
                part = _numeric_part(cell, table.with_ci)
                row += [part.left, part.right]
        lines.append(" & ".join(row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return lines


def _tabular_height(table: Table, indices: list[int], rows: Sequence[int]) -> float:
    """Estimated height in pt of ``_tabular(table, indices, rows)`` at \\small."""
    header = max(len(_header_lines(table.columns[i], table.unit(i), table.arrows[i])) for i in indices)
    subsets = len({table.rows[r][0] for r in rows}) if table.show_subset else 0
    return _LINE * (header + len(rows) + subsets) + 2 * _RULE + _MIDRULE * max(1, subsets)


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
        while rows:
            gap = _GROUP_GAP if floats[-1].parts else 0.0
            if floats[-1].parts and height(indices, rows) > limit - floats[-1].height - gap:
                floats.append(_Float([], next_caption))
                continue
            part = _largest_part(rows, keys, lambda r: height(indices, r), limit - floats[-1].height - gap)
            floats[-1].parts.append((indices, part))
            floats[-1].height += height(indices, part) + gap
            rows = rows[len(part):]
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


def label_for(run_name: str, testset: str, prefix: str = "tab") -> str:
    """``tab:<run>-<test set>``: two reports in one paper do not collide."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{run_name}-{testset}".lower()).strip("-")
    return f"{prefix}:{slug}"


def table_latex(table: Table, *, layout: str = "column", width: float = COLUMN_WIDTH_PT,
                height: float = TEXT_HEIGHT_PT) -> str:
    """The floats of one test set; see the module docstring for the layouts."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown LaTeX layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    float_env = "table*" if layout == "wide" else "table"
    budget = 2 * width + COLUMN_SEP_PT if layout == "wide" else width
    groups = [list(range(len(table.columns)))] if layout == "resize" else column_groups(table, budget)
    where = latex_escape(table.testset) + (f" ({latex_escape(table.run_name)})" if table.run_name else "")
    notes = " ".join(latex_text(n) for n in legend([table], dash="--", fail="fail", bold="Bold", tie="italic"))
    label = label_for(table.run_name, table.testset)
    caption = f"Results on {where}: mean over items. {notes}"
    scale = 1.0
    if layout == "resize":
        scale = width / (_label_width(table) + sum(_column_width(table, i) for i in groups[0]))
    keys = [subset for subset, _, _ in table.rows] if table.show_subset else None
    floats = pack_floats(len(table.rows), groups, keys, lambda cols, rows: _tabular_height(table, cols, rows) * scale,
                         FLOAT_FRACTION * height, _caption_height(caption, budget),
                         _caption_height(_continued(f"Results on {where}", label), budget))
    out: list[str] = []
    for number, packed in enumerate(floats):
        out += ([""] if number else []) + _float_head(float_env, packed, height, number, f"Results on {where}",
                                                      caption, label)
        for position, (indices, rows) in enumerate(packed.parts):
            if position:
                out.append(r"\par\medskip")
            body = _tabular(table, indices, rows)
            if layout == "resize":
                body = [r"\resizebox{\columnwidth}{!}{%"] + body + ["}"]
            out += body
        out.append(rf"\end{{{float_env}}}")
    return "\n".join(out)


def render_latex(tables: Sequence[Table], *, layout: str = "column", width: float = COLUMN_WIDTH_PT,
                 height: float = TEXT_HEIGHT_PT) -> str:
    """Tables ready to \\input{} (needs \\usepackage{booktabs}; ``resize`` also graphicx)."""
    return "\n\n".join(table_latex(t, layout=layout, width=width, height=height) for t in tables) + "\n"


def simple_latex_table(title: str, notes: str, label: str, header: Sequence[str], body: Sequence[Sequence[str]],
                       align: str, *, groups: Sequence[str] | None = None, width: float = COLUMN_WIDTH_PT,
                       height: float = TEXT_HEIGHT_PT) -> str:
    """A plain booktabs float for the side tables (reported vs reproduced, paired comparisons).

    The caption is ``title. notes`` (a continuation repeats only the title). Cells are LaTeX already.
    ``groups`` (one label per body row) turns a leading key into spanning rows, as the results tables
    do with subsets. The float spans both columns (``table*``) when it
    would not fit one, and is scaled to ``\\textwidth`` (needs graphicx) when it would not fit that;
    a table taller than a page is continued in further floats (54 paired tests are 600 pt of rows).
    """
    estimate = sum(max(_text_width(str(row[i])) for row in [header, *body]) + 2 * TABCOLSEP_PT
                   for i in range(len(header)))
    wide = 2 * width + COLUMN_SEP_PT
    float_env = "table" if estimate <= width else "table*"
    scale = min(1.0, wide / estimate)
    text_width = width if float_env == "table" else wide

    def rows_height(_: list[int], rows: list[int]) -> float:
        spans = len({groups[r] for r in rows}) if groups is not None else 0
        return (_LINE * (1 + len(rows) + spans) + 2 * _RULE + _MIDRULE * max(1, spans)) * scale

    caption = f"{title}. {notes}".strip()
    floats = pack_floats(len(body), [[0]], groups, rows_height, FLOAT_FRACTION * height,
                         _caption_height(caption, text_width), _caption_height(_continued(title, label), text_width))
    lines: list[str] = []
    for number, packed in enumerate(floats):
        lines += _float_head(float_env, packed, height, number, title, caption, label)
        if estimate > wide:
            lines.append(r"\resizebox{\textwidth}{!}{%")
        lines += [rf"\begin{{tabular}}{{{align}}}", r"\toprule", " & ".join(header) + r" \\", r"\midrule"]
        previous = None
        for index in (packed.parts[0][1] if packed.parts else []):
            if groups is not None and groups[index] != previous:
                if previous is not None:
                    lines.append(r"\midrule")
                lines.append(rf"\multicolumn{{{len(header)}}}{{@{{}}l}}{{\textit{{{groups[index]}}}}} \\")
                previous = groups[index]
            lines.append(" & ".join(body[index]) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        if estimate > wide:
            lines.append("}")
        lines += [rf"\end{{{float_env}}}", ""]
    return "\n".join(lines)
