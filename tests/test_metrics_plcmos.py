"""PLCMOS v2: seeded rater embeddings (a pure function), parity with speechmos, real examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from speechmos.plcmos import PLCMOS as SpeechmosPLCMOS

from _metrics_support import make_item, score, speech
from bench.audio import load_audio
from bench.metrics.plcmos import PLCMOS


@pytest.fixture(scope="module")
def metric() -> PLCMOS:
    m = PLCMOS()
    m.load()
    return m


def _packet_loss(audio: np.ndarray, rate: int, every: int = 4) -> np.ndarray:
    """Zero every ``every``-th 20 ms packet, as zero-fill concealment would leave it."""
    lossy = audio.copy()
    packet = rate // 50
    for start in range(0, len(audio), packet * every):
        lossy[start:start + packet] = 0.0
    return lossy


def test_pure_and_equal_to_speechmos_with_the_same_seed(tmp_path: Path, metric: PLCMOS) -> None:
    clean = speech()
    item = make_item(tmp_path, 16000, task="plc", input=_packet_loss(clean, 16000), loss_trace=(0, 1))
    first = score(metric, item, clean, 16000)["PLCMOS"]
    np.random.seed(1234)  # the global generator must not matter
    assert score(metric, item, clean, 16000)["PLCMOS"] == first
    np.random.seed(0)
    assert first == pytest.approx(SpeechmosPLCMOS().get_mos(clean), abs=1e-6)
    np.random.seed(7)
    assert PLCMOS(seed=7).predict(clean) == pytest.approx(SpeechmosPLCMOS().get_mos(clean), abs=1e-6)


def test_only_applies_to_plc_items_and_ranks_loss(tmp_path: Path, metric: PLCMOS) -> None:
    clean = speech(rate=48000)
    lossy = _packet_loss(clean, 48000)
    assert not metric.applies_to(make_item(tmp_path, 48000, task="denoise", input=clean))
    item = make_item(tmp_path, 48000, task="plc", input=lossy)
    assert score(metric, item, clean, 48000)["PLCMOS"] > score(metric, item, lossy, 48000)["PLCMOS"] + 0.5
    assert np.isfinite(score(metric, item, np.zeros_like(clean), 48000)["PLCMOS"])


def test_plcmos_examples_rank_like_the_published_scores(shared_data: Path, metric: PLCMOS) -> None:
    root = shared_data / "plcmos-examples" / "PLCMOS" / "example_wavs"
    published = {"clean": 4.50, "plc_good": 4.12, "plc_poor": 2.74}  # PLCMOS/README.md, plcmos_v2
    got = {}
    for name in published:
        audio, rate = load_audio(root / f"{name}.wav")
        got[name] = metric.predict(audio)
        np.random.seed(0)
        assert got[name] == pytest.approx(SpeechmosPLCMOS().get_mos(audio), abs=1e-6)
        assert got[name] == pytest.approx(published[name], abs=0.1)  # other rater draws than the README's
    assert got["clean"] > got["plc_good"] > got["plc_poor"]
