"""Markdown, LaTeX and CSV renderings of a leaderboard document (``board.leaderboard_document``).

Each board is one table: overall rank, system, where the row comes from (run name, or the
published table), each column's value with its rank, the mean rank and the rank stability. Rank 1
per column is bold. Flagged rows carry a mark explained under the table; reported rows say so.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from reports.latex import (COLUMN_WIDTH_PT, TEXT_HEIGHT_PT, Grid, GridColumn, Part, grid_latex, header_lines, label_for,
                           latex_text, numeric_part, pair_column, widest)
from reports.leaderboard.board import FLAG_MARKS
from reports.tables import Cell, pipe_table

KIND_NOTE = {"reported": "reported", "bound": "bound"}


def _sources(document: dict[str, Any]) -> dict[str, str]:
    return {s["run_id"]: s["name"] for s in document["sources"]}


def _rank_text(row: dict[str, Any]) -> str:
    if row["rank"] is not None:
        return str(row["rank"])
    marks = "".join(dict.fromkeys(FLAG_MARKS.get(f["kind"], "!") for f in row["flags"]))
    return marks or KIND_NOTE.get(row["kind"], "")


def row_origin(row: dict[str, Any], names: dict[str, str]) -> str:
    if row["kind"] == "reported":
        return f"reported ({row['reference']})"
    return names.get(row["run_id"], row["run_id"] or "")


def stability_text(row: dict[str, Any]) -> str:
    if row["stability"] is None:
        return ""
    low, high = row["rank_interval"] or (row["rank"], row["rank"])
    span = f"{low}" if low == high else f"{low}–{high}"
    return f"{100 * row['stability']:.0f}% [{span}]"


def board_table(board: dict[str, Any], names: dict[str, str]) -> tuple[list[str], list[list[str]], list[bool], list[list[bool]]]:
    """Header, body, right-alignment and bold flags of the Markdown table."""
    columns = board["columns"]
    decimals = {c["name"]: c["decimals"] for c in columns}
    header = ["#", "System", "Source"] + [f"{c['name']} {'↑' if c['higher_is_better'] else '↓'}" for c in columns]
    header += ["Mean rank", "Stability"]
    body, bold = [], []
    for row in board["rows"]:
        cells, strong = [_rank_text(row), row["label"], row_origin(row, names)], [False, False, False]
        for column in columns:
            name = column["name"]
            value = row["values"][name]
            rank = row["ranks"].get(name)
            text = "" if value is None else f"{value:.{decimals[name]}f}"
            if rank is not None and value is not None:
                text += f" ({rank})"
            elif rank is not None:
                text = f"– ({rank})"
            cells.append(text)
            strong.append(rank == 1 and value is not None)
        cells += ["" if row["mean_rank"] is None else f"{row['mean_rank']:.2f}", stability_text(row)]
        strong += [False, False]
        body.append(cells)
        bold.append(strong)
    right = [True, False, False] + [True] * len(columns) + [True, True]
    return header, body, right, bold


def row_notes(board: dict[str, Any], names: dict[str, str]) -> list[str]:
    notes = []
    for row in board["rows"]:
        for flag in row["flags"]:
            mark = FLAG_MARKS.get(flag["kind"], "!")
            where = f" ({', '.join(flag['columns'])})" if flag["columns"] else ""
            notes.append(f"{mark} {row['label']} ({row_origin(row, names)}){where}: {flag['detail']}")
    return list(dict.fromkeys(notes))


def board_key(board: dict[str, Any], separator: str = "-") -> str:
    """``dns-no_reverb`` (``dns / no_reverb`` with ``" / "``); just the test set when it has no subsets."""
    return board["testset"] if board["subset"] == board["testset"] else f"{board['testset']}{separator}{board['subset']}"


def board_title(board: dict[str, Any]) -> str:
    name = board_key(board, " / ")
    count = board["n_items"]
    return f"{name} ({count} item{'' if count == 1 else 's'}; reference run {board['reference_run']})"


def ranked_on(board: dict[str, Any]) -> str:
    ranked = [c["name"] + (f" ×{c['weight']:g}" if c["weight"] not in (None, 1.0) else "") for c in board["columns"] if c["ranked"]]
    return "Ranked on: " + (", ".join(ranked) or "nothing (fewer than two comparable rows)") + "."


def legend(document: dict[str, Any]) -> str:
    """What the cells and marks mean; under the Markdown tables and in every LaTeX caption."""
    return ("Value (rank): dense rank per column in its direction, at display precision, rank 1 in bold; # = dense "
            "rank of the weighted mean rank; a missing value ranks after every value. Stability: share of "
            f"{document['ranking']['resamples']} item resamples (seed {document['ranking']['seed']}) in which the system "
            "keeps its rank [95% rank interval]. Marks: ≠ other items than the reference run, § other metric version, "
            "‡ one label, two configurations (unranked: ≠ and §); reported rows are published numbers on the full test "
            "set, not reproduced here" + (" (ranked with the others)." if document["ranking"]["include_reported"]
                                          else " (not ranked)."))


def render_markdown(document: dict[str, Any]) -> str:
    names = _sources(document)
    parts = ["## Leaderboard", ""]
    for board in document["boards"]:
        header, body, right, bold = board_table(board, names)
        shown = [[f"**{text}**" if strong and text else text.replace("|", "\\|") for text, strong in zip(cells, flags)]
                 for cells, flags in zip(body, bold)]
        parts += [f"### {board_title(board)}", "", *pipe_table(header, shown, right), ""]
        parts.append(ranked_on(board))
        parts += [f"- {note}" for note in row_notes(board, names)] + [""]
    parts += [legend(document), ""]
    for source in document["sources"]:
        parts.append(f"- run {source['name']}: id {source['run_id']}, {source['date']}, config {source['config_hash'][:12] or '-'}, "
                     f"git {source['git_revision'] or '-'}")
    for reference in document["references"]:
        parts.append(f"- reported ({reference['id']}): {reference['citation']}")
    return "\n".join(parts) + "\n"


def board_grid(board: dict[str, Any], names: dict[str, str]) -> Grid:
    """The board as the report's LaTeX tables are built: rank and system repeated in every column
    group, each metric a decimal-aligned pair (``$-$`` minus, rank 1 bold) with its rank after the
    decimals, header lines split like the report's (``DNSMOS`` over ``OVRL ↑``, units); the row's
    source last, so that the numbers stand next to the names when the board is split."""
    rows = board["rows"]
    ranks = [_rank_text(row) for row in rows]
    labels = [row["label"] for row in rows]
    origins = [row_origin(row, names) for row in rows]
    columns = [GridColumn(latex_text("#"), "r", widest(["#", *ranks])), GridColumn("System", "l", widest(["System", *labels]))]
    cells = [[latex_text(text) for text in texts] for texts in (ranks, labels)]
    for column in board["columns"]:
        name = column["name"]
        entries: list[Part | str] = []
        for row in rows:
            value, rank = row["values"][name], row["ranks"].get(name)
            suffix = "" if rank is None else f" ({rank})"
            if value is None:
                entries.append(f"–{suffix}" if suffix else "")
            else:
                cell = Cell("", mean=value, decimals=column["decimals"], bold=rank == 1)
                entries.append(numeric_part(cell, False, latex_text(suffix)))
        grid_column, texts = pair_column(header_lines(name, column.get("unit") or "", column["higher_is_better"]), entries)
        columns.append(grid_column)
        cells.append(texts)
    means = ["" if row["mean_rank"] is None else f"{row['mean_rank']:.2f}" for row in rows]
    stability = [stability_text(row) for row in rows]
    columns += [GridColumn("Mean rank", "r", widest(["Mean rank", *means])),
                GridColumn("Stability", "r", widest(["Stability", *stability])),
                GridColumn("Source", "l", widest(["Source", *origins]))]
    cells += [means, [latex_text(text) for text in stability], [latex_text(text) for text in origins]]
    return Grid(tuple(columns), tuple(zip(*cells)) if rows else (), stub=2)


def render_latex(document: dict[str, Any], *, layout: str = "column", width: float = COLUMN_WIDTH_PT,
                 height: float = TEXT_HEIGHT_PT) -> str:
    """One table per board, ready to \\input{} (booktabs), cut to the page like the report's tables
    (``reports.latex``: column groups within ``width``, floats continued within ``height``)."""
    names = _sources(document)
    out = []
    for board in document["boards"]:
        title = f"Leaderboard: {latex_text(board_title(board))}"
        notes = " ".join(latex_text(text) for text in [ranked_on(board), legend(document), *row_notes(board, names)])
        label = label_for(f"leaderboard-{board['reference_run']}", board_key(board))
        out.append(grid_latex(board_grid(board, names), title=title, caption=f"{title}. {notes}", label=label,
                              layout=layout, width=width, height=height))
    return "\n\n".join(out) + "\n"


CSV_FIELDS = ("testset", "subset", "label", "system", "kind", "run_id", "reference", "rank", "mean_rank", "stability",
              "rank_low", "rank_high", "column", "higher_is_better", "ranked", "value", "column_rank", "status", "n",
              "flags")


def render_csv(document: dict[str, Any]) -> str:
    """Tidy: one line per (board, row, column), the row's overall rank repeated on each."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for board in document["boards"]:
        for row in board["rows"]:
            low, high = row["rank_interval"] or (None, None)
            for column in board["columns"]:
                name = column["name"]
                writer.writerow({
                    "testset": board["testset"], "subset": board["subset"], "label": row["label"],
                    "system": row["system"], "kind": row["kind"], "run_id": row["run_id"], "reference": row["reference"],
                    "rank": row["rank"], "mean_rank": row["mean_rank"], "stability": row["stability"],
                    "rank_low": low, "rank_high": high, "column": name, "higher_is_better": column["higher_is_better"],
                    "ranked": column["ranked"], "value": row["values"][name], "column_rank": row["ranks"].get(name),
                    "status": row["status"][name], "n": row["n"].get(name),
                    "flags": "; ".join(f"{f['kind']}: {f['detail']}" for f in row["flags"]),
                })
    return buffer.getvalue()
