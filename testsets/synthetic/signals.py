"""Small signal operations the subset recipes share: levels, placement, mixing, loss traces."""

from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def db(ratio: float) -> float:
    return float(10.0 * np.log10(ratio))


def energy_ratio_db(signal: np.ndarray, other: np.ndarray) -> float:
    """10 log10 of the energy ratio over the whole clip: the suite's SNR/SIR/SER definition."""
    return db(float(np.sum(np.square(signal, dtype=np.float64))) / float(np.sum(np.square(other, dtype=np.float64))))


def set_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    """Scale to an RMS level in dB relative to full scale."""
    return x * (10 ** (dbfs / 20) / rms(x))


def place(x: np.ndarray, start: int, length: int) -> np.ndarray:
    """``x`` starting at sample ``start`` inside a zero clip of ``length`` samples (cut if it overruns)."""
    out = np.zeros(length, dtype=np.float64)
    stop = min(length, start + len(x))
    out[start:stop] = x[: stop - start]
    return out


def scale_to(signal: np.ndarray, other: np.ndarray, ratio_db: float) -> np.ndarray:
    """``other`` scaled so that energy_ratio_db(signal, result) equals ``ratio_db``."""
    gain = np.sqrt(np.sum(np.square(signal, dtype=np.float64)) / np.sum(np.square(other, dtype=np.float64)))
    return other * gain * 10 ** (-ratio_db / 20)


def peak_guard(*signals: np.ndarray, peak: float = 0.95) -> tuple[np.ndarray, ...]:
    """Scale all signals by one factor so the loudest stays below ``peak``.

    One common factor keeps every ratio (SNR, alignment with the reference) intact while no input
    file exceeds full scale, which a fixed-point system would otherwise clip.
    """
    loudest = max(float(np.max(np.abs(s))) for s in signals)
    factor = min(1.0, peak / loudest) if loudest > 0 else 1.0
    return tuple(s * factor for s in signals)


def reverberate(dry: np.ndarray, rir: np.ndarray, direct_index: int) -> np.ndarray:
    """Convolve and shift so the direct path lands where the dry signal is (same length as ``dry``)."""
    wet = fftconvolve(dry, rir)
    return wet[direct_index: direct_index + len(dry)]


def gilbert_elliott(rng: np.random.Generator, packets: int, loss_rate: float, mean_burst: float) -> np.ndarray:
    """0/1 loss flags from a two-state Markov chain (good/lost), the usual bursty-loss model.

    With P(good->lost) = p and P(lost->good) = r = 1 / mean_burst, the stationary loss rate is
    p / (p + r), so p is solved from the requested rate. The chain starts in its stationary state.
    """
    r = 1.0 / mean_burst
    p = loss_rate * r / (1.0 - loss_rate)
    draws = rng.random(packets + 1)
    flags = np.zeros(packets, dtype=np.int64)
    lost = draws[0] < loss_rate
    for i in range(packets):
        flags[i] = int(lost)
        lost = draws[i + 1] >= r if lost else draws[i + 1] < p
    return flags


def soft_saturation(x: np.ndarray, drive: float) -> np.ndarray:
    """Memoryless loudspeaker-style saturation: tanh of the peak-normalised signal, peak preserved.

    ``drive`` near 0 is linear; at ``drive`` d the peaks sit 20 log10(d / tanh d) dB below the
    small-signal gain (2.4 dB at d = 1), the kind of mild nonlinearity a small loudspeaker adds to
    an echo path, which a purely linear echo canceller cannot remove.
    """
    peak = float(np.max(np.abs(x)))
    if peak == 0.0:
        return x
    return peak * np.tanh(drive * x / peak) / np.tanh(drive)
