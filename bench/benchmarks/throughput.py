"""Throughput of the whole harness: per-stage rates, harness overhead, parallel speedup, cache speed.

    python -m bench.benchmarks.throughput [--n-per-subset 10] [--workers N] [--metric sisdr ...]
                                          [--system unprocessed ...] [--json figures.json]

On the embedded synthetic suite it first warms up outside the timings (builds the suite, runs one
item through the harness so one-off imports are paid), then runs, each from a cold cache in a
temporary folder:

1. bare: the systems and metrics called directly in a loop (``enhance_item``, ``Metric.score`` on
   a fresh ScoringContext), no cache, store, plan or worker;
2. serial: ``sebench run --executor serial``;
3. local: ``sebench run --executor local`` with ``--workers`` processes;
4. cached: the serial run again under a new name, so every output and score comes from the
   content-addressed cache and every result is recorded again; and the serial run re-run under its
   own name (resume: every item already recorded, nothing to do).

Per-stage rates come from the seconds each worker spent computing each stage (``load`` excluded).
Serially they are the stage's own wall time. For the parallel run a stage's rate is items over its
summed seconds divided by the number of workers, i.e. assuming the stage is spread evenly over the
workers; the end-to-end row is plain items over wall time. Harness overhead is the serial run's
wall time over the bare loop's (both include model loading).

Wall times on a shared machine measure the neighbours too, so CPU seconds are printed beside them:
the overhead in CPU terms, and a speedup projected for idle cores (serial CPU seconds over the
workers' CPU seconds, start-up included, divided by the number of workers). The projection
assumes each worker gets a core of its own; the measured wall figure is the one a target is
judged on. A free-core check at start and end (that many CPU-bound processes at once, summing the
share of a core each got) says how much parallelism the machine had to give.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from tabulate import tabulate
from threadpoolctl import threadpool_limits

from bench.audio import audio_info
from bench.config import RunConfig
from bench.executors import EXECUTORS, available_cores
from bench.item import Item
from bench.metric import ScoringContext, build_metric
from bench.pipeline import enhance_item, score_metric
from bench.plan import Job, build_plan, load_items
from bench.runner import execute
from bench.spec import parse_spec
from bench.system import build_system
from bench.worker import ENHANCE_STAGE, LOAD_STAGE, JobResult

DEFAULT_METRICS = ("sisdr", "stoi", "pesq", "dnsmos")
TARGETS = {"overhead": 0.10, "speedup": 1.8, "cached": 50.0, "total_seconds": 300.0}


@dataclass
class StageTotals:
    """Per stage: items computed, their audio seconds, and the compute seconds spent on them."""

    items: dict[str, int] = field(default_factory=dict)
    audio: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, audio_seconds: float, seconds: float) -> None:
        self.items[stage] = self.items.get(stage, 0) + 1
        self.audio[stage] = self.audio.get(stage, 0.0) + audio_seconds
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds


@dataclass
class Pass:
    name: str
    wall: float
    stages: StageTotals
    cpu: float = 0.0
    """CPU seconds of this process (the driver; for serial runs, all the work)."""
    children_cpu: float = 0.0
    """CPU seconds of the worker processes, start-up included."""
    recording: float = 0.0
    """Driver seconds spent between results (writing them to the store, the progress bar)."""
    workers: int = 1

    @property
    def total_cpu(self) -> float:
        return self.cpu + self.children_cpu


def enhance_stage(label: str) -> str:
    return f"{ENHANCE_STAGE} {label}"


def duration(item: Item) -> float:
    return _seconds(item.input)


@lru_cache(maxsize=None)
def _seconds(path: Path) -> float:
    rate, frames = audio_info(path)
    return frames / rate


def bare_pass(config: RunConfig) -> Pass:
    """The same work with no harness around it: the floor the harness's overhead is measured from.
    BLAS is single-threaded here as in every executor, so both sides make the same calls."""
    with threadpool_limits(1, user_api="blas"):
        return _bare_pass(config)


def _bare_pass(config: RunConfig) -> Pass:
    start, cpu = time.perf_counter(), time.process_time()
    totals = StageTotals()
    systems = [build_system(spec) for spec in config.systems]
    metrics = [build_metric(spec) for spec in config.metrics]
    for model in [*systems, *metrics]:
        model.load()
    plan = build_plan(config.systems, systems, load_items(config.testsets, config.limit))
    for job in plan.jobs:
        seconds = duration(job.item)
        began = time.perf_counter()
        try:
            output, rate = enhance_item(systems[job.system_index], job.variant, job.item)
        except Exception:
            continue  # the harness records such items as failed and scores nothing either
        totals.add(enhance_stage(job.label), seconds, time.perf_counter() - began)
        ctx = ScoringContext(job.item, output, rate)
        for metric in metrics:
            if metric.applies_to(job.item):
                began = time.perf_counter()
                score_metric(metric, ctx)
                totals.add(metric.name, seconds, time.perf_counter() - began)
    return Pass("bare", time.perf_counter() - start, totals, cpu=time.process_time() - cpu)


def _recording(executor: Callable[[RunConfig, Sequence[Job]], Iterator[JobResult]], sink: list[JobResult],
               waits: list[float]) -> Callable[[RunConfig, Sequence[Job]], Iterator[JobResult]]:
    """Wrap an executor to keep every result and time what the driver does with each."""

    def run(config: RunConfig, jobs: Sequence[Job]) -> Iterator[JobResult]:
        for result in executor(config, jobs):
            sink.append(result)
            handed = time.perf_counter()
            yield result
            waits.append(time.perf_counter() - handed)

    return run


def harness_pass(name: str, config: RunConfig, workers: int = 1) -> Pass:
    results: list[JobResult] = []
    waits: list[float] = []
    wrapped = f"benchmark-{config.executor}"
    EXECUTORS[wrapped] = _recording(EXECUTORS[config.executor], results, waits)
    executor, config.executor = config.executor, wrapped
    try:
        start, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
        summary = execute(config, progress=False)
        wall = time.perf_counter() - start
        cpu, children = time.process_time() - cpu, _children_cpu() - children
    finally:
        config.executor = executor
        del EXECUTORS[wrapped]
    if summary.failed:
        print(f"  note: {name}: {summary.failed} items failed, e.g. {summary.failures[0]}")
    totals = StageTotals()
    for result in results:
        for stage, seconds in result.stage_seconds.items():
            if stage == ENHANCE_STAGE:
                stage = enhance_stage(result.job.label)
            if stage != LOAD_STAGE:
                totals.add(stage, duration(result.job.item), seconds)
    return Pass(name, wall, totals, cpu=cpu, children_cpu=children, recording=sum(waits), workers=workers)


def _children_cpu() -> float:
    """CPU seconds of finished (reaped) child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rate_rows(passes: Sequence[Pass], stages: Sequence[str]) -> list[list[Any]]:
    rows = []
    for stage in stages:
        row: list[Any] = [stage]
        for run in passes:
            spent = run.stages.seconds.get(stage, 0.0) / run.workers
            row += [run.stages.items.get(stage, 0) / spent, run.stages.audio.get(stage, 0.0) / spent] if spent else ["-", "-"]
        rows.append(row)
    enhanced = [stage for stage in stages if stage.startswith(ENHANCE_STAGE)]
    items = max(sum(r.stages.items.get(stage, 0) for stage in enhanced) for r in passes)
    audio = max(sum(r.stages.audio.get(stage, 0.0) for stage in enhanced) for r in passes)
    rows.append(["end-to-end (wall)"] + [v for run in passes for v in (items / run.wall, audio / run.wall)])
    return rows


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": available_cores(), "python": platform.python_version(),
            "platform": platform.platform(), "load_average": [round(x, 2) for x in os.getloadavg()],
            "utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def _burn(seconds: float) -> float:
    """Spin for ``seconds`` of CPU; return the share of a core this process got meanwhile."""
    began, end = time.perf_counter(), time.process_time() + seconds
    while time.process_time() < end:
        sum(range(1000))
    return seconds / (time.perf_counter() - began)


