"""A held-out validation build from real speech: ``python -m systems.seflow.training.validset
--real-data ../shared/data/train-real --out DIR``.

Why: training settings must be chosen on data the evaluation never sees and the training never
touches. This renders the ``split=valid`` speakers of the real training folder (speaker-disjoint
from training) through five distortions, at 48 kHz, in the ``pairs`` layout
(``DIR/<distortion>/{noisy,clean}/<speaker>.flac``), so ``python -m systems.seflow.training.evaluate
--testset pairs:root=DIR`` scores it like any folder of pairs. The distortions are this module's own
(drawn with a fixed seed from ranges like the training recipe's, rooms from another seed): the
SEFlow demo page and the DNS items are evaluation-only and were not looked at to make them.
The clean reference is the dry speech; noise recordings are the training folder's own (there is no
noise hold-out), generated noises and rooms are fresh draws.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve

from bench.item import PACKET_SECONDS
from systems.seflow.training import data, realdata
from systems.seflow.training.degrade import _rms
from testsets.synthetic.noise import make_noise

RATE = 48000
SECONDS = 6.0
DISTORTIONS = ("noise", "reverb", "clip", "packet", "complex")
SEED = 20261202


def _noise(rng: np.random.Generator, pools: realdata.RealPools, n: int) -> np.ndarray:
    """A real recording (half the time) or a generated noise, unit RMS."""
    if rng.uniform() < 0.5:
        rec = data.at_rate(pools.noises[int(rng.integers(len(pools.noises)))], realdata.RATE, RATE)
        start = int(rng.integers(max(len(rec) - n, 1)))
        x = np.resize(rec[start:], n)
    else:
        x = make_noise(str(rng.choice(["pink", "babble", "bursts", "modulated", "brown"])), rng, n, RATE)
    return (x / _rms(x)).astype(np.float32)


def distort(kind: str, clean: np.ndarray, rng: np.random.Generator, pools: realdata.RealPools,
            rirs: list[np.ndarray]) -> np.ndarray:
    n = len(clean)
    x = clean.copy()
    if kind in ("reverb", "complex"):
        x = fftconvolve(x, rirs[int(rng.integers(len(rirs)))])[:n]
    if kind in ("noise", "complex"):
        x = x + _noise(rng, pools, n) * _rms(clean) * 10 ** (-rng.uniform(0.0, 15.0) / 20)
    if kind == "clip":
        c = np.abs(x).max() * rng.uniform(0.05, 0.3)
        x = np.clip(x, -c, c)
    if kind in ("packet", "complex"):
        hop = int(PACKET_SECONDS * RATE)
        lost = rng.uniform(size=-(-n // hop)) < rng.uniform(0.1, 0.25)
        x = x * np.repeat(~lost, hop)[:n]
    return x.astype(np.float32)


def build(real_root: str | Path, out: str | Path) -> Path:
    """Write the build (idempotent: same files for the same real folder)."""
    pools = realdata.load(real_root)
    rng = np.random.default_rng(SEED)
    rirs = [data.at_rate(h, 16000, RATE) for h in data.rir_pool(12, SEED)]
    out = Path(out)
    for speaker, speech in pools.valid:
        clean16 = speech[: int(SECONDS * realdata.RATE)]
        clean = realdata.widen(clean16, RATE, rng)
        clean *= 10 ** (rng.uniform(-32.0, -22.0) / 20) / _rms(clean)
        for kind in DISTORTIONS:
            noisy = distort(kind, clean, rng, pools, rirs)
            peak = max(np.abs(noisy).max(), np.abs(clean).max())
            scale = 0.95 / peak if peak > 0.95 else 1.0
            for folder, audio in (("noisy", noisy), ("clean", clean)):
                path = out / kind / folder / f"{speaker}.flac"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, audio * scale, RATE, subtype="PCM_24")
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--real-data", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    print(build(args.real_data, args.out))


if __name__ == "__main__":
    main()
