"""The Speex acoustic echo canceller (libspeexdsp's MDF adaptive filter) through ``speexdsp-aec``.

``speexdsp-aec`` is a ctypes wrapper that needs libspeexdsp itself. Where the system has none
(``apt install libspeexdsp1``), the copy bundled inside the ``speexdsp-ns`` wheel (same extra) is
used through the wrapper's documented ``SPEEXDSP_LIB`` variable. The canceller subtracts its echo
estimate from each microphone frame, with no delay.

Two variants, both rows of a table:

* ``default``: the pipeline libspeexdsp itself documents and demonstrates (``testecho.c``): the
  MDF linear filter, then the Speex preprocessor with the echo state attached, whose residual
  echo suppressor removes what the linear filter left (nonlinear loudspeaker distortion, the
  echo of the first seconds while the filter converges). The preprocessor only applies its
  suppression gains with denoising on, so its noise suppressor runs too (Speex's default -15 dB).
  It returns each frame one frame late; the adapter removes that frame of delay.
* ``linear``: the MDF filter alone (what most papers call "Speex AEC" in ERLE comparisons).

The wrapper has no preprocessor binding, so the preprocessor is driven through ctypes on the same
libspeexdsp, attached to the wrapper's echo state (its ``_state`` handle).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from importlib.metadata import PackageNotFoundError, distribution
from typing import Any

import numpy as np

from bench.errors import MissingDependencyError
from bench.item import AEC
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, register_system
from systems.baselines._common import EXTRA, far_end_of, from_int16, installed_version, padded, require, to_int16, undelay

FRAME_MS = 10
"""10 ms frames adapt twice as often as 20 ms ones, which matters on clips of a few seconds (far-end
single talk on the synthetic suite: 5.2 dB ERLE at 10 ms, 3.7 dB at 20 ms)."""
LIBRARY_ENV = "SPEEXDSP_LIB"
LINEAR = "linear"
_INSTALL_LIBSPEEXDSP = f"install the system library (apt install libspeexdsp1) or set {LIBRARY_ENV} to it"
"""No pip extra provides libspeexdsp where the speexdsp-ns wheel does not bundle it."""

# speex_preprocess.h request codes
_SET_DENOISE = 0
_SET_ECHO_SUPPRESS = 20
_SET_ECHO_SUPPRESS_ACTIVE = 22
_SET_ECHO_STATE = 24
_INT16_P = ctypes.POINTER(ctypes.c_int16)


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
        raise MissingDependencyError("libspeexdsp", None, _INSTALL_LIBSPEEXDSP)
    os.environ[LIBRARY_ENV] = str(bundled[0].locate())


class ResidualEchoSuppressor:
    """The Speex preprocessor attached to an echo canceller's state (libspeexdsp's own AEC pipeline).

    Runs in place on each frame the canceller outputs; the result comes one frame late."""

    def __init__(self, canceller: Any, sample_rate: int, suppress_db: int, suppress_active_db: int) -> None:
        lib, echo_state = getattr(canceller, "_lib", None), getattr(canceller, "_state", None)
        if lib is None or not echo_state:
            raise RuntimeError("speexdsp-aec no longer exposes its libspeexdsp handle and echo state (_lib, _state); "
                               "use the 'linear' variant or speexdsp-aec 0.1.x")
        lib.speex_preprocess_state_init.restype = ctypes.c_void_p
        lib.speex_preprocess_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.speex_preprocess_ctl.restype = ctypes.c_int
        lib.speex_preprocess_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        lib.speex_preprocess_run.restype = ctypes.c_int
        lib.speex_preprocess_run.argtypes = [ctypes.c_void_p, _INT16_P]
        lib.speex_preprocess_state_destroy.restype = None
        lib.speex_preprocess_state_destroy.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self._state = lib.speex_preprocess_state_init(canceller.frame_size, sample_rate)
        if not self._state:
            raise RuntimeError(f"speex_preprocess_state_init failed (frame {canceller.frame_size}, {sample_rate} Hz)")
        lib.speex_preprocess_ctl(self._state, _SET_ECHO_STATE, ctypes.c_void_p(echo_state))
        for request, value in ((_SET_DENOISE, 1), (_SET_ECHO_SUPPRESS, suppress_db), (_SET_ECHO_SUPPRESS_ACTIVE, suppress_active_db)):
            setting = ctypes.c_int(int(value))
            lib.speex_preprocess_ctl(self._state, request, ctypes.byref(setting))

    def run(self, frame: np.ndarray) -> np.ndarray:
        pcm = np.ascontiguousarray(frame, dtype=np.int16).copy()
        self._lib.speex_preprocess_run(self._state, pcm.ctypes.data_as(_INT16_P))
        return pcm

    def close(self) -> None:
        if self._state:
            self._lib.speex_preprocess_state_destroy(self._state)
            self._state = None


@register_system("speex-aec")
class SpeexAEC(System):
    """Config: ``tail_ms``, the echo path length the adaptive filter covers (default 200 ms);
    ``echo_suppress_db`` / ``echo_suppress_active_db``, the residual echo suppressor's attenuation
    in far-end single talk and in double talk (Speex's defaults, -40 and -15 dB; ``default`` only)."""

    tasks = frozenset({AEC})
    needs = frozenset({"far_end"})
    sample_rate = 16000
    version = installed_version("speexdsp-aec")
    license = "BSD-3-Clause (libspeexdsp); speexdsp-aec wrapper declares 'Proprietary'"
    options = {"tail_ms": 200, "echo_suppress_db": -40, "echo_suppress_active_db": -15}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._aec: Any = None

    def load(self) -> None:
        if self._aec is None:
            module = require("speexdsp_aec", "speexdsp-aec")
            _point_at_libspeexdsp()
            self._aec = module

    def variants(self) -> list[str]:
        return [DEFAULT_VARIANT, LINEAR]

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        self.load()
        length = len(inputs.audio)
        far = far_end_of(inputs.far_end, length, inputs.item_id)
        try:
            canceller = self._aec.SpeexAec(
                sample_rate=inputs.sample_rate, frame_ms=FRAME_MS, filter_tail_ms=int(self.config["tail_ms"])
            )
        except RuntimeError as exc:  # the wrapper's message when libspeexdsp cannot be loaded
            raise MissingDependencyError("libspeexdsp", None, f"{exc}: {_INSTALL_LIBSPEEXDSP}") from exc
        try:
            if variant == LINEAR:
                return self._cancel(canceller, inputs.audio, far)
            suppressor = ResidualEchoSuppressor(
                canceller, inputs.sample_rate, self.config["echo_suppress_db"], self.config["echo_suppress_active_db"]
            )
            try:
                return self._cancel(canceller, inputs.audio, far, suppressor)
            finally:
                suppressor.close()
        finally:
            canceller.close()

    @staticmethod
    def _cancel(canceller: Any, audio: np.ndarray, far: np.ndarray, suppressor: ResidualEchoSuppressor | None = None) -> np.ndarray:
        """Frame by frame (the suppressor needs each frame right after the canceller has seen it)."""
        frame, length = canceller.frame_size, len(audio)
        delay = frame if suppressor else 0
        near_pcm, far_pcm = to_int16(padded(audio, frame, delay)), to_int16(padded(far, frame, delay))
        out = np.empty(len(near_pcm), dtype=np.int16)
        for start in range(0, len(near_pcm), frame):
            chunk = slice(start, start + frame)
            cleaned = np.frombuffer(canceller.process(near_pcm[chunk], far_pcm[chunk]), dtype=np.int16)
            out[chunk] = suppressor.run(cleaned) if suppressor else cleaned
        return undelay(from_int16(out), delay, length)
