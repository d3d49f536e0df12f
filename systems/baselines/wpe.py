"""Weighted prediction error dereverberation (Nakatani et al., 2010; Yoshioka & Nakatani, 2012)
with ``nara-wpe`` (Drude et al., 2018), the classic dereverberation row.

WPE predicts the late reverberation in each STFT bin from the frames ``delay`` to
``delay + taps - 1`` before it and subtracts the prediction, iteratively re-weighting by the
estimated speech power. It removes late reverberation, not noise. Single channel, offline
(statistics over the whole item), at 16 kHz with nara-wpe's documented settings: 512-point STFT,
128 shift, 10 taps, delay 3, 3 iterations. nara-wpe's STFT pads and un-pads symmetrically, so the
output is aligned with the input.

Tasks: ``dereverb``, and ``denoise`` as well, because the reverberant test sets WPE belongs on
are ``denoise`` items (the DNS Challenge's with_reverb subset asks for noise removal with the
reverberation kept; the synthetic with_reverb subset scores against the dry source); declaring it
gives WPE its row there. On dry speech it has little to predict and changes little.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.item import DENOISE, DEREVERB
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, register_system
from systems.baselines._common import installed_version, require, undelay

FFT_SIZE = 512
SHIFT = 128


@register_system("wpe")
class WPE(System):
    """Config: ``taps`` (prediction filter length in frames, default 10), ``delay`` (frames
    skipped before the prediction starts, which keeps the direct sound and early reflections,
    default 3), ``iterations`` (default 3)."""

    tasks = frozenset({DEREVERB, DENOISE})
    sample_rate = 16000
    version = installed_version("nara-wpe")
    license = "MIT (nara-wpe)"
    options = {"taps": 10, "delay": 3, "iterations": 3}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._wpe: Any = None
        self._utils: Any = None

    def load(self) -> None:
        if self._wpe is None:
            self._wpe = require("nara_wpe.wpe", "nara-wpe")
            self._utils = require("nara_wpe.utils", "nara-wpe")

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        self.load()
        audio = np.asarray(inputs.audio, dtype=np.float64)
        spectra = self._utils.stft(audio, size=FFT_SIZE, shift=SHIFT)  # (frames, bins)
        # nara-wpe wants (bins, channels, frames)
        dereverberated = self._wpe.wpe(
            spectra.T[:, np.newaxis, :],
            taps=int(self.config["taps"]),
            delay=int(self.config["delay"]),
            iterations=int(self.config["iterations"]),
            statistics_mode="full",
        )
        output = self._utils.istft(dereverberated[:, 0, :].T, size=FFT_SIZE, shift=SHIFT)
        return undelay(output, 0, len(audio))
