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
from systems.seflow.training.degrade import Degrader, Recipe
from systems.seflow.training.train import distillation_loss, lost_samples, spectral_loss


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
    assert info["command"].startswith("python -m systems.seflow.training.train --out")
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


TINY = ["--blocks", "2", "--batch", "2", "--seconds", "0.3", "--utterances", "16", "--rooms", "2", "--val-every", "1000",
        "--log-every", "1"]


def _losses(log: Path) -> list[str]:
    return [line.split(" clock ")[0] for line in log.read_text().splitlines() if line.startswith("step ")]


def test_resume_reproduces_the_uninterrupted_loss_sequence(tmp_path: Path):
    """A run stopped and resumed (optimizer moments, LR schedule, data stream position) logs the same
    losses, to the last printed digit, as the run that never stopped."""
    whole, parts = tmp_path / "whole.safetensors", tmp_path / "parts.safetensors"
    assert sebench(["train", "seflow", "--out", str(whole), "--steps", "6", "--save-every", "3", *TINY,
                    "--log", str(tmp_path / "whole.log")]) == 0
    assert sebench(["train", "seflow", "--out", str(parts), "--steps", "6", "--save-every", "3", "--stop-after", "3", *TINY,
                    "--log", str(tmp_path / "parts.log")]) == 0
    assert checkpoint.load(parts)[1]["steps"] == 3
    assert sebench(["train", "seflow", "--resume", str(parts), "--out", str(parts), "--steps", "6", "--save-every", "3", *TINY,
                    "--log", str(tmp_path / "parts.log")]) == 0
    uninterrupted, resumed = _losses(tmp_path / "whole.log"), _losses(tmp_path / "parts.log")
    assert len(uninterrupted) == 6 and resumed == uninterrupted
    assert checkpoint.load(parts)[1]["steps"] == 6
    assert torch.equal(checkpoint.load(parts)[0].head.weight, checkpoint.load(whole)[0].head.weight)


def test_resume_without_training_state_is_a_clear_error(tmp_path: Path):
    out = tmp_path / "w.safetensors"
    assert sebench(["train", "seflow", "--out", str(out), "--steps", "1", "--save-every", "1", *TINY]) == 0
    from systems.seflow.training.train import state_path

    state_path(out).unlink()
    with pytest.raises(SystemExit, match="no training state"):
        sebench(["train", "seflow", "--resume", str(out), "--out", str(out), "--steps", "2", *TINY])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_the_recipe_runs_on_cuda_with_mixed_precision(tmp_path: Path):
    out = tmp_path / "gpu.safetensors"
    assert sebench(["train", "seflow", "--device", "cuda", "--out", str(out), "--steps", "3", "--save-every", "3", *TINY,
                    "--log", str(tmp_path / "gpu.log")]) == 0
    losses = [float(line.split(" loss ")[1].split()[0]) for line in _losses(tmp_path / "gpu.log")]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    assert checkpoint.load(out)[1]["device"].startswith("cuda")


def _real_folder(root: Path) -> Path:
    """A folder laid out like ../shared/data/train-real, with generated audio: 3 train speakers,
    1 held-out speaker, a noise and a room response."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    rows = ["path,source_repo,commit,original_path,sha256_original,sample_rate_original,duration_s,speaker,split"]
    t = np.arange(32000) / 16000
    for i, (speaker, split) in enumerate([("libri-1", "train"), ("libri-2", "train"), ("libri-3", "train"), ("libri-9", "valid")]):
        voice = sum(np.sin(2 * np.pi * (110 + 20 * i) * k * t) / k for k in range(1, 20)) * (1 + np.sin(2 * np.pi * 3 * t))
        path = f"speech/libri/{speaker}.flac"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / path, 0.05 * voice, 16000)
        rows.append(f"{path},resemble-ai/Resemblyzer,15d828edebe0,{speaker}.flac,x,16000,2.0,{speaker},{split}")
    for path, audio in (("noise/n/hum.flac", 0.1 * rng.standard_normal(32000)),
                        ("rir/r/room.flac", np.r_[0.0, 1.0, 0.3 * rng.standard_normal(3000) * np.exp(-np.arange(3000) / 500)])):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / path, audio, 16000, subtype="PCM_24")
        repo = "rafaelmardojai/blanket" if path.startswith("noise") else "QVbDev/quantumVerb"
        rows.append(f"{path},{repo},8b1c27aedde1,{path},x,16000,2.0,,train")
    (root / "files.csv").write_text("\n".join(rows) + "\n")
    return root


def test_real_data_keeps_held_out_speakers_out_of_training(tmp_path: Path):
    from systems.seflow.training import realdata

    pools = realdata.load(_real_folder(tmp_path / "real"))
    assert {s for s, _ in pools.speech} == {"libri-1", "libri-2", "libri-3"}
    assert [s for s, _ in pools.valid] == ["libri-9"]
    assert sum(s == "libri-1" for s, _ in pools.speech) == 2  # two halves: enrollment for TSE
    assert len(pools.noises) == 1 and len(pools.rirs) == 1 and pools.rirs[0][1] == pytest.approx(1.0)


def test_sidecar_records_the_real_data_it_was_trained_on(tmp_path: Path):
    real = _real_folder(tmp_path / "real")
    out = tmp_path / "real.safetensors"
    assert sebench(["train", "seflow", "--out", str(out), "--steps", "2", "--save-every", "2", "--real-data", str(real),
                    *TINY, "--log", str(tmp_path / "real.log")]) == 0
    record = checkpoint.load(out)[1]["data"]["real"]
    assert record["files_csv_sha256"] == file_sha256(real / "files.csv")
    assert "CC BY 4.0" in record["attribution"]["resemble-ai/Resemblyzer"]
    assert set(record["attribution"]) == {"resemble-ai/Resemblyzer", "rafaelmardojai/blanket", "QVbDev/quantumVerb"}
    assert record["valid_speakers_held_out"] == ["libri-9"]


def test_missing_real_data_index_names_the_folder(tmp_path: Path):
    from systems.seflow.training import realdata

    with pytest.raises(FileNotFoundError, match="no files.csv in"):
        realdata.load(tmp_path)


def test_widened_speech_gains_a_band_above_8_khz_that_follows_its_envelope():
    from systems.seflow.training.realdata import widen

    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    burst = (rng.standard_normal(16000) * (t > 0.5)).astype(np.float32) * 0.1  # silent, then a fricative-like noise
    wide = widen(burst, 48000, rng)
    n = 19200  # 0.4 s, away from the onset at 0.5 s
    spec = np.abs(np.fft.rfft(wide[:n])), np.abs(np.fft.rfft(wide[-n:]))
    high = slice(int(9000 * n / 48000), int(16000 * n / 48000))
    assert spec[1][high].mean() > 100 * spec[0][high].mean()  # energy up there only where the speech is
    np.testing.assert_allclose(widen(burst, 16000, rng), burst)


def test_room_pool_is_the_same_for_the_same_seed():
    """pyroomacoustics randomises image sources with its own package-wide generator: unseeded, two
    runs of the recipe drew different rooms, and a resumed run could not match the one it continues."""
    import pyroomacoustics as pra

    from systems.seflow.training.data import rir_pool

    pra.random.seed(1)
    first = rir_pool(2, 7)
    pra.random.seed(2)
    second = rir_pool(2, 7)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
