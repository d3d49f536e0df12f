"""DNSMOS P.835 (SIG, BAK, OVRL) and P.808, non-intrusive, from the ONNX models in ``speechmos``.

Windowing follows the DNS Challenge ``dnsmos_local.py`` script as ``speechmos`` ships it: the
16 kHz clip is doubled until it is at least 9.01 s long, scored on 9.01 s windows every 1 s, and the
per-window scores (after the P.835 polynomial calibration) are averaged. The P.808 model's log-mel
input comes from :mod:`bench.metrics._melspec` instead of librosa, which avoids a per-process numba
warm-up; tests/test_metrics_dnsmos.py checks parity with ``speechmos.dnsmos.run`` to 1e-3.

Scope, recorded per item in the hidden columns ``DNSMOS_scored_s`` (seconds of the clip some window
covers: the whole of a short clip, which is repeated; less than a long one, whose tail past the last
kept window is never seen, see ``window_bounds``) and ``DNSMOS_clip_s``; report footnotes summarise them.

Personalized DNSMOS (``dnsmos:personalized=true``, the DNS Challenge 5 model that penalises
interfering talkers) swaps the P.835 model and calibration and names its columns ``pDNSMOS_*``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bench.metric import Column, Metric, ScoringContext, register_metric
from bench.metrics._common import as_bool, model_sha256, onnx_session, package_dir
from bench.metrics._melspec import mos_features
from bench.metrics._p835_split import SplitP835

SAMPLE_RATE = 16000
WINDOW_SECONDS = 9.01

# P.835 calibration polynomials (highest power first) from the DNS Challenge script.
_POLY = {
    False: {
        "SIG": np.poly1d([-0.08397278, 1.22083953, 0.0052439]),
        "BAK": np.poly1d([-0.13166888, 1.60915514, -0.39604546]),
        "OVRL": np.poly1d([-0.06766283, 1.11546468, 0.04602535]),
    },
    True: {
        "SIG": np.poly1d([-0.01019296, 0.02751166, 1.19576786, -0.24348726]),
        "BAK": np.poly1d([-0.04976499, 0.44276479, -0.1644611, 0.96883132]),
        "OVRL": np.poly1d([-0.00533021, 0.005101, 1.18058466, -0.11236046]),
    },
}


def _columns(prefix: str) -> tuple[Column, ...]:
    return tuple(
        Column(f"{prefix}_{part}", higher_is_better=True, lower=1.0, upper=5.0)
        for part in ("SIG", "BAK", "OVRL", "P808")
    ) + (Column(f"{prefix}_scored_s", higher_is_better=True, lower=0.0, unit="s", hidden=True),
         Column(f"{prefix}_clip_s", higher_is_better=True, lower=0.0, unit="s", hidden=True))


def window_bounds(length: int, sample_rate: int = SAMPLE_RATE) -> list[tuple[int, int]]:
    """(start, end) samples of the windows the DNS Challenge script scores in a clip of ``length``.

    Its float arithmetic (``int((i + 9.01) * rate)``) sometimes lands one sample short, and it skips
    such windows; kept as is, so scores equal the script's. A 39 s clip keeps 13 of its 30 windows.
    """
    window = int(WINDOW_SECONDS * sample_rate)
    hops = int(np.floor(length / sample_rate) - WINDOW_SECONDS) + 1
    bounds = [(int(i * sample_rate), int((i + WINDOW_SECONDS) * sample_rate)) for i in range(hops)]
    return [(start, end) for start, end in bounds if min(end, length) - start >= window]


def filled(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The clip, doubled until it fills one window, as the DNS Challenge script does."""
    window = int(WINDOW_SECONDS * sample_rate)
    while len(audio) < window:
        audio = np.concatenate([audio, audio])
    return audio


def covered_seconds(samples: int, sample_rate: int = SAMPLE_RATE) -> float:
    """Seconds of a clip that some window covers: all of a clip shorter than one window (it is
    repeated to fill it), otherwise from 0 to the end of the last window kept."""
    if samples < int(WINDOW_SECONDS * sample_rate):
        return samples / sample_rate
    return max(end for _, end in window_bounds(samples, sample_rate)) / sample_rate


def model_paths(personalized: bool = False) -> dict[str, Path]:
    """The P.835 model (or pDNSMOS's) and the P.808 model shipped in ``speechmos``."""
    root = package_dir("speechmos", "all")
    primary = root / ("pdnsmos_models" if personalized else "dnsmos_models") / "sig_bak_ovr.onnx"
    return {"p835": primary, "p808": root / "dnsmos_models" / "model_v8.onnx"}


@lru_cache(maxsize=2)
def _sessions(personalized: bool) -> tuple[SplitP835, Any]:
    paths = model_paths(personalized)
    return SplitP835(paths["p835"]), onnx_session(paths["p808"])


def dnsmos_fn(audio: np.ndarray, *, personalized: bool = False) -> dict[str, float]:
    """DNSMOS of a 16 kHz clip, keyed SIG/BAK/OVRL/P808 (the models load once per process).

    Samples are clipped to [-1, 1] first, as writing the clip to a 16-bit file for the challenge
    script would (speechmos rejects out-of-range arrays outright). The P.835 model's overlapping
    windows share their convolutions (``bench.metrics._p835_split``), with identical scores.
    """
    p835, p808 = _sessions(personalized)
    poly = _POLY[personalized]
    audio = filled(np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0))
    bounds = window_bounds(len(audio))
    raw = p835.scores(audio, [start for start, _ in bounds])
    scores = {key: [float(poly[key](value)) for value in raw[:, column]] for column, key in enumerate(("SIG", "BAK", "OVRL"))}
    scores["P808"] = []
    for start, end in bounds:
        mel = mos_features(audio[start:end - 160], SAMPLE_RATE, n_fft=321, hop=160, n_mels=120)
        scores["P808"].append(float(p808.run(None, {"input_1": mel[np.newaxis]})[0][0][0]))
    return {key: float(np.mean(values)) for key, values in scores.items()}


@register_metric("dnsmos")
class DNSMOS(Metric):
    columns = _columns("DNSMOS")
    implementation_version = "2"
    scope = (f"DNSMOS averages {WINDOW_SECONDS:g} s windows taken every 1 s at 16 kHz, as the DNS Challenge script "
             "does: a shorter clip is repeated to fill one window; in a longer one the script skips windows whose "
             "end its float arithmetic puts one sample short, so the last seconds can go unscored "
             "(a 20 s clip is covered to 15.01 s)")

    options = {"personalized": False}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.personalized = as_bool(self.config["personalized"], "personalized")
        self.config["personalized"] = self.personalized
        if self.personalized:
            self.columns = _columns("pDNSMOS")

    def model_files(self) -> dict[str, str]:
        return {f"speechmos/{path.parent.name}/{path.name}": model_sha256(path)
                for path in model_paths(self.personalized).values()}

    def load(self) -> None:
        _sessions(self.personalized)

    def predict(self, audio: np.ndarray) -> dict[str, float]:
        """Scores of a 16 kHz clip, keyed SIG/BAK/OVRL/P808 (``dnsmos_fn``)."""
        return dnsmos_fn(audio, personalized=self.personalized)

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        prefix = "pDNSMOS" if self.personalized else "DNSMOS"
        audio = ctx.output(SAMPLE_RATE)
        scores = {f"{prefix}_{key}": value for key, value in self.predict(audio).items()}
        scores[f"{prefix}_scored_s"] = covered_seconds(len(audio))
        scores[f"{prefix}_clip_s"] = len(audio) / SAMPLE_RATE
        return scores
