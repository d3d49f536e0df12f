"""LaTeX for papers: minus signs, units, legend, labels, intervals, and tables that fit the column.

The fit is checked the way a reader would: compile in a two-column article with pdflatex and
require no overfull box and no word of a table crossing its column's right edge (pdftotext -bbox).
Without pdflatex (``apt-get install texlive-latex-recommended poppler-utils``) those tests skip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from _reports_support import build_results
from bench.cli import main
from reports.latex import column_groups, label_for, latex_number, render_latex
from reports.tables import Cell, Table

PDFLATEX = shutil.which("pdflatex")
PDFTOTEXT = shutil.which("pdftotext")
needs_tex = pytest.mark.skipif(PDFLATEX is None or PDFTOTEXT is None, reason="pdflatex/pdftotext not installed")

TEMPLATE = Path(__file__).parents[1] / "docs" / "latex" / "two_column.tex"
"""The two-column article the README's table PNG is compiled in (scripts/readme_figures.sh)."""

README_COLUMNS = (("DNSMOS_OVRL", True, ""), ("PESQ_WB", True, ""), ("STOI", True, ""), ("SISDR", True, "dB"),
                  ("WER", False, ""), ("PLCMOS", True, ""), ("AECMOS_echo", True, ""), ("ERLE", True, "dB"))
SYSTEMS = ("unprocessed", "oracle", "silence", "deepfilternet3", "speex-aec@linear", "seflow@f-12-4")


def _cell(value: float, decimals: int, *, bold: bool = False, partial: bool = False, n: int = 10) -> Cell:
    return Cell(f"{value:.{decimals}f}", bold=bold, partial=partial, mean=value, ci_low=value - 0.31,
                ci_high=value + 0.42, decimals=decimals, n=n)


def readme_table(with_ci: bool) -> Table:
    """The README's eight-column synthetic table, with its widest values (-100.00, daggers, 16-char labels)."""
    rows = []
    for subset in ("no_reverb", "with_reverb"):
        for k, system in enumerate(SYSTEMS):
            cells = []
            for i, (name, _, _) in enumerate(README_COLUMNS):
                decimals = 3 if name == "STOI" else 2
                value = {"SISDR": -100.0 if system == "silence" else -4.8 + k, "ERLE": 26.67 - k}.get(name, 1.5 + 0.1 * k)
                cells.append(_cell(value, decimals, bold=k == 3 and i == 0, partial=k == 4 and i == 1))
            if system == "deepfilternet3":
                cells[-1] = Cell("-", numeric=False)
                cells[-2] = Cell("fail", numeric=False)
            rows.append((subset, system, tuple(cells)))
    return Table(testset="synthetic", columns=tuple(c[0] for c in README_COLUMNS),
                 arrows=tuple(c[1] for c in README_COLUMNS), show_subset=True, rows=tuple(rows),
                 units=tuple(c[2] for c in README_COLUMNS), with_ci=with_ci, run_name="readme")


