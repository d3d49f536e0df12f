"""A static listening page, like a paper's demo page, that works offline from the report folder.

Per item: the input (and enrollment / far-end), the clean reference right below it, then every
system's output grouped by system (a group per adapter, collapsible), each with an audio player, a
spectrogram (``reports.spectrogram``, drawn once per distinct clip) and the item's scores. At the
top: a system filter, a show/hide switch per group, and an A/B mode: pick two systems and press
``x`` while one plays to jump to the other at the same instant (the quickest way to hear a
difference). Score tables scroll inside their card, so nine columns never widen the page.

Every clip is copied into ``<out>/audio/`` and referenced by a relative URL, so the folder can be
zipped, served or opened from disk; what may be copied is decided by ``reports.sources``. Paths in
the page are shown relative to their data root. A small inline script marks each player that
cannot load its file, so a broken clip is visible rather than silent.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote

import pandas as pd

from bench.item import reference_role
from bench.status import Status
from reports.aggregate import RunData, aggregate, display_decimals, small_n_warning
from reports.sources import KnownRoots, copy_clip, known_roots, safe_source
from reports.spectrogram import spectrogram_png

STYLE = """
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; margin: 0 auto; padding: 0 1.5rem 3rem; max-width: 1320px; color: #222; }
h1 { font-size: 1.5rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; } h3 { margin: 0.3rem 0; }
header.controls { position: sticky; top: 0; z-index: 2; background: #fff; padding: 0.6rem 0; border-bottom: 1px solid #ddd;
  display: flex; flex-wrap: wrap; gap: 0.4rem 1.2rem; align-items: center; font-size: 0.9rem; }
