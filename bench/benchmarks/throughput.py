"""Throughput of the whole harness against the loop a user would write: cold, parallel, cached.

    python -m bench.benchmarks.throughput [--items 30] [--workers N] [--metric dnsmos ...]
                                          [--system unprocessed ...] [--json figures.json]
                                          [--executor ray [--ray-address ADDRESS | --ray-nodes 2]]

The workload (``bench.benchmarks.workload``): 32 items of real speech of unequal length
(DNS Challenge 2020 sample items and real read speech mixed with real recorded noise, from
``../shared/data``; the synthetic suite's denoise subsets without it), scored with DNSMOS (with
P.808), PESQ wide- and narrow-band, STOI and ESTOI, and speaker similarity. After a warm-up that
pays one-off imports and JIT compilation (not counted), it runs, each harness pass from a cold
cache in a temporary folder:

1. loop: the baseline, the libraries called directly on the same files in one plain loop;
2. serial: ``sebench run --executor serial``;
3. local: ``sebench run`` with its default executor (``--workers`` processes);
4. cached: the run again under a new name, with the default executor: every output and score comes
   from the cache and every result is recorded again; and the serial run re-run under its own name
   (resume: every item already recorded, nothing to do);
5. with ``--executor ray``, also the run on Ray, from a cold cache: on ``--ray-address``'s cluster,
   or on ``--ray-nodes`` Ray nodes started on this machine with the ``--workers`` cores split between
   them, each with its own SEBENCH_HOME (so its own cache and staging folder: the nodes share
   nothing but the machine). It prints the Ray run's wall time over the local run's, on the same
   cores (target <= 1.10), and the CPU seconds of every Ray process, its daemons' included.

It prints cold/loop (target <= 0.5), cached/loop (<= 0.01) and the 2-worker speedup over serial
(>= 1.9), per-stage rates from the seconds each worker spent computing each stage (``load``
excluded; for the parallel run, items over summed seconds divided by the workers), and the largest
difference between the harness's and the loop's scores per column (the same columns, computed the
same way). Wall times on a shared machine measure the neighbours too, so CPU seconds are printed
beside them, with a speedup projected for idle cores (serial CPU seconds over the workers' CPU
seconds divided by the workers), and a free-core check at start and end (that many CPU-bound
processes at once, summing the share of a core each got) says how much parallelism the machine had.
It also prints the speedup's ceiling: the serial run's time outside its stages' computing (interpreter,
imports, model loads, recording) is paid again on the parallel run's critical path by every worker
at once, so even a perfect split of the computing reaches serial / (outside + computing / workers).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from tabulate import tabulate

from bench.audio import audio_info
from bench.benchmarks.workload import DEFAULT_ITEMS, Pair, build_workload, plain_loop
from bench.config import RunConfig
from bench.executors import EXECUTORS, available_cores
from bench.item import Item
from bench.plan import Job
from bench.runner import RunSummary, execute
from bench.store import ResultStore
from bench.spec import parse_spec
from bench.worker import ENHANCE_STAGE, LOAD_STAGE, JobResult

DEFAULT_METRICS = ("dnsmos", "pesq", "stoi", "spksim")
TARGETS = {"cold": 0.5, "cached": 0.01, "speedup": 1.9, "total_seconds": 300.0, "ray_vs_local": 1.10}


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
    loading: float = 0.0
    """Seconds the workers spent loading models (the imports those need included), summed."""

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


def in_fresh_process(target: Callable[..., Any], *args: Any) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds, result) of ``target(*args)`` in a new interpreter, timed from its
    start: imports and model loads count, as they do for a user's ``sebench run`` or script."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    cpu, start = _children_cpu(), time.perf_counter()
    process = context.Process(target=_send_result, args=(send, target, args))
    process.start()
    result = receive.recv()
    process.join()
    return time.perf_counter() - start, _children_cpu() - cpu, result


def _send_result(connection: Any, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
    connection.send(target(*args))


def loop_pass(pairs: Sequence[Pair], metrics: Sequence[str]) -> tuple[Pass, dict[str, dict[str, float]]]:
    """The baseline: the plain loop over the same files, as a script of its own."""
    wall, cpu, scores = in_fresh_process(plain_loop, list(pairs), list(metrics))
    return Pass("loop", wall, StageTotals(), cpu=cpu), scores


def cold_harness_pass(name: str, config: RunConfig, workers: int = 1) -> tuple[Pass, str]:
    """``harness_pass`` in a new interpreter, as ``sebench run`` would run: (the pass with the fresh
    process's wall and CPU seconds, its run id)."""
    wall, cpu, (measured, run_id) = in_fresh_process(_harness_in_child, name, config, workers)
    measured.wall, measured.cpu, measured.children_cpu = wall, cpu - measured.children_cpu, measured.children_cpu
    return measured, run_id


def _harness_in_child(name: str, config: RunConfig, workers: int) -> tuple[Pass, str]:
    measured, summary = harness_pass(name, config, workers)
    return measured, summary.run_id


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


def harness_pass(name: str, config: RunConfig, workers: int = 1) -> tuple[Pass, RunSummary]:
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
    for line in summary.failure_lines():
        print(f"  note: {name}: {line}")
    totals = StageTotals()
    for result in results:
        for stage, seconds in result.stage_seconds.items():
            if stage == ENHANCE_STAGE:
                stage = enhance_stage(result.job.label)
            if stage != LOAD_STAGE:
                totals.add(stage, duration(result.job.item), seconds)
    loading = sum(result.stage_seconds.get(LOAD_STAGE, 0.0) for result in results)
    return Pass(name, wall, totals, cpu=cpu, children_cpu=children, recording=sum(waits), workers=workers,
                loading=loading), summary


def ray_pass(config: RunConfig, args: argparse.Namespace, root: Path) -> Pass:
    """The run on Ray (see the module docstring, step 5), its driver in a new interpreter like the
    other cold passes. Starting the simulated cluster is not timed: a cluster exists before a run.
    Connecting to it and starting the actors is."""
    if args.ray_address:
        config.ray_address = args.ray_address
        run = cold_harness_pass("ray", config, workers=args.workers)[0]
        run.children_cpu = float("nan")  # on other machines: not measured from here
        return run
    from bench.ray_cluster import LocalCluster, NodeSpec

    shares = [args.workers // args.ray_nodes + (index < args.workers % args.ray_nodes) for index in range(args.ray_nodes)]
    nodes = [NodeSpec(cpus=max(1, share), env={"SEBENCH_HOME": str(root / f"ray-node-{index}")})
             for index, share in enumerate(shares)]
    with LocalCluster(nodes) as cluster:
        config.ray_address = cluster.address
        before = cluster.cpu_seconds()
        run = cold_harness_pass("ray", config, workers=args.workers)[0]
        run.children_cpu = cluster.cpu_seconds() - before
    return run


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


def cached_cli_seconds(config: RunConfig) -> float:
    """Wall seconds of ``sebench run`` from the command line when the cache holds everything."""
    args = [sys.executable, "-m", "bench.cli", "run", "--no-progress", "--name", config.name,
            "--runs-dir", str(config.runs_dir), "--cache-dir", str(config.cache_dir), "--executor", config.executor]
    for option, specs in (("--testset", config.testsets), ("--system", config.systems), ("--metric", config.metrics)):
        for spec in specs:
            args += [option, spec.text()]
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - start


def score_differences(config: RunConfig, run_id: str, loop: dict[str, dict[str, float]]) -> dict[str, float]:
    """Largest |harness - loop| per column over the items both scored."""
    frame = ResultStore(config.store_path).scores_frame(run_id)
    largest: dict[str, float] = {}
    for row in frame.itertuples():
        expected = loop.get(row.item_id, {}).get(row.column)
        if expected is not None:
            largest[row.column] = max(largest.get(row.column, 0.0), abs(float(row.value) - expected))
    return largest


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.benchmarks.throughput", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=DEFAULT_ITEMS, help=f"items in the workload (default {DEFAULT_ITEMS})")
    parser.add_argument("--system", action="append", help="system spec, repeatable (default: unprocessed)")
    parser.add_argument("--metric", action="append", help=f"metric, repeatable (default: {' '.join(DEFAULT_METRICS)})")
    parser.add_argument("--workers", type=int, default=available_cores(), help="processes for the local executor")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="ray: also run on Ray and compare it with local on the same cores")
    parser.add_argument("--ray-address", help="with --executor ray: an existing cluster (default: --ray-nodes local nodes)")
    parser.add_argument("--ray-nodes", type=int, default=2, help="with --executor ray: Ray nodes started on this machine")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.ray_nodes < 1 or args.ray_nodes > args.workers:
        parser.error(f"--ray-nodes must be between 1 and --workers ({args.workers})")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    systems = args.system or ["unprocessed"]
    metrics = args.metric or list(DEFAULT_METRICS)
    at_start = machine()
    at_start["free_cores"] = round(free_cores(args.workers), 2)

    with tempfile.TemporaryDirectory(prefix="sebench-throughput-") as scratch:
        root = Path(scratch)
        testset, pairs = build_workload(root / "workload", args.items)

        def config(name: str, executor: str = "serial", cache: str = "cache-serial") -> RunConfig:
            return RunConfig(name=name, testsets=[parse_spec(testset)], systems=[parse_spec(s) for s in systems],
                             metrics=[parse_spec(m) for m in metrics], runs_dir=root / "runs", cache_dir=root / cache,
                             executor=executor, workers=args.workers)

        warm = time.perf_counter()
        audio = sum(_seconds(pair.noisy) for pair in pairs)
        warmup = config("warmup", cache="cache-warmup")
        warmup.limit = 1
        execute(warmup, progress=False)
        warm = time.perf_counter() - warm
        lengths = sorted(_seconds(pair.noisy) for pair in pairs)
        print(f"workload {testset}: {len(pairs)} items, {audio:.1f} s of audio ({lengths[0]:.1f}-{lengths[-1]:.1f} s "
              f"each); systems: {', '.join(systems)}; metrics: {', '.join(metrics)}")
        print(f"  warm-up            {warm:7.1f} s (this process's imports, for the cached re-run; not counted)")
        print("  each cold pass runs in a new interpreter, timed from its start (imports, model loads included)")

        loop, loop_scores = loop_pass(pairs, metrics)
        print(f"  plain loop         {loop.wall:7.1f} s")
        serial, serial_run = cold_harness_pass("serial", config("serial"))
        print(f"  serial harness     {serial.wall:7.1f} s")
        local, _ = cold_harness_pass("local", config("local", "local", "cache-local"), workers=args.workers)
        print(f"  local harness ({args.workers}) {local.wall:7.1f} s")
        cached, _ = harness_pass("cached", config("cached", "local"))
        print(f"  cached re-run      {cached.wall:7.2f} s (new run name, in this process: every result read from the "
              "cache and recorded)")
        resumed, _ = harness_pass("resumed", config("serial"))
        print(f"  resumed re-run     {resumed.wall:7.2f} s (same run name: everything already recorded)")
        ray_run = None
        if args.executor == "ray":
            where = args.ray_address or f"{args.ray_nodes} local nodes"
            ray_run = ray_pass(config("ray", "ray", "cache-ray"), args, root)
            print(f"  ray harness        {ray_run.wall:7.1f} s ({where}; a new driver interpreter, timed from its start)")
        cli = cached_cli_seconds(config("cached-cli", "local"))
        print(f"  cached, command line {cli:5.2f} s (sebench run in a new interpreter, table printed)")
        differences = score_differences(config("serial"), serial_run, loop_scores)

    stages = [stage for stage in serial.stages.items if stage.startswith(ENHANCE_STAGE)]
    stages += [m for m in (parse_spec(s).name for s in metrics) if m in serial.stages.items]
    headers = ["stage", "serial items/s", "serial audio-s/s", f"local({args.workers}) items/s", f"local({args.workers}) audio-s/s"]
    parallel = [serial, local]
    if ray_run is not None:
        headers += [f"ray({args.workers}) items/s", f"ray({args.workers}) audio-s/s"]
        parallel.append(ray_run)
    print()
    print(tabulate(rate_rows(parallel, stages), headers=headers, floatfmt=".2f", tablefmt="github"))

    cold_ratio = local.wall / loop.wall
    serial_ratio = serial.wall / loop.wall
    cached_ratio = cached.wall / loop.wall
    speedup = serial.wall / local.wall
    projected = serial.total_cpu / (local.total_cpu / args.workers) if local.total_cpu else float("nan")
    total = time.perf_counter() - began
    at_end = machine()
    at_end["free_cores"] = round(free_cores(args.workers), 2)
    print()
    print("harness vs loop, largest difference per column: "
          + ", ".join(f"{column} {value:.2g}" for column, value in sorted(differences.items())))
    print(f"cold run / loop: {cold_ratio:.2f}x ({local.wall:.1f} s with {args.workers} workers vs {loop.wall:.1f} s) "
          f"(target <= {TARGETS['cold']}x: {verdict(cold_ratio <= TARGETS['cold'])}); serial harness / loop: "
          f"{serial_ratio:.2f}x ({serial.total_cpu:.1f} vs {loop.total_cpu:.1f} CPU s)")
    print(f"cached re-run / loop: {cached_ratio:.4f}x ({cached.wall:.2f} s, of which {cached.recording:.2f} s recording "
          f"results) (target <= {TARGETS['cached']}x: {verdict(cached_ratio <= TARGETS['cached'])}); resumed re-run "
          f"{resumed.wall / loop.wall:.4f}x ({resumed.wall:.2f} s); from the command line {cli / loop.wall:.3f}x "
          f"({cli:.2f} s)")
    print(f"parallel speedup: {speedup:.2f}x wall with {args.workers} workers on {at_start['cores']} cores "
          f"(target >= {TARGETS['speedup']}x: {verdict(speedup >= TARGETS['speedup'])}); the local run used "
          f"{local.total_cpu:.1f} CPU s in all vs {serial.total_cpu:.1f} serially, so on {args.workers} idle cores "
          f"expect about {projected:.2f}x")
    computed = sum(serial.stages.seconds.values())  # the serial run's computing, split across workers at best
    ceiling = serial.wall / (serial.wall - computed * (1 - 1 / args.workers))
    print(f"start-up: the serial run spent {serial.wall - computed:.1f} s of its {serial.wall:.1f} s outside the stages' "
          f"computing ({serial.loading:.1f} s loading models and their imports); every worker pays that loading "
          f"again ({local.loading:.1f} s summed over {args.workers}), so with the computing split perfectly "
          f"{args.workers} workers can reach at most {ceiling:.2f}x")
    if ray_run is not None:
        ray_ratio = ray_run.wall / local.wall
        print(f"ray / local: {ray_ratio:.2f}x wall ({ray_run.wall:.1f} s vs {local.wall:.1f} s on {args.workers} cores) "
              f"(target <= {TARGETS['ray_vs_local']}x: {verdict(ray_ratio <= TARGETS['ray_vs_local'])}); CPU s: ray "
              f"{ray_run.total_cpu:.1f} (driver {ray_run.cpu:.1f}, Ray processes {ray_run.children_cpu:.1f}) vs local "
              f"{local.total_cpu:.1f}")
    print(f"whole benchmark: {total:.0f} s (target < {TARGETS['total_seconds']:.0f} s: "
          f"{verdict(total < TARGETS['total_seconds'])})")
    print(f"machine: {at_start['cpu']}, {at_start['cores']} cores, Python {at_start['python']}, {at_start['platform']}; "
          f"load average {at_start['load_average']} at start, {at_end['load_average']} at end; {at_start['utc']}")
    print(f"free cores ({args.workers} CPU-bound processes at once): {at_start['free_cores']} at start, "
          f"{at_end['free_cores']} at end (the most a {args.workers}-worker speedup can be right now)")

    if args.json:
        runs = (loop, serial, local, cached, resumed) + ((ray_run,) if ray_run is not None else ())
        figures = {
            "testset": testset, "items": len(pairs), "audio_seconds": audio, "systems": systems, "metrics": metrics,
            "workers": args.workers, "machine": at_start, "load_average_end": at_end["load_average"],
            "free_cores_end": at_end["free_cores"],
            "wall_seconds": {p.name: p.wall for p in runs},
            "cpu_seconds": {p.name: {"driver": p.cpu, "workers": p.children_cpu} for p in runs},
            "stages": {p.name: {"items": p.stages.items, "audio_seconds": p.stages.audio, "seconds": p.stages.seconds}
                       for p in parallel},
            "cached_cli_seconds": cli, "cold_vs_loop": cold_ratio, "serial_vs_loop": serial_ratio, "cached_vs_loop": cached_ratio,
            "speedup": speedup, "projected_speedup": projected, "speedup_ceiling": ceiling,
            "loading_seconds": {"serial": serial.loading, "local": local.loading}, "score_differences": differences,
            "recording_seconds": {"serial": serial.recording, "cached": cached.recording}, "total_seconds": total,
        }
        if ray_run is not None:
            figures["ray_vs_local"] = ray_run.wall / local.wall
            figures["ray"] = {"address": args.ray_address, "nodes": None if args.ray_address else args.ray_nodes}
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
