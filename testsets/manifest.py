"""A generic manifest: one row per item, as CSV, TSV or JSON Lines.

Known columns fill the Item: ``input`` (required), ``id``, ``reference``, ``enrollment``,
``far_end``, ``transcript``, ``task``, ``talk_type``, ``loss_trace`` (a trace file, or flags written
inline such as ``0 1 1 0``), ``sample_rate``. Every other column goes into ``meta`` (numbers parsed).
``rename`` maps a file's own column names onto these (``rename=mixture:input|target_ref:reference``).
``task`` and ``talk_type`` accept any case and the data sets' own spellings (``AEC``,
``doubletalk``, ``farend_singletalk_with_movement``; see ``bench.item``). A ``separation`` row lists
one reference per source: a JSON list, or paths separated by ``|`` (``s1/x.wav|s2/x.wav``).

Loss traces: a ``loss_trace`` file is resolved inside ``trace_root`` (default: ``root``), so traces
can live outside a read-only data tree. ``derive_trace=zeros`` gives every PLC row without a
``loss_trace`` one derived from its input (packets of ``packet_ms``, default 20, whose samples are
all zero; see ``testsets.plc_challenge.derive_zero_trace``).

Every path is resolved inside the data ``root`` (default: the manifest's folder); ``..`` escapes and
absolute paths elsewhere are refused, so a manifest cannot make the harness read arbitrary files.

Ids: the ``id`` column, else the input path relative to the root without its extension; rows that
share an input (TSE, one row per target speaker) get ``<input>:<reference stem>``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterable

from bench.errors import ConfigError
from bench.item import DENOISE, PLC, Item, normalize_talk_type, normalize_task, task_parts
from bench.options import expand_root
from bench.testset import TestSet, register_testset
from testsets._config import as_int, as_mapping, numeric
from testsets._paths import expand_file, resolve_inside
from testsets.plc_challenge import derive_options, derive_zero_trace, read_loss_trace

PATH_COLUMNS = ("input", "reference", "enrollment", "far_end")
ITEM_COLUMNS = {"id", *PATH_COLUMNS, "transcript", "task", "talk_type", "loss_trace", "sample_rate", "subset"}


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a .csv, .tsv or .jsonl file; empty cells are dropped."""
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read manifest {path}: {exc}") from exc
    rows: list[dict[str, Any]] = []
    if suffix in (".jsonl", ".ndjson"):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"manifest {path}, line {number}: invalid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise ConfigError(f"manifest {path}, line {number}: expected a JSON object")
            rows.append(row)
    elif suffix in (".csv", ".tsv"):
        reader = csv.DictReader(text.splitlines(), delimiter="\t" if suffix == ".tsv" else ",")
        for number, row in enumerate(reader, 2):
            if None in row:
                raise ConfigError(f"manifest {path}, line {number}: more cells than header columns")
            rows.append({k.strip(): v for k, v in row.items() if k is not None})
    else:
        raise ConfigError(f"manifest {path}: unknown format {suffix!r}; use .csv, .tsv or .jsonl")
    return [{k: v for k, v in row.items() if v is not None and str(v).strip() != ""} for row in rows]


