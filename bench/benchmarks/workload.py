"""The throughput benchmark's workload and its baseline: real speech of unequal length, and the
plain serial loop a user would write to score it.

``build_workload`` writes 32 noisy/clean pairs and a manifest (``id,input,reference``) to a
folder, from the team's ``../shared/data`` when present:

- the DNS Challenge 2020 sample's synthetic test items (official noisy/clean pairs, 10 s each);
- real read speech (train-real's 13 speaker-disjoint validation utterances and
  librispeech-test-clean-mini's utterances), each cropped to a seeded length of 4-16 s and mixed
  with a seeded excerpt of real recorded noise (train-real's noise folder) at a seeded SNR of
  0-20 dB; two mixtures per utterance, with different noises, until the count is reached.

Without ``../shared/data`` it falls back to the embedded synthetic suite's two denoise subsets
(eSpeak speech, 3-5 s), so the benchmark still runs anywhere. Everything is seeded: the same
folder content on every machine.

``plain_loop`` is the baseline: the same files, the same columns (DNSMOS SIG/BAK/OVRL/P808, PESQ
wide- and narrow-band, STOI, ESTOI, speaker similarity to the reference; SI-SDR on request),
computed by calling the libraries directly in one loop, the way a user without a harness would
(``speechmos.dnsmos.run``, ``pesq.pesq``, ``pystoi.stoi``, ``resemblyzer``'s ``VoiceEncoder``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import soundfile as sf

from bench.errors import ConfigError
from bench.paths import shared_data_root

SAMPLE_RATE = 16000
DEFAULT_ITEMS = 32
CROP_SECONDS = (4.0, 16.0)
SNR_DB = (0.0, 20.0)


@dataclass(frozen=True)
class Pair:
    id: str
    noisy: Path
    clean: Path


def _shared_speech(root: Path) -> list[Path]:
    speech = []
    listing = root / "train-real" / "files.csv"
    if listing.is_file():
        with listing.open() as f:
            speech += [root / "train-real" / row["path"] for row in csv.DictReader(f)
                       if row["split"] == "valid" and row["path"].startswith("speech/")]
    speech += sorted((root / "librispeech-test-clean-mini").rglob("*.flac"))
    return [path for path in speech if path.is_file()]


def _noise_excerpt(noise: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    if len(noise) < length:
        noise = np.tile(noise, length // len(noise) + 1)
    start = int(rng.integers(0, len(noise) - length + 1))
    return noise[start:start + length]


def _mixture(speech: np.ndarray, noise: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, clean): speech cropped to a seeded length, noise at a seeded SNR, peaks below 0.99."""
    length = min(len(speech), int(rng.uniform(*CROP_SECONDS) * SAMPLE_RATE))
    start = int(rng.integers(0, len(speech) - length + 1))
    clean = speech[start:start + length].astype(np.float64)
    excerpt = _noise_excerpt(noise, length, rng).astype(np.float64)
    snr = rng.uniform(*SNR_DB)
    gain = np.sqrt(np.mean(clean ** 2) / (np.mean(excerpt ** 2) * 10 ** (snr / 10) + 1e-12))
    noisy = clean + gain * excerpt
    scale = min(1.0, 0.99 / max(np.max(np.abs(noisy)), np.max(np.abs(clean)), 1e-9))
    return (noisy * scale).astype(np.float32), (clean * scale).astype(np.float32)


def _real_pairs(root: Path, folder: Path, count: int, seed: int) -> list[Pair]:
    pairs = []
    dns = root / "dns2020-sample"
    for noisy in sorted(dns.glob("*_reverb/noisy/*.wav")):
        clean = noisy.parent.parent / "clean" / f"clean_fileid_{noisy.stem.rsplit('_fileid_', 1)[1]}.wav"
        if clean.is_file():
            pairs.append(Pair(f"dns/{noisy.parent.parent.name}/{noisy.stem}", noisy, clean))
    pairs = pairs[:count]
    speech = _shared_speech(root)
    noises = sorted((root / "train-real" / "noise").rglob("*.flac"))
    rng = np.random.default_rng(seed)
    round_ = 0
    while speech and noises and len(pairs) < count:
        for path in speech:
            if len(pairs) >= count:
                break
            audio, rate = sf.read(path, dtype="float32")
            noise, noise_rate = sf.read(noises[int(rng.integers(len(noises)))], dtype="float32")
            if rate != SAMPLE_RATE or noise_rate != SAMPLE_RATE:
                continue
            noisy, clean = _mixture(audio, noise, rng)
            name = f"{path.stem}_{round_}"
            sf.write(folder / "noisy" / f"{name}.wav", noisy, SAMPLE_RATE, subtype="FLOAT")
            sf.write(folder / "clean" / f"{name}.wav", clean, SAMPLE_RATE, subtype="FLOAT")
            pairs.append(Pair(f"mix/{name}", folder / "noisy" / f"{name}.wav", folder / "clean" / f"{name}.wav"))
        round_ += 1
    return pairs


