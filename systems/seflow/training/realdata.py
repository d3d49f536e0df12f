"""Real training material: read speech, environmental noise and measured room impulse responses
from a folder laid out like the team's ``train-real`` (``files.csv`` + ``MANIFEST.md``).

Why real audio: trained on eSpeak speech alone, the first checkpoints gained little on real
recordings (the SEFlow demo's VCTK items, DNS 2020), and their shallow points rated as well as their
deep ones there. Nothing is copied into the project: the folder is read at training time and the
checkpoint's sidecar records the sha256 of its ``files.csv`` plus the attribution below.

All of it is 16 kHz. The speech is split per speaker (``split`` column); ``valid`` speakers never
reach training and serve as the held-out build (``validset.py``). Each training utterance is cut
into two halves that count as two utterances of its speaker, so a target speech (TSE) example can
take its enrollment from the other half: the LibriSpeech excerpts hold one utterance per speaker.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.audio import file_sha256, load_audio

RATE = 16000
RIR_SECONDS = 1.0
"""Measured responses are cut 1 s after the direct path: the longest (a large hall) ring for
several seconds, beyond the model's 0.64 s attention span and the synthetic suite's rooms."""

ATTRIBUTION = {
    "resemble-ai/Resemblyzer": "LibriSpeech train-clean-100 excerpts, CC BY 4.0 (Panayotov et al., LibriSpeech)",
    "LCAV/pyroomacoustics": "CMU ARCTIC excerpts (speakers aew, axb) shipped in pyroomacoustics (MIT)",
    "rafaelmardojai/blanket": "Blanket ambient sounds (Freesound/SoundBible): CC0, CC BY, CC BY 3.0, Public Domain per SOUNDS_LICENSING.md",
    "DrunkenToast/gui-project": "Freesound sounds: construction CC BY 3.0, farm CC0, leaves and owls CC BY 4.0",
    "chaeyoung-lee/wids_tutorial": "Speech Commands background noise recordings, CC BY 4.0",
    "spatialaudio/selected-topics-in-audio-signal-processing-exercises": "clap RIRs of a seminar room, CC0 1.0",
    "QVbDev/quantumVerb": "OpenAIR impulse responses: medium_hall CC BY 3.0; large_church, large_hall, medium_chamber CC BY-SA 3.0",
}
"""Per-source licences as ``MANIFEST.md`` states them (the sidecar copies the entries it used)."""


@dataclass
class RealPools:
    """Waveforms at ``RATE``: speech as (speaker, samples), noise recordings, RIRs (direct path at
    sample 0 with gain 1, like ``data.rir_pool``)."""

    speech: list[tuple[str, np.ndarray]]
    valid: list[tuple[str, np.ndarray]]
    noises: list[np.ndarray]
    rirs: list[np.ndarray]
    provenance: dict = field(default_factory=dict)


def _rows(root: Path) -> list[dict[str, str]]:
    index = root / "files.csv"
    if not index.is_file():
        raise FileNotFoundError(
            f"no files.csv in {root}: --real-data must be a folder laid out like ../shared/data/train-real "
            "(files.csv with path, source_repo, commit, speaker, split columns)"
        )
    with open(index, newline="") as f:
        return list(csv.DictReader(f))


def crop_rir(h: np.ndarray, rate: int = RATE, seconds: float = RIR_SECONDS) -> np.ndarray:
    """Start one sample before the strongest tap (the direct path), keep ``seconds``, unit peak."""
    peak = int(np.argmax(np.abs(h)))
    h = h[max(peak - 1, 0) : peak + int(rate * seconds)]
    return (h / np.abs(h).max()).astype(np.float32)


def load(root: str | Path) -> RealPools:
    """Read every file ``files.csv`` lists under ``root`` (a missing one is an error naming it)."""
    root = Path(root)
    rows = _rows(root)
    speech: list[tuple[str, np.ndarray]] = []
    valid: list[tuple[str, np.ndarray]] = []
    noises: list[np.ndarray] = []
    rirs: list[np.ndarray] = []
    used: dict[str, int] = {}
    for row in rows:
        path = row["path"]
        if path.startswith("rir/") and "/48k/" in path:
            continue  # 48 kHz copies of RIRs already staged at 16 kHz
        audio, _ = load_audio(root / path, RATE)
        kind = path.split("/", 1)[0]
        if kind == "speech":
            if row["split"] == "valid":
                valid.append((row["speaker"], audio))
                continue
            half = len(audio) // 2
            speech += [(row["speaker"], audio[:half]), (row["speaker"], audio[half:])]
        elif kind == "noise":
            noises.append(audio)
        elif kind == "rir":
            rirs.append(crop_rir(audio))
        else:
            continue
        key = f"{row['source_repo']}@{row['commit'][:12]}"
        used[key] = used.get(key, 0) + 1
    provenance = {
        "root": str(root),
        "files_csv_sha256": file_sha256(root / "files.csv"),
        "files_used": used,
        "attribution": {repo: text for repo, text in ATTRIBUTION.items() if any(k.startswith(repo + "@") for k in used)},
        "speech_minutes_train": round(sum(len(x) for _, x in speech) / RATE / 60, 2),
        "valid_speakers_held_out": sorted({s for s, _ in valid}),
    }
    return RealPools(speech, valid, noises, rirs, provenance)


def widen(speech16: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """16 kHz speech at ``rate`` with a plausible band above 8 kHz (noise-excited extension).

    Why: resampled 16 kHz speech is empty above 8 kHz, so at 24 and 48 kHz the only energy up there
    would be noise and the model would learn that everything above 8 kHz is to be removed, which is
    wrong on real full-band recordings (the demo's VCTK). Real speech above 8 kHz is mostly
    fricative and breath noise that follows the 5-8 kHz envelope, falling with frequency; this adds
    exactly that: random-phase noise shaped frame by frame by the 6-8 kHz magnitude, with a random
    tilt of 12-30 dB from 8 kHz to the top. Target and input get the same extension."""
    from scipy.signal import istft, stft

    from bench.audio import resample

    up = resample(speech16, RATE, rate)
    if rate <= RATE:
        return up
    n = 2 * (rate // 100)
    _, _, spec = stft(up, rate, nperseg=n, noverlap=n // 2)
    freqs = np.arange(spec.shape[0]) * rate / n
    source = (freqs >= 6000) & (freqs < 7800)
    high = freqs >= 8000
    level = np.sqrt(np.mean(np.abs(spec[source]) ** 2, axis=0))
    tilt_db = rng.uniform(12.0, 30.0) * (freqs[high] - 8000) / (rate / 2 - 8000)
    phase = np.exp(2j * np.pi * rng.uniform(size=(int(high.sum()), spec.shape[1])))
    spec[high] = (10 ** (-tilt_db / 20))[:, None] * level[None] * phase
    _, out = istft(spec, rate, nperseg=n, noverlap=n // 2)
    return out[: len(up)].astype(np.float32)
