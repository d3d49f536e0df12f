"""``sebench report`` and ``sebench check``: argument definitions and handlers (wired in bench.cli)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.errors import ConfigError

FORMATS = ("md", "tex", "csv", "json", "html", "plots")
DEFAULT_FORMATS = "md,tex,csv,json,html,plots"

REPORT_EXAMPLES = """examples:
  sebench report runs/default                          # everything into runs/default/report/
  sebench report runs/dns --format md --ci             # Markdown only, mean ± 95% CI half-width
  sebench report runs/dns --format tex --latex-width 252 # LaTeX split to fit an IEEE column
  sebench report runs/dns --reference llase-dns-dnsmos # add the reported-vs-reproduced table
  sebench report runs/seflow --compare seflow@f-6-2 seflow@f-12-4   # paired tests, Holm-corrected
  sebench report runs/default --format plots --plots-dir docs/img --plot-format png"""

CHECK_EXAMPLES = """examples:
  sebench report runs/ci --format json --out baseline/    # once: store baseline/results.json
  sebench check runs/ci --baseline baseline/results.json  # in CI: exit 1 on regression
  sebench check runs/ci --baseline base.json --tolerance 0.02 --tolerance PESQ_WB=0.05 --tolerance WER=5%
  sebench check runs/ci --baseline base.json --require-outside-ci   # small test sets: ignore drops inside the CI"""


def _formats(text: str) -> list[str]:
    chosen = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise ConfigError(f"unknown report format(s) {unknown or text!r}; choose from {', '.join(FORMATS)}")
    return chosen


def add_latex_arguments(parser: argparse.ArgumentParser) -> None:
    """How LaTeX tables fit the paper; ``sebench report`` and ``sebench leaderboard`` share them."""
    parser.add_argument("--latex-layout", metavar="column|wide|resize",
                        help="column: split metric columns into groups that fit one column (default); "
                             "wide: table* across both columns; resize: one tabular scaled to \\columnwidth")
    parser.add_argument("--latex-width", type=float, metavar="PT",
                        help="the paper's \\columnwidth in pt (default 229: two-column article; IEEE 252, ACL 219)")
    parser.add_argument("--latex-height", type=float, metavar="PT",
                        help="the paper's \\textheight in pt (default 550: article); taller tables are cut "
                             "into floats \"continued from\" the first")


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = REPORT_EXAMPLES
    parser.add_argument("run", type=Path, help="run folder (runs/NAME) or its results.sqlite")
    parser.add_argument("--run-id", help="a specific stored run (default: the newest)")
    parser.add_argument("--format", default=DEFAULT_FORMATS, help=f"comma-separated, from: {', '.join(FORMATS)} (default: {DEFAULT_FORMATS})")
    parser.add_argument("--out", type=Path, help="output folder (default: RUN/report)")
    parser.add_argument("--ci", action="store_true",
                        help="print each mean with its 95%% CI (t-interval below 20 items, BCa bootstrap above)")
    parser.add_argument("--columns", help="comma-separated metric columns to show (default: all)")
    parser.add_argument("--reference", action="append", default=[], metavar="ID|FILE.yaml",
                        help="published table to set beside ours (shipped: llase-dns-dnsmos), repeatable")
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"),
                        help="paired comparison of two row labels (exact permutation test, Holm-corrected)")
    add_latex_arguments(parser)
    parser.add_argument("--max-items", type=int, default=10, help="listening page: items per subset, 0 for all (default: 10)")
    parser.add_argument("--plot-format", default="png,pdf", help="plot file formats (default: png,pdf)")
    parser.add_argument("--plots-dir", type=Path, help="where figures go (default: OUT/plots)")
    parser.add_argument("--quiet", action="store_true", help="do not print the Markdown tables")


