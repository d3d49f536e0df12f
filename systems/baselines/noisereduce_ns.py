"""Spectral gating with ``noisereduce`` (Sainburg et al., 2020): the classic DSP denoiser row.

It is offline and uses centred STFT frames, so it has no delay to remove. It has no trained
rate, so it runs at the item's own rate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.item import DENOISE
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, register_system
from systems.baselines._common import installed_version, require


@register_system("noisereduce")
class NoiseReduce(System):
    """Config: ``stationary`` (default False: the non-stationary gate that tracks changing noise)
    and ``prop_decrease`` (fraction of the estimated noise removed, default 1.0), passed to
    ``noisereduce.reduce_noise`` unchanged."""

    tasks = frozenset({DENOISE})
    sample_rate = None
    version = installed_version("noisereduce")
    license = "MIT"
    options = {"stationary": False, "prop_decrease": 1.0}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._nr: Any = None

    def load(self) -> None:
        if self._nr is None:
            self._nr = require("noisereduce", "noisereduce")

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        self.load()
        output = self._nr.reduce_noise(
            y=np.asarray(inputs.audio, dtype=np.float32),
            sr=inputs.sample_rate,
            stationary=bool(self.config["stationary"]),
            prop_decrease=float(self.config["prop_decrease"]),
            n_jobs=1,  # the runner parallelises across items; nested worker pools only oversubscribe
        )
        return np.asarray(output, dtype=np.float32)
