"""The SEFlow training recipe: its losses and a few real steps end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.audio import file_sha256
from bench.cli import main as sebench
from systems.seflow import checkpoint
from systems.seflow.degrade import Degrader, Recipe
from systems.seflow.train import distillation_loss, lost_samples, spectral_loss


def _gradient_norm(loss_fn, student: torch.Tensor, teacher: torch.Tensor) -> float:
    student = student.clone().requires_grad_(True)
    loss_fn(student, teacher, 16000).backward()
    return float(student.grad.norm())


def test_distillation_gradient_stays_bounded_as_an_exit_reaches_its_teacher():
    """An SNR term against the teacher has a gradient growing as 1 / |teacher - student|: next to the
    teacher it dwarfs every other loss and all exits collapse onto one output (the first
    checkpoint's failure). The distillation loss leaves it out."""
    torch.manual_seed(0)
    teacher = torch.randn(2, 16000) * 0.05
    near = teacher + 1e-3 * torch.randn_like(teacher)  # 34 dB from the teacher
    far = teacher + 3e-2 * torch.randn_like(teacher)  # 4 dB
    with_snr_near = _gradient_norm(spectral_loss, near, teacher)
    distil_near = _gradient_norm(distillation_loss, near, teacher)
    distil_far = _gradient_norm(distillation_loss, far, teacher)
    assert with_snr_near > 10 * distil_far  # the SNR term's pull grows as the exit gets closer
    assert distil_near < distil_far


def test_sebench_train_seflow_writes_a_loadable_checkpoint_with_its_provenance(tmp_path: Path):
    out = tmp_path / "tiny.safetensors"
    assert sebench(["train", "seflow", "--out", str(out), "--steps", "3", "--blocks", "2", "--batch", "2", "--seconds", "0.3",
          "--utterances", "16", "--rooms", "2", "--save-every", "3", "--val-every", "1000",
          "--log", str(tmp_path / "train.log")]) == 0
    net, info = checkpoint.load(out)
    assert net.cfg.blocks == 2 and info["steps"] == 3
    assert info["command"].startswith("python -m systems.seflow.train --out")
    sidecar = json.loads(checkpoint.sidecar_path(out).read_text())
    assert sidecar["sha256"] == file_sha256(out)
    assert "validation step 0" in (tmp_path / "train.log").read_text()


def test_suppression_weight_makes_removed_speech_cost_more_than_the_same_noise_left():
    torch.manual_seed(0)
    target = torch.randn(1, 16000) * 0.05
    quieter, louder = target * 0.9 ** (1 / 0.3), target * 1.1 ** (1 / 0.3)  # compressed magnitudes -10 % / +10 %
    symmetric = [float(spectral_loss(y, target, 16000, snr_weight=0.0)) for y in (quieter, louder)]
    weighted = [float(spectral_loss(y, target, 16000, snr_weight=0.0, suppression_weight=2.0)) for y in (quieter, louder)]
    assert abs(symmetric[0] - symmetric[1]) < 0.1 * symmetric[0]
    assert weighted[0] > 1.3 * weighted[1]  # the magnitude half of the loss doubled
    assert abs(weighted[1] - symmetric[1]) < 1e-9  # noise left costs the same as before


def _reverberant_example(rir: np.ndarray, rate: int = 16000, early_ms: float = 50.0):
    speech = [("a", np.random.default_rng(1).standard_normal(rate).astype(np.float32))]
    recipe = Recipe(p_noise=0, p_reverb=1, p_clip=0, p_loss=0, p_tse=0, p_aec=0, early_reflections_ms=early_ms)
    return Degrader(speech, [], [rir], rate, recipe).example(np.random.default_rng(2), rate)


def test_zero_early_reflections_means_the_dry_source_is_the_target():
    """The RIRs start one sample before the direct path, so a 'first 0 ms' prefix must not be taken
    literally: it would make the target near-silence (a bug that spoilt one control run)."""
    rate, rir = 16000, np.zeros(1600, np.float32)
    rir[1], rir[800] = 1.0, 0.5
    ex = _reverberant_example(rir, rate, early_ms=0)
    assert np.sqrt(np.mean(ex.target ** 2)) > 0.5 * np.sqrt(np.mean(ex.noisy ** 2))
    assert np.allclose(ex.noisy[1:800], ex.target[:799], atol=1e-6)  # x = target delayed by the direct path's sample


def test_reverberant_target_keeps_early_reflections_and_drops_the_late_tail():
    rate, rir = 16000, np.zeros(2400, np.float32)
    rir[0], rir[int(0.02 * rate)], rir[int(0.1 * rate)] = 1.0, 0.6, 0.5  # direct, 20 ms, 100 ms
    ex = _reverberant_example(rir, rate)
    ms = rate // 1000
    late = ex.noisy - ex.target
    assert np.allclose(late[: 100 * ms], 0, atol=1e-6)  # everything up to 100 ms is in the target
    # target = s + 0.6 s(t - 20 ms) and late = 0.5 s(t - 100 ms), so both reflections are where they belong:
    assert np.allclose(late[100 * ms : 120 * ms], 0.5 * ex.target[: 20 * ms], atol=1e-6)
    assert np.allclose(ex.target[20 * ms : 40 * ms] - 2 * late[120 * ms : 140 * ms], 0.6 * ex.target[: 20 * ms], atol=1e-5)


def test_init_starts_from_a_checkpoint_and_records_its_provenance(tmp_path: Path):
    base = tmp_path / "base.safetensors"
    common = ["--blocks", "2", "--batch", "2", "--seconds", "0.3", "--utterances", "16", "--rooms", "2",
              "--val-every", "1000", "--log", str(tmp_path / "train.log")]
    assert sebench(["train", "seflow", "--out", str(base), "--steps", "2", "--save-every", "2", *common]) == 0
    tuned = tmp_path / "tuned.safetensors"
    assert sebench(["train", "seflow", "--out", str(tuned), "--init", str(base), "--steps", "1", "--save-every", "1",
                    "--lr", "0", *common]) == 0
    _, info = checkpoint.load(tuned)
    assert info["init"]["sha256"] == file_sha256(base) and info["init"]["steps"] == 2
    assert torch.equal(checkpoint.load(tuned)[0].head.weight, checkpoint.load(base)[0].head.weight)  # lr 0: unchanged


def _voiced(rate: int, seconds: float = 1.0) -> torch.Tensor:
    """A 130 Hz harmonic tone: its period does not divide 20 ms, like a real voice's."""
    t = torch.arange(int(rate * seconds)) / rate
    return 0.05 * sum(torch.sin(2 * math.pi * 130.0 * k * t) for k in range(1, 15))[None]


def test_lost_samples_mark_the_zeroed_hops_and_nothing_else():
    x = torch.randn(2, 1600) * 0.1
    assert lost_samples(x, 16000) is None  # nothing lost: no extra work
    x[1, 320:640] = 0.0
    lost = lost_samples(x, 16000)
    assert lost[0].sum() == 0 and lost[1].nonzero().flatten().tolist() == list(range(320, 640))


@pytest.mark.parametrize("lost_weight", [0.0, 4.0])
def test_lost_samples_are_judged_by_magnitude_alone(lost_weight):
    """Repeating the last packet (out of phase, as every real fill is) must cost no more than leaving
    silence once the lost samples are marked, at any lost weight; unmarked, the phase-sensitive terms
    rate silence better, which is why the concealment taps never opened."""
    rate = 16000
    target = _voiced(rate)
    received = target.clone()
    received[:, 8000:8320] = 0.0  # one lost 20 ms packet
    repeated = target.clone()
    repeated[:, 8000:8320] = target[:, 7680:8000]
    assert float(spectral_loss(repeated, target, rate)) > float(spectral_loss(received, target, rate))
    lost = lost_samples(received, rate)
    filled, silent = (float(spectral_loss(y, target, rate, lost=lost, lost_weight=lost_weight)) for y in (repeated, received))
    assert filled < silent if lost_weight else filled <= silent + 1e-2 * abs(silent)


def test_lost_weight_leaves_received_errors_alone():
    torch.manual_seed(0)
    rate = 16000
    target = _voiced(rate)
    received = target.clone()
    received[:, 8000:8320] = 0.0
    noisy_elsewhere = target + 0.01 * torch.randn_like(target)
    noisy_elsewhere[:, 8000:8320] = target[:, 8000:8320]  # perfect fill, errors only where received
    lost = lost_samples(received, rate)
    plain, weighted = (float(spectral_loss(noisy_elsewhere, target, rate, snr_weight=0.0, lost=lost, lost_weight=w)) for w in (0.0, 4.0))
    assert weighted == pytest.approx(plain, rel=0.02)