def run_report(args: argparse.Namespace) -> int:
    from reports.aggregate import aggregate, load_run, small_n_warning
    from reports.compare import (compare_systems, paired_latex, paired_markdown, reported_vs_reproduced,
                                 reproduced_latex, reproduced_markdown, write_comparison_json)
    from reports.export import write_csv, write_json
    from reports.latex import latex_options, render_latex
    from reports.notes import notes_markdown
    from reports.reference import load_reference
    from reports.tables import build_tables, render_markdown

    formats = _formats(args.format)
    fit = latex_options(args.latex_layout, args.latex_width, args.latex_height)
    run = load_run(args.run, args.run_id)
    chosen = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    columns = [c.name for c in run.shown_columns(chosen)] if chosen else None  # checked before anything is written
    if args.compare:
        a, b = args.compare
        if a == b:
            raise ConfigError(f"--compare needs two different rows, got {a!r} twice")
        for label in (a, b):
            if label not in run.labels():
                raise ConfigError(f"no row {label!r} in this run; rows: {', '.join(run.labels())}")
    references = [load_reference(name) for name in args.reference]
    out = args.out or run.run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    cells = aggregate(run)
    tables = [t for t in build_tables(run, cells, with_ci=args.ci, columns=columns) if t.rows]
    markdown = render_markdown(tables, title=f"Results: {run.name}") + notes_markdown(run)
    latex = render_latex(tables, **fit)
    for reference in references:
        rows = reported_vs_reproduced(run, reference, cells, columns)
        markdown += "\n" + reproduced_markdown(run, reference, rows, columns)
        if rows:
            latex += "\n" + reproduced_latex(run, reference, rows)
    written: list[Path] = []
    if args.compare:
        results = compare_systems(run, a, b, columns)
        markdown += "\n" + paired_markdown(a, b, results)
        if results:
            latex += "\n" + paired_latex(run, a, b, results)
        if "json" in formats:
            written.append(write_comparison_json(run, a, b, results, out / "comparison.json"))
    if "md" in formats:
        written.append(out / "results.md")
        written[-1].write_text(markdown)
    if "tex" in formats:
        written.append(out / "results.tex")
        written[-1].write_text(latex)
    if "csv" in formats:
        written.append(write_csv(run, out / "results.csv", cells))
    if "json" in formats:
        written.append(write_json(run, out / "results.json", cells))
    if "html" in formats:
        from reports.listening import write_listening_page

        written.append(write_listening_page(run, out / "listening", max_items=args.max_items or None,
                                             cells=cells, columns=columns))
    if "plots" in formats:
        from reports.plots import write_plots

        plot_formats = [f.strip() for f in args.plot_format.split(",") if f.strip()]
        written += write_plots(run, cells, args.plots_dir or out / "plots", formats=plot_formats, columns=columns)
    if not args.quiet:
        print(markdown)
    for path in written:
        print(f"wrote {path}")
    warning = small_n_warning(cells)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = CHECK_EXAMPLES
    parser.add_argument("run", type=Path, help="run folder, its results.sqlite, or a results JSON")
    parser.add_argument("--baseline", type=Path, required=True, help="baseline results JSON (sebench report --format json)")
    parser.add_argument("--run-id", help="a specific stored run (default: the newest)")
    parser.add_argument("--tolerance", action="append", default=[], metavar="[COLUMN=]VALUE[%]",
                        help="allowed worsening: absolute, or %% of the baseline; per column with COLUMN=; "
                             "without any, 1e-4 (float noise only)")
    parser.add_argument("--require-outside-ci", action="store_true",
                        help="count a drop only when the baseline mean is outside the current 95%% CI")
    parser.add_argument("--json-out", type=Path, help="also write the findings as JSON")


def run_check(args: argparse.Namespace) -> int:
    from reports.aggregate import load_run
    from reports.check import check, format_report, parse_tolerances, scope_warnings
    from reports.export import read_results, results_document

    baseline = read_results(args.baseline)
    if args.run.suffix == ".json":
        current = read_results(args.run)
    else:
        current = results_document(load_run(args.run, args.run_id))
    default, per_column = parse_tolerances(args.tolerance)
    for warning in scope_warnings(current, baseline):
        print(f"warning: {warning}", file=sys.stderr)
    findings, compared = check(current, baseline, default=default, per_column=per_column,
                               require_outside_ci=args.require_outside_ci)
    if compared == 0:
        raise ConfigError(f"baseline {args.baseline} has no scored cells to compare")
    print(format_report(findings, compared))
    if args.json_out:
        args.json_out.write_text(json.dumps([f.__dict__ for f in findings], indent=2) + "\n")
    return 1 if any(f.regression for f in findings) else 0
