"""CSV and versioned JSON: the JSON validates against the shipped schema and round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from _reports_support import build_results
from reports.aggregate import load_run
from reports.export import SCHEMA_FILE, read_results, write_csv, write_json


def test_json_validates_and_carries_cells(tmp_path: Path) -> None:
    run = load_run(build_results(tmp_path, with_audio=False))
    path = write_json(run, tmp_path / "results.json")
    document = json.loads(path.read_text())
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(document, json.loads(SCHEMA_FILE.read_text()))
    assert read_results(path)["schema_version"] == 1
    cell = next(c for c in document["cells"] if (c["system"], c["subset"], c["column"]) == ("seflow@f-12-4", "no_reverb", "DNSMOS_OVRL"))
    assert cell["mean"] == 3.25 and cell["best"] is False and cell["tie"] is True and cell["n"] == 3
    assert cell["ci_low"] <= 3.25 <= cell["ci_high"] and cell["small_n"] is True
    stoi = next(c for c in document["cells"] if (c["system"], c["subset"], c["column"]) == ("seflow@f-12-4", "no_reverb", "STOI"))
    assert stoi["best"] is True and stoi["tie"] is False
    assert "t-interval" in document["confidence"]["method"] and document["confidence"]["small_n"] == 10
    assert document["warnings"] == ["Small samples: 25 of 25 cells rest on fewer than 10 items (n = 2 to 3); "
                                    "their intervals are wide and their ranking is fragile."]
    unsupported = [c for c in document["cells"] if c["system"] == "tse-net" and c["testset"] == "dns"]
    assert unsupported and all(c["status"] == "unsupported" and c["mean"] is None for c in unsupported)
    assert document["systems"]["seflow@f-1-1"]["params"] == 210000
    assert [c["name"] for c in document["columns"]] == ["DNSMOS_OVRL", "PESQ_WB", "STOI", "WER"]


def test_csv_is_tidy(tmp_path: Path) -> None:
    run = load_run(build_results(tmp_path, with_audio=False))
    frame = pd.read_csv(write_csv(run, tmp_path / "results.csv"))
    assert list(frame.columns) == ["system", "testset", "subset", "column", "status", "mean", "ci_low", "ci_high",
                                   "n", "n_failed", "n_items", "best", "tie", "small_n", "higher_is_better"]
    wer = frame[(frame["system"] == "tse-net") & (frame["column"] == "WER") & (frame["testset"] == "libri2mix")]
    assert wer["mean"].iloc[0] == 8 / 60 and not bool(wer["higher_is_better"].iloc[0])
