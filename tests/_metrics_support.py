"""Helpers shared by the metric tests: real eSpeak speech and Items backed by files in tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.audio import write_audio
from bench.item import Item
from bench.metric import Metric, ScoringContext
from testsets.synthetic.speech import speak

SENTENCE = "Help the woman get back to her feet."
"""A Harvard sentence that Whisper tiny.en transcribes exactly from eSpeak's en-us+m1 voice."""
OTHER_SENTENCE = "Please call Stella and ask her to bring these things with her from the store."


def speech(text: str = SENTENCE, voice: str = "en-us+m1", rate: int = 16000) -> np.ndarray:
    return speak(text, voice, rate)


def noisy(clean: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(len(clean)).astype(np.float32)
    gain = np.sqrt(np.mean(clean**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return (clean + gain * noise).astype(np.float32)


def make_item(root: Path, rate: int, task: str = "denoise", **signals: Any) -> Item:
    """An Item whose audio fields are written as wav files under ``root``; other kwargs pass through."""
    fields: dict[str, Any] = {}
    for name, value in signals.items():
        if isinstance(value, np.ndarray):
            path = root / f"{name}.wav"
            write_audio(path, value, rate)
            fields[name] = path
        else:
            fields[name] = value
    return Item(id="item", task=task, subset="test", sample_rate=rate, **fields)


def score(metric: Metric, item: Item, output: np.ndarray, rate: int) -> dict[str, float]:
    assert metric.applies_to(item)
    return metric.score(ScoringContext(item, output, rate))
