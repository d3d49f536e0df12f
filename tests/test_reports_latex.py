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
from reports.latex import column_groups, label_for, latex_number, render_latex, simple_latex_table
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
    assert "Float too large" not in log, re.findall(r"Float too large for page by ([\d.]+pt)", log)
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
    assert tex.count(r"\begin{tabular}{@{}l") == len(groups)
    # three stacked groups of 14 rows are taller than a page: the last one is continued in a second float
    captions = re.findall(r"\\caption\{(.*)\}\n\\label\{(.*)\}", tex)
    assert len(captions) == 2 and "Bold: best per column" in captions[0][0]
    assert captions[1] == (r"Results on synthetic (readme), continued from Table~\ref{tab:readme-synthetic}.",
                           "tab:readme-synthetic-part2")


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
    assert "Overfull \\hbox" not in log and "Float too large" not in log


@needs_tex
def test_report_tex_compiles_with_reference_and_comparison(tmp_path: Path) -> None:
    run_dir = build_results(tmp_path, with_audio=False)
    assert main(["report", str(run_dir), "--format", "tex,json", "--ci", "--reference", "llase-dns-dnsmos",
                 "--compare", "seflow@f-1-1", "seflow@f-12-4", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    tex = (tmp_path / "out" / "results.tex").read_text()
    assert "Reported vs reproduced" in tex and "Paired comparison" in tex
    assert len(set(re.findall(r"\\label\{([^}]+)\}", tex))) == len(re.findall(r"\\label\{", tex)) == 4
    log, words, left, column = compile_tables(tex, tmp_path / "tex")
    assert "Overfull \\hbox" not in log and "Float too large" not in log
    comparison = (tmp_path / "out" / "comparison.json").read_text()
    assert '"p_holm"' in comparison and '"schema": "sebench.comparison"' in comparison


def tall_table(subsets: int, systems: int) -> Table:
    base = readme_table(with_ci=False)
    row = base.rows[0][2]
    rows = tuple((f"subset_{s}", f"system-{k}", row) for s in range(subsets) for k in range(systems))
    return Table(testset=base.testset, columns=base.columns, arrows=base.arrows, show_subset=True, rows=rows,
                 units=base.units, run_name="tall")


FILLER = "\n\n".join(["Speech enhancement results are discussed in the text around the tables. " * 12] * 40)


def pages_holding(folder: Path, text: str) -> list[int]:
    """The pages of the compiled paper whose text contains ``text``."""
    pages = subprocess.run([PDFTOTEXT, "-layout", "paper.pdf", "-"], cwd=folder, check=True, capture_output=True,
                           text=True, timeout=60).stdout.split("\f")
    return [number + 1 for number, page in enumerate(pages) if text in page]


@needs_tex
@pytest.mark.parametrize("layout", ["column", "wide", "resize"])
def test_tall_tables_are_continued_and_stay_near_their_text(tmp_path: Path, layout: str) -> None:
    """A float taller than the page is cut off at its bottom (pdflatex only warns "Float too large"),
    and a [t] float above \\topfraction waits for the end of the paper: neither may happen."""
    tex = render_latex([tall_table(subsets=3, systems=12)], layout=layout)
    header = [r"Column", "n", "A", "B"]
    body = [[f"col{i}", "3", "1.00", latex_number(-0.5, 2)] for i in range(54)]
    paired = simple_latex_table("Paired comparison, A = a, B = b", "Holm-corrected.", "tab:tall-a-vs-b", header, body,
                                "lrrr", groups=[f"subset {i // 9}" for i in range(54)])
    log, words, left, column = compile_tables(tex + "\n" + paired + FILLER, tmp_path)
    assert "Float too large" not in log, re.findall(r"Float too large for page by ([\d.]+pt)", log)
    assert "Overfull \\hbox" not in log
    assert paired.count(r"\caption{") >= 2 and r"\label{tab:tall-a-vs-b-part2}" in paired
    groups = {"column": column_groups(tall_table(3, 12), 229.0), "wide": column_groups(tall_table(3, 12), 468.0),
              "resize": [[0]]}[layout]
    assert len(re.findall(r"^system-\d+ &", tex, flags=re.M)) == 36 * len(groups)  # every row once per group
    if layout != "resize":  # scaled down to the column, 36 rows fit one float
        assert "continued from Table~\\ref{tab:tall-synthetic}" in tex
    last = pages_holding(tmp_path, "Speech enhancement")[-1]
    first_table, first_paired = pages_holding(tmp_path, "Results on synthetic")[0], pages_holding(tmp_path, "Paired")[0]
    assert first_table <= 2 and first_paired <= 4 < last, (first_table, first_paired, last)
