"""Paper tables from a fixed results set: golden Markdown/LaTeX, bold = best, `-` = unsupported."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from _reports_support import SCORES, build_results
from reports.aggregate import load_run
from reports.tables import build_tables, render_latex, render_markdown, summary_markdown

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


def test_bold_cell_is_best_of_each_column(run) -> None:
    """Recompute the best mean per (subset, column) from the literal scores; bold must match."""
    tables = build_tables(run)
    for table in tables:
        for ci, column in enumerate(table.columns):
            higher = run.columns[column].higher_is_better
            by_subset: dict[str, dict[str, float]] = {}
            for subset, system, cells in table.rows:
                values = SCORES.get(system, {}).get((table.testset, subset), {})
                if column in values and system != "oracle":
                    if run.columns[column].ratio_of:
                        num, den = run.columns[column].ratio_of
                        by_subset.setdefault(subset, {})[system] = sum(values[num]) / sum(values[den])
                    else:
                        by_subset.setdefault(subset, {})[system] = sum(values[column]) / len(values[column])
            for subset, system, cells in table.rows:
                means = by_subset.get(subset, {})
                if system not in means:
                    assert not cells[ci].bold
                    continue
                best = max(means.values()) if higher else min(means.values())
                assert cells[ci].bold == (round(means[system], 2) == round(best, 2)), (table.testset, subset, system, column)


def test_specific_cells(run) -> None:
    rows = _md_rows(render_markdown(build_tables(run)))
    dns = rows["dns"]
    # subset, system, DNSMOS_OVRL, PESQ_WB, STOI
    assert dns[3] == ["", "seflow@f-12-4", "**3.25**", "**2.10**", "**0.955**"]  # tie on PESQ at 2.10: both bold
    assert dns[2] == ["", "seflow@f-1-1", "3.00", "**2.10**", "0.935"]
    assert dns[1] == ["", "oracle", "3.35", "4.64", "1.000"]                     # a bound: never bold
    assert dns[4] == ["", "tse-net", "-", "-", "-"]                              # task not supported
    assert dns[6] == ["", "oracle", "fail", "fail", "fail"]
    assert dns[5][3:] == ["", ""]                                                # no reference: PESQ/STOI n/a
    libri = {r[0]: r for r in rows["libri2mix"]}
    assert libri["tse-net"][2] == "0.13"          # corpus WER = 8 edits / 60 words, not the mean of ratios (0.117)
    assert libri["seflow@f-1-1"][1] == "1.95†"    # one item failed
    assert libri["seflow@f-12-4"][2] == "**0.10**"


def test_lower_is_better_arrow_and_latex_escaping(run) -> None:
    latex = render_latex(build_tables(run))
    assert r"WER $\downarrow$" in latex and r"DNSMOS\_OVRL $\uparrow$" in latex
    assert r"\toprule" in latex and r"\bottomrule" in latex
    assert not re.search(r"(?<!\\)_", latex.replace(r"\_", "")), "unescaped underscore in LaTeX"


def test_summary_markdown_reads_the_store(tmp_path: Path) -> None:
    run_dir = build_results(tmp_path, with_audio=False)
    text = summary_markdown(run_dir / "results.sqlite")
    assert text.startswith("## Results: fixture")
    assert "| seflow@f-12-4 |" in text and "**3.25**" in text
