"""The shipped checkpoint: provenance sidecar, and one set of weights denoising at every rate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.audio import file_sha256
from bench.paths import shared_data_root
from systems.seflow import checkpoint
from systems.seflow.adapter import SEFlow
from bench.system import EnhanceInput
from testsets.synthetic.noise import make_noise
from testsets.synthetic.speech import speak

pytestmark = pytest.mark.skipif(not checkpoint.DEFAULT_CHECKPOINT.is_file(), reason="no shipped checkpoint")


def test_sidecar_records_how_the_weights_were_made():
    side = json.loads(checkpoint.sidecar_path(checkpoint.DEFAULT_CHECKPOINT).read_text())
    assert side["sha256"] == file_sha256(checkpoint.DEFAULT_CHECKPOINT)
    assert side["command"].startswith("python -m systems.seflow.training.train")
    assert side["steps"] > 0 and "speech" in side["data"]
    assert checkpoint.DEFAULT_CHECKPOINT.stat().st_size < 8 * 2**20


def test_sidecar_records_the_real_training_data_and_its_licences():
    """The weights were trained on ../shared/data/train-real: the sidecar names that folder's index
    by sha256 and carries the attribution its licences ask for (LibriSpeech is CC BY 4.0)."""
    side = json.loads(checkpoint.sidecar_path(checkpoint.DEFAULT_CHECKPOINT).read_text())
    real = side["data"]["real"]
    assert "CC BY 4.0" in real["attribution"]["resemble-ai/Resemblyzer"]
    assert real["valid_speakers_held_out"] and real["speech_minutes_train"] > 40
    index = shared_data_root() and shared_data_root() / "train-real" / "files.csv"
    if index and index.is_file():
        assert real["files_csv_sha256"] == file_sha256(index)
    else:
        assert len(real["files_csv_sha256"]) == 64


def _snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((reference - estimate) ** 2)))


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
def test_shipped_weights_denoise_natively_at_every_rate(rate):
    """Same weights, no resampling: pink noise at 5 dB SNR must come out cleaner at each rate."""
    clean = speak("Bring seven narrow baskets across the quiet market.", "en-us+f2", rate)
    clean = 0.05 * clean / np.sqrt(np.mean(clean**2))
    noise = make_noise("pink", np.random.default_rng(rate), len(clean), rate)
    noisy = (clean + noise * np.sqrt(np.mean(clean**2)) * 10 ** (-5 / 20)).astype(np.float32)
    system = SEFlow()
    out = system.enhance(EnhanceInput(noisy, rate, "denoise", "t", checkpoint.DEFAULT_CHECKPOINT), "f-12-4")
    assert out.shape == noisy.shape
    assert _snr_db(clean, out) > _snr_db(clean, noisy) + 1.0
