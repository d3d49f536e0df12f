"""Speex noise suppression (the libspeexdsp preprocessor) through ``speexdsp-ns``.

The preprocessor works on 20 ms frames of 16-bit PCM and returns each frame one frame late
(its analysis window overlaps the previous frame); the adapter removes that frame of delay.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.item import DENOISE
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, register_system
from systems.baselines._common import from_int16, installed_version, padded, require, run_frames, to_int16, undelay

FRAME_SECONDS = 0.02


@register_system("speex-ns")
class SpeexNS(System):
    tasks = frozenset({DENOISE})
    sample_rate = 16000
    version = installed_version("speexdsp-ns")
    license = "BSD-3-Clause (libspeexdsp, speexdsp-ns)"
    options = {}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._ns: Any = None

    def load(self) -> None:
        if self._ns is None:
            self._ns = require("speexdsp_ns", "speexdsp-ns")

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        self.load()
        frame = round(FRAME_SECONDS * inputs.sample_rate)
        suppressor = self._ns.NoiseSuppression.create(frame, inputs.sample_rate)

        def suppress(chunk: np.ndarray) -> np.ndarray:
            return from_int16(np.frombuffer(suppressor.process(to_int16(chunk).tobytes()), dtype=np.int16))

        output = run_frames(padded(inputs.audio, frame, frame), frame, suppress)
        return undelay(output, frame, len(inputs.audio))
