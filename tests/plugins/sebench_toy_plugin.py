"""A plugin used by the core tests: a generated test set, controllable systems, simple metrics.

It is loaded the way a user's plugin would be (``--plugin`` / ``SEBENCH_PLUGINS``), so the tests
also cover that path, including in subprocesses.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.item import DENOISE, Item
from bench.metric import Column, Metric, ScoringContext, register_metric
from bench.system import EnhanceInput, System, register_system
from bench.testset import TestSet, register_testset


@register_testset("toy")
class ToyTestSet(TestSet):
    """Sines in noise with clean references, written on first use (``root``, ``n``, ``rate``)."""

    def items(self):
        root = Path(self.config["root"])
        n = int(self.config.get("n", 6))
        rate = int(self.config.get("rate", 16000))
        corrupt = {int(i) for i in str(self.config.get("corrupt", "")).split("+") if i}
        root.mkdir(parents=True, exist_ok=True)
        for index in range(n):
            noisy, clean = root / f"noisy_{index}.wav", root / f"clean_{index}.wav"
            if not clean.exists():
                rng = np.random.default_rng(index)
                t = np.arange(rate) / rate
                speech = 0.3 * np.sin(2 * np.pi * (200 + 50 * index) * t)
                sf.write(clean, speech.astype(np.float32), rate, subtype="FLOAT")
                sf.write(noisy, (speech + 0.05 * rng.standard_normal(rate)).astype(np.float32), rate, subtype="FLOAT")
            if index in corrupt:
                noisy.write_bytes(b"RIFF\x00\x00garbage, not audio")
            yield Item(id=f"toy/{index}", task=DENOISE, subset="toy", input=noisy, reference=clean, sample_rate=rate)


@register_system("toy-gain")
class ToyGain(System):
    """Scales its input; logs each call into ``log_dir`` so tests can count real computations."""

    tasks = frozenset({DENOISE})
    sample_rate = 8000

    def enhance(self, inputs: EnhanceInput, variant: str = "default") -> np.ndarray:
        log_dir = self.config.get("log_dir")
        if log_dir:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            (Path(log_dir) / f"{inputs.item_id.replace('/', '_')}-{time.monotonic_ns()}").touch()
        time.sleep(float(self.config.get("sleep", 0)))
        return inputs.audio * float(self.config.get("factor", 0.5))


@register_system("toy-bad")
class ToyBad(System):
    """Fails in the way its ``mode`` names, to exercise failure isolation."""

    tasks = frozenset({DENOISE})
    sample_rate = None

    def enhance(self, inputs: EnhanceInput, variant: str = "default") -> np.ndarray:
        mode = self.config["mode"]
        audio = inputs.audio.copy()
        if mode == "nan":
            audio[10] = np.nan
        elif mode == "inf":
            audio[10] = np.inf
        elif mode == "silence":
            audio[:] = 0
        elif mode == "short":
            audio = audio[:-100]
        elif mode == "raise":
            raise RuntimeError("model exploded")
        elif mode == "hang":
            time.sleep(30)
        return audio


@register_metric("toy-rms")
class ToyRMS(Metric):
    columns = (Column("RMS", higher_is_better=True),)

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        return {"RMS": float(np.sqrt(np.mean(ctx.output() ** 2)))}


@register_metric("toy-err")
class ToyError(Metric):
    """Mean squared error against the reference at 16 kHz."""

    columns = (Column("MSE", higher_is_better=False),)
    needs = frozenset({"reference"})

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        out, ref = ctx.output(16000), ctx.reference(16000)
        n = min(len(out), len(ref))
        return {"MSE": float(np.mean((out[:n] - ref[:n]) ** 2))}
