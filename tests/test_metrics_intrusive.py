"""PESQ, STOI/ESTOI and SI-SDR: parity with the reference libraries, known values, edge cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pesq import pesq
from pystoi import stoi

from _metrics_support import make_item, noisy, score, speech
from bench.audio import load_audio, resample
from bench.metric import METRICS
from bench.metrics.pesq import PESQ, PESQ_SILENCE
from bench.metrics.sisdr import SISDR, SISDR_LIMIT_DB, si_sdr
from bench.metrics.stoi import STOI


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return speech()


def test_registry_resolves_every_builtin_metric() -> None:
    for name in ("pesq", "stoi", "sisdr"):
        assert METRICS.get(name).name == name


def test_pesq_matches_pesq_package_on_noisy_speech(tmp_path: Path, clean: np.ndarray) -> None:
    degraded = noisy(clean, 5.0)
    item = make_item(tmp_path, 16000, input=degraded, reference=clean)
    got = score(PESQ(), item, degraded, 16000)
    assert got["PESQ_WB"] == pytest.approx(pesq(16000, clean, degraded, "wb"), abs=1e-6)
    assert got["PESQ_NB"] == pytest.approx(pesq(16000, clean, degraded, "nb"), abs=1e-6)
    assert 1.0 < got["PESQ_WB"] < 3.0


def test_pesq_resamples_48k_items_to_16k(tmp_path: Path) -> None:
    clean48 = speech(rate=48000)
    degraded48 = noisy(clean48, 10.0)
    item = make_item(tmp_path, 48000, input=degraded48, reference=clean48)
    got = score(PESQ(), item, degraded48, 48000)
    expected = pesq(16000, resample(clean48, 48000, 16000), resample(degraded48, 48000, 16000), "wb")
    assert got["PESQ_WB"] == pytest.approx(expected, abs=1e-6)


def test_oracle_known_values(tmp_path: Path, clean: np.ndarray) -> None:
    item = make_item(tmp_path, 16000, input=noisy(clean, 0.0), reference=clean)
    got = score(PESQ(), item, clean, 16000) | score(STOI(), item, clean, 16000) | score(SISDR(), item, clean, 16000)
    assert got["PESQ_WB"] == pytest.approx(4.644, abs=1e-3)
    assert got["PESQ_NB"] == pytest.approx(4.549, abs=1e-3)
    assert got["STOI"] == pytest.approx(1.0, abs=1e-6)
    assert got["ESTOI"] == pytest.approx(1.0, abs=1e-6)
    assert got["SISDR"] == SISDR_LIMIT_DB >= 100.0


def test_silent_output_scores_documented_floors(tmp_path: Path, clean: np.ndarray) -> None:
    item = make_item(tmp_path, 16000, input=noisy(clean, 0.0), reference=clean)
    silence = np.zeros_like(clean)
    got = score(PESQ(), item, silence, 16000) | score(STOI(), item, silence, 16000) | score(SISDR(), item, silence, 16000)
    assert got["PESQ_WB"] == got["PESQ_NB"] == 0.999 == PESQ_SILENCE["PESQ_NB"]
    barely = score(PESQ(), item, noisy(clean, -30.0), 16000)  # speech 30 dB under white noise
    assert barely["PESQ_WB"] > got["PESQ_WB"] and barely["PESQ_NB"] > got["PESQ_NB"]
    assert got["STOI"] == 0.0
    assert abs(got["ESTOI"]) < 0.05
    assert got["SISDR"] == -SISDR_LIMIT_DB


def test_silent_reference_leaves_columns_absent(tmp_path: Path, clean: np.ndarray) -> None:
    item = make_item(tmp_path, 16000, input=clean, reference=np.zeros_like(clean))
    for metric in (PESQ(), STOI(), SISDR()):
        assert score(metric, item, clean, 16000) == {}


def test_stoi_matches_pystoi_and_truncates_to_shorter(tmp_path: Path, clean: np.ndarray) -> None:
    degraded = noisy(clean, 0.0)[:-800]  # 50 ms shorter than the reference
    item = make_item(tmp_path, 16000, input=degraded, reference=clean)
    got = score(STOI(), item, degraded, 16000)
    n = len(degraded)
    assert got["STOI"] == pytest.approx(stoi(clean[:n], degraded, 16000), abs=1e-6)
    assert got["ESTOI"] == pytest.approx(stoi(clean[:n], degraded, 16000, extended=True), abs=1e-6)
    assert got["ESTOI"] < got["STOI"] < 1.0


def test_sisdr_known_values() -> None:
    rng = np.random.default_rng(1)
    reference = rng.standard_normal(16000)
    residual = rng.standard_normal(16000)
    residual -= residual.mean()
    reference -= reference.mean()
    residual -= reference * (residual @ reference) / (reference @ reference)  # orthogonal to the reference
    residual *= np.linalg.norm(reference) / np.linalg.norm(residual) / 10.0  # 20 dB below
    assert si_sdr(reference, 3.0 * (reference + residual)) == pytest.approx(20.0, abs=1e-9)  # scale-invariant
    assert si_sdr(reference, -reference + 0.0) == SISDR_LIMIT_DB  # sign is a scale too
    assert np.isnan(si_sdr(np.ones(100), rng.standard_normal(100)))


def test_sisdr_on_real_audio(tmp_path: Path, clean: np.ndarray) -> None:
    degraded = noisy(clean, 5.0)
    item = make_item(tmp_path, 16000, input=degraded, reference=clean)
    assert score(SISDR(), item, degraded, 16000)["SISDR"] == pytest.approx(5.0, abs=0.1)


def test_pesq_on_dns2020_noisy_vs_clean_matches_pesq_package(shared_data: Path) -> None:
    root = shared_data / "dns2020-sample" / "no_reverb"
    metric = PESQ()
    values = []
    for noisy_path in sorted((root / "noisy").glob("*.wav")):
        file_id = noisy_path.stem.split("_fileid_")[1]
        clean_path = root / "clean" / f"clean_fileid_{file_id}.wav"
        item = make_item(Path("/"), 16000, input=noisy_path, reference=clean_path)
        degraded, rate = load_audio(noisy_path)
        reference, _ = load_audio(clean_path)
        got = score(metric, item, degraded, rate)
        assert got["PESQ_WB"] == pytest.approx(pesq(16000, reference, degraded, "wb"), abs=1e-6)
        assert got["PESQ_NB"] == pytest.approx(pesq(16000, reference, degraded, "nb"), abs=1e-6)
        values.append(got["PESQ_WB"])
    assert len(values) == 3
    assert all(PESQ_SILENCE["PESQ_WB"] < v < 4.0 for v in values)
