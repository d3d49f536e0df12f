"""The SEFlow training recipe: its losses and a few real steps end to end."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from bench.audio import file_sha256
from systems.seflow import checkpoint
from bench.cli import main as sebench
from systems.seflow.train import distillation_loss, spectral_loss


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
