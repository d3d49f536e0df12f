"""Tiny audio fixtures for the loader tests, written in the data sets' official layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def tone(path: Path, seconds: float = 0.2, rate: int = 16000, freq: float = 440.0, subtype: str = "PCM_16") -> Path:
    """A short sine (distinct per ``freq``), written where the layout says."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate, subtype=subtype)
    return path


def noise(path: Path, seconds: float = 0.2, rate: int = 16000, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * rate))).astype(np.float32), rate)
    return path
