"""A static listening page, like a paper's demo page, that works offline from the report folder.

Every clip is copied (or hard-linked when possible) into ``<out>/audio/`` and referenced by a
relative URL, so the folder can be zipped, served or opened from disk; enhanced outputs usually
live in the shared cache, which is neither portable nor stable. A small inline script marks each
player that cannot load its file, so a broken clip is visible rather than silent.
"""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from bench.status import Status
from reports.aggregate import RunData, display_decimals
from reports.sources import KnownRoots, copy_clip, known_roots, safe_source

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
section.item { margin: 1.5rem 0; padding: 0.5rem 1rem; background: #fafafa; border: 1px solid #eee; }
table { border-collapse: collapse; } td, th { padding: 0.25rem 0.6rem; text-align: left; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
audio { height: 2rem; width: 280px; vertical-align: middle; }
audio.audio-error { outline: 2px solid #c00; }
.status { color: #888; font-style: italic; } .meta { color: #666; font-size: 0.9em; }
"""

SCRIPT = """
for (const a of document.querySelectorAll('audio')) {
  a.dataset.state = 'pending';
  a.addEventListener('loadedmetadata', () => { a.dataset.state = 'ok'; });
  a.addEventListener('error', () => { a.dataset.state = 'error'; a.classList.add('audio-error'); });
  a.load();
}
"""

INPUT_ROLES = (("input", "Input (unprocessed)", "input_path"), ("enrollment", "Enrollment", "enrollment_path"),
               ("far_end", "Far-end reference", "far_end_path"))


def slug(text: str) -> str:
    """A file- and URL-safe name that is unique per text: a readable prefix plus a short hash.

    The prefix alone is not injective (``clip 1`` and ``clip_1``, or ids written entirely in
    another script such as ``你好`` and ``再见``, would share a folder and play each other's audio).
    """
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:40]
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{readable}-{digest}" if readable else digest


def _place(source: str | None, target: Path, roots: KnownRoots) -> tuple[Path | None, str]:
    """Copy one clip into the page folder: (copy, "") or (None, why it is not there)."""
    real, why = safe_source(source, roots)
    if real is None:
        return None, why
    return copy_clip(real, target.with_suffix(Path(str(source)).suffix or ".wav")), ""


def _player(placed: tuple[Path | None, str], root: Path) -> str:
    path, why = placed
    if path is None:
        return f'<span class="status">{html.escape(why)}</span>'
    url = quote(path.relative_to(root).as_posix())
    return f'<audio controls preload="metadata" src="{url}"></audio>'


def _score_cells(values: dict[str, float], columns: list[tuple[str, int]]) -> str:
    return "".join(f'<td class="num">{values[c]:.{d}f}</td>' if c in values else '<td class="num"></td>'
                   for c, d in columns)


def write_listening_page(run: RunData, out_dir: Path, *, max_items: int | None = 10) -> Path:
    """Write ``out_dir/index.html`` plus ``out_dir/audio``; at most ``max_items`` per subset."""
    out_dir.mkdir(parents=True, exist_ok=True)
    audio_root = out_dir / "audio"
    outputs, scores = run.outputs, run.scores
    columns = [(c.name, display_decimals(c)) for c in run.visible_columns]
    labels = run.labels()
    roots = known_roots(run.config, run.run_dir, outputs["output_path"].dropna())
    body = [f"<h1>Listening page: {html.escape(run.name)}</h1>",
            f'<p class="meta">run {html.escape(run.run_id)}; systems: {html.escape(", ".join(labels))}</p>']
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
                body.append(_item_section(run, testset, subset, item_id, part[part["item_id"] == item_id],
                                          scored, shown, labels, out_dir, audio_root, roots))
    page = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>sebench listening page: {html.escape(run.name)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(body) + f"\n<script>{SCRIPT}</script>\n</body>\n</html>\n")
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def _item_section(run: RunData, testset: str, subset: str, item_id: str, rows: pd.DataFrame, scores: pd.DataFrame,
                  columns: list[tuple[str, int]], labels: list[str], out_dir: Path, audio_root: Path,
                  roots: KnownRoots) -> str:
    folder = audio_root / slug(testset) / slug(subset) / slug(item_id)
    first = rows.iloc[0]
    item_scores = scores[scores["item_id"] == item_id]
    header = "".join(f'<th class="num">{html.escape(c)}</th>' for c, _ in columns)
    lines = [f'<section class="item" id="{html.escape(slug(testset + "/" + subset + "/" + item_id))}">',
             f'<h3>{html.escape(item_id)} <span class="meta">({html.escape(str(first["task"]))})</span></h3>',
             f"<table>\n<tr><th>Signal</th><th>Audio</th>{header}</tr>"]
    empty = "".join('<td class="num"></td>' for _ in columns)
    for role, title, field in INPUT_ROLES:
        if isinstance(first[field], str) and first[field]:
            placed = _place(first[field], folder / role, roots)
            lines.append(f"<tr><td>{title}</td><td>{_player(placed, out_dir)}</td>{empty}</tr>")
    by_system = {row.system: row for row in rows.itertuples()}
    for label in labels:
        row = by_system.get(label)
        if row is None:
            continue
        if row.status == Status.OK:
            cell = _player(_place(row.output_path, folder / f"out-{slug(label)}", roots), out_dir)
        elif row.status == Status.UNSUPPORTED:
            cell = '<span class="status">not supported</span>'
        else:
            cell = f'<span class="status">failed: {html.escape(roots.display(str(row.reason or "")))}</span>'
        mine = item_scores[item_scores["system"] == label]
        values = dict(zip(mine["column"], mine["value"].astype(float)))
        lines.append(f"<tr><td>{html.escape(label)}</td><td>{cell}</td>{_score_cells(values, columns)}</tr>")
    if isinstance(first["reference_path"], str) and first["reference_path"]:
        placed = _place(first["reference_path"], folder / "reference", roots)
        lines.append(f"<tr><td>Reference (clean)</td><td>{_player(placed, out_dir)}</td>{empty}</tr>")
    lines += ["</table>", "</section>"]
    return "\n".join(lines)
