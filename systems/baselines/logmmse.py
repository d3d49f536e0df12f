"""The log-spectral amplitude MMSE estimator (Ephraim & Malah, 1985), the classic statistical
denoiser row, implemented here in numpy from the papers' equations.

PyPI's ``logmmse`` wheel (1.5) has not been released since 2020 and estimates the noise once
from the first frames, so it is not used. Per STFT bin and frame:

* noise power: the speech-presence-probability MMSE tracker of Gerkmann & Hendriks (2012):
  a posteriori speech presence with a fixed 15 dB prior SNR under speech, ``P(H1) = 0.5``,
  the expected noise periodogram ``(1 - P) |Y|^2 + P * lambda``, recursive smoothing with 0.8,
  and the stagnation guard (P capped at 0.99 while its smoothed value exceeds 0.99); initialised
  from the mean of the first frames;
* a priori SNR: the decision-directed estimate (``alpha`` 0.98, floor -25 dB);
* gain: ``G = xi / (1 + xi) * exp(E1(v) / 2)`` with ``v = xi * gamma / (1 + xi)``.

32 ms square-root Hann frames at a 16 ms hop, 16 kHz; the STFT is delay-free (``_stft``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import exp1

from bench.item import DENOISE
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, register_system
from systems.baselines._stft import SqrtHannSTFT

STFT = SqrtHannSTFT(window_length=512, hop=256, fft_size=512)
INITIAL_NOISE_FRAMES = 5
SPEECH_PRIOR_SNR_DB = 15.0
NOISE_SMOOTHING = 0.8
PRESENCE_SMOOTHING = 0.9
PRESENCE_CAP = 0.99
POWER_FLOOR = 1e-12


def noise_power(power: np.ndarray) -> np.ndarray:
    """Noise periodogram estimate per frame (frames, bins) by SPP-based MMSE tracking."""
    xi_h1 = 10 ** (SPEECH_PRIOR_SNR_DB / 10)
    estimate = np.maximum(np.mean(power[:INITIAL_NOISE_FRAMES], axis=0), POWER_FLOOR)
    smoothed_presence = np.zeros(power.shape[1])
    out = np.empty_like(power)
    for frame, periodogram in enumerate(power):
        out[frame] = estimate
        exponent = np.minimum(periodogram / estimate * xi_h1 / (1 + xi_h1), 700.0)
        presence = 1.0 / (1.0 + (1.0 + xi_h1) * np.exp(-exponent))
        smoothed_presence = PRESENCE_SMOOTHING * smoothed_presence + (1 - PRESENCE_SMOOTHING) * presence
        presence = np.where(smoothed_presence > PRESENCE_CAP, np.minimum(presence, PRESENCE_CAP), presence)
        expected = (1 - presence) * periodogram + presence * estimate
        estimate = np.maximum(NOISE_SMOOTHING * estimate + (1 - NOISE_SMOOTHING) * expected, POWER_FLOOR)
    return out


def log_mmse_gains(power: np.ndarray, noise: np.ndarray, alpha: float, xi_min: float) -> np.ndarray:
    """Ephraim-Malah log-spectral amplitude gains with the decision-directed a priori SNR."""
    gains = np.empty_like(power)
    previous_amplitude_sq = noise[0].copy()  # first frame: xi = alpha + (1 - alpha) * max(gamma - 1, 0)
    for frame in range(power.shape[0]):
        gamma = np.minimum(power[frame] / noise[frame], 1e4)
        xi = alpha * previous_amplitude_sq / noise[frame] + (1 - alpha) * np.maximum(gamma - 1, 0)
        xi = np.maximum(xi, xi_min)
        ratio = xi / (1 + xi)
        v = np.maximum(ratio * gamma, 1e-10)
        gain = ratio * np.exp(0.5 * exp1(v))
        gains[frame] = gain
        previous_amplitude_sq = gain**2 * power[frame]
    return np.minimum(gains, 1.0)


@register_system("logmmse")
class LogMMSE(System):
    """Config: ``alpha`` (decision-directed smoothing, default 0.98) and ``xi_min_db`` (a priori
    SNR floor, default -25 dB; lower removes more noise and adds more musical noise)."""

    tasks = frozenset({DENOISE})
    sample_rate = 16000
    version = "1"
    license = "Apache-2.0 (sebench's implementation of Ephraim & Malah 1985 with Gerkmann & Hendriks 2012 noise tracking)"
    options = {"alpha": 0.98, "xi_min_db": -25.0}

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        spectra = STFT.analysis(inputs.audio)
        power = np.abs(spectra) ** 2
        gains = log_mmse_gains(power, noise_power(power), float(self.config["alpha"]), 10 ** (float(self.config["xi_min_db"]) / 10))
        return STFT.synthesis(spectra * gains, len(inputs.audio))