@register_testset("manifest")
class Manifest(TestSet):
    """A CSV/TSV/JSONL manifest (input, reference, enrollment, far_end, transcript, task, ...)."""

    version = "2"
    options = dict.fromkeys(("path", "root", "task", "subset", "rename", "sample_rate", "trace_root", "derive_trace", "packet_ms"))

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        if not config.get("path"):
            raise ConfigError("manifest: 'path' is required (the .csv, .tsv or .jsonl file)")
        self.path = expand_file(config["path"], "manifest").resolve()
        self.root = expand_root(config["root"], "manifest") if config.get("root") else self.path.parent
        self.task = normalize_task(str(config.get("task", DENOISE)))
        try:
            task_parts(self.task)
        except ValueError as exc:
            raise ConfigError(f"manifest: {exc}") from None
        self.trace_root = expand_root(config["trace_root"], "manifest trace_root") if config.get("trace_root") else self.root
        self.derive, self.packet_seconds = derive_options(config, "manifest")
        self.subset = str(config.get("subset", self.path.stem))
        self.rename = as_mapping(config.get("rename"), "rename")
        self.sample_rate = as_int(config["sample_rate"], "sample_rate") if "sample_rate" in config else None

    def items(self) -> Iterable[Item]:
        rows = [{self.rename.get(k, k): v for k, v in row.items()} for row in read_rows(self.path)]
        if not rows:
            raise ConfigError(f"manifest {self.path} has no rows")
        inputs_seen: dict[str, int] = {}
        for row in rows:
            if "input" in row:
                inputs_seen[str(row["input"])] = inputs_seen.get(str(row["input"]), 0) + 1
        ids: set[str] = set()
        for number, row in enumerate(rows, 1):
            item = self._item(row, number, shared_input=inputs_seen.get(str(row.get("input")), 0) > 1)
            if item.id in ids:
                raise ConfigError(f"manifest {self.path}, row {number}: duplicate id {item.id!r}; add an 'id' column")
            ids.add(item.id)
            yield item

    def _item(self, row: dict[str, Any], number: int, *, shared_input: bool) -> Item:
        where = f"manifest {self.path}, row {number}"
        if "input" not in row:
            raise ConfigError(f"{where}: no 'input' column (columns: {', '.join(sorted(row))})")
        references = self._references(row, where)
        paths = {key: resolve_inside(self.root, str(row[key]), source=where)
                 for key in PATH_COLUMNS if key in row and key != "reference"}
        if references:
            paths["reference"] = references[0]
        item_id = str(row["id"]) if "id" in row else paths["input"].relative_to(self.root.resolve()).with_suffix("").as_posix()
        if "id" not in row and shared_input and "reference" in paths:
            item_id = f"{item_id}:{paths['reference'].stem}"
        task = normalize_task(str(row.get("task", self.task)))
        meta = {k: numeric(v) if isinstance(v, str) else v for k, v in row.items() if k not in ITEM_COLUMNS}
        try:
            loss_trace = self._loss_trace(row, where)
            if loss_trace is None and self.derive and PLC in task_parts(task):
                loss_trace = derive_zero_trace(paths["input"], self.packet_seconds)
                meta["trace_derived"] = f"zeros/{self.packet_seconds * 1000:g}ms"
            return Item(
                id=item_id, task=task, subset=str(row.get("subset", self.subset)), input=paths["input"],
                reference=paths.get("reference"), extra_references=tuple(references[1:]),
                enrollment=paths.get("enrollment"), far_end=paths.get("far_end"),
                loss_trace=loss_trace, transcript=str(row["transcript"]) if "transcript" in row else None,
                talk_type=normalize_talk_type(row["talk_type"]) if "talk_type" in row else None,
                sample_rate=as_int(row["sample_rate"], "sample_rate") if "sample_rate" in row else self.sample_rate,
                meta=meta,
            )
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    def _references(self, row: dict[str, Any], where: str) -> list[Path]:
        """The ``reference`` cell: one path, or one per source (JSON list or ``|``-separated)."""
        value = row.get("reference")
        if value is None:
            return []
        parts = value if isinstance(value, list) else str(value).split("|")
        return [resolve_inside(self.root, str(part), source=where) for part in parts if str(part).strip()]

    def _loss_trace(self, row: dict[str, Any], where: str) -> tuple[int, ...] | None:
        """Flags written inline (a JSON list, or ``0 1 1 0``), or a trace file inside ``trace_root``."""
        if "loss_trace" not in row:
            return None
        value = row["loss_trace"]
        if isinstance(value, list):
            return tuple(int(v) for v in value)
        text = str(value).strip()
        if text.replace(",", " ").replace(" ", "").isdigit():
            return tuple(int(v) for v in text.replace(",", " ").split())
        return read_loss_trace(resolve_inside(self.trace_root, text, source=f"{where} (loss_trace, trace_root)"))
