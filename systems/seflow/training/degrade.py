"""On-the-fly degradations: each training example draws its own mixture of distortions.

No task id reaches the model: the same example may be noisy, reverberant, clipped and lossy at once,
which is how SEFlow is meant to meet real input. TSE and AEC examples carry their prior (an
enrollment utterance, a far-end signal); the model must use it because the interferer is speech.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve

from bench.item import PACKET_SECONDS
from testsets.synthetic.noise import STATIONARY, make_noise

NOISE_KINDS = tuple(STATIONARY) + ("bursts", "modulated", "babble")


@dataclass
class Recipe:
    """Probabilities and ranges of the degradations (the README documents the shipped values)."""

    p_noise: float = 0.8
    snr_db: tuple[float, float] = (-5.0, 25.0)
    p_reverb: float = 0.3
    early_reflections_ms: float = 50.0
    """A reverberant example's target is the source through the first 50 ms of its RIR (direct path
    plus early reflections), not the dry source: early reflections fall inside one analysis frame,
    where a gain cannot undo them, and asking it to anyway taught the deep points to carve speech
    (with_reverb SI-SDR fell with depth). Late reverberation, the part that hurts, is still removed."""
    p_clip: float = 0.15
    clip_fraction: tuple[float, float] = (0.05, 0.5)
    """Clip level as a fraction of the signal's peak."""
    p_loss: float = 0.3
    """Raised from 0.15 for stage 3 (systems/seflow/README.md): at 0.15, lost hops were about 2 % of
    the training audio, too few for the concealment taps to be worth learning."""
    loss_rate: tuple[float, float] = (0.05, 0.3)
    p_tse: float = 0.05
    sir_db: tuple[float, float] = (-3.0, 6.0)
    p_aec: float = 0.05
    ser_db: tuple[float, float] = (-10.0, 5.0)
    level_db: tuple[float, float] = (-38.0, -18.0)
    p_recorded_noise: float = 0.5
    """Share of noisy examples whose noise is a real recording (when the degrader has any); the rest
    draw a generated kind or babble."""


DENOISE_ONLY = Recipe(p_reverb=0, p_clip=0, p_loss=0, p_tse=0, p_aec=0, p_noise=1.0)
"""Noise on every example and nothing else: ``--denoise-only`` ablations and the training log's
fixed validation batch."""


@dataclass
class Example:
    noisy: np.ndarray
    target: np.ndarray
    far_end: np.ndarray | None = None
    enrollment: np.ndarray | None = None
    kinds: tuple[str, ...] = ()


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def _crop(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A random n-sample window, zero-padded at a random offset when x is shorter."""
    if len(x) >= n:
        s = int(rng.integers(len(x) - n + 1))
        return x[s : s + n].copy()
    out = np.zeros(n, dtype=np.float32)
    s = int(rng.integers(n - len(x) + 1))
    out[s : s + len(x)] = x
    return out


class Degrader:
    """Draws examples at a given rate from pools already resampled to that rate."""

    def __init__(self, speech: list[tuple[str, np.ndarray]], babble: list[np.ndarray], rirs: list[np.ndarray],
                 rate: int, recipe: Recipe, noises: list[np.ndarray] | None = None,
                 speech_weights: np.ndarray | None = None) -> None:
        """``noises``: real noise recordings at ``rate``; ``speech_weights``: the chance of each
        utterance being drawn (uniform when None), which sets the share of each speech source."""
        self.speech = speech
        self.babble = babble
        self.rirs = rirs
        self.rate = rate
        self.recipe = recipe
        self.noises = noises or []
        self.speech_weights = None if speech_weights is None else np.asarray(speech_weights, float) / np.sum(speech_weights)
        self.by_voice: dict[str, list[int]] = {}
        for i, (voice, _) in enumerate(speech):
            self.by_voice.setdefault(voice, []).append(i)

    def _noise(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.noises and rng.uniform() < self.recipe.p_recorded_noise:
            noise = _crop(self.noises[int(rng.integers(len(self.noises)))], n, rng)
            return noise / _rms(noise)  # recordings come at their own level; SNRs assume unit RMS
        kind = NOISE_KINDS[int(rng.integers(len(NOISE_KINDS)))]
        if kind == "babble":
            return _crop(self.babble[int(rng.integers(len(self.babble)))], n, rng)
        return make_noise(kind, rng, n, self.rate).astype(np.float32)

    def example(self, rng: np.random.Generator, n: int) -> Example:
        r = self.recipe
        if self.speech_weights is None:
            idx = int(rng.integers(len(self.speech)))
        else:
            idx = int(rng.choice(len(self.speech), p=self.speech_weights))
        voice, clean = self.speech[idx]
        clean = _crop(clean, n, rng)
        level = 10 ** (rng.uniform(*r.level_db) / 20)
        clean *= level / _rms(clean)
        kinds: list[str] = []
        target = clean.copy()
        x = clean.copy()
        far = enroll = None
        u = rng.uniform()
        if u < r.p_tse:
            others = [i for i in range(len(self.speech)) if self.speech[i][0] != voice]
            interferer = _crop(self.speech[int(rng.choice(others))][1], n, rng)
            x = x + interferer * (_rms(clean) / _rms(interferer)) * 10 ** (-rng.uniform(*r.sir_db) / 20)
            same = [i for i in self.by_voice[voice] if i != idx]
            enroll = self.speech[int(rng.choice(same))][1].copy()
            kinds.append("tse")
        elif u < r.p_tse + r.p_aec:
            others = [i for i in range(len(self.speech)) if self.speech[i][0] != voice]
            far = _crop(self.speech[int(rng.choice(others))][1], n, rng)
            far *= level / _rms(far)
            delay = int(rng.integers(0, int(0.1 * self.rate)))
            path = self.rirs[int(rng.integers(len(self.rirs)))][: int(0.2 * self.rate)]
            echo = fftconvolve(np.pad(far, (delay, 0))[:n], path)[:n]
            if rng.uniform() < 0.3:
                echo = np.tanh(2.0 * echo / (np.abs(echo).max() + 1e-9)) * np.abs(echo).max() / 2.0
            echo *= (_rms(clean) / _rms(echo)) * 10 ** (-rng.uniform(*r.ser_db) / 20)
            if rng.uniform() < 0.25:  # far-end single talk: the ideal output is silence
                x = np.zeros_like(x)
                target = np.zeros_like(target)
            x = x + echo
            kinds.append("aec")
        if rng.uniform() < r.p_reverb:
            rir = self.rirs[int(rng.integers(len(self.rirs)))]
            x = fftconvolve(x, rir)[:n].astype(np.float32)
            if r.early_reflections_ms > 0:
                early = rir[: int(r.early_reflections_ms / 1000 * self.rate)]
                target = fftconvolve(target, early)[:n].astype(np.float32)
            kinds.append("reverb")
        if rng.uniform() < r.p_noise:
            noise = self._noise(rng, n)
            x = x + noise * level * 10 ** (-rng.uniform(*r.snr_db) / 20)
            kinds.append("noise")
        if rng.uniform() < r.p_clip:
            c = np.abs(x).max() * rng.uniform(*r.clip_fraction)
            x = np.clip(x, -c, c)
            kinds.append("clip")
        if rng.uniform() < r.p_loss:
            hop = int(PACKET_SECONDS * self.rate)
            lost = rng.uniform(size=-(-n // hop)) < rng.uniform(*r.loss_rate)
            x = x * np.repeat(~lost, hop)[:n]
            kinds.append("loss")
        return Example(x.astype(np.float32), target.astype(np.float32), far, enroll, tuple(kinds))
