"""PLCMOS v2 (Diener et al., Interspeech 2023), non-intrusive, from the ONNX model in ``speechmos``.

The model averages its prediction over 15 random "rater" embeddings. ``speechmos`` draws them from
NumPy's global generator, so two calls on the same clip disagree; here they come from a private
``RandomState(seed)`` created per clip (``plcmos:seed=N``, default 0), which makes the metric a
pure function and equals ``speechmos`` run right after ``np.random.seed(seed)``.
The spectral features are ``speechmos``'s own (its PLCMOS class), computed at 16 kHz.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bench.item import PLC
from bench.metric import Column, Metric, ScoringContext, register_metric
from bench.metrics._common import model_sha256, onnx_session, package_dir

SAMPLE_RATE = 16000
EMBED_ROUNDS = 15


def model_path() -> Path:
    return package_dir("speechmos", "all") / "plcmos_models" / "plcmos_v2.onnx"


@lru_cache(maxsize=1)
def _model() -> tuple[Any, Any]:
    from speechmos.plcmos import PLCMOS as Features

    # speechmos's constructor opens its own multi-threaded session; reuse only its feature code
    # and run the model through a single-threaded one.
    return Features.__new__(Features), onnx_session(model_path())


def plcmos_fn(audio: np.ndarray, *, seed: int = 0) -> float:
    """PLCMOS of a 16 kHz clip, averaged over rater embeddings drawn from ``RandomState(seed)``
    (the model loads once per process)."""
    features, session = _model()
    spec = np.float32(features.stft_transform(np.asarray(audio, dtype=np.float32)))[np.newaxis, np.newaxis]
    rng = np.random.RandomState(seed)
    total = 0.0
    for _ in range(EMBED_ROUNDS):
        rater = np.asarray(rng.normal(size=(1, 64)), dtype=np.float32)
        total += float(session.run(None, {"degraded_audio": spec, "rater_embed": rater})[0].item())
    return total / EMBED_ROUNDS


@register_metric("plcmos")
class PLCMOS(Metric):
    columns = (Column("PLCMOS", higher_is_better=True, lower=1.0, upper=5.0),)
    tasks = frozenset({PLC})
    options = {"seed": 0}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.seed = int(self.config["seed"])

    def model_files(self) -> dict[str, str]:
        return {"speechmos/plcmos_models/plcmos_v2.onnx": model_sha256(model_path())}

    def load(self) -> None:
        _model()

    def predict(self, audio: np.ndarray) -> float:
        """PLCMOS of a 16 kHz clip (``plcmos_fn`` with this metric's seed)."""
        return plcmos_fn(audio, seed=self.seed)

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        return {"PLCMOS": self.predict(ctx.output(SAMPLE_RATE))}
