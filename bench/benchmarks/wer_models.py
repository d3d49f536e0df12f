"""Accuracy and cost of each shipped ASR model for the WER metric, to choose its default.

    python -m bench.benchmarks.wer_models [--models tiny.en,base] [--n-per-subset 10] [--beam-size 5]

Scores, with the ``wer`` metric exactly as a run uses it (same decoding and normaliser), three
groups of audio: real read speech (the LibriSpeech test-clean utterances in ``../shared/data``,
skipped when absent), the synthetic suite's clean references (what the ``oracle`` row is scored
on; every subset with a transcript) and its noisy denoise inputs (the ``unprocessed`` row of
``no_reverb`` and ``with_reverb``). Per model and group it prints corpus WER and CER (total edits /
total reference words or characters), and the decoder's cost in milliseconds per second of audio:
CPU time of this single-threaded process (the steadier number on a shared machine) and wall time.
``load s`` is the one-off model load per worker.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tabulate import tabulate

from bench.audio import load_audio
from bench.item import Item
from bench.metric import ScoringContext
from bench.metrics._asr import SAMPLE_RATE, SHIPPED_MODELS
from bench.metrics.wer import WER
from bench.paths import shared_data_root
from bench.testset import TESTSETS

DENOISE_SUBSETS = ("no_reverb", "with_reverb")


@dataclass(frozen=True)
class Utterance:
    group: str
    path: Path
    transcript: str


def librispeech_utterances(root: Path) -> list[Utterance]:
    """Every ``*.flac`` listed in a LibriSpeech ``*.trans.txt`` under ``root``."""
    found = []
    for trans in sorted(root.rglob("*.trans.txt")):
        for line in trans.read_text().splitlines():
            if line.strip():
                utterance, text = line.split(" ", 1)
                found.append(Utterance("LibriSpeech test-clean", trans.parent / f"{utterance}.flac", text))
    return found


def synthetic_utterances(n_per_subset: int) -> list[Utterance]:
    """Clean references of every synthetic item with a transcript, then the noisy denoise inputs."""
    items = list(TESTSETS.get("synthetic")(n_per_subset=n_per_subset).items())
    clean = [Utterance("synthetic clean (oracle)", i.reference, i.transcript)
             for i in items if i.transcript and i.reference is not None]
    noisy = [Utterance("synthetic noisy (unprocessed)", i.input, i.transcript)
             for i in items if i.transcript and i.subset in DENOISE_SUBSETS]
    return clean + noisy


def utterances(n_per_subset: int) -> list[Utterance]:
    shared = shared_data_root()
    real = librispeech_utterances(shared / "librispeech-test-clean-mini") if shared else []
    return real + synthetic_utterances(n_per_subset)


def measure(model: str, found: list[Utterance], beam_size: int = 5) -> list[dict[str, object]]:
    """One row per group: corpus WER/CER and CPU/wall milliseconds per second of audio."""
    metric = WER(model=model, beam_size=beam_size)
    start = time.perf_counter()
    metric.load()
    load_s = time.perf_counter() - start
    totals: dict[str, np.ndarray] = {}
    for utterance in found:
        audio, rate = load_audio(utterance.path, SAMPLE_RATE)
        item = Item(id=utterance.path.name, task="denoise", subset=utterance.group, sample_rate=rate,
                    input=utterance.path, transcript=utterance.transcript)
        start, start_cpu = time.perf_counter(), time.process_time()
        scores = metric.score(ScoringContext(item, audio, rate))
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        counts = [scores.get(k, 0.0) for k in ("WER_edits", "WER_words", "CER_edits", "CER_chars")]
        row = np.array([*counts, cpu, wall, len(audio) / rate, 1.0])
        totals[utterance.group] = totals.get(utterance.group, 0) + row
    return [
        {"model": model, "group": group, "utterances": int(n), "audio s": round(seconds, 1),
         "WER": round(w_edits / words, 3), "CER": round(c_edits / chars, 3),
         "CPU ms per s": round(1000 * cpu / seconds), "wall ms per s": round(1000 * wall / seconds),
         "load s": round(load_s, 2)}
        for group, (w_edits, words, c_edits, chars, cpu, wall, seconds, n) in totals.items()
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(SHIPPED_MODELS),
                        help="shipped model names or CTranslate2 folders, comma-separated (default: every shipped model)")
    parser.add_argument("--n-per-subset", type=int, default=10, help="synthetic items per subset (default 10, the suite's default)")
    parser.add_argument("--beam-size", type=int, default=5)
    args = parser.parse_args(argv)
    found = utterances(args.n_per_subset)
    rows = [row for model in args.models.split(",") for row in measure(model, found, args.beam_size)]
    print(f"beam size {args.beam_size}, {args.n_per_subset} synthetic items per subset, one CPU thread")
    print(tabulate(rows, headers="keys", tablefmt="github"))


if __name__ == "__main__":
    main()
