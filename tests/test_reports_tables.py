"""Paper tables from a fixed results set: golden Markdown/LaTeX, bold = best, `-` = unsupported."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from _reports_support import SCORES, build_results
from reports.aggregate import load_run
from reports.latex import render_latex
from reports.tables import build_tables, render_markdown, summary_markdown

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SEBENCH_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    return load_run(build_results(tmp_path_factory.mktemp("tables"), with_audio=False))


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.read_bytes() == text.encode("utf-8"), f"{name} changed; rerun with SEBENCH_UPDATE_GOLDEN=1 if intended"


def test_markdown_matches_golden(run) -> None:
    _golden("reports_table.md", render_markdown(build_tables(run), title="Results: fixture"))


def test_markdown_with_ci_matches_golden(run) -> None:
    _golden("reports_table_ci.md", render_markdown(build_tables(run, with_ci=True), title="Results: fixture"))


def test_latex_matches_golden(run) -> None:
    _golden("reports_table.tex", render_latex(build_tables(run)))


def _md_rows(text: str) -> dict[str, list[list[str]]]:
    """testset heading -> table body rows split into cells."""
    tables: dict[str, list[list[str]]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("### "):
            current = line[4:]
            tables[current] = []
        elif current and line.startswith("| ") and not line.startswith("| Subset") and not line.startswith("| System"):
            tables[current].append([c.strip() for c in line.strip("|").split("|")])
    return tables


def test_bold_only_when_the_interval_clears_every_other(run) -> None:
    """Bold: the best mean whose 95% CI overlaps no other ranked cell's; italic: tied; bounds never marked."""
    for table in build_tables(run):
        for ci, column in enumerate(table.columns):
            by_subset: dict[str, list[tuple[str, object]]] = {}
            for subset, system, cells in table.rows:
                by_subset.setdefault(subset, []).append((system, cells[ci]))
            for subset, entries in by_subset.items():
                ranked = [(s, c) for s, c in entries if c.mean is not None and s != "oracle"]
                assert not any(c.bold or c.tie for s, c in entries if s == "oracle")
                bold = [(s, c) for s, c in ranked if c.bold]
                assert len(bold) <= 1
                for system, cell in bold:
                    others = [c for s, c in ranked if s != system]
                    higher = run.columns[column].higher_is_better
                    assert all((cell.mean > o.mean) == higher for o in others)
                    assert all(cell.ci_low > o.ci_high or cell.ci_high < o.ci_low for o in others)
                    assert not any(c.tie for _, c in ranked)


def test_specific_cells(run) -> None:
    rows = _md_rows(render_markdown(build_tables(run)))
    dns = rows["dns"]
    # subset, system, DNSMOS_OVRL, PESQ_WB, STOI
    # n = 3: the 3.00 / 3.25 and 2.10 / 2.10 intervals overlap (tied, italic); STOI 0.955 clears them all (bold)
    assert dns[3] == ["", "seflow@f-12-4", "*3.25*", "*2.10*", "**0.955**"]
    assert dns[2] == ["", "seflow@f-1-1", "*3.00*", "*2.10*", "0.925"]
    assert dns[1] == ["", "oracle", "3.35", "4.64", "1.000"]                     # a bound: never marked
    assert dns[0] == ["no_reverb", "unprocessed", "2.48", "1.60", "0.910"]       # its CI clears the leaders'
    assert dns[4] == ["", "tse-net", "-", "-", "-"]                              # task not supported
    assert dns[6] == ["", "oracle", "fail", "fail", "fail"]
    assert dns[5][3:] == ["", ""]                                                # no reference: PESQ/STOI n/a
    libri = {r[0]: r for r in rows["libri2mix"]}
    assert libri["tse-net"][2] == "*0.13*"        # corpus WER = 8 edits / 60 words, not the mean of ratios (0.117)
    assert libri["seflow@f-1-1"][1] == "*1.95†*"  # one item failed
    assert libri["seflow@f-12-4"][2] == "*0.10*"


def test_small_n_warning_and_units_in_every_table(run) -> None:
    text = render_markdown(build_tables(run))
    assert "Small samples: 25 of 25 cells rest on fewer than 10 items (n = 2 to 3)" in text
    assert "Small samples" in render_latex(build_tables(run)).split(r"\label")[0]


def test_ci_cells_show_no_interval_for_one_item() -> None:
    from reports.tables import Cell, _md_cell

    assert _md_cell(Cell("2.50", mean=2.5, n=1), with_ci=True) == "2.50"          # not "2.50 ± 0.00"
    assert _md_cell(Cell("2.50", mean=2.5, ci_low=2.4, ci_high=2.6, n=3), with_ci=True) == "2.50 ± 0.10"
    assert _md_cell(Cell("2.50", mean=2.5, ci_low=2.45, ci_high=2.8, n=30), with_ci=True) == "2.50 [2.45, 2.80]"


def test_lower_is_better_arrow_and_latex_escaping(run) -> None:
    latex = render_latex(build_tables(run))
    assert r"WER $\downarrow$" in latex and r"DNSMOS\\OVRL $\uparrow$" in latex
    assert r"\toprule" in latex and r"\bottomrule" in latex
    assert not re.search(r"(?<!\\)_", latex.replace(r"\_", "")), "unescaped underscore in LaTeX"


def test_summary_markdown_reads_the_store(tmp_path: Path) -> None:
    run_dir = build_results(tmp_path, with_audio=False)
    text = summary_markdown(run_dir / "results.sqlite")
    assert text.startswith("## Results: fixture")
    assert "| seflow@f-12-4 |" in text and "**0.955**" in text
