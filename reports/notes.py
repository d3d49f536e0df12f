"""Footnotes that say what a table's numbers are made of, so a reader need not trust them blindly.

* which model produced each metric's columns (file names and sha256 from the metric's version);
* how much of each clip a metric scored (AECMOS stops at 20 s, DNSMOS's windows skip a tail), from
  the hidden per-item ``<PREFIX>_scored_s`` / ``<PREFIX>_clip_s`` columns the metrics record;
* why a column the run asked for has no value at all (ERLE without far-end single talk);
* which published file each ``folder`` row scored (path relative to the folder root, sha256).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from bench.item import task_parts
from reports.aggregate import OK, RunData

SCOPE_COLUMN = re.compile(r"^(?P<prefix>.+)_(?P<kind>scored|clip)_s(?P<suffix>@.+)?$")
PARTIAL_TOLERANCE_S = 0.05
"""A clip counts as partly scored when more than this much of it went unscored."""
SHA_SHOWN = 12


def _metric_class(name: str) -> Any:
    """The registered class of a metric the run used, or None (a plugin or optional dependency
    missing: no class, no explanation). Asked for only where a note needs one: importing every
    registered metric module cost the summary ``sebench run`` prints 1.4 s (SRMR alone pulls in
    scipy.signal), most of a fully cached re-run."""
    from bench.metric import METRICS

    try:
        return METRICS.get(name)
    except Exception:
        return None


def model_notes(run: RunData) -> list[str]:
    """One line per metric instance that reads model files: its columns, config and models."""
    lines = []
    for (metric, version), columns in _columns_by_metric(run).items():
        parts = version.split(";")
        config = [p for p in parts[1:] if "@sha256:" not in p]
        models = [p.split("@sha256:") for p in parts if "@sha256:" in p]
        if not models:
            continue
        shown = ", ".join(f"{path} (sha256 {sha[:SHA_SHOWN]})" for path, sha in models)
        setting = f" ({', '.join(config)})" if config else ""
        lines.append(f"{', '.join(columns)}: `{metric}`{setting}, model{'s' if len(models) > 1 else ''} {shown}.")
    return lines


def _columns_by_metric(run: RunData) -> dict[tuple[str, str], list[str]]:
    visible = {c.name for c in run.visible_columns}
    grouped: dict[tuple[str, str], list[str]] = {}
    for column, (metric, version) in run.column_metrics.items():
        if column in visible:
            grouped.setdefault((metric, version), []).append(column)
    return grouped


def scope_notes(run: RunData) -> list[str]:
    """Per metric that records its scope: how many outputs it scored only in part, and how much."""
    if run.scores.empty:
        return []
    scope = run.scores[run.scores["column"].str.match(SCOPE_COLUMN.pattern)]
    lines = []
    for (prefix, suffix), part in _scope_groups(scope).items():
        wide = part.pivot_table(index=["system", "testset", "item_id"], columns="kind", values="value")
        if not {"scored", "clip"} <= set(wide.columns):
            continue
        partial = wide[wide["clip"] - wide["scored"] > PARTIAL_TOLERANCE_S]
        if partial.empty:
            continue
        name = f"{prefix}{suffix}"
        lines.append(f"{name}: {len(partial)} of {len(wide)} outputs scored in part only "
                     f"({partial['scored'].min():.2f}-{partial['scored'].max():.2f} s of clips of "
                     f"{partial['clip'].min():.2f}-{partial['clip'].max():.2f} s){_scope_sentence(run, name)}.")
    return lines


def _scope_groups(scope: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    parsed = scope["column"].str.extract(SCOPE_COLUMN.pattern)
    frame = scope.assign(prefix=parsed["prefix"], kind=parsed["kind"], suffix=parsed["suffix"].fillna(""))
    return {key: part for key, part in frame.groupby(["prefix", "suffix"], sort=True)}


def _scope_sentence(run: RunData, column_prefix: str) -> str:
    """The metric's own description of its scope (``Metric.scope``), found through its columns."""
    for column, (metric, _) in run.column_metrics.items():
        if column.startswith(column_prefix.split("@")[0]):
            scope = getattr(_metric_class(metric), "scope", "")
            if scope:
                return f": {scope}"
    return ""


def empty_column_notes(run: RunData) -> list[str]:
    """Columns the run asked for that no scored output could fill although the metric applies to
    those outputs' tasks (ERLE with no far-end single-talk item): said, rather than the column
    silently missing. Runs where nothing was scored say nothing here (their failures speak)."""
    if run.outputs.empty:
        return []
    scored = run.outputs[run.outputs["status"] == OK]
    if scored.empty:
        return []
    filled = set(run.scores["column"]) if not run.scores.empty else set()
    tasks = set().union(*(task_parts(t) for t in scored["task"].unique()))
    lines = []
    for (metric, _), columns in _columns_by_metric(run).items():
        empty = [c for c in columns if c not in filled]
        cls = _metric_class(metric) if empty else None
        if cls is None or (cls.tasks is not None and not (cls.tasks & tasks)):
            continue
        why = getattr(cls, "scope", "") or f"no scored item has the {', '.join(sorted(cls.needs))} it needs"
        lines.append(f"{', '.join(empty)}: no value in this run: {why}.")
    return lines


def published_files_markdown(run: RunData) -> str:
    """Per ``folder`` row, the published file each item scored (relative path, sha256 prefix)."""
    if run.outputs.empty or "published_file" not in run.outputs:
        return ""
    rows = run.outputs[run.outputs["published_file"].notna()]
    if rows.empty:
        return ""
    parts = ["### Published outputs scored", ""]
    for system, part in rows.groupby("system", sort=False):
        parts += [f"`{system}`:", "", "| Item | File | sha256 |", "|:--|:--|:--|"]
        for row in part.itertuples():
            shas = ", ".join(sha[:SHA_SHOWN] for sha in str(row.published_sha256).split("|"))
            parts.append(f"| {row.item_id} | {row.published_file} | {shas} |")
        parts.append("")
    return "\n".join(parts)


def notes_markdown(run: RunData, *, full: bool = True) -> str:
    """The notes above as Markdown (empty when there is nothing to say); ``full=False`` (the summary
    ``sebench run`` prints) leaves out the models and the published-file lists."""
    lines = empty_column_notes(run) + scope_notes(run)
    models = model_notes(run) if full else []
    published = full
    text = ""
    if lines:
        text += "\n".join(f"- {line}" for line in lines) + "\n\n"
    if models:
        text += "Models: " + " ".join(models) + "\n\n"
    if published:
        files = published_files_markdown(run)
        text += files + ("\n" if files else "")
    return text