def build_workload(folder: Path, count: int = DEFAULT_ITEMS, seed: int = 0) -> tuple[str, list[Pair]]:
    """Write the workload into ``folder``; returns (test-set spec string, pairs in manifest order)."""
    root = shared_data_root()
    if root is None:
        from bench.plan import load_items
        from bench.spec import parse_spec

        spec = f"synthetic:n_per_subset={(count + 1) // 2},subsets=no_reverb+with_reverb"
        items = [item for _, loaded in load_items([parse_spec(spec)]) for item in loaded]
        return spec, [Pair(item.id, item.input, item.reference) for item in items if item.reference]
    (folder / "noisy").mkdir(parents=True, exist_ok=True)
    (folder / "clean").mkdir(parents=True, exist_ok=True)
    pairs = _real_pairs(root, folder, count, seed)
    manifest = folder / "items.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "input", "reference"])
        for pair in pairs:
            writer.writerow([pair.id, pair.noisy, pair.clean])
    return f"manifest:path={manifest},root=/,subset=real", pairs


def _loop_scorers(metrics: Sequence[str]) -> list[Callable[[np.ndarray, np.ndarray, int], dict[str, float]]]:
    """One plain function per metric, written with the libraries alone (imports paid here)."""
    scorers = []
    for name in metrics:
        if name == "dnsmos":
            from speechmos import dnsmos

            def score_dnsmos(noisy: np.ndarray, clean: np.ndarray, rate: int) -> dict[str, float]:
                mos = dnsmos.run(np.clip(noisy, -1, 1), rate)
                return {"DNSMOS_SIG": mos["sig_mos"], "DNSMOS_BAK": mos["bak_mos"], "DNSMOS_OVRL": mos["ovrl_mos"],
                        "DNSMOS_P808": mos["p808_mos"]}

            scorers.append(score_dnsmos)
        elif name == "pesq":
            from pesq import pesq

            scorers.append(lambda noisy, clean, rate: {"PESQ_WB": pesq(rate, clean, noisy, "wb"),
                                                       "PESQ_NB": pesq(rate, clean, noisy, "nb")})
        elif name == "stoi":
            from pystoi import stoi

            scorers.append(lambda noisy, clean, rate: {"STOI": stoi(clean, noisy, rate, extended=False),
                                                       "ESTOI": stoi(clean, noisy, rate, extended=True)})
        elif name == "spksim":
            from resemblyzer import VoiceEncoder, preprocess_wav

            encoder = VoiceEncoder(device="cpu", verbose=False)
            scorers.append(lambda noisy, clean, rate: {"SpkSim": float(np.dot(
                encoder.embed_utterance(preprocess_wav(noisy, rate)), encoder.embed_utterance(preprocess_wav(clean, rate))))})
        elif name == "sisdr":
            from bench.metrics.sisdr import si_sdr

            scorers.append(lambda noisy, clean, rate: {"SISDR": si_sdr(clean, noisy)})
        else:
            raise ConfigError(f"the plain loop has no version of metric {name!r}; it knows {', '.join(LOOP_METRICS)}")
    return scorers


LOOP_METRICS = ("dnsmos", "pesq", "stoi", "spksim", "sisdr")


def plain_loop(pairs: Sequence[Pair], metrics: Sequence[str]) -> dict[str, dict[str, float]]:
    """{item id: {column: value}}: each file read, each library called directly, one item after the
    other, as a user without a harness would write it."""
    scorers = _loop_scorers(metrics)
    results = {}
    for pair in pairs:
        noisy, rate = sf.read(pair.noisy, dtype="float32")
        clean, _ = sf.read(pair.clean, dtype="float32")
        n = min(len(noisy), len(clean))
        scores: dict[str, float] = {}
        for scorer in scorers:
            scores.update({column: float(value) for column, value in scorer(noisy[:n], clean[:n], rate).items()})
        results[pair.id] = scores
    return results
