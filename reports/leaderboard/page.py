"""The leaderboard as one static HTML page: a tab per (test set, subset), sortable columns, the
rank stability beside the rank, a link to each run's listening page and the provenance of every
row (run id, date, config hash, git commit), all relative links so the folder works offline.

Without JavaScript every board is shown one after the other, in rank order; with it, one tab at a
time (``#panel-...`` in the URL opens that tab) and a click on a column header sorts the rows
(the first click puts the best first, empty cells always go last).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from reports.leaderboard.board import FLAG_MARKS
from reports.leaderboard.render import board_key, board_title, ranked_on, row_notes, row_origin, stability_text

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1800px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 1.5rem; }
nav[role=tablist] { display: flex; flex-wrap: wrap; gap: 0.25rem; border-bottom: 1px solid #ccc; }
nav[role=tablist] button { border: 1px solid #ccc; border-bottom: none; background: #f4f4f4; padding: 0.4rem 0.9rem;
  cursor: pointer; font: inherit; border-radius: 4px 4px 0 0; }
nav[role=tablist] button[aria-selected=true] { background: #fff; font-weight: 600; }
table { border-collapse: collapse; margin: 0.75rem 0; }
td, th { padding: 0.3rem 0.6rem; text-align: left; border-bottom: 1px solid #eee; white-space: nowrap; }
th[data-type] { cursor: pointer; user-select: none; }
th[aria-sort=ascending]::after { content: " \\25B2"; font-size: 0.7em; }
th[aria-sort=descending]::after { content: " \\25BC"; font-size: 0.7em; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.best { font-weight: 700; } .rank { color: #777; font-size: 0.85em; }
tr.reported td { color: #555; font-style: italic; } tr.bound td { color: #888; }
tr.flagged td { background: #fff7e6; }
.badge { font-size: 0.75em; padding: 0.05rem 0.35rem; border-radius: 3px; background: #eee; font-style: normal; }
.meta, .notes { color: #555; font-size: 0.9em; } code { font-size: 0.9em; }
"""

SCRIPT = """
(function () {
  const tabs = Array.from(document.querySelectorAll('nav[role=tablist] button'));
  const panels = Array.from(document.querySelectorAll('section[role=tabpanel]'));
  function show(id) {
    for (const panel of panels) panel.hidden = panel.id !== id;
    for (const tab of tabs) tab.setAttribute('aria-selected', String(tab.getAttribute('aria-controls') === id));
  }
  for (const tab of tabs) tab.addEventListener('click', () => { show(tab.getAttribute('aria-controls')); });
  const wanted = decodeURIComponent(location.hash.slice(1));
  show(panels.some(p => p.id === wanted) ? wanted : (panels[0] && panels[0].id));

  function key(row, index, type) {
    const cell = row.cells[index];
    const value = cell.dataset.value;
    if (type === 'num') return value === undefined || value === '' ? null : parseFloat(value);
    return (value !== undefined ? value : cell.textContent).trim().toLowerCase();
  }
  for (const table of document.querySelectorAll('table.board')) {
    const heads = Array.from(table.tHead.rows[0].cells);
    heads.forEach((th, index) => {
      if (!th.dataset.type) return;
      th.tabIndex = 0;
      const sort = () => {
        const current = th.getAttribute('aria-sort');
        const dir = current ? (current === 'ascending' ? 'descending' : 'ascending') : (th.dataset.first || 'ascending');
        for (const other of heads) other.removeAttribute('aria-sort');
        th.setAttribute('aria-sort', dir);
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort((a, b) => {
          const x = key(a, index, th.dataset.type), y = key(b, index, th.dataset.type);
          if (x === null || y === null) return x === null ? (y === null ? 0 : 1) : -1;
          const order = x < y ? -1 : x > y ? 1 : 0;
          return dir === 'ascending' ? order : -order;
        });
        for (const row of rows) body.appendChild(row);
      };
      th.addEventListener('click', sort);
      th.addEventListener('keydown', (event) => { if (event.key === 'Enter') sort(); });
    });
  }
})();
"""


