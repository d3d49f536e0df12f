"""Streaming benchmark: ``python -m systems.seflow.benchmark [--points all] [--rate 48000]``.

Feeds audio hop by hop (10 ms) through ``StreamingSEFlow`` exactly as a real-time caller would and
times every hop, with the fast engine (``onnx``: the fused step in onnxruntime) and, as the plain
baseline, the eager PyTorch step. Per point it prints:

* RTF: compute time / audio duration (below 1 = faster than real time), by the wall clock and by
  the process's CPU time (on a shared machine the wall clock also counts time spent waiting for a
  core; with one thread, CPU time is the work itself);
* latency: the algorithmic part (one hop of buffering; the look-ahead lies inside that hop) plus
  the 95th percentile of the wall-clock compute time for one hop;
* the speed-up of the fast engine over the eager one (CPU time).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from tabulate import tabulate

from systems.seflow import checkpoint, frontend
from systems.seflow.adapter import grid, parse_variant
from systems.seflow.stream import StreamingSEFlow

DEMO_POINTS = ("f-1-1", "f-3-1", "f-6-2", "f-9-3", "f-12-4")


def measure(net, rate: int, blocks: int, heads: int, seconds: float, seed: int = 0, engine: str = "onnx",
            threads: int = 1) -> dict[str, float]:
    """Time ``seconds`` of audio through the streaming model, after one second of warm-up."""
    stream = StreamingSEFlow(net, rate, blocks, heads, engine=engine, threads=threads)
    hop = stream.hop
    rng = np.random.default_rng(seed)
    audio = (0.05 * rng.standard_normal(int((seconds + 1.0) * rate) // hop * hop)).astype(np.float32)
    hops = audio.reshape(-1, hop)
    warm = rate // hop
    for h in hops[:warm]:
        stream.push(h)
    times = []
    cpu_start = time.process_time()
    for h in hops[warm:]:
        t = time.perf_counter()
        stream.push(h)
        times.append(time.perf_counter() - t)
    cpu = time.process_time() - cpu_start
    t_arr = np.array(times)
    hop_s = hop / rate
    return {
        "rtf": float(t_arr.sum() / (len(t_arr) * hop_s)),
        "rtf_cpu": float(cpu / (len(t_arr) * hop_s)),
        "hop_ms_mean": 1000 * float(t_arr.mean()),
        "hop_ms_p95": 1000 * float(np.percentile(t_arr, 95)),
        "latency_ms": 1000 * (hop_s + float(np.percentile(t_arr, 95))),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", default=",".join(DEMO_POINTS), help="comma list of f-B-H points, or 'all'")
    p.add_argument("--rate", type=int, default=48000)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--checkpoint", default=str(checkpoint.DEFAULT_CHECKPOINT))
    p.add_argument("--engines", default="onnx,torch", help="streaming engines to time; the first is the fast one")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    net, _ = checkpoint.load(args.checkpoint)
    points = grid() if args.points == "all" else [v.strip() for v in args.points.split(",")]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    rows = []
    for name in points:
        blocks, heads = parse_variant(name)
        results = {e: measure(net, args.rate, blocks, heads, args.seconds, engine=e, threads=args.threads) for e in engines}
        for engine, m in results.items():
            speedup = results[engines[-1]]["rtf_cpu"] / m["rtf_cpu"]
            rows.append([name, engine, f"{m['rtf']:.3f}", f"{m['rtf_cpu']:.3f}", f"{m['hop_ms_mean']:.2f}", f"{m['hop_ms_p95']:.2f}",
                         f"{m['latency_ms']:.1f}", f"{speedup:.1f}x"])
    window, hop = frontend.frame_sizes(args.rate)
    print(f"SEFlow streaming at {args.rate} Hz, hop {1000 * hop / args.rate:.0f} ms, look-ahead {frontend.lookahead_samples(args.rate)} "
          f"samples, {args.threads} thread(s), {args.seconds:g} s timed per point; load average {os.getloadavg()[0]:.1f}")
    print(tabulate(rows, headers=["point", "engine", "RTF", "RTF (CPU time)", "ms/hop mean", "ms/hop p95", "latency ms (hop + p95)",
                                  f"speed-up vs {engines[-1]}"], tablefmt="github"))


if __name__ == "__main__":
    main()
