"""The ``sebench`` command line: run, list, prepare, report, check, leaderboard."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from bench.config import (DEFAULT_METRICS, DEFAULT_SYSTEMS, DEFAULT_TESTSETS, QUICK_ITEMS_PER_SUBSET, RunConfig,
                          full_testsets, load_yaml_config)
from bench.errors import SebenchError, StorageError
from bench.registry import TRAINERS_GROUP, declared, load_plugins, load_target
from bench.spec import parse_spec

RUN_EXAMPLES = """examples:
  sebench run                                    # sanity rows, DeepFilterNet3, SEFlow: a first look
  sebench run --full                             # the same on the whole synthetic suite (10 items per subset)
  sebench run --system unprocessed --system seflow@f-1-1,f-12-4 --metric dnsmos --metric pesq
  sebench run --testset dns:root=/data/DNS/test_set/synthetic,subset=no_reverb --system deepfilternet3
  sebench run --config examples/seflow_demo.yaml --executor local --workers 2
  sebench run --name smoke --limit 3 --timeout 60   # quick look: 3 items per subset

spec strings: NAME[@VARIANT[,VARIANT...]|@all][:key=value,...]; the key 'label' names the table row.
A re-run of the same --name and config resumes it; --overwrite starts it afresh."""

LIST_EXAMPLES = """examples:
  sebench list              # systems, test sets and metrics
  sebench list systems      # with variants, tasks and native sample rate"""

PREPARE_EXAMPLES = """examples:
  sebench prepare synthetic                      # build the embedded suite (cached) and verify it
  sebench prepare synthetic:n_per_subset=50,seed=1
  sebench prepare dns:root=/data/DNS/test_set/synthetic,subset=with_reverb"""


_Formatter = argparse.RawDescriptionHelpFormatter  # keeps the examples' layout; defaults are in each help text

def _add_run_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="enhance and score: systems x test sets x metrics", epilog=RUN_EXAMPLES,
                       formatter_class=_Formatter)
    p.add_argument("--config", type=Path, help="YAML run config (flags below override it)")
    p.add_argument("--testset", action="append", default=None, metavar="SPEC",
                   help=f"test set spec, repeatable (default: {' '.join(DEFAULT_TESTSETS)})")
    p.add_argument("--system", action="append", default=None, metavar="SPEC",
                   help=f"system spec, repeatable (default: {' '.join(DEFAULT_SYSTEMS)})")
    p.add_argument("--metric", action="append", default=None, metavar="SPEC",
                   help=f"metric spec, repeatable (default: {' '.join(DEFAULT_METRICS)})")
    p.add_argument("--full", action="store_true",
                   help=f"the default test set at full size (10 items per subset) instead of {QUICK_ITEMS_PER_SUBSET}")
    p.add_argument("--name", help="run name: results go to RUNS_DIR/NAME (default: 'default' or the config's)")
    p.add_argument("--runs-dir", type=Path, help="folder holding run folders (default: ./runs)")
    p.add_argument("--cache-dir", type=Path, help="content-addressed cache (default: $SEBENCH_HOME/cache)")
    p.add_argument("--seed", type=int, help="run seed (default 0)")
    p.add_argument("--limit", type=int, help="at most N items per subset of each test set")
    p.add_argument("--timeout", type=float, help="seconds a system may spend on one item")
    p.add_argument("--executor", help="local (a process per core; the default), serial (this process) or ray")
    p.add_argument("--workers", type=int,
                   help="parallel workers (default: one per core); with ray: enhancement actors")
    p.add_argument("--ray-address", help="Ray cluster for --executor ray (default: $RAY_ADDRESS, else a local Ray)")
    p.add_argument("--ray-gpus", type=float, help="GPU share of each Ray enhancement actor (default 0; 0.5: two per GPU)")
    p.add_argument("--ray-score-cpus", type=int,
                   help="Ray scoring actors, one CPU each (default: one per CPU of the nodes that may score)")
    p.add_argument("--ray-enhance-resource", action="append", metavar="NAME=AMOUNT", dest="ray_enhance_resources",
                   help="custom Ray resource each enhancement actor reserves, repeatable: pins enhancement to the "
                        "nodes that have it (gpu_node=0.01)")
    p.add_argument("--ray-score-resource", action="append", metavar="NAME=AMOUNT", dest="ray_score_resources",
                   help="the same for the scoring actors (cpu_node=0.01)")
    p.add_argument("--ray-cache", metavar="URL",
                   help="cache the Ray actors share: a folder every node mounts or an fsspec URL (s3://bucket/sebench); "
                        "default: each node's own $SEBENCH_HOME/cache")
    p.add_argument("--overwrite", action="store_true", help="discard a stored run of this name first")
    p.add_argument("--no-cache", action="store_true", help="recompute even what the cache holds")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--strict", action="store_true", help="exit 1 if any item failed")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    kwargs = load_yaml_config(args.config) if args.config else {}
    for flag, key in (("testset", "testsets"), ("system", "systems"), ("metric", "metrics")):
        values = getattr(args, flag)
        if values:
            kwargs[key] = [parse_spec(v) for v in values]
    if args.full:
        kwargs["testsets"] = full_testsets(kwargs.get("testsets"))
    for key in ("name", "runs_dir", "cache_dir", "seed", "limit", "timeout", "executor", "workers", "ray_address", "ray_gpus",
                "ray_score_cpus", "ray_enhance_resources", "ray_score_resources", "ray_cache"):
        value = getattr(args, key)
        if value is not None:
            kwargs[key] = value
    return RunConfig(**kwargs, overwrite=args.overwrite, use_cache=not args.no_cache)


