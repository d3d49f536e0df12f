"""Long and tiny inputs: STOI and SI-SDR in bounded memory, equal to the whole-signal formulas.

A 1-hour input once made STOI take 10.5 GB (``pystoi`` holds every 384 ms segment at once) and
SI-SDR 2.6 GB (float64 copies of both signals); a 10-sample input made STOI raise a raw AxisError.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from pystoi import stoi as pystoi

import bench.metrics.sisdr as sisdr_module
import bench.metrics.stoi as stoi_module
from bench.metrics.sisdr import si_sdr
from bench.metrics.stoi import stoi


def speechlike(seconds: float, rate: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy): an amplitude-modulated tone with pauses (silent frames STOI removes)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    clean = np.sin(2 * np.pi * 300 * t) * (1 + np.sin(2 * np.pi * 3 * t)) * (np.sin(2 * np.pi * 0.5 * t) > -0.5)
    noisy = clean + 0.3 * rng.standard_normal(len(t))
    return clean.astype(np.float32), noisy.astype(np.float32)


def peak_bytes(function, *args, **kwargs) -> tuple[object, int]:
    tracemalloc.start()
    try:
        value = function(*args, **kwargs)
        return value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("rate, seconds", [(16000, 3.0), (48000, 1.5), (10000, 2.0), (8000, 0.5)])
@pytest.mark.parametrize("extended", [False, True])
@pytest.mark.parametrize("block", [1024, 7])
def test_blockwise_stoi_equals_pystoi(monkeypatch, rate, seconds, extended, block):
    monkeypatch.setattr(stoi_module, "SEGMENT_BLOCK", block)  # 7: many blocks even on short items
    clean, noisy = speechlike(seconds, rate)
    np.random.seed(0)  # ESTOI adds eps-scale noise
    expected = pystoi(clean, noisy, rate, extended=extended)
    np.random.seed(0)
    assert stoi(clean, noisy, rate, extended=extended) == pytest.approx(expected, abs=1e-9)


def test_stoi_memory_does_not_grow_with_segments():
    clean, noisy = speechlike(20.0, 16000)
    ours, ours_peak = peak_bytes(stoi, clean, noisy, 16000)
    theirs, theirs_peak = peak_bytes(pystoi, clean, noisy, 16000)
    assert ours == pytest.approx(theirs, abs=1e-9)
    assert ours_peak < 30 * len(clean)  # float64 signals at 10 kHz + fixed blocks; pystoi: ~230 per sample
    assert theirs_peak > 3 * ours_peak


@pytest.mark.parametrize("samples", [10, 257, 3000])
def test_stoi_on_a_too_short_item_says_so(samples):
    clean, noisy = speechlike(1.0, 16000)
    with pytest.raises(ValueError, match=r"too short for STOI: it needs 30 frames \(0.384 s\)"):
        stoi(clean[:samples], noisy[:samples], 16000)


def whole_signal_si_sdr(reference: np.ndarray, output: np.ndarray) -> float:
    reference = reference.astype(np.float64) - reference.mean(dtype=np.float64)
    output = output.astype(np.float64) - output.mean(dtype=np.float64)
    target = np.dot(output, reference) / np.dot(reference, reference) * reference
    return float(10 * np.log10(np.dot(target, target) / np.sum((output - target) ** 2)))


@pytest.mark.parametrize("block", [1 << 16, 1000, 1])
def test_blockwise_si_sdr_equals_the_whole_signal_formula(monkeypatch, block):
    monkeypatch.setattr(sisdr_module, "BLOCK", block)
    clean, noisy = speechlike(0.25 if block == 1 else 3.0, 16000)
    assert si_sdr(clean, noisy) == pytest.approx(whole_signal_si_sdr(clean, noisy), abs=1e-9)


def test_si_sdr_memory_does_not_grow_with_length():
    clean, noisy = speechlike(120.0, 16000)
    value, peak = peak_bytes(si_sdr, clean, noisy)
    assert value == pytest.approx(whole_signal_si_sdr(clean, noisy), abs=1e-9)
    assert peak < 8 * 8 * sisdr_module.BLOCK  # a few float64 blocks, not copies of 1.9M samples


@pytest.mark.slow
def test_an_hour_long_item_is_scored_within_a_few_bytes_per_sample():
    """The case of the report: 1 hour at 16 kHz (57.6M samples)."""
    clean, noisy = speechlike(3600.0, 16000)
    (value, stoi_peak) = peak_bytes(stoi, clean, noisy, 16000)
    assert 0.0 < value < 1.0
    assert stoi_peak < 30 * len(clean)  # was ~10.5 GB
    _, sisdr_peak = peak_bytes(si_sdr, clean, noisy)
    assert sisdr_peak < 8 * 8 * sisdr_module.BLOCK  # was ~2.6 GB
