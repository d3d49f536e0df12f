"""Machine-readable results: tidy CSV and a versioned JSON document (schema in results.schema.json).

The JSON file is also what ``sebench check --baseline`` reads, so its shape is a contract: bump
``SCHEMA_VERSION`` on any incompatible change and keep ``read_results`` accepting older versions.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from bench.errors import ConfigError
from reports.aggregate import (RunData, aggregate, confidence_description, display_decimals, rank_cells, small_n_cells,
                               small_n_warning)

SCHEMA_NAME = "sebench.results"
SCHEMA_VERSION = 1
SCHEMA_FILE = Path(__file__).with_name("results.schema.json")


def cells_with_best(run: RunData, cells: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cells plus ``best`` (bold), ``tie`` (tied for best) and ``small_n`` (fewer than SMALL_N items)."""
    cells = aggregate(run) if cells is None else cells
    decimals = {c.name: display_decimals(c) for c in run.visible_columns}
    return pd.concat([cells, rank_cells(run, cells, decimals)], axis=1).assign(small_n=small_n_cells(cells))


def _clean(value: Any) -> Any:
    """NaN/None -> null, numpy scalars -> Python numbers (json cannot encode either)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def results_document(run: RunData, cells: pd.DataFrame | None = None) -> dict[str, Any]:
    cells = aggregate(run) if cells is None else cells  # once: every cell's interval is 2000 resamples
    warning = small_n_warning(cells)
    cells = cells_with_best(run, cells)
    columns = [{"name": c.name, "higher_is_better": c.higher_is_better, "lower": c.lower, "upper": c.upper,
                "unit": c.unit, "ratio_of": list(c.ratio_of) if c.ratio_of else None}
               for c in run.visible_columns]
    return {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "run": {"run_id": run.run_id, "name": run.name, "config": run.config, "provenance": run.provenance,
                "metric_versions": run.metric_versions},
        "confidence": confidence_description(run),
        "warnings": [warning] if warning else [],
        "columns": columns,
        "systems": run.systems,
        "cells": [{k: _clean(v) for k, v in row.items()} for row in cells.to_dict(orient="records")],
    }


def write_json(run: RunData, path: Path, cells: pd.DataFrame | None = None) -> Path:
    path.write_text(json.dumps(results_document(run, cells), indent=2, sort_keys=False, default=str) + "\n")
    return path


def write_csv(run: RunData, path: Path, cells: pd.DataFrame | None = None) -> Path:
    """One row per cell (tidy), with the column's direction so a spreadsheet can rank it."""
    cells = cells_with_best(run, cells)
    direction = {c.name: c.higher_is_better for c in run.visible_columns}
    cells = cells.assign(higher_is_better=cells["column"].map(direction))
    cells.to_csv(path, index=False, lineterminator="\n")
    return path


def read_results(path: Path | str) -> dict[str, Any]:
    """Load a results JSON (a baseline for ``sebench check``) and validate it against the schema.

    Anything malformed is one ConfigError naming the file and the first offending field, never a
    KeyError deep inside the comparison; NaN/inf (which ``json`` accepts) are refused too, since a
    NaN baseline mean would compare as "not worse" against anything.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read results JSON {path}: {exc}") from exc
    if not isinstance(document, dict) or document.get("schema") != SCHEMA_NAME:
        raise ConfigError(f"{path} is not a sebench results file (expected \"schema\": \"{SCHEMA_NAME}\"; "
                          "write one with: sebench report RUN --format json)")
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ConfigError(f"{path} has results schema version {version}; this sebench reads version {SCHEMA_VERSION}")
    problem = schema_problem(document) or _non_finite(document)
    if problem:
        raise ConfigError(f"{path} is a malformed results file: {problem}")
    return document


def schema_problem(document: Any) -> str | None:
    """The most relevant violation of results.schema.json, as ``where: what``; None when valid."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".") or "top level"
    return f"{where}: {error.message}"


def _non_finite(document: dict[str, Any]) -> str | None:
    for index, cell in enumerate(document["cells"]):
        for key in ("mean", "ci_low", "ci_high"):
            value = cell.get(key)
            if isinstance(value, float) and not math.isfinite(value):
                return f"cells[{index}].{key}: {value} is not a finite number ({cell['system']} | {cell['testset']}/{cell['subset']} | {cell['column']})"
    return None
