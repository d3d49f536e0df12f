"""``sebench leaderboard``: argument definitions and the handler (wired in bench.cli).

Options come from flags or from a YAML file (``--config``, keys named like the flags); flags win.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from bench.errors import ConfigError
from reports.cli import add_latex_arguments

FORMATS = ("md", "tex", "csv", "json", "html")
DEFAULT_FORMATS = ",".join(FORMATS)

EXAMPLES = """examples:
  sebench leaderboard runs/dns-a runs/dns-b --out leaderboard/            # merge two runs, every format
  sebench leaderboard runs/dns-a runs/dns-b --reference llase-dns-dnsmos --out lb/   # with published rows
  sebench leaderboard runs/a copied/results.sqlite --rank-columns DNSMOS_OVRL,PESQ_WB --weight PESQ_WB=2 --out lb/
  sebench leaderboard runs/a runs/b --strict --out lb/        # refuse, rather than flag, incomparable runs
  sebench leaderboard --config examples/leaderboard.yaml"""

CONFIG_KEYS = {"runs", "reference", "out", "format", "columns", "rank_columns", "weights", "rank_reported",
               "resamples", "seed", "strict", "listening_items", "latex_layout", "latex_width", "latex_height"}


def add_leaderboard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXAMPLES
    parser.add_argument("runs", nargs="*", metavar="RUN",
                        help="run folders or results.sqlite files (PATH#RUN_ID for one run of a store); the first "
                             "is the reference that the others must match")
    parser.add_argument("--config", type=Path, help="YAML with these options (runs, reference, out, rank_columns, weights, ...)")
    parser.add_argument("--reference", action="append", default=None, metavar="ID|FILE.yaml",
                        help="published table whose rows join the boards, marked reported (repeatable)")
    parser.add_argument("--out", type=Path, help="output folder (required, here or in --config)")
    parser.add_argument("--format", help=f"comma-separated, from: {', '.join(FORMATS)} (default: all)")
    parser.add_argument("--columns", help="comma-separated columns to show (default: every column)")
    parser.add_argument("--rank-columns", help="comma-separated columns the mean rank uses (default: every shown "
                                               "column that two ranked rows have)")
    parser.add_argument("--weight", action="append", default=None, metavar="COLUMN=W",
                        help="weight of a column in the mean rank (default 1; repeatable)")
    parser.add_argument("--rank-reported", action="store_true", default=None,
                        help="rank published rows with the reproduced ones (their items differ: off by default)")
    parser.add_argument("--resamples", type=int, help="bootstrap resamples for rank stability (default 1000; 0: off)")
    parser.add_argument("--seed", type=int, help="bootstrap seed (default 0)")
    parser.add_argument("--strict", action="store_true", default=None,
                        help="refuse incomparable runs (other items, metric versions, duplicate labels) instead of flagging them")
    parser.add_argument("--listening-items", type=int,
                        help="items per subset on each run's listening page (default 10; 0: no listening pages)")
    add_latex_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="do not print the Markdown")


def _split(text: Any) -> list[str] | None:
    if text is None:
        return None
    items = text if isinstance(text, list) else str(text).split(",")
    return [str(i).strip() for i in items if str(i).strip()]


def _weights(entries: Any) -> dict[str, float]:
    if isinstance(entries, dict):
        pairs = list(entries.items())
    else:
        pairs = []
        for entry in entries or []:
            column, sep, value = str(entry).partition("=")
            if not sep:
                raise ConfigError(f"--weight takes COLUMN=WEIGHT, got {entry!r}")
            pairs.append((column, value))
    try:
        return {str(column).strip(): float(value) for column, value in pairs}
    except ValueError as exc:
        raise ConfigError(f"a rank weight is not a number: {exc}") from exc


def resolve_options(args: argparse.Namespace) -> dict[str, Any]:
    """Flags over the YAML config over the defaults. Paths in the config are relative to the current
    folder, as in ``sebench run --config``."""
    from reports.latex import latex_options

    config: dict[str, Any] = {}
    if args.config:
        try:
            config = yaml.safe_load(args.config.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read leaderboard config {args.config}: {exc}") from exc
        if not isinstance(config, dict):
            raise ConfigError(f"{args.config} must be a mapping of leaderboard options")
        unknown = sorted(set(config) - CONFIG_KEYS)
        if unknown:
            raise ConfigError(f"{args.config}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(CONFIG_KEYS))}")

    def pick(flag: Any, key: str, default: Any) -> Any:
        return flag if flag is not None else config.get(key, default)

    runs = args.runs or [str(r) for r in config.get("runs", [])]
    out = args.out or config.get("out")
    if out is None:
        raise ConfigError("say where the leaderboard goes: --out DIR (or out: in --config)")
    formats = _split(pick(args.format, "format", DEFAULT_FORMATS)) or []
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ConfigError(f"unknown leaderboard format(s) {unknown or formats!r}; choose from {', '.join(FORMATS)}")
    return {
        "runs": runs, "out": Path(out), "formats": formats,
        "references": pick(args.reference, "reference", []) or [],
        "columns": _split(pick(args.columns, "columns", None)),
        "rank_columns": _split(pick(args.rank_columns, "rank_columns", None)),
        "weights": _weights(pick(args.weight, "weights", {})),
        "rank_reported": bool(pick(args.rank_reported, "rank_reported", False)),
        "resamples": int(pick(args.resamples, "resamples", 1000)),
        "seed": int(pick(args.seed, "seed", 0)),
        "strict": bool(pick(args.strict, "strict", False)),
        "listening_items": int(pick(args.listening_items, "listening_items", 10)),
        "latex": latex_options(*(pick(getattr(args, key), key, None) for key in ("latex_layout", "latex_width", "latex_height"))),
    }


def run_leaderboard(args: argparse.Namespace) -> int:
    from reports.leaderboard.board import build_leaderboard, leaderboard_document
    from reports.leaderboard.merge import build_boards, restrict_columns
    from reports.leaderboard.page import write_page
    from reports.leaderboard.ranking import RankingConfig, check_columns
    from reports.leaderboard.render import render_csv, render_latex, render_markdown
    from reports.leaderboard.sources import load_sources
    from reports.reference import load_reference

    options = resolve_options(args)
    if options["resamples"] < 0:
        raise ConfigError("--resamples must be 0 or more")
    sources = load_sources(options["runs"])
    references = [load_reference(name) for name in options["references"]]
    boards = build_boards(sources, references, strict=options["strict"])
    if options["columns"]:
        boards = restrict_columns(boards, options["columns"])
    config = RankingConfig(columns=tuple(options["rank_columns"]) if options["rank_columns"] else None,
                           weights=options["weights"], include_reported=options["rank_reported"],
                           resamples=options["resamples"], seed=options["seed"])
    check_columns(boards, config)
    leaderboard = build_leaderboard(sources, references, boards, config)
    out: Path = options["out"]
    out.mkdir(parents=True, exist_ok=True)
    if "html" in options["formats"] and options["listening_items"] > 0:
        from reports.listening import slug, write_listening_page

        for source in sources:
            folder = out / "runs" / slug(f"{source.name}-{source.run_id}") / "listening"
            page = write_listening_page(source.run, folder, max_items=options["listening_items"])
            leaderboard.listening[source.run_id] = page.relative_to(out).as_posix()
    document = leaderboard_document(leaderboard)
    markdown = render_markdown(document)
    written = []
    if "md" in options["formats"]:
        written.append(out / "leaderboard.md")
        written[-1].write_text(markdown)
    if "tex" in options["formats"]:
        written.append(out / "leaderboard.tex")
        written[-1].write_text(render_latex(document, **options["latex"]))
    if "csv" in options["formats"]:
        written.append(out / "leaderboard.csv")
        written[-1].write_text(render_csv(document))
    if "json" in options["formats"]:
        written.append(out / "leaderboard.json")
        written[-1].write_text(json.dumps(document, indent=2, default=str) + "\n")
    if "html" in options["formats"]:
        written.append(write_page(document, out / "index.html"))
    if not args.quiet:
        print(markdown)
    for path in written:
        print(f"wrote {path}")
    flagged = sum(1 for board in document["boards"] for row in board["rows"] if row["flags"])
    if flagged:
        print(f"note: {flagged} row(s) flagged as not comparable or ambiguous; see the marks (--strict refuses them)")
    return 0