MAX_FAILURE_LINES = 20
"""Failure summary lines (one per system and error type) printed after a run."""


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """While systems run, whatever they write to stdout (``print``, or native code writing to file
    descriptor 1; worker processes inherit it) goes to stderr, so stdout carries the result table
    alone and ``sebench run > table.md`` stays clean."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1 at all
        saved = None
    if saved is not None:
        os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a cancelled CI job, ``timeout``, ``docker stop``): the run stops as on Ctrl-C."""


@contextmanager
def sigterm_stops() -> Iterator[None]:
    def stop(signum: int, frame: object) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave SIGTERM alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def cmd_run(args: argparse.Namespace) -> int:
    from bench.runner import execute
    from reports.tables import summary_markdown

    config = config_from_args(args)
    with stdout_to_stderr(), sigterm_stops():
        summary = execute(config, progress=not args.no_progress)
    # Closing the store's last connection folds its write-ahead log into results.sqlite, so the file
    # copied on its own (to another machine, into a leaderboard) holds the whole run.
    summary.store.close()
    for line in summary.skipped:
        print(line, file=sys.stderr)
    for line in summary.notes:
        print(f"note: {line}", file=sys.stderr)
    print(summary_markdown(config.store_path, summary.run_id))
    print()
    print(summary.describe())
    lines = summary.failure_lines()
    for line in lines[:MAX_FAILURE_LINES]:
        print(f"  failed: {line}", file=sys.stderr)
    if len(lines) > MAX_FAILURE_LINES:
        print(f"  ... and {len(lines) - MAX_FAILURE_LINES} more kinds of failure", file=sys.stderr)
    if lines:
        print(f"  every failure in full: table 'outputs' of {config.store_path}", file=sys.stderr)
    print(f"results: {config.store_path}")
    return 1 if args.strict and summary.failed else 0


