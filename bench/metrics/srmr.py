"""SRMR, the speech-to-reverberation modulation energy ratio (Falk, Zheng & Chan, IEEE TASLP 2010),
a non-intrusive measure of reverberation, in numpy/scipy.

Why it is here: a dereverberator cannot be judged by an intrusive metric when the reference is
itself reverberant (the DNS Challenge's with_reverb clean files are), and DNSMOS was trained on
noise suppression. Reverberation smears the temporal envelope, which moves modulation energy from
the speech modulation rates (4-20 Hz) to higher ones; SRMR is the ratio of the two.

Structure, following the paper: the signal at 16 kHz through 23 fourth-order gammatone filters with
centre frequencies ERB-spaced from 125 Hz up to one step below the Nyquist frequency; each channel's Hilbert envelope, decimated to
400 Hz; 8 second-order modulation band-pass filters with centres log-spaced 4-128 Hz (Q = 2);
energy in 256 ms Hamming windows at a 64 ms hop, averaged over the windows. SRMR = energy of the
first four modulation bands over that of bands 5..K*, where K* (5-8) is the highest modulation band
whose centre lies below the ERB bandwidth of the acoustic channel that completes 90 % of the
energy (the paper's adaptation to the speaker's bandwidth). Higher is better (less reverberant).

This is an SRMR-like measure in sebench's own implementation, not bit-exact with the authors'
MATLAB toolbox: compare SRMR between rows of one table, not with published SRMR numbers.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import next_fast_len
from scipy.signal import butter, gammatone, hilbert, lfilter, resample_poly, sosfilt

from bench.item import DENOISE, DEREVERB
from bench.metric import Column, Metric, ScoringContext, register_metric

RATE = 16000
ENVELOPE_RATE = 400
ACOUSTIC_CHANNELS = 23
LOWEST_HZ = 125.0
MODULATION_CENTRES = np.geomspace(4.0, 128.0, 8)
MODULATION_Q = 2.0
WINDOW_S = 0.256
HOP_S = 0.064
ENERGY_SHARE = 0.9
SPEECH_BANDS = 4
MIN_UPPER_BAND = 5


def erb_bandwidth(frequency: np.ndarray | float) -> np.ndarray:
    """Glasberg & Moore (1990): equivalent rectangular bandwidth in Hz."""
    return 24.7 * (4.37 * np.asarray(frequency, dtype=np.float64) / 1000.0 + 1.0)


def erb_space(low: float, high: float, count: int) -> np.ndarray:
    """``count`` centre frequencies equally spaced on the ERB-rate scale from ``low`` up to one step
    below ``high`` (a filter centred on the Nyquist frequency would be half a filter)."""
    def rate(f: float) -> float:
        return 21.4 * np.log10(4.37 * f / 1000.0 + 1.0)

    scale = np.linspace(rate(low), rate(high), count + 1)[:-1]
    return (10 ** (scale / 21.4) - 1.0) * 1000.0 / 4.37


def _modulation_filters() -> list[np.ndarray]:
    filters = []
    for centre in MODULATION_CENTRES:
        half = centre / (2 * MODULATION_Q)
        low = np.sqrt(centre**2 + half**2) - half  # geometric centre at `centre`, bandwidth centre / Q
        filters.append(butter(1, [low, low + centre / MODULATION_Q], btype="bandpass", fs=ENVELOPE_RATE, output="sos"))
    return filters


ACOUSTIC_CENTRES = erb_space(LOWEST_HZ, RATE / 2, ACOUSTIC_CHANNELS)
GAMMATONES = [gammatone(f, "iir", fs=RATE) for f in ACOUSTIC_CENTRES]
MODULATION_FILTERS = _modulation_filters()


def modulation_energy(audio: np.ndarray) -> np.ndarray:
    """Mean windowed energy per (acoustic channel, modulation band), shape (23, 8)."""
    window = np.hamming(round(WINDOW_S * ENVELOPE_RATE))
    hop = round(HOP_S * ENVELOPE_RATE)
    energy = np.zeros((ACOUSTIC_CHANNELS, len(MODULATION_CENTRES)))
    for k, (b, a) in enumerate(GAMMATONES):
        band = lfilter(b, a, audio)
        analytic = hilbert(band, N=next_fast_len(len(band)))[: len(band)]  # a fast FFT length: 4x quicker
        envelope = resample_poly(np.abs(analytic), ENVELOPE_RATE, RATE)
        for j, sos in enumerate(MODULATION_FILTERS):
            modulated = sosfilt(sos, envelope)
            if len(modulated) < len(window):
                modulated = np.pad(modulated, (0, len(window) - len(modulated)))
            frames = np.lib.stride_tricks.sliding_window_view(modulated, len(window))[::hop]
            energy[k, j] = np.mean(np.sum((frames * window) ** 2, axis=1))
    return energy


def srmr(audio: np.ndarray) -> float:
    """SRMR of a 16 kHz signal (see the module docstring); NaN for digital silence."""
    audio = np.asarray(audio, dtype=np.float64)
    if not np.any(audio):
        return float("nan")
    energy = modulation_energy(audio / np.max(np.abs(audio)))
    per_channel = energy.sum(axis=1)
    cumulative = np.cumsum(per_channel) / per_channel.sum()
    channel = int(np.searchsorted(cumulative, ENERGY_SHARE))
    bandwidth = float(erb_bandwidth(ACOUSTIC_CENTRES[min(channel, ACOUSTIC_CHANNELS - 1)]))
    upper = int(np.clip(np.sum(MODULATION_CENTRES <= bandwidth), MIN_UPPER_BAND, len(MODULATION_CENTRES)))
    bands = energy.sum(axis=0)
    return float(bands[:SPEECH_BANDS].sum() / bands[SPEECH_BANDS:upper].sum())


@register_metric("srmr")
class SRMR(Metric):
    """Scored on denoise and dereverb items (reverberant test sets are labelled denoise, as DNS
    with_reverb is); the input's SRMR is the ``unprocessed`` row."""

    columns = (Column("SRMR", higher_is_better=True, lower=0.0, upper=None),)
    needs = frozenset()
    tasks = frozenset({DENOISE, DEREVERB})
    options: dict = {}

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        value = srmr(ctx.output(RATE))
        return {} if np.isnan(value) else {"SRMR": value}