def anchor(text: str) -> str:
    """A readable id for a URL fragment (``#panel-dns-no_reverb``); run ids and names are already safe."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _num(value: Any) -> str:
    return "" if value is None else repr(float(value))


def _header(board: dict[str, Any]) -> str:
    cells = ['<th class="num" data-type="num" data-first="ascending" title="overall rank">#</th>',
             '<th data-type="text">System</th>', '<th data-type="text">Source</th>']
    for column in board["columns"]:
        arrow = "↑" if column["higher_is_better"] else "↓"
        first = "descending" if column["higher_is_better"] else "ascending"
        ranked = "ranked" if column["ranked"] else "not ranked"
        cells.append(f'<th class="num" data-type="num" data-first="{first}" data-column="{_e(column["name"])}" '
                     f'title="{_e(column["name"])}: {"higher" if column["higher_is_better"] else "lower"} is better, {ranked}">'
                     f'{_e(column["name"])} {arrow}</th>')
    cells += ['<th class="num" data-type="num" data-first="ascending">Mean rank</th>',
              '<th class="num" data-type="num" data-first="descending" title="share of item resamples that keep the '
              'rank [95% rank interval]">Stability</th>', "<th>Listen</th>", "<th>Provenance</th>"]
    return "<thead><tr>" + "".join(cells) + "</tr></thead>"


def _row(board: dict[str, Any], row: dict[str, Any], sources: dict[str, dict[str, Any]]) -> str:
    names = {run_id: s["name"] for run_id, s in sources.items()}
    classes = [row["kind"]] + (["flagged"] if row["flags"] else [])
    marks = "".join(dict.fromkeys(FLAG_MARKS.get(f["kind"], "!") for f in row["flags"]))
    flag_titles = "; ".join(f["detail"] for f in row["flags"])
    rank_text = str(row["rank"]) if row["rank"] is not None else (marks or "–")
    label = _e(row["label"])
    if row["kind"] == "reported":
        label += ' <span class="badge">reported</span>'
    if marks:
        label += f' <span class="badge" title="{_e(flag_titles)}">{_e(marks)}</span>'
    origin = row["reference"] if row["kind"] == "reported" else row_origin(row, names)  # the badge says "reported"
    cells = [f'<td class="num" data-value="{_num(row["rank"])}" title="{_e(flag_titles)}">{_e(rank_text)}</td>',
             f'<td data-value="{_e(row["label"])}">{label}</td>',
             f'<td data-value="{_e(origin)}">{_e(origin)}</td>']
    for column in board["columns"]:
        name = column["name"]
        value, rank = row["values"][name], row["ranks"].get(name)
        text = "" if value is None else f"{value:.{column['decimals']}f}"
        if rank is not None:
            text = f'<span class="{"best" if rank == 1 and value is not None else ""}">{text or "–"}</span> <span class="rank">({rank})</span>'
        cells.append(f'<td class="num" data-value="{_num(value)}">{text}</td>')
    cells.append(f'<td class="num" data-value="{_num(row["mean_rank"])}">'
                 f'{"" if row["mean_rank"] is None else format(row["mean_rank"], ".2f")}</td>')
    cells.append(f'<td class="num" data-value="{_num(row["stability"])}">{_e(stability_text(row))}</td>')
    source = sources.get(row["run_id"]) if row["run_id"] else None
    if source is not None and source.get("listening"):
        cells.append(f'<td><a href="{quote(source["listening"])}">listen</a></td>')
    else:
        cells.append("<td></td>")
    if source is not None:
        git = (source["git_revision"] or "-")[:10]
        cells.append(f'<td><a href="#run-{_e(anchor(source["run_id"]))}">{_e(source["run_id"])}</a> '
                     f'<span class="meta">{_e(source["date"])} · config {_e(source["config_hash"][:8] or "-")} · '
                     f'git {_e(git)}</span></td>')
    elif row["reference"]:
        cells.append(f'<td><a href="#ref-{_e(anchor(row["reference"]))}">{_e(row["reference"])}</a></td>')
    else:
        cells.append("<td></td>")
    return f'<tr class="{" ".join(classes)}" data-label="{_e(row["label"])}">' + "".join(cells) + "</tr>"


def _panel(board: dict[str, Any], sources: dict[str, dict[str, Any]]) -> tuple[str, str]:
    panel_id = "panel-" + anchor(f"{board['testset']}-{board['subset']}")
    names = {run_id: s["name"] for run_id, s in sources.items()}
    name = board_key(board, " / ")
    tab = f'<button role="tab" id="tab-{panel_id[6:]}" aria-controls="{panel_id}" aria-selected="false">{_e(name)}</button>'
    notes = "".join(f"<li>{_e(note)}</li>" for note in row_notes(board, names))
    body = "\n".join(_row(board, row, sources) for row in board["rows"])
    panel = (f'<section role="tabpanel" id="{panel_id}" aria-labelledby="tab-{panel_id[6:]}" data-board="{_e(name)}">\n'
             f"<h2>{_e(board_title(board))}</h2>\n"
             f'<p class="meta">{_e(ranked_on(board))}</p>\n'
             f'<table class="board">{_header(board)}\n<tbody>\n{body}\n</tbody></table>\n'
             + (f'<ul class="notes">{notes}</ul>\n' if notes else "") + "</section>")
    return tab, panel


def _provenance(document: dict[str, Any]) -> str:
    rows = []
    for source in document["sources"]:
        versions = "<br>".join(f"<code>{_e(m)}</code>: <code>{_e(v)}</code>" for m, v in sorted(source["metric_versions"].items()))
        listening = f'<a href="{quote(source["listening"])}">listening page</a>' if source.get("listening") else ""
        rows.append(f'<tr id="run-{_e(anchor(source["run_id"]))}"><td>{_e(source["name"])}</td><td>{_e(source["run_id"])}</td>'
                    f'<td>{_e(source["date"])}</td><td><code>{_e(source["config_hash"][:16])}</code></td>'
                    f'<td><code>{_e(source["git_revision"] or "-")}</code></td><td>{listening}</td>'
                    f'<td class="meta">{versions}</td></tr>')
    refs = "".join(f'<li id="ref-{_e(anchor(r["id"]))}"><b>{_e(r["id"])}</b>: {_e(r["citation"])} '
                   f'<a href="{_e(r["url"])}" rel="external">source</a></li>' for r in document["references"])
    return ("<h2>Runs</h2>\n<table><thead><tr><th>Run</th><th>Id</th><th>Date</th><th>Config hash</th><th>Git commit</th>"
            "<th>Listen</th><th>Metric versions</th></tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n"
            + (f"<h2>Reported tables</h2>\n<ul>{refs}</ul>\n" if refs else ""))


def write_page(document: dict[str, Any], path: Path) -> Path:
    sources = {s["run_id"]: s for s in document["sources"]}
    tabs, panels = zip(*(_panel(board, sources) for board in document["boards"])) if document["boards"] else ((), ())
    ranking = document["ranking"]
    intro = (f'<p class="meta">{len(document["sources"])} run(s), {len(document["references"])} published table(s). '
             "Value (rank): dense rank per column in its direction at display precision; # = dense rank of the "
             f"weighted mean rank. Stability: share of {ranking['resamples']} item resamples (seed {ranking['seed']}) "
             "keeping the rank [95% rank interval]. Marks: ≠ other items than the reference run, § other metric "
             "version, ‡ one label for two configurations. Reported rows are published numbers, not reproduced here"
             + (", ranked with the others." if ranking["include_reported"] else ", not ranked.") + "</p>")
    page = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>sebench leaderboard</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>Leaderboard</h1>\n{intro}\n"
            f'<nav role="tablist">{"".join(tabs)}</nav>\n' + "\n".join(panels) + "\n" + _provenance(document)
            + f"<script>{SCRIPT}</script>\n</body>\n</html>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
