"""Every built-in metric resolves by name, declares distinct columns, and versions its model files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _metrics_support import SENTENCE, make_item, speech
from bench.registry import declared
from bench.item import FAREND_SINGLE_TALK
from bench.metric import METRICS, Metric

MODEL_METRICS = {"dnsmos": 2, "wer": 6, "spksim": 1, "plcmos": 1, "aecmos": 2}
"""Metric name -> number of model files its default configuration hashes into ``version`` (wer: the
five files of Whisper base, its model.bin in two parts, and the normaliser's spelling table)."""


def test_every_builtin_resolves_with_unique_columns() -> None:
    seen: dict[str, str] = {}
    for name in declared("sebench.metrics"):
        cls = METRICS.get(name)
        assert issubclass(cls, Metric) and cls.name == name
        for column in cls.columns:
            assert column.name not in seen, f"{column.name} declared by {seen.get(column.name)} and {name}"
            seen[column.name] = name
            if column.ratio_of:
                assert all(part in {c.name for c in cls.columns} for part in column.ratio_of)


@pytest.mark.parametrize("name", sorted(MODEL_METRICS))
def test_version_includes_every_model_file_hash(name: str) -> None:
    metric = METRICS.get(name)()
    files = metric.model_files()
    assert len(files) == MODEL_METRICS[name]
    assert all(len(sha) == 64 for sha in files.values())
    assert all(f"{key}@sha256:{sha}" in metric.version for key, sha in files.items())


@pytest.mark.slow
def test_all_metrics_through_score_item(tmp_path: Path) -> None:
    """The whole suite on one AEC far-end single-talk item plus a TSE/PLC denoise item, via the pipeline."""
    from bench.pipeline import score_item

    metrics = [METRICS.get(name)() for name in declared("sebench.metrics")]
    clean = speech()
    noisy = clean + np.random.default_rng(0).standard_normal(len(clean)).astype(np.float32) * 0.01
    speech_item = make_item(tmp_path / "a", 16000, task="denoise+plc+tse", input=noisy, reference=clean,
                            enrollment=clean, transcript=SENTENCE)
    scores, errors = score_item(metrics, speech_item, clean, 16000)
    assert errors == {}
    expected = {c.name for m in metrics if m.name not in ("aecmos", "erle") for c in m.columns}
    assert set(scores) == expected
    echo = speech(voice="en-us+f2")
    aec_item = make_item(tmp_path / "b", 16000, task="aec", input=echo, far_end=echo, reference=np.zeros_like(echo),
                         talk_type=FAREND_SINGLE_TALK)
    scores, errors = score_item(metrics, aec_item, 0.01 * echo, 16000)
    assert errors == {}
    assert set(scores) == {"DNSMOS_SIG", "DNSMOS_BAK", "DNSMOS_OVRL", "DNSMOS_P808", "DNSMOS_scored_s", "DNSMOS_clip_s",
                           "AECMOS_echo", "AECMOS_other", "AECMOS_scored_s", "AECMOS_clip_s", "ERLE"}
    assert scores["ERLE"] == pytest.approx(40.0, abs=1e-3)
