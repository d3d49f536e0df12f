"""RNNoise (Valin, 2018) with the weights compiled into ``pyrnnoise``'s bundled librnnoise.

pyrnnoise's high-level class resamples and reframes through ffmpeg graphs; the harness already
resamples, so this adapter calls the library's frame function directly: 10 ms frames of 48 kHz
audio on the 16-bit scale RNNoise was trained on.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from bench.item import DENOISE
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, register_system
from systems.baselines._common import INT16_SCALE, installed_version, padded, require, run_frames, undelay

DELAY_FRAMES = 2
"""Output delay in frames (960 samples = 20 ms, measured): the 20 ms analysis window overlaps one
frame and RNNoise 0.2 looks one frame ahead."""


@register_system("rnnoise")
class RNNoise(System):
    tasks = frozenset({DENOISE})
    sample_rate = 48000
    version = installed_version("pyrnnoise")
    license = "BSD-3-Clause (RNNoise); Apache-2.0 (pyrnnoise)"
    options = {}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._rn: Any = None

    def load(self) -> None:
        if self._rn is None:
            self._rn = require("pyrnnoise.rnnoise", "pyrnnoise")

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        self.load()
        rn = self._rn
        frame = int(rn.FRAME_SIZE)
        delay = DELAY_FRAMES * frame
        state = rn.create()
        pointer = ctypes.POINTER(ctypes.c_float)

        def denoise(chunk: np.ndarray) -> np.ndarray:
            source = np.ascontiguousarray(chunk, dtype=np.float32)
            out = np.empty(frame, dtype=np.float32)
            rn.lib.rnnoise_process_frame(state, out.ctypes.data_as(pointer), source.ctypes.data_as(pointer))
            return out

        try:
            scaled = padded(inputs.audio, frame, delay) * np.float32(INT16_SCALE)
            output = run_frames(scaled, frame, denoise) / np.float32(INT16_SCALE)
        finally:
            rn.destroy(state)
        return undelay(output, delay, len(inputs.audio))
