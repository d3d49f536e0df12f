"""The Speex acoustic echo canceller (libspeexdsp's MDF adaptive filter) through ``speexdsp-aec``.

``speexdsp-aec`` is a ctypes wrapper that needs libspeexdsp itself. Where the system has none
(``apt install libspeexdsp1``), the copy bundled inside the ``speexdsp-ns`` wheel (same extra) is
used through the wrapper's documented ``SPEEXDSP_LIB`` variable. The canceller subtracts its echo
estimate from each microphone frame in place, so the output has no delay; only the linear filter
runs (the Speex residual-echo suppressor is not exposed by the wrapper).
"""

from __future__ import annotations

import ctypes.util
import os
from importlib.metadata import PackageNotFoundError, distribution
from typing import Any

import numpy as np

from bench.errors import MissingDependencyError
from bench.item import AEC
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, register_system
from systems.baselines._common import EXTRA, far_end_of, from_int16, installed_version, padded, require, to_int16

FRAME_MS = 10
"""10 ms frames adapt twice as often as 20 ms ones, which matters on clips of a few seconds (far-end
single talk on the synthetic suite: 5.2 dB ERLE at 10 ms, 3.7 dB at 20 ms)."""
LIBRARY_ENV = "SPEEXDSP_LIB"


def _point_at_libspeexdsp() -> None:
    """Make sure the wrapper can find libspeexdsp, falling back to the speexdsp-ns wheel's copy."""
    if os.environ.get(LIBRARY_ENV) or ctypes.util.find_library("speexdsp"):
        return
    try:
        files = distribution("speexdsp-ns").files or []
    except PackageNotFoundError:
        files = []
    bundled = [f for f in files if f.name.startswith("libspeexdsp") and ".so" in f.name]
    if not bundled:
        raise MissingDependencyError(
            "libspeexdsp", EXTRA, "install the system library (apt install libspeexdsp1) or set SPEEXDSP_LIB to it"
        )
    os.environ[LIBRARY_ENV] = str(bundled[0].locate())


@register_system("speex-aec")
class SpeexAEC(System):
    """Config: ``tail_ms``, the echo path length the adaptive filter covers (default 200 ms)."""

    tasks = frozenset({AEC})
    sample_rate = 16000
    version = installed_version("speexdsp-aec")
    license = "BSD-3-Clause (libspeexdsp); speexdsp-aec wrapper declares 'Proprietary'"

    def __init__(self, **config: Any) -> None:
        config.setdefault("tail_ms", 200)
        super().__init__(**config)
        self._aec: Any = None

    def load(self) -> None:
        if self._aec is None:
            module = require("speexdsp_aec", "speexdsp-aec")
            _point_at_libspeexdsp()
            self._aec = module

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        self.load()
        length = len(inputs.audio)
        far = far_end_of(inputs.far_end, length, inputs.item_id)
        try:
            canceller = self._aec.SpeexAec(
                sample_rate=inputs.sample_rate, frame_ms=FRAME_MS, filter_tail_ms=int(self.config["tail_ms"])
            )
        except RuntimeError as exc:  # the wrapper's message when libspeexdsp cannot be loaded
            raise MissingDependencyError("libspeexdsp", EXTRA, str(exc)) from exc
        try:
            frame = canceller.frame_size
            pcm = canceller.process(to_int16(padded(inputs.audio, frame)), to_int16(padded(far, frame)))
        finally:
            canceller.close()
        return from_int16(np.frombuffer(pcm, dtype=np.int16))[:length]
