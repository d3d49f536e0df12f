"""Per-metric cost on this machine, in milliseconds per second of audio (wall clock and CPU).

    python -m bench.benchmarks.metric_cost [--seconds 10] [--rate 16000] [--repeats 3] [--metrics dnsmos,pesq]

Scores one synthetic item (eSpeak NG sentences of the synthetic suite plus white noise at 10 dB SNR,
carrying every signal a metric may need) with each metric: ``load`` is the one-off model load per worker; the costs are
medians of ``--repeats`` timed calls after one warm-up call, each on a fresh ScoringContext so
reading and resampling the reference is included, divided by the clip length. CPU time (all
threads of this process) is the steadier number on a shared machine; wall time is what a run waits.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from tabulate import tabulate

from bench.audio import load_audio, resample, write_audio
from bench.item import FAREND_SINGLE_TALK, Item
from bench.metric import METRICS, ScoringContext
from bench.plan import load_items
from bench.spec import parse_spec

def _sentences() -> list[tuple[np.ndarray, int, str]]:
    """Clean eSpeak NG sentences with their transcripts: the synthetic suite's no_reverb references
    (found through the test-set registry; the core never imports a loader)."""
    items = [item for _, loaded in load_items([parse_spec("synthetic:subsets=no_reverb")]) for item in loaded]
    return [(*load_audio(item.reference), item.transcript or "") for item in items if item.reference]


def _speech(sentences: list[tuple[np.ndarray, int, str]], seconds: float, rate: int) -> tuple[np.ndarray, str]:
    """Sentences one after another until ``seconds`` are filled, and their transcript."""
    pieces, words, total = [], [], 0
    for audio, sentence_rate, transcript in itertools.cycle(sentences):
        pieces.append(resample(audio, sentence_rate, rate))
        words.append(transcript)
        total += len(pieces[-1])
        if total >= seconds * rate:
            break
    return np.concatenate(pieces)[: int(seconds * rate)], " ".join(words)


def build_item(root: Path, seconds: float, rate: int) -> tuple[Item, np.ndarray]:
    """An item with reference, enrollment, far end, loss trace and transcript, and its noisy output."""
    sentences = _sentences()
    clean, transcript = _speech(sentences[0::2], seconds, rate)
    far, _ = _speech(sentences[1::2], seconds, rate)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(len(clean)).astype(np.float32) * np.sqrt(np.mean(clean**2) / 10)
    output = np.clip(clean + noise, -1, 1).astype(np.float32)
    paths = {}
    for name, audio in (("input", output + 0.3 * far), ("reference", clean), ("enrollment", clean[::-1].copy()), ("far_end", far)):
        paths[name] = root / f"{name}.wav"
        write_audio(paths[name], audio, rate)
    item = Item(
        id="bench", task="denoise+plc+tse+aec", subset="bench", sample_rate=rate, transcript=transcript,
        talk_type=FAREND_SINGLE_TALK, loss_trace=(0,) * int(seconds * 50), **paths,
    )
    return item, output


def measure(names: list[str], seconds: float, rate: int, repeats: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        item, output = build_item(Path(tmp), seconds, rate)
        for name in names:
            metric = METRICS.get(name)()
            start = time.perf_counter()
            metric.load()
            load_s = time.perf_counter() - start
            metric.score(ScoringContext(item, output, rate))  # warm-up: lazy imports, first-call setup
            wall, cpu = [], []
            for _ in range(repeats):
                start, start_cpu = time.perf_counter(), time.process_time()
                metric.score(ScoringContext(item, output, rate))
                wall.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
            rows.append({
                "metric": name,
                "columns": ", ".join(c.name for c in metric.columns if not c.hidden),
                "load s": round(load_s, 2),
                "wall ms per s": round(1000 * statistics.median(wall) / seconds, 1),
                "CPU ms per s": round(1000 * statistics.median(cpu) / seconds, 1),
            })
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length (default 10)")
    parser.add_argument("--rate", type=int, default=16000, help="item sample rate (default 16000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per metric (default 3)")
    parser.add_argument("--metrics", default="dnsmos,pesq,stoi,sisdr,wer,spksim,plcmos,aecmos,erle")
    args = parser.parse_args(argv)
    rows = measure(args.metrics.split(","), args.seconds, args.rate, args.repeats)
    print(f"{args.seconds:g} s clip at {args.rate} Hz, median of {args.repeats} calls")
    print(tabulate(rows, headers="keys", tablefmt="github"))


if __name__ == "__main__":
    main()