def compile_tables(tex: str, folder: Path) -> tuple[str, list[tuple[float, float, str]], float, float]:
    """(log, words as (xMin, xMax, text), left text edge, column width in bp) of the compiled template."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tables.tex").write_text(tex)
    shutil.copyfile(TEMPLATE, folder / "paper.tex")
    result = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "paper.tex"], cwd=folder,
                            capture_output=True, text=True, timeout=120)
    log = (folder / "paper.log").read_text(errors="replace")
    assert result.returncode == 0, log[-3000:]
    subprocess.run([PDFTOTEXT, "-bbox", "paper.pdf", "paper.html"], cwd=folder, check=True, timeout=60)
    words = [(float(a), float(b), w) for a, b, w in
             re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>',
                        (folder / "paper.html").read_text())]
    column = float(re.search(r"COLUMNWIDTH=([\d.]+)pt", log).group(1)) * 72 / 72.27
    left = min(x for x, _, _ in words)
    return log, words, left, column


def assert_fits(log: str, words: list[tuple[float, float, str]], left: float, column: float, *,
                span: float | None = None) -> None:
    assert "Overfull \\hbox" not in log, re.findall(r"Overfull \\hbox \(([\d.]+pt) too wide\)", log)
    gap_start = left + (span or column)
    assert not [w for w in words if w[0] < gap_start - 1 and w[1] > gap_start + 1], "a word crosses the column edge"


def test_minus_signs_units_labels_and_legend() -> None:
    tex = render_latex([readme_table(with_ci=False)])
    assert "$-$100 & .00" in tex  # integer part | decimals: the point aligns like siunitx's S columns
    assert not re.search(r"(?<![$\w{])-\d", tex), "a hyphen used as a minus sign"
    assert r"SISDR\\(dB) $\uparrow$" in tex and r"WER $\downarrow$" in tex and r"ERLE\\(dB) $\uparrow$" in tex
    assert r"\label{tab:readme-synthetic}" in tex
    caption = re.search(r"\\caption\{(.*)\}\n", tex).group(1)
    for legend in ("--: the system does not support the task", "fail: every item failed",
                   r"$^\dagger$ some items failed", "Bold: best per column"):
        assert legend in caption, legend
    assert latex_number(-5.2, 2) == "$-$5.20" and latex_number(-0.001, 2) == "0.00" and latex_number(0.1, 2, signed=True) == "+0.10"
    assert label_for("readme", "dns") != label_for("seflow_demo", "dns")


def test_ci_cells_as_subscripts() -> None:
    tex = render_latex([readme_table(with_ci=True)])
    assert r".50$^{+0.42}_{-0.31}$" in tex  # asymmetric interval: both sides
    symmetric = Table(testset="t", columns=("PESQ_WB",), arrows=(True,), show_subset=False, with_ci=True,
                      rows=(("t", "a", (Cell("2.50", mean=2.5, ci_low=2.4, ci_high=2.6, n=5),)),
                            ("t", "b", (Cell("2.10", mean=2.1, n=1),))))
    tex = render_latex([symmetric])
    assert r"2 & .50$_{\pm 0.10}$" in tex and r"2 & .10 \\" in tex  # one item: no "± 0.00"
    assert r"$\pm$ half-width of the 95\% CI" in tex


def test_wide_tables_are_split_into_column_groups() -> None:
    groups = column_groups(readme_table(with_ci=False), 229.0)
    assert len(groups) >= 2 and sum(groups, []) == list(range(len(README_COLUMNS)))
    assert column_groups(readme_table(with_ci=False), 2000.0) == [list(range(len(README_COLUMNS)))]
    tex = render_latex([readme_table(with_ci=False)])
    assert tex.count(r"\begin{tabular}{@{}l") == len(groups) and tex.count(r"\caption") == 1


@needs_tex
@pytest.mark.parametrize("with_ci", [False, True])
@pytest.mark.parametrize("width", [229.0, 219.0, 252.0])
def test_column_layout_fits_the_column(tmp_path: Path, with_ci: bool, width: float) -> None:
    tex = render_latex([readme_table(with_ci)], width=width)
    template_width = 229.0
    log, words, left, column = compile_tables(tex, tmp_path)
    assert abs(column - template_width * 72 / 72.27) < 1
    if width <= template_width:
        assert_fits(log, words, left, column)


@needs_tex
@pytest.mark.parametrize("layout", ["wide", "resize"])
def test_other_layouts_compile_and_fit(tmp_path: Path, layout: str) -> None:
    tex = render_latex([readme_table(with_ci=True)], layout=layout)
    assert (r"\begin{table*}" in tex) == (layout == "wide") and (r"\resizebox{\columnwidth}" in tex) == (layout == "resize")
    log, words, left, column = compile_tables(tex, tmp_path)
    assert "Overfull \\hbox" not in log


@needs_tex
def test_report_tex_compiles_with_reference_and_comparison(tmp_path: Path) -> None:
    run_dir = build_results(tmp_path, with_audio=False)
    assert main(["report", str(run_dir), "--format", "tex,json", "--ci", "--reference", "llase-dns-dnsmos",
                 "--compare", "seflow@f-1-1", "seflow@f-12-4", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    tex = (tmp_path / "out" / "results.tex").read_text()
    assert "Reported vs reproduced" in tex and "Paired comparison" in tex
    assert len(set(re.findall(r"\\label\{([^}]+)\}", tex))) == len(re.findall(r"\\label\{", tex)) == 4
    log, words, left, column = compile_tables(tex, tmp_path / "tex")
    assert "Overfull \\hbox" not in log
    comparison = (tmp_path / "out" / "comparison.json").read_text()
    assert '"p_holm"' in comparison and '"schema": "sebench.comparison"' in comparison
