"""AECMOS (parity with speechmos per talk type) and ERLE (known values, far-end single talk only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from speechmos import aecmos as speechmos_aecmos

from _metrics_support import OTHER_SENTENCE, make_item, score, speech
from bench.errors import ConfigError
from bench.item import DOUBLE_TALK, FAREND_SINGLE_TALK, NEAREND_SINGLE_TALK
from bench.metric import ScoringContext
from bench.metrics.aecmos import AECMOS
from bench.metrics.erle import ERLE, ERLE_LIMIT_DB, erle_db

_CODES = {FAREND_SINGLE_TALK: "st", NEAREND_SINGLE_TALK: "nst", DOUBLE_TALK: "dt", None: None}


@pytest.fixture(scope="module")
def signals() -> dict[str, np.ndarray]:
    """A far-end talker, its echo through a short decaying path, and a near-end talker."""
    far = speech(OTHER_SENTENCE, "en-us+f2")
    near = speech()
    n = min(len(far), len(near))
    far, near = far[:n], near[:n]
    path = 0.6 * np.exp(-np.arange(400) / 60.0) * np.random.default_rng(3).standard_normal(400) / 4
    echo = np.convolve(far, path)[:n].astype(np.float32)
    return {"far": far, "near": near, "echo": echo}


@pytest.mark.parametrize("talk_type", [FAREND_SINGLE_TALK, NEAREND_SINGLE_TALK, DOUBLE_TALK, None])
def test_aecmos_matches_speechmos(tmp_path: Path, signals: dict[str, np.ndarray], talk_type: str | None) -> None:
    far, near, echo = signals["far"], signals["near"], signals["echo"]
    near = np.zeros_like(near) if talk_type == FAREND_SINGLE_TALK else near
    echo = np.zeros_like(echo) if talk_type == NEAREND_SINGLE_TALK else echo
    mic = np.clip(near + echo, -1, 1)
    output = (near + 0.05 * echo).astype(np.float32)
    item = make_item(tmp_path, 16000, task="aec", input=mic, far_end=far, talk_type=talk_type)
    got = score(AECMOS(), item, output, 16000)
    expected = speechmos_aecmos.run({"lpb": far, "mic": mic, "enh": output}, 16000, talk_type=_CODES[talk_type])
    assert got["AECMOS_echo"] == pytest.approx(expected["echo_mos"], abs=1e-3)
    assert got["AECMOS_other"] == pytest.approx(expected["deg_mos"], abs=1e-3)


def test_aecmos_rewards_echo_removal(tmp_path: Path, signals: dict[str, np.ndarray]) -> None:
    mic = signals["near"] + signals["echo"]
    item = make_item(tmp_path, 16000, task="aec", input=mic, far_end=signals["far"], talk_type=DOUBLE_TALK)
    metric = AECMOS()
    cancelled = score(metric, item, signals["near"], 16000)["AECMOS_echo"]
    unprocessed = score(metric, item, mic, 16000)["AECMOS_echo"]
    assert cancelled > unprocessed + 1.0
    assert not metric.applies_to(make_item(tmp_path, 16000, task="denoise", input=mic))


def test_aecmos_48k_model_needs_a_talk_type(tmp_path: Path, signals: dict[str, np.ndarray]) -> None:
    metric = AECMOS(rate="48000")
    assert "Run_1668423760_Stage_0.onnx@sha256:" in metric.version
    with pytest.raises(ConfigError, match="talk type"):
        metric.predict(signals["far"], signals["echo"], signals["echo"], None)
    with pytest.raises(ConfigError, match="16000 or 48000"):
        AECMOS(rate=8000)


def test_erle_known_values(tmp_path: Path, signals: dict[str, np.ndarray]) -> None:
    echo = signals["echo"]
    item = make_item(tmp_path, 16000, task="aec", input=echo, far_end=signals["far"], talk_type=FAREND_SINGLE_TALK)
    metric = ERLE()
    assert score(metric, item, 0.1 * echo, 16000)["ERLE"] == pytest.approx(20.0, abs=1e-4)
    assert score(metric, item, echo, 16000)["ERLE"] == pytest.approx(0.0, abs=1e-6)
    assert score(metric, item, np.zeros_like(echo), 16000)["ERLE"] == ERLE_LIMIT_DB
    assert erle_db(np.zeros(10), np.zeros(10)) == 0.0


def test_erle_only_for_far_end_single_talk(tmp_path: Path, signals: dict[str, np.ndarray]) -> None:
    mic = signals["near"] + signals["echo"]
    metric = ERLE()
    for talk_type in (DOUBLE_TALK, NEAREND_SINGLE_TALK, None):
        item = make_item(tmp_path, 16000, task="aec", input=mic, far_end=signals["far"], talk_type=talk_type)
        assert not metric.applies_to(item)
        assert metric.score(ScoringContext(item, mic, 16000)) == {}
