"""``--columns`` means one thing everywhere: the visible columns named, in the order named, and an
unknown (or hidden) name is one and the same error from every entry point and every renderer that
honours it, raised before anything is written. (``sebench leaderboard --columns``: test_reports_leaderboard.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from _reports_support import build_results
from bench.cli import main
from bench.errors import ConfigError
from reports.aggregate import aggregate, load_run
from reports.compare import compare_systems, reported_vs_reproduced
from reports.listening import write_listening_page
from reports.plots import write_plots
from reports.reference import load_reference
from reports.tables import build_tables, render_markdown

CHOICES = "DNSMOS_OVRL, PESQ_WB, STOI, WER"
"""The visible columns of the report fixture (WER_EDITS and WER_WORDS are hidden)."""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_results(tmp_path_factory.mktemp("columns"), with_audio=False)


RENDERERS = {
    "tables": lambda run, cols, out: build_tables(run, columns=cols),
    "paired comparison": lambda run, cols, out: compare_systems(run, "seflow@f-1-1", "seflow@f-12-4", cols),
    "reported vs reproduced": lambda run, cols, out: reported_vs_reproduced(run, load_reference("llase-dns-dnsmos"), columns=cols),
    "plots": lambda run, cols, out: write_plots(run, aggregate(run), out, formats=("png",), columns=cols),
    "listening page": lambda run, cols, out: write_listening_page(run, out, max_items=1, columns=cols),
}


@pytest.mark.parametrize("name", ["MOS", "WER_EDITS"])  # a typo, and a hidden per-item column
@pytest.mark.parametrize("renderer", list(RENDERERS))
def test_every_renderer_refuses_an_unknown_column_alike(run_dir: Path, tmp_path: Path, renderer: str, name: str) -> None:
    run = load_run(run_dir)
    with pytest.raises(ConfigError) as error:
        RENDERERS[renderer](run, ["PESQ_WB", name], tmp_path / "out")
    assert str(error.value) == f"unknown column(s) {name} in --columns; choose from {CHOICES}"
    assert not (tmp_path / "out").exists()


def test_report_cli_refuses_before_writing(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(run_dir), "--columns", "PESQ_WB,MOS", "--out", str(tmp_path / "out")]) == 2
    assert f"unknown column(s) MOS in --columns; choose from {CHOICES}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_columns_appear_in_the_order_named(run_dir: Path) -> None:
    (table, *_) = build_tables(load_run(run_dir), columns=["STOI", "PESQ_WB"])
    assert table.columns == ("STOI", "PESQ_WB")
    header = next(line for line in render_markdown([table]).splitlines() if "System" in line)
    assert header.index("STOI") < header.index("PESQ_WB")