def _describe(kind: str, name: str) -> str:
    from bench.metric import METRICS
    from bench.system import SYSTEMS
    from bench.testset import TESTSETS

    try:
        if kind == "systems":
            cls = SYSTEMS.get(name)
            rate = f"{cls.sample_rate} Hz" if cls.sample_rate else "any rate"
            try:
                variants = cls().variants()
                shown = ", ".join(variants[:6]) + (f" ... ({len(variants)} variants)" if len(variants) > 6 else "")
            except SebenchError as exc:  # a system that cannot exist without its config (folder)
                shown = f"set by its config ({exc})"
            return f"{name:16s} tasks: {', '.join(sorted(cls.tasks))}; {rate}; variants: {shown}"
        if kind == "testsets":
            cls = TESTSETS.get(name)
            doc = (cls.__doc__ or "").strip().splitlines()
            return f"{name:16s} {doc[0] if doc else ''}"
        metric = METRICS.get(name)
        columns = ", ".join(f"{c.name} ({'higher' if c.higher_is_better else 'lower'} is better)"
                            for c in metric.columns if not c.hidden)
        needs = ", ".join(sorted(metric.needs)) or "nothing"
        return f"{name:16s} {columns}; needs {needs}"
    except Exception as exc:  # an optional dependency missing: list it as unavailable, never crash
        return f"{name:16s} (unavailable: {exc})"


def cmd_list(args: argparse.Namespace) -> int:
    from bench.metric import METRICS
    from bench.system import SYSTEMS
    from bench.testset import TESTSETS

    registries = {"systems": SYSTEMS, "testsets": TESTSETS, "metrics": METRICS}
    kinds = [args.kind] if args.kind else list(registries)
    for kind in kinds:
        print(f"{kind}:")
        for name in registries[kind].names():
            print(f"  {_describe(kind, name)}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from collections import Counter

    from bench.testset import TESTSETS

    status = 0
    for text in args.testsets:
        spec = parse_spec(text)
        testset = TESTSETS.get(spec.name)(**spec.config)
        problems = testset.prepare()
        items = list(testset.items())
        counts = Counter((item.subset, item.task) for item in items)
        print(f"{spec.label or spec.name}: {sum(counts.values())} items")
        for (subset, task), n in sorted(counts.items()):
            print(f"  {subset:20s} {task:20s} {n}")
        for problem in problems:
            print(f"  problem: {problem}", file=sys.stderr)
        print_warning_table(testset.warnings())
        for line in unmet_needs_report(items):
            print(f"  note: {line}")
        status |= bool(problems)
    return status


def print_warning_table(warnings: Sequence) -> None:
    """``prepare``'s file warnings (``bench.testset.FileWarning``) as an aligned table."""
    if not warnings:
        return
    rows = [("item", "warning", "files")] + [(w.item_id, w.problem, w.files) for w in warnings]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    print(f"  {len(warnings)} warning{'s' if len(warnings) != 1 else ''}:")
    for row in rows:
        print(f"    {row[0]:{widths[0]}s}  {row[1]:{widths[1]}s}  {row[2]}")


def unmet_needs_report(items: Sequence) -> list[str]:
    """Which registered systems will be unsupported on which items because an item lacks a field
    they need (a loss trace for the PLC baselines), so the ``-`` cells are no surprise."""
    from bench.item import supports
    from bench.system import SYSTEMS

    missing: dict[tuple[str, str], list[str]] = {}
    for name in SYSTEMS.names():
        try:
            cls = SYSTEMS.get(name)
        except Exception:  # an optional dependency missing: that system cannot run anyway
            continue
        for need in sorted(cls.needs):
            lacking = [item for item in items if supports(cls.tasks, item.task) and getattr(item, need) is None]
            if lacking:
                tasks = ", ".join(sorted({item.task for item in lacking}))
                missing.setdefault((need, f"{len(lacking)} {tasks} item{'s' if len(lacking) != 1 else ''}"), []).append(name)
    hints = {"loss_trace": "give one with loss_trace / trace_root, or derive_trace=zeros"}
    return [f"{where} without {need}: {', '.join(names)} will be marked unsupported there (-)"
            + (f"; {hints[need]}" if need in hints else "") for (need, where), names in missing.items()]


TRAIN_EXAMPLES = """examples:
  sebench train seflow --out my-seflow.safetensors --minutes 60
  sebench run --system 'seflow@f-1-1,f-12-4:checkpoint=my-seflow.safetensors'"""


def cmd_train(args: argparse.Namespace) -> int:
    """Run a recipe found in the entry-point group ``sebench.trainers`` (``main(argv)``)."""
    load_target(declared(TRAINERS_GROUP)[args.system])(args.recipe_args)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sebench", formatter_class=_Formatter,
        description="Benchmark speech enhancement systems on standard test sets with the field's metrics.",
        epilog="run 'sebench COMMAND --help' for each command's options and examples",
    )
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error (also: SEBENCH_DEBUG=1)")
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                        help="import MODULE first, so its @register_* classes can be named (also: $SEBENCH_PLUGINS)")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run_parser(sub)
    p = sub.add_parser("list", help="systems (variants, tasks), test sets, metrics", epilog=LIST_EXAMPLES,
                       formatter_class=_Formatter)
    p.add_argument("kind", nargs="?", choices=["systems", "testsets", "metrics"])
    p = sub.add_parser("prepare", help="build or verify test sets", epilog=PREPARE_EXAMPLES, formatter_class=_Formatter)
    p.add_argument("testsets", nargs="+", metavar="SPEC")

    p = sub.add_parser("train", help="train a system that ships its own recipe", epilog=TRAIN_EXAMPLES,
                       formatter_class=_Formatter)
    p.add_argument("system", choices=sorted(declared(TRAINERS_GROUP)))
    p.add_argument("recipe_args", nargs=argparse.REMAINDER, metavar="...",
                   help="the recipe's own options ('sebench train seflow --help' lists them)")

    from reports.cli import add_check_arguments, add_report_arguments

    add_report_arguments(sub.add_parser("report", help="render a stored run: tables, plots, listening page",
                                        formatter_class=_Formatter))
    add_check_arguments(sub.add_parser("check", help="compare a run to a baseline; exit 1 on regression",
                                       formatter_class=_Formatter))
    from reports.leaderboard.cli import add_leaderboard_arguments

    add_leaderboard_arguments(sub.add_parser("leaderboard", help="merge runs and published tables into ranked boards",
                                             formatter_class=_Formatter))
    return parser


EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_TERMINATED = 2, 3, 130, 143
"""Exit codes besides 0 and 1 (``--strict`` failures, ``check`` regressions); README, "Failure handling"."""
RESUME = "re-run the same command to resume"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get("SEBENCH_DEBUG", "") not in ("", "0")
    handlers = {"run": cmd_run, "list": cmd_list, "prepare": cmd_prepare, "train": cmd_train}
    try:
        load_plugins(args.plugin)
        if args.command in handlers:
            return handlers[args.command](args)
        if args.command == "leaderboard":
            from reports.leaderboard.cli import run_leaderboard

            return run_leaderboard(args)
        from reports.cli import run_check, run_report

        return run_report(args) if args.command == "report" else run_check(args)
    except KeyboardInterrupt as exc:
        finished = "; finished items are saved: " + RESUME if args.command == "run" else ""
        if isinstance(exc, Terminated):
            return _fail(debug, f"sebench: terminated{finished}", EXIT_TERMINATED)
        return _fail(debug, f"sebench: interrupted{finished}", EXIT_INTERRUPTED)
    except SebenchError as exc:
        hint = f" (once that is fixed, {RESUME})" if isinstance(exc, StorageError) and args.command == "run" else ""
        return _fail(debug, f"sebench: error: {exc}{hint}", EXIT_ERROR)
    except OSError as exc:  # a folder that is a file, a read-only disk: where and what
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(debug, f"sebench: error: {where}{exc.strerror or exc}", EXIT_ERROR)
    except Exception as exc:
        return _fail(debug, f"sebench: internal error: {type(exc).__name__}: {exc} "
                            "(a bug: please report it with the output of 'sebench --debug ...')", EXIT_INTERNAL)


def _fail(debug: bool, message: str, code: int) -> int:
    """One line on stderr (the traceback above it only with --debug / SEBENCH_DEBUG=1)."""
    if debug:
        traceback.print_exc()
    print(" ".join(message.split()), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
