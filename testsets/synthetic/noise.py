"""Noise generators for the synthetic suite: every one takes a numpy ``Generator`` and is a pure
function of its draws, so a seed fixes the noise exactly.

All generators share one signature, ``(rng, length, sample_rate) -> float32 array`` with unit RMS,
so a caller sets the SNR with a single gain. Stationary kinds (white, pink, brown, hum) test
steady-state noise tracking; non-stationary kinds (babble, bursts, modulated) test what DSP
noise suppressors are known to miss: speech-like interference, impulses, and level changes faster
than a noise-floor estimator adapts.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from testsets.synthetic.sentences import BABBLE
from testsets.synthetic.speech import VOICES, speak

NoiseFn = Callable[[np.random.Generator, int, int], np.ndarray]

_LOW_CUT_HZ = 20.0
"""Coloured noise is shaped from this frequency up: below it 1/f^a would blow up toward DC."""


def _unit_rms(x: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    if rms == 0.0:
        raise ValueError("generated noise is silent")
    return (x / rms).astype(np.float32)


def _coloured(rng: np.random.Generator, length: int, sample_rate: int, exponent: float) -> np.ndarray:
    """Gaussian noise with power spectral density proportional to 1/f**exponent above 20 Hz."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    freqs = np.fft.rfftfreq(length, 1.0 / sample_rate)
    gain = np.zeros_like(freqs)
    band = freqs >= _LOW_CUT_HZ
    gain[band] = freqs[band] ** (-exponent / 2.0)
    return _unit_rms(np.fft.irfft(spectrum * gain, n=length))


def white(rng: np.random.Generator, length: int, sample_rate: int) -> np.ndarray:
    """Flat spectrum: the textbook stationary case."""
    return _unit_rms(rng.standard_normal(length))


def pink(rng: np.random.Generator, length: int, sample_rate: int) -> np.ndarray:
    """1/f spectrum, close to many ambient noises (fans, rain, distant traffic)."""
    return _coloured(rng, length, sample_rate, 1.0)


def brown(rng: np.random.Generator, length: int, sample_rate: int) -> np.ndarray:
    """1/f^2 spectrum: low-frequency rumble (engines, wind) that masks vowels' first formant."""
    return _coloured(rng, length, sample_rate, 2.0)


def hum(rng: np.random.Generator, length: int, sample_rate: int) -> np.ndarray:
    """Mains hum (50 or 60 Hz) with decaying odd and even harmonics over a faint white floor."""
    mains = float(rng.choice([50.0, 60.0]))
    t = np.arange(length) / sample_rate
    out = np.zeros(length)
    for k in range(1, 9):
        if k * mains >= sample_rate / 2:
            break
        out += np.sin(2 * np.pi * k * mains * t + rng.uniform(0, 2 * np.pi)) / k
    out = _unit_rms(out) + 0.03 * rng.standard_normal(length)
    return _unit_rms(out)


def babble(rng: np.random.Generator, length: int, sample_rate: int) -> np.ndarray:
    """Four to six background talkers (eSpeak voices reading sentences disjoint from scored ones)."""
    out = np.zeros(length)
    for _ in range(int(rng.integers(4, 7))):
        voice = VOICES[int(rng.integers(len(VOICES)))]
        talker: list[np.ndarray] = []
        filled = 0
        while filled < length:
            utterance = speak(BABBLE[int(rng.integers(len(BABBLE)))], voice, sample_rate)
            talker.append(utterance)
            filled += len(utterance)
        stream = np.concatenate(talker)
        start = int(rng.integers(0, len(stream) - length + 1))
        out += _unit_rms(stream[start:start + length])
    return _unit_rms(out)


def bursts(rng: np.random.Generator, length: int, sample_rate: int) -> np.ndarray:
    """Impulsive noise: clicks and short decaying noise bursts (keyboard, door, dishes) at about
    three events per second over a pink floor 30 dB down, so no stretch is digitally silent."""
    out = 10 ** (-30 / 20) * pink(rng, length, sample_rate).astype(np.float64)
    count = max(1, int(rng.poisson(3.0 * length / sample_rate)))
    for start in np.sort(rng.integers(0, length, size=count)):
        if rng.random() < 0.5:
            span = max(1, int(0.002 * sample_rate))  # click: 2 ms decay
        else:
            span = int(rng.uniform(0.02, 0.15) * sample_rate)
        span = min(span, length - start)
        decay = np.exp(-np.arange(span) / (span / 4.0))
        out[start:start + span] += rng.uniform(3.0, 10.0) * decay * rng.standard_normal(span)
    return _unit_rms(out)


def modulated(rng: np.random.Generator, length: int, sample_rate: int) -> np.ndarray:
    """Pink noise under a deep 0.5-4 Hz amplitude modulation: level swings at syllable-to-phrase
    rates that a slowly adapting noise estimate mistakes for speech onsets."""
    t = np.arange(length) / sample_rate
    rate = rng.uniform(0.5, 4.0)
    depth = rng.uniform(0.6, 0.95)
    envelope = 1.0 + depth * np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi))
    return _unit_rms(pink(rng, length, sample_rate) * envelope)


STATIONARY: dict[str, NoiseFn] = {"white": white, "pink": pink, "brown": brown, "hum": hum}
NON_STATIONARY: dict[str, NoiseFn] = {"babble": babble, "bursts": bursts, "modulated": modulated}
NOISES: dict[str, NoiseFn] = {**STATIONARY, **NON_STATIONARY}


def make_noise(kind: str, rng: np.random.Generator, length: int, sample_rate: int) -> np.ndarray:
    """Unit-RMS noise of a named kind; an unknown kind is an error listing the known ones."""
    try:
        generator = NOISES[kind]
    except KeyError:
        raise ValueError(f"unknown noise kind {kind!r}; known: {', '.join(NOISES)}") from None
    return generator(rng, length, sample_rate)
