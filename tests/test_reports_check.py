"""`sebench check`: a planted regression exits 1 and names the cell; an unchanged run exits 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _reports_support import build_results
from bench.cli import main
from bench.errors import ConfigError
from reports.check import Tolerance, check, parse_tolerances
from reports.export import read_results


@pytest.fixture
def baseline(tmp_path: Path) -> Path:
    run_dir = build_results(tmp_path / "base", with_audio=False)
    assert main(["report", str(run_dir), "--format", "json", "--out", str(tmp_path / "baseline"), "--quiet"]) == 0
    return tmp_path / "baseline" / "results.json"


def test_unchanged_run_passes(tmp_path: Path, baseline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    current = build_results(tmp_path / "same", with_audio=False)
    assert main(["check", str(current), "--baseline", str(baseline)]) == 0
    out = capsys.readouterr().out
    assert "0 regressed" in out and "OK" in out


def test_planted_regression_fails_and_names_the_cell(tmp_path: Path, baseline: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    current = build_results(tmp_path / "worse", with_audio=False, scale=0.9)  # f-12-4 DNSMOS_OVRL -10%
    assert main(["check", str(current), "--baseline", str(baseline)]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION seflow@f-12-4 | dns/no_reverb | DNSMOS_OVRL: 3.25 -> 2.925" in out
    assert "REGRESSION seflow@f-12-4 | dns/real_recordings | DNSMOS_OVRL" in out
    assert "2 regressed" in out


def test_tolerance_absorbs_a_small_drop(tmp_path: Path, baseline: Path) -> None:
    current = build_results(tmp_path / "worse", with_audio=False, scale=0.99)  # -0.03 on 3.25
    assert main(["check", str(current), "--baseline", str(baseline)]) == 1
    assert main(["check", str(current), "--baseline", str(baseline), "--tolerance", "DNSMOS_OVRL=0.05"]) == 0
    assert main(["check", str(current), "--baseline", str(baseline), "--tolerance", "2%"]) == 0


def test_ci_gate_ignores_drops_inside_the_interval(tmp_path: Path, baseline: Path) -> None:
    """3.25 -> 3.2175: worse, but the current CI [3.17, 3.27] still holds the baseline mean."""
    current = build_results(tmp_path / "worse", with_audio=False, scale=0.99)
    assert main(["check", str(current), "--baseline", str(baseline), "--require-outside-ci"]) == 0
    far = build_results(tmp_path / "far", with_audio=False, scale=0.9)
    assert main(["check", str(far), "--baseline", str(baseline), "--require-outside-ci"]) == 1


def test_improvement_is_not_a_regression(tmp_path: Path, baseline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    current = build_results(tmp_path / "better", with_audio=False, scale=1.05)
    assert main(["check", str(current), "--baseline", str(baseline)]) == 0
    assert "improved" in capsys.readouterr().out


def test_lost_cell_and_more_failures_regress(baseline: Path) -> None:
    document = read_results(baseline)
    current = json.loads(json.dumps(document))
    for cell in current["cells"]:
        if cell["system"] == "seflow@f-1-1" and cell["column"] == "DNSMOS_OVRL" and cell["subset"] == "no_reverb":
            cell.update(status="failed", mean=None)
        if (cell["system"], cell["testset"], cell["column"]) == ("tse-net", "libri2mix", "WER"):
            cell["n_failed"] = 2
    findings, compared = check(current, document, default=Tolerance(1e-4))
    kinds = {(f.system, f.kind) for f in findings}
    assert kinds == {("seflow@f-1-1", "missing"), ("tse-net", "more failures")}
    assert compared == sum(1 for c in document["cells"] if c["status"] == "ok")


def test_lower_is_better_direction(baseline: Path) -> None:
    document = read_results(baseline)
    current = json.loads(json.dumps(document))
    for cell in current["cells"]:
        if (cell["system"], cell["testset"], cell["column"]) == ("tse-net", "libri2mix", "WER"):
            cell["mean"] -= 0.05  # fewer errors: better, not a regression
    findings, _ = check(current, document, default=Tolerance(1e-4))
    assert [f.kind for f in findings] == ["better"]


def test_tolerance_parsing_and_bad_baseline(tmp_path: Path) -> None:
    default, per_column = parse_tolerances(["0.02", "PESQ_WB=0.1", "WER=5%"])
    assert default == Tolerance(0.02)
    assert per_column["WER"].allowed(0.4) == pytest.approx(0.02)
    with pytest.raises(ConfigError, match="bad tolerance"):
        parse_tolerances(["PESQ_WB=lots"])
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"cells": []}')
    with pytest.raises(ConfigError, match="not a sebench results file"):
        read_results(bogus)