header.controls label { white-space: nowrap; }
.warning { background: #fff4d6; border: 1px solid #e8c66a; padding: 0.4rem 0.8rem; }
section.item { margin: 1.2rem 0; padding: 0.5rem 1rem; background: #fafafa; border: 1px solid #e4e4e4; min-width: 0; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; } td, th { padding: 0.2rem 0.5rem; text-align: left; vertical-align: middle; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.signal { white-space: nowrap; max-width: 14rem; overflow: hidden; text-overflow: ellipsis; }
tr.group-head th { background: #eee; font-weight: normal; }
tr.group-head button { border: 0; background: none; cursor: pointer; font: inherit; padding: 0; }
tbody.collapsed tr.system { display: none; }
tr.hidden { display: none; }
tr.ab-a td.signal::after { content: " (A)"; color: #06c; } tr.ab-b td.signal::after { content: " (B)"; color: #c60; }
tr.playing { background: #e8f1ff; }
audio { height: 2rem; width: 240px; vertical-align: middle; }
audio.audio-error { outline: 2px solid #c00; }
img.spec { display: block; width: 240px; height: 64px; image-rendering: auto; }
.status { color: #888; font-style: italic; } .meta { color: #666; font-size: 0.9em; }
"""

SCRIPT = """
for (const a of document.querySelectorAll('audio')) {
  a.dataset.state = 'pending';
  a.addEventListener('loadedmetadata', () => { a.dataset.state = 'ok'; });
  a.addEventListener('error', () => { a.dataset.state = 'error'; a.classList.add('audio-error'); });
  a.load();
}
for (const img of document.querySelectorAll('img')) {
  const done = () => { img.dataset.state = img.naturalWidth > 0 ? 'ok' : 'error'; };
  if (img.complete) done(); else { img.addEventListener('load', done); img.addEventListener('error', done); }
}
let lastItem = null;
document.addEventListener('play', (e) => {
  if (e.target.tagName !== 'AUDIO') return;
  lastItem = e.target.closest('section.item');
  for (const other of document.querySelectorAll('audio')) if (other !== e.target) other.pause();
  for (const row of document.querySelectorAll('tr.playing')) row.classList.remove('playing');
  e.target.closest('tr').classList.add('playing');
}, true);
const pick = (id) => document.getElementById(id).value;
function markAB() {
  for (const row of document.querySelectorAll('tr.ab-a, tr.ab-b')) row.classList.remove('ab-a', 'ab-b');
  for (const [cls, id] of [['ab-a', 'ab-a'], ['ab-b', 'ab-b']])
    for (const row of document.querySelectorAll('tr[data-system]'))
      if (row.dataset.system === pick(id)) row.classList.add(cls);
}
function toggleAB(item) {
  item = item || lastItem || document.querySelector('section.item');
  if (!item) return;
  const find = (label) => [...item.querySelectorAll('tr[data-system]')].find((r) => r.dataset.system === label);
  const rowA = find(pick('ab-a')), rowB = find(pick('ab-b'));
  const a = rowA && rowA.querySelector('audio'), b = rowB && rowB.querySelector('audio');
  if (!a || !b) return;
  const from = !b.paused ? b : a, to = from === a ? b : a;
  const wasPlaying = !from.paused, time = from.currentTime;
  from.pause();
  to.currentTime = time;
  if (wasPlaying || from === a) to.play();
  lastItem = item;
}
document.getElementById('ab-a').addEventListener('change', markAB);
document.getElementById('ab-b').addEventListener('change', markAB);
document.addEventListener('keydown', (e) => {
  if ((e.key === 'x' || e.key === 'X') && !['INPUT', 'SELECT', 'TEXTAREA'].includes(e.target.tagName)) {
    e.preventDefault(); toggleAB();
  }
});
for (const button of document.querySelectorAll('button.ab')) button.addEventListener('click', () => toggleAB(button.closest('section.item')));
for (const button of document.querySelectorAll('tr.group-head button')) {
  button.addEventListener('click', () => {
    const body = button.closest('tbody');
    body.classList.toggle('collapsed');
    button.setAttribute('aria-expanded', body.classList.contains('collapsed') ? 'false' : 'true');
  });
}
function applyFilter() {
  const text = document.getElementById('filter').value.trim().toLowerCase();
  const shown = new Set([...document.querySelectorAll('input.group:checked')].map((c) => c.value));
  for (const row of document.querySelectorAll('tr[data-system]')) {
    const visible = shown.has(row.dataset.group) && (!text || row.dataset.system.toLowerCase().includes(text));
    row.classList.toggle('hidden', !visible);
  }
  for (const head of document.querySelectorAll('tr.group-head')) head.classList.toggle('hidden', !shown.has(head.dataset.group));
}
document.getElementById('filter').addEventListener('input', applyFilter);
for (const box of document.querySelectorAll('input.group')) box.addEventListener('change', applyFilter);
markAB();
"""

INPUT_ROLES = (("input", "Input (unprocessed)", "input_path"), ("enrollment", "Enrollment", "enrollment_path"),
               ("far_end", "Far-end reference", "far_end_path"))


def _item_signals(first: Any) -> list[tuple[str, str, str]]:
    """(role, title, stored path) of each of the item's own signals the store names, references
    last: every reference of a separation item, numbered in source order."""
    signals = [(role, title, getattr(first, field)) for role, title, field in INPUT_ROLES]
    extra = getattr(first, "extra_reference_paths", None)
    references = [first.reference_path, *(json.loads(extra) if isinstance(extra, str) and extra else [])]
    if len(references) == 1:
        signals.append(("reference", "Reference (clean)", references[0]))
    else:
        signals += [(reference_role(index), f"Reference {index + 1} (clean)", path) for index, path in enumerate(references)]
    return [(role, title, value) for role, title, value in signals if isinstance(value, str) and value]


def slug(text: str) -> str:
    """A file- and URL-safe name that is unique per text: a readable prefix plus a short hash.

    The prefix alone is not injective (``clip 1`` and ``clip_1``, or ids written entirely in
    another script such as ``你好`` and ``再见``, would share a folder and play each other's audio).
    """
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:40]
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{readable}-{digest}" if readable else digest


class _Page:
    """Where one page's files go, and how a clip becomes a player and a spectrogram."""

    def __init__(self, out_dir: Path, roots: KnownRoots) -> None:
        self.out_dir = out_dir
        self.roots = roots
        self.spectrograms = out_dir / "spectrograms"
        self.used: set[Path] = set()

    def url(self, path: Path) -> str:
        return quote(path.relative_to(self.out_dir).as_posix())

    def clip(self, source: str | None, target: Path) -> tuple[str, str]:
        """(audio cell, spectrogram cell) for one clip, or the reason it is not shown."""
        real, why = safe_source(source, self.roots)
        if real is None:
            return f'<span class="status">{html.escape(why)}</span>', ""
        copy = copy_clip(real, target.with_suffix(Path(str(source)).suffix or ".wav"))
        player = f'<audio controls preload="metadata" src="{self.url(copy)}"></audio>'
        try:
            image = spectrogram_png(copy, self.spectrograms)
        except (OSError, RuntimeError, ValueError) as exc:  # unreadable audio: the player will say so too
            return player, f'<span class="status">no spectrogram: {html.escape(type(exc).__name__)}</span>'
        self.used.add(image)
        alt = html.escape(f"spectrogram of {target.stem}")
        return player, f'<img class="spec" src="{self.url(image)}" alt="{alt}" width="240" height="64">'

    def prune(self) -> None:
        """Drop spectrograms of clips this page no longer shows (earlier renders of it)."""
        if self.spectrograms.is_dir():
            for stale in set(self.spectrograms.glob("*.png")) - self.used:
                stale.unlink()


def _score_cells(values: dict[str, float], columns: Sequence[tuple[str, int]]) -> str:
    return "".join(f'<td class="num">{values[c]:.{d}f}</td>' if c in values else '<td class="num"></td>'
                   for c, d in columns)


def system_groups(run: RunData, labels: Sequence[str]) -> dict[str, list[str]]:
    """Group name (the adapter, e.g. ``seflow``) -> its row labels, in row order."""
    groups: dict[str, list[str]] = {}
    for label in labels:
        groups.setdefault(str(run.systems.get(label, {}).get("name") or label.split("@")[0]), []).append(label)
    return groups


def _controls(groups: dict[str, list[str]], labels: Sequence[str]) -> str:
    options = "".join(f'<option value="{html.escape(label)}">{html.escape(label)}</option>' for label in labels)
    second = labels[1] if len(labels) > 1 else (labels[0] if labels else "")
    options_b = options.replace(f'value="{html.escape(second)}">', f'value="{html.escape(second)}" selected>', 1)
    boxes = "".join(f'<label><input type="checkbox" class="group" value="{html.escape(g)}" checked> '
                    f'{html.escape(g)} ({len(members)})</label>' for g, members in groups.items())
    return ('<header class="controls">'
            '<label>Filter systems <input type="search" id="filter" placeholder="e.g. f-12"></label>'
            f'<label>A <select id="ab-a">{options}</select></label><label>B <select id="ab-b">{options_b}</select></label>'
            '<span class="meta">A/B: press <kbd>x</kbd> while one plays to switch at the same instant</span>'
            f'<span>{boxes}</span></header>')


def write_listening_page(run: RunData, out_dir: Path, *, max_items: int | None = 10,
                         cells: pd.DataFrame | None = None, columns: Sequence[str] | None = None) -> Path:
    """Write ``out_dir/index.html`` plus ``audio/`` and ``spectrograms/``; at most ``max_items`` per
    subset, the score columns limited to ``columns`` when given."""
    columns = [(c.name, display_decimals(c)) for c in run.shown_columns(columns)]
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs, scores = run.outputs, run.scores
    labels = run.labels()
    groups = system_groups(run, labels)
    page = _Page(out_dir, known_roots(run.config, run.run_dir, outputs["output_path"].dropna()))
    warning = small_n_warning(aggregate(run) if cells is None else cells)
    body = [f"<h1>Listening page: {html.escape(run.name)}</h1>",
            f'<p class="meta">run {html.escape(run.run_id)}; {len(labels)} systems in {len(groups)} groups</p>']
    if warning:
        body.append(f'<p class="warning">{html.escape(warning)}</p>')
    body.append(_controls(groups, labels))
    for testset in run.testsets():
        for subset in run.subsets(testset):
            part = outputs[(outputs["testset"] == testset) & (outputs["subset"] == subset)]
            item_ids = run.items(testset, subset)
            if max_items is not None:
                item_ids = item_ids[:max_items]
            heading = testset if subset == testset else f"{testset} / {subset}"
            body.append(f"<h2>{html.escape(heading)}</h2>")
            scored = scores[(scores["testset"] == testset) & (scores["subset"] == subset)]
            shown = [(c, d) for c, d in columns if c in set(scored["column"])]
            for item_id in item_ids:
                body.append(_item_section(page, testset, subset, item_id, part[part["item_id"] == item_id],
                                          scored[scored["item_id"] == item_id], shown, groups))
    page.prune()
    document = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                f"<title>sebench listening page: {html.escape(run.name)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
                + "\n".join(body) + f"\n<script>{SCRIPT}</script>\n</body>\n</html>\n")
    index = out_dir / "index.html"
    index.write_text(document, encoding="utf-8")
    return index


def _talk_type(first: Any) -> str:
    value = getattr(first, "talk_type", None)
    return f"; {str(value).replace('_', ' ')}" if isinstance(value, str) and value else ""


def _item_section(page: _Page, testset: str, subset: str, item_id: str, rows: pd.DataFrame, scores: pd.DataFrame,
                  columns: Sequence[tuple[str, int]], groups: dict[str, list[str]]) -> str:
    folder = page.out_dir / "audio" / slug(testset) / slug(subset) / slug(item_id)
    first = next(rows.itertuples())
    header = "".join(f'<th class="num">{html.escape(c)}</th>' for c, _ in columns)
    span = 3 + len(columns)
    source = page.roots.display(str(first.input_path))
    lines = [f'<section class="item" id="{html.escape(slug(testset + "/" + subset + "/" + item_id))}">',
             f'<h3>{html.escape(item_id)} <span class="meta">({html.escape(str(first.task))}{html.escape(_talk_type(first))})'
             f'</span> <button class="ab" type="button" title="switch between A and B (key x)">A/B</button></h3>',
             f'<p class="meta">{html.escape(source)}</p>',
             f'<div class="scroll"><table>\n<thead><tr><th>Signal</th><th>Audio</th><th>Spectrogram</th>{header}</tr></thead>',
             "<tbody>"]
    empty = "".join('<td class="num"></td>' for _ in columns)
    for role, title, value in _item_signals(first):
        player, image = page.clip(value, folder / role)
        lines.append(f'<tr><td class="signal">{title}</td><td>{player}</td><td>{image}</td>{empty}</tr>')
    lines.append("</tbody>")
    by_system = {row.system: row for row in rows.itertuples()}
    for group, members in groups.items():
        present = [label for label in members if label in by_system]
        if not present:
            continue
        lines.append(f'<tbody data-group="{html.escape(group)}">')
        if len(present) > 1:
            lines.append(f'<tr class="group-head" data-group="{html.escape(group)}"><th colspan="{span}">'
                         f'<button type="button" aria-expanded="true">▾ {html.escape(group)} ({len(present)})</button></th></tr>')
        for label in present:
            lines.append(_system_row(page, label, group, by_system[label], scores, columns, folder))
        lines.append("</tbody>")
    lines += ["</table></div>", "</section>"]
    return "\n".join(lines)


def _system_row(page: _Page, label: str, group: str, row: Any, scores: pd.DataFrame,
                columns: Sequence[tuple[str, int]], folder: Path) -> str:
    image = ""
    if row.status == Status.OK:
        player, image = page.clip(row.output_path, folder / f"out-{slug(label)}")
    elif row.status == Status.UNSUPPORTED:
        player = '<span class="status">not supported</span>'
    else:
        player = f'<span class="status">failed: {html.escape(page.roots.display(str(row.reason or "")))}</span>'
    mine = scores[scores["system"] == label]
    values = dict(zip(mine["column"], mine["value"].astype(float)))
    attrs = f'class="system" data-system="{html.escape(label)}" data-group="{html.escape(group)}"'
    return (f'<tr {attrs}><td class="signal" title="{html.escape(label)}">{html.escape(label)}</td><td>{player}</td>'
            f'<td>{image}</td>{_score_cells(values, columns)}</tr>')
