"""The mel front end of the DNSMOS P.808 and AECMOS models, in plain numpy.

speechmos computes these features with ``librosa.feature.melspectrogram`` + ``power_to_db``; the
first call in a fresh process pays several seconds of numba compilation (about 13 s on the 2-core
CI machine, before the numba cache is warm), once per worker. The features are simple enough to
reproduce exactly: a centred, zero-padded STFT with a periodic Hann window, the Slaney-style mel
filterbank (librosa's default: ``htk=False``, ``norm='slaney'``), power in dB relative to the
clip maximum with an 80 dB floor, then the models' ``(dB + 40) / 40`` scaling.
tests/test_metrics_dnsmos.py checks the result against librosa.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_F_SP = 200.0 / 3.0  # Slaney mel scale: linear 66.7 Hz per mel below 1 kHz ...
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0  # ... and logarithmic above it


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _F_SP
    log = _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(hz >= _MIN_LOG_HZ, log, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * _F_SP
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel - _MIN_LOG_MEL))
    return np.where(mel >= _MIN_LOG_MEL, log, linear)


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters from 0 Hz to Nyquist, area-normalised (Slaney)."""
    fft_freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    mel_edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2.0), n_mels + 2))
    widths = np.diff(mel_edges)
    ramps = mel_edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_edges[2:] - mel_edges[:-2]))[:, None]
    return weights


@lru_cache(maxsize=8)
def _hann(length: int) -> np.ndarray:
    """Periodic Hann window (scipy ``get_window('hann', n, fftbins=True)``)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)


def power_mel(audio: np.ndarray, sample_rate: int, n_fft: int, hop: int, n_mels: int) -> np.ndarray:
    """(frames, n_mels) mel power spectrogram of a centred STFT (``center=True``, zero padding)."""
    padded = np.pad(np.asarray(audio, dtype=np.float64), n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    power = np.abs(np.fft.rfft(frames * _hann(n_fft), axis=-1)) ** 2
    return power @ mel_filterbank(sample_rate, n_fft, n_mels).T


def mos_features(audio: np.ndarray, sample_rate: int, n_fft: int, hop: int, n_mels: int) -> np.ndarray:
    """(frames, n_mels) features as the DNSMOS/AECMOS models take them: (dB re max + 40) / 40."""
    mel = power_mel(audio, sample_rate, n_fft, hop, n_mels)
    amin = 1e-10
    db = 10.0 * np.log10(np.maximum(amin, mel)) - 10.0 * np.log10(max(amin, float(mel.max())))
    db = np.maximum(db, db.max() - 80.0)
    return ((db + 40.0) / 40.0).astype(np.float32)
