"""AECMOS (Purin et al., ICASSP 2022): echo MOS and other-degradation MOS from ``speechmos``'s models.

Inputs are the far-end loopback (``item.far_end``), the microphone signal (``item.input``) and
the output, truncated to the shortest and to the model's 20 s limit. With a talk type the
scenario-aware model is used (marker frames appended as the AEC Challenge does: ``st`` far-end
single talk, ``nst`` near-end single talk, ``dt`` double talk); without one the scenario-less
model. ``aecmos:rate=48000`` selects the 48 kHz model (talk type required); its columns are named
``AECMOS_echo@48k`` and ``AECMOS_other@48k``, so both models can score one run side by side and no
table mistakes one model's numbers for the other's. Log-mel features come from
:mod:`bench.metrics._melspec` (librosa-equal, without its numba warm-up).

Scope: the model sees at most ``MAX_SECONDS`` = 20 s, so the AEC Challenge's 30-40 s clips are scored
on their first 20 s only. Each item records the seconds scored and the clip's length in the hidden
columns ``AECMOS_scored_s`` and ``AECMOS_clip_s`` (``@48k`` for the 48 kHz model), from which report
footnotes say how many items were truncated.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bench.audio import align
from bench.errors import ConfigError
from bench.item import AEC, DOUBLE_TALK, FAREND_SINGLE_TALK, NEAREND_SINGLE_TALK
from bench.metric import Column, Metric, ScoringContext, register_metric
from bench.metrics._common import model_sha256, onnx_session, package_dir
from bench.metrics._melspec import mos_features

MAX_SECONDS = 20
_MARKER_FRAMES = 20
_SCENARIO = {FAREND_SINGLE_TALK: "st", NEAREND_SINGLE_TALK: "nst", DOUBLE_TALK: "dt"}
# (rate, scenario-aware) -> (ONNX file, DFT size, GRU hidden shape), as speechmos defines them.
_MODELS = {
    (16000, True): ("Run_1663915512_Stage_0.onnx", 512, (4, 1, 64)),
    (16000, False): ("Run_1663829550_Stage_0.onnx", 512, (4, 1, 64)),
    (48000, True): ("Run_1668423760_Stage_0.onnx", 1536, (4, 1, 96)),
}


def _columns(suffix: str) -> tuple[Column, ...]:
    return (
        Column(f"AECMOS_echo{suffix}", higher_is_better=True, lower=1.0, upper=5.0),
        Column(f"AECMOS_other{suffix}", higher_is_better=True, lower=1.0, upper=5.0),
        Column(f"AECMOS_scored_s{suffix}", higher_is_better=True, lower=0.0, unit="s", hidden=True),
        Column(f"AECMOS_clip_s{suffix}", higher_is_better=True, lower=0.0, unit="s", hidden=True),
    )


def model_path(rate: int, scenario: bool) -> Path:
    return package_dir("speechmos", "all") / "aecmos_models" / _MODELS[(rate, scenario)][0]


@lru_cache(maxsize=4)
def _session(rate: int, scenario: bool) -> Any:
    return onnx_session(model_path(rate, scenario))


def aecmos_fn(far_end: np.ndarray, mic: np.ndarray, output: np.ndarray, *, rate: int = 16000,
              talk_type: str | None = None) -> tuple[float, float]:
    """(echo MOS, other-degradation MOS) for signals at ``rate`` (16000 or 48000), truncated to the
    shortest and to the model's 20 s; the scenario-aware model when ``talk_type`` is given (required
    at 48 kHz). Models load once per process."""
    scenario = talk_type is not None
    if (rate, scenario) not in _MODELS:
        raise ConfigError("aecmos: the 48 kHz model needs the item's talk type" if rate == 48000
                          else f"aecmos: rate must be 16000 or 48000, got {rate}")
    _, dft, hidden = _MODELS[(rate, scenario)]
    signals = [s[: MAX_SECONDS * rate] for s in align(far_end, mic, output)]
    feats = [mos_features(s, rate, n_fft=dft + 1, hop=dft // 2, n_mels=160) for s in signals]
    if scenario:
        code = _SCENARIO[talk_type]
        near_single, far_single = float(code == "nst"), float(code == "st")
        fills = (1.0 - near_single, 1.0 - far_single, 1.0)  # lpb, mic, enh markers
        feats = [
            np.concatenate([f, np.full((_MARKER_FRAMES, f.shape[1]), fill), np.zeros((_MARKER_FRAMES, f.shape[1]))])
            for f, fill in zip(feats, fills)
        ]
    stacked = np.stack(feats).astype(np.float32)[np.newaxis]
    session = _session(rate, scenario)
    result = session.run([], {session.get_inputs()[0].name: stacked, "h0": np.zeros(hidden, dtype=np.float32)})[0]
    return float(result[0]), float(result[1])


@register_metric("aecmos")
class AECMOS(Metric):
    columns = _columns("")
    needs = frozenset({"far_end"})
    tasks = frozenset({AEC})
    implementation_version = "2"
    scope = (f"AECMOS scores at most the first {MAX_SECONDS} s of each clip (the model's input limit), "
             "after truncating far end, microphone and output to the shortest")
    options = {"rate": 16000}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.rate = int(self.config["rate"])
        if self.rate not in (16000, 48000):
            raise ConfigError(f"aecmos: rate must be 16000 or 48000, got {self.rate}")
        self.suffix = "" if self.rate == 16000 else f"@{self.rate // 1000}k"
        self.columns = _columns(self.suffix)

    def _variants(self) -> list[bool]:
        return [True] if self.rate == 48000 else [True, False]

    def model_files(self) -> dict[str, str]:
        return {f"speechmos/aecmos_models/{model_path(self.rate, s).name}": model_sha256(model_path(self.rate, s))
                for s in self._variants()}

    def load(self) -> None:
        for scenario in self._variants():
            _session(self.rate, scenario)

    def predict(self, far_end: np.ndarray, mic: np.ndarray, output: np.ndarray, talk_type: str | None) -> tuple[float, float]:
        """(echo MOS, other-degradation MOS) for signals at ``self.rate`` (``aecmos_fn``)."""
        return aecmos_fn(far_end, mic, output, rate=self.rate, talk_type=talk_type)

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        far_end, mic, output = ctx.far_end(self.rate), ctx.input(self.rate), ctx.output(self.rate)
        echo, other = self.predict(far_end, mic, output, ctx.item.talk_type)
        clip = min(len(far_end), len(mic), len(output)) / self.rate
        return {f"AECMOS_echo{self.suffix}": echo, f"AECMOS_other{self.suffix}": other,
                f"AECMOS_scored_s{self.suffix}": min(clip, MAX_SECONDS), f"AECMOS_clip_s{self.suffix}": clip}
