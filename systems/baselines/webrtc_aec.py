"""WebRTC's AEC3 echo canceller through ``pywebrtc-audio``.

AEC3 re-blocks the 10 ms capture frames into 64-sample blocks, which delays the output by two
blocks (128 samples at 16 kHz, measured with an impulse); at 16 kHz there is no band splitting,
so that is the whole delay, and the adapter runs at 16 kHz and removes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.item import AEC
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, register_system
from systems.baselines._common import far_end_of, installed_version, padded, require, undelay

DELAY = 128
"""Samples of capture-path delay at 16 kHz."""
FRAME = 160
"""AEC3's 10 ms frame at 16 kHz."""


@register_system("webrtc-aec")
class WebRTCAEC(System):
    """Config: ``stream_delay_ms``, the render-to-capture delay hint AEC3 starts from (default 0;
    AEC3 estimates the echo path delay itself)."""

    tasks = frozenset({AEC})
    needs = frozenset({"far_end"})
    sample_rate = 16000
    version = installed_version("pywebrtc-audio")
    license = "BSD-3-Clause (WebRTC); Apache-2.0 (pywebrtc-audio)"
    options = {"stream_delay_ms": 0}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._webrtc: Any = None

    def load(self) -> None:
        if self._webrtc is None:
            self._webrtc = require("pywebrtc_audio", "pywebrtc-audio")

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        self.load()
        if inputs.sample_rate != self.sample_rate:
            raise ValueError(f"WebRTC AEC adapter runs at {self.sample_rate} Hz, got {inputs.sample_rate} Hz")
        length = len(inputs.audio)
        far = far_end_of(inputs.far_end, length, inputs.item_id)
        canceller = self._webrtc.EchoCanceller(
            sample_rate=inputs.sample_rate, stream_delay_ms=int(self.config["stream_delay_ms"])
        )
        near = padded(inputs.audio, FRAME, DELAY)
        output = canceller.process(near, padded(far, FRAME, DELAY))
        return undelay(output, DELAY, length)
