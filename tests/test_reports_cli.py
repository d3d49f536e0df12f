"""`sebench report` end to end on the fixture run: every format, options, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _reports_support import build_results
from bench.cli import main


def test_report_writes_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = build_results(tmp_path)
    code = main(["report", str(run_dir), "--reference", "llase-dns-dnsmos", "--compare", "seflow@f-1-1",
                 "seflow@f-12-4", "--plot-format", "png", "--max-items", "1"])
    assert code == 0
    out_dir = run_dir / "report"
    for name in ("results.md", "results.tex", "results.csv", "results.json", "listening/index.html",
                 "plots/pareto_params_dns_no_reverb.png", "plots/seflow_grid_dns.png",
                 "plots/distribution_dns_no_reverb.png"):
        assert (out_dir / name).is_file(), name
    markdown = (out_dir / "results.md").read_text()
    assert capsys.readouterr().out.startswith(markdown)
    assert "### Reported vs reproduced" in markdown and "### Paired comparison: A = seflow@f-1-1" in markdown
    assert ("| dns       | no_reverb       | DNSMOS_OVRL |   3 | 3.000 | 3.250 |  -0.250 | [-0.374, -0.126] |      0.25 |"
            in markdown)  # 3 items of one sign: exact p = 2/8, not "<0.001"
    assert r"\begin{tabular}{@{}lllrrrr@{}}" in (out_dir / "results.tex").read_text()  # reproduced table: OVRL only
    assert json.loads((out_dir / "results.json").read_text())["schema"] == "sebench.results"
    assert (out_dir / "listening/index.html").read_text().count("<section") == 3  # one item per subset


def test_report_columns_and_ci(tmp_path: Path) -> None:
    run_dir = build_results(tmp_path, with_audio=False)
    out = tmp_path / "out"
    assert main(["report", str(run_dir), "--format", "md", "--columns", "WER", "--ci", "--out", str(out), "--quiet"]) == 0
    text = (out / "results.md").read_text()
    assert "PESQ_WB" not in text and "| tse-net       |  *0.13 ± 0.11* |" in text
    assert "### dns" not in text  # no WER on dns: the table is left out


@pytest.mark.parametrize("argv, message", [
    (["--format", "docx"], "unknown report format"),
    (["--columns", "MOS"], "unknown column"),
    (["--compare", "seflow@f-1-1", "nobody"], "no row 'nobody'"),
    (["--reference", "nope"], "unknown reference table"),
    (["--compare", "seflow@f-1-1", "seflow@f-1-1"], "--compare needs two different rows"),
    (["--latex-layout", "tiny"], "unknown --latex-layout"),
    (["--latex-width", "0"], "--latex-width takes a length in pt above 0"),
])
def test_report_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    run_dir = build_results(tmp_path, with_audio=False)
    assert main(["report", str(run_dir), "--out", str(tmp_path / "o"), *argv]) == 2
    assert message in capsys.readouterr().err


def test_report_on_a_folder_without_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert f"no results store at {tmp_path / 'results.sqlite'}" in capsys.readouterr().err


def test_report_warns_about_small_n_and_corrects_paired_tests(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = build_results(tmp_path, with_audio=False)
    out = tmp_path / "out"
    assert main(["report", str(run_dir), "--format", "md,json", "--compare", "seflow@f-1-1", "seflow@f-12-4",
                 "--out", str(out), "--quiet"]) == 0
    assert "warning: Small samples: 25 of 25 cells rest on fewer than 10 items" in capsys.readouterr().err
    rows = json.loads((out / "comparison.json").read_text())["rows"]
    assert len(rows) == 6
    raw = sorted(r["p_permutation"] for r in rows)
    assert min(r["p_holm"] for r in rows) == pytest.approx(min(1.0, 6 * raw[0]))  # Holm: smallest p times 6
    assert all(r["p_holm"] >= r["p_permutation"] for r in rows) and {r["better"] for r in rows} == {"n.s."}
    assert "Holm-adjusted p < 0.05 over all 6 tests" in (out / "results.md").read_text()