def free_cores(processes: int, seconds: float = 1.0) -> float:
    """Cores actually available now: ``processes`` CPU-bound processes at once, summing the share
    of a core each got. On an idle machine this equals ``processes`` (up to the core count)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        pool.map(abs, range(processes))  # start the processes before timing
        return sum(pool.map(_burn, [seconds] * processes))


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.benchmarks.throughput", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-per-subset", type=int, default=10, help="synthetic items per subset (suite default 10)")
    parser.add_argument("--subsets", help="synthetic subsets joined with '+' (default: all six)")
    parser.add_argument("--system", action="append", help="system spec, repeatable (default: unprocessed)")
    parser.add_argument("--metric", action="append", help=f"metric spec, repeatable (default: {' '.join(DEFAULT_METRICS)})")
    parser.add_argument("--workers", type=int, default=available_cores(), help="processes for the local executor")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    testset = f"synthetic:n_per_subset={args.n_per_subset}" + (f",subsets={args.subsets}" if args.subsets else "")
    systems = args.system or ["unprocessed"]
    metrics = args.metric or list(DEFAULT_METRICS)
    at_start = machine()
    at_start["free_cores"] = round(free_cores(args.workers), 2)

    with tempfile.TemporaryDirectory(prefix="sebench-throughput-") as scratch:
        root = Path(scratch)

        def config(name: str, executor: str = "serial", cache: str = "cache-serial") -> RunConfig:
            return RunConfig(name=name, testsets=[parse_spec(testset)], systems=[parse_spec(s) for s in systems],
                             metrics=[parse_spec(m) for m in metrics], runs_dir=root / "runs", cache_dir=root / cache,
                             executor=executor, workers=args.workers)

        warm = time.perf_counter()
        items = [item for _, loaded in load_items(config("build").testsets) for item in loaded]
        audio = sum(duration(item) for item in items)
        warmup = config("warmup", cache="cache-warmup")
        warmup.limit = 1
        execute(warmup, progress=False)
        warm = time.perf_counter() - warm
        print(f"test set {testset}: {len(items)} items, {audio:.1f} s of audio; systems: {', '.join(systems)}; "
              f"metrics: {', '.join(metrics)}")
        print(f"  warm-up            {warm:7.1f} s (build the suite, import everything, one item; not counted)")

        bare = bare_pass(config("bare"))
        print(f"  bare loop          {bare.wall:7.1f} s")
        serial = harness_pass("serial", config("serial"))
        print(f"  serial harness     {serial.wall:7.1f} s")
        local = harness_pass("local", config("local", "local", "cache-local"), workers=args.workers)
        print(f"  local harness ({args.workers}) {local.wall:7.1f} s")
        cached = harness_pass("cached", config("cached"))
        print(f"  cached re-run      {cached.wall:7.1f} s (new run name: every result read from the cache and recorded)")
        resumed = harness_pass("resumed", config("serial"))
        print(f"  resumed re-run     {resumed.wall:7.1f} s (same run name: everything already recorded)")

    stages = [stage for stage in serial.stages.items if stage.startswith(ENHANCE_STAGE)]
    stages += [m for m in (parse_spec(s).name for s in metrics) if m in serial.stages.items]
    headers = ["stage", "serial items/s", "serial audio-s/s", f"local({args.workers}) items/s", f"local({args.workers}) audio-s/s"]
    print()
    print(tabulate(rate_rows([serial, local], stages), headers=headers, floatfmt=".2f", tablefmt="github"))

    overhead = serial.wall / bare.wall - 1
    overhead_cpu = serial.total_cpu / bare.total_cpu - 1
    speedup = serial.wall / local.wall
    projected = serial.total_cpu / (local.children_cpu / args.workers) if local.children_cpu else float("nan")
    cached_ratio = serial.wall / cached.wall
    resumed_ratio = serial.wall / resumed.wall
    total = time.perf_counter() - began
    at_end = machine()
    at_end["free_cores"] = round(free_cores(args.workers), 2)
    print()
    print(f"harness overhead: serial run {serial.wall:.1f} s vs bare calls {bare.wall:.1f} s = {overhead:+.1%} wall, "
          f"{overhead_cpu:+.1%} CPU ({serial.total_cpu:.1f} vs {bare.total_cpu:.1f} CPU s) "
          f"(target < {TARGETS['overhead']:.0%}: {verdict(overhead < TARGETS['overhead'])}); "
          f"driver recording results: {serial.recording:.1f} s")
    print(f"parallel speedup: {speedup:.2f}x wall with {args.workers} workers on {at_start['cores']} cores "
          f"(target >= {TARGETS['speedup']}x: {verdict(speedup >= TARGETS['speedup'])}); workers used "
          f"{local.children_cpu:.1f} CPU s in all vs {serial.total_cpu:.1f} serially, so on {args.workers} idle cores "
          f"expect about {projected:.2f}x")
    print(f"cached re-run: {cached_ratio:.1f}x faster than cold ({cached.wall:.2f} s, of which {cached.recording:.2f} s "
          f"recording results) (target >= {TARGETS['cached']:.0f}x: {verdict(cached_ratio >= TARGETS['cached'])}); "
          f"resumed re-run {resumed_ratio:.0f}x ({resumed.wall:.2f} s)")
    print(f"whole benchmark: {total:.0f} s (target < {TARGETS['total_seconds']:.0f} s: "
          f"{verdict(total < TARGETS['total_seconds'])})")
    print(f"machine: {at_start['cpu']}, {at_start['cores']} cores, Python {at_start['python']}, {at_start['platform']}; "
          f"load average {at_start['load_average']} at start, {at_end['load_average']} at end; {at_start['utc']}")
    print(f"free cores ({args.workers} CPU-bound processes at once): {at_start['free_cores']} at start, "
          f"{at_end['free_cores']} at end (the most a {args.workers}-worker speedup can be right now)")

    if args.json:
        runs = (bare, serial, local, cached, resumed)
        figures = {
            "testset": testset, "items": len(items), "audio_seconds": audio, "systems": systems, "metrics": metrics,
            "workers": args.workers, "machine": at_start, "load_average_end": at_end["load_average"],
            "free_cores_end": at_end["free_cores"],
            "wall_seconds": {p.name: p.wall for p in runs},
            "cpu_seconds": {p.name: {"driver": p.cpu, "workers": p.children_cpu} for p in runs},
            "stages": {p.name: {"items": p.stages.items, "audio_seconds": p.stages.audio, "seconds": p.stages.seconds}
                       for p in (bare, serial, local)},
            "overhead": overhead, "overhead_cpu": overhead_cpu, "speedup": speedup, "projected_speedup": projected,
            "cached_speedup": cached_ratio, "resumed_speedup": resumed_ratio,
            "recording_seconds": {"serial": serial.recording, "cached": cached.recording}, "total_seconds": total,
        }
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
