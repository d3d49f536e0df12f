"""SRMR: falls as a room gets more reverberant, rises when WPE removes reverberation, and behaves
at the edges (silence, short clips, other sample rates, tasks it does not score)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import fftconvolve

from _metrics_support import OTHER_SENTENCE, make_item, speech
from bench.audio import resample
from bench.metric import METRICS, ScoringContext
from bench.metrics.srmr import ACOUSTIC_CENTRES, srmr
from testsets.synthetic.rooms import random_room

RATE = 16000


@functools.cache
def room_response(rt60: float) -> np.ndarray:
    """One pyroomacoustics room per RT60, 2 m from the talker (image sources: seconds for long RT60s)."""
    return random_room(np.random.default_rng(1), RATE, (rt60, rt60), (2.0, 2.0)).rir


def reverberant(dry: np.ndarray, rt60: float) -> np.ndarray:
    return fftconvolve(dry, room_response(rt60))[: dry.size].astype(np.float32)


@pytest.fixture(scope="module")
def talkers() -> list[np.ndarray]:
    return [speech(OTHER_SENTENCE, voice) for voice in ("en-us+f2", "en+m3")]


def test_srmr_falls_as_reverberation_grows(talkers: list[np.ndarray]) -> None:
    """Measured: en-us+f2 8.0 / 4.7 and en+m3 3.9 / 2.4 at RT60 0.3 / 0.6 s; both lower at 0.8 s."""
    for dry in talkers:
        values = [srmr(reverberant(dry, rt60)) for rt60 in (0.3, 0.6, 0.8)]
        assert values[0] > values[1] > values[2], values
        assert srmr(dry) > values[1]


def test_wpe_raises_srmr_on_reverberant_speech(talkers: list[np.ndarray]) -> None:
    from bench.system import SYSTEMS, EnhanceInput

    wpe = SYSTEMS.get("wpe")()
    for dry in talkers:
        wet = reverberant(dry, 0.6)
        out = wpe.enhance(EnhanceInput(audio=wet, sample_rate=RATE, task="dereverb", item_id="u", source=Path("u")))
        assert srmr(out) > srmr(wet) + 0.05


def test_metric_scores_at_16_khz_whatever_the_output_rate(tmp_path: Path, talkers: list[np.ndarray]) -> None:
    wet = reverberant(talkers[0], 0.6)
    metric = METRICS.get("srmr")()
    item = make_item(tmp_path, RATE, task="dereverb", input=wet)
    native = metric.score(ScoringContext(item, wet, RATE))["SRMR"]
    upsampled = metric.score(ScoringContext(item, resample(wet, RATE, 48000), 48000))["SRMR"]
    assert native == pytest.approx(srmr(wet))
    assert upsampled == pytest.approx(native, rel=0.02)


def test_edges(tmp_path: Path) -> None:
    metric = METRICS.get("srmr")()
    item = make_item(tmp_path, RATE, task="denoise", input=np.zeros(RATE, dtype=np.float32))
    assert metric.score(ScoringContext(item, np.zeros(RATE, dtype=np.float32), RATE)) == {}  # silence: no value
    short = speech()[: RATE // 10]  # shorter than one 256 ms window
    assert np.isfinite(metric.score(ScoringContext(item, short, RATE))["SRMR"])
    assert not metric.applies_to(make_item(tmp_path / "aec", RATE, task="aec", input=short))
    assert metric.applies_to(make_item(tmp_path / "dr", RATE, task="dereverb", input=short))


def test_acoustic_filterbank_spans_125_hz_to_below_nyquist() -> None:
    assert len(ACOUSTIC_CENTRES) == 23
    assert ACOUSTIC_CENTRES[0] == pytest.approx(125.0)
    assert 6000 < ACOUSTIC_CENTRES[-1] < RATE / 2
    assert np.all(np.diff(ACOUSTIC_CENTRES) > 0)
