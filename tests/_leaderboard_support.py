"""Real runs for the leaderboard tests: offline DSP and ONNX baselines scored with SI-SDR and STOI
on a small folder of noisy/clean pairs built in code, through ``sebench run`` itself.

Five runs, each a different way a merge can go: ``base`` (the reference), ``more`` (other
systems, same items: comparable), ``fewer`` (a different item subset), ``newmetric`` (SI-SDR at
another implementation version, as after a metric upgrade) and ``tuned`` (the label ``logmmse``
for a differently configured system).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.cli import main

RATE = 16000
ITEMS = 5
SYSTEMS = {
    "base": ["unprocessed", "oracle", "logmmse", "speex-ns"],
    "more": ["unprocessed", "nsnet2", "dtln"],
    "fewer": ["noisereduce"],
    "newmetric": ["wpe"],
    "tuned": ["logmmse:alpha=0.9"],
}


def write_pairs(root: Path) -> Path:
    """Speech-like voiced signals in white noise at 0-8 dB SNR, one second each."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_baselines_adapters import voiced

    for folder in ("noisy", "clean"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for index in range(ITEMS):
        clean = voiced(RATE, 1.5, seed=index)
        noise = np.random.default_rng(index).standard_normal(clean.size).astype(np.float32)
        noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2)) * 10 ** (-2 * index / 20)
        sf.write(root / "clean" / f"utt{index}.wav", clean, RATE, subtype="FLOAT")
        sf.write(root / "noisy" / f"utt{index}.wav", clean + noise, RATE, subtype="FLOAT")
    return root


def run(root: Path, name: str, pairs: Path, *extra: str) -> Path:
    argv = ["run", "--name", name, "--testset", f"pairs:root={pairs}", "--metric", "sisdr", "--metric", "stoi",
            "--runs-dir", str(root / "runs"), *extra]
    for system in SYSTEMS[name]:
        argv += ["--system", system]
    assert main(argv) == 0
    return root / "runs" / name


def build_runs(root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("SEBENCH_HOME", str(root / "home"))
    pairs = write_pairs(root / "pairs")
    runs = {"base": run(root, "base", pairs), "more": run(root, "more", pairs),
            "fewer": run(root, "fewer", pairs, "--limit", "3"), "tuned": run(root, "tuned", pairs)}
    from bench.metrics.sisdr import SISDR

    monkeypatch.setattr(SISDR, "implementation_version", "2-test")
    runs["newmetric"] = run(root, "newmetric", pairs)
    return runs
