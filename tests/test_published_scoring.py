"""Issue 18, scoring side: what each metric actually scores (AECMOS's 20 s, DNSMOS's windows) is
recorded per item, and the 48 kHz AECMOS model gets its own columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _metrics_support import make_item, score
from bench.item import DOUBLE_TALK
from bench.metrics.aecmos import AECMOS
from bench.metrics.dnsmos import DNSMOS, covered_seconds, filled, window_bounds


def _aec_item(tmp_path: Path, seconds: float, rate: int = 16000):
    rng = np.random.default_rng(0)
    far = (0.1 * rng.standard_normal(int(seconds * rate))).astype(np.float32)
    near = (0.1 * np.sin(2 * np.pi * 220 * np.arange(len(far)) / rate)).astype(np.float32)
    mic = (near + 0.5 * far).astype(np.float32)
    item = make_item(tmp_path, rate, task="aec", input=mic, far_end=far, talk_type=DOUBLE_TALK)
    return item, mic, far, near


def test_aecmos_records_that_it_scored_only_the_first_20_seconds(tmp_path: Path) -> None:
    item, mic, far, near = _aec_item(tmp_path, 25.0)
    metric = AECMOS()
    scores = score(metric, item, near, 16000)
    assert scores["AECMOS_scored_s"] == 20.0 and scores["AECMOS_clip_s"] == 25.0
    # the truncation is real: the last 5 s do not change the numbers
    assert (scores["AECMOS_echo"], scores["AECMOS_other"]) == metric.predict(far[:320000], mic[:320000],
                                                                             near[:320000], DOUBLE_TALK)
    short, *_ = _aec_item(tmp_path / "short", 4.0)
    assert score(metric, short, np.zeros(64000, dtype=np.float32) + 0.01, 16000)["AECMOS_scored_s"] == 4.0
    assert {c.name for c in metric.columns if c.hidden} == {"AECMOS_scored_s", "AECMOS_clip_s"}


def test_aecmos_48k_model_has_its_own_column_names(tmp_path: Path) -> None:
    item, mic, far, near = _aec_item(tmp_path, 3.0, rate=48000)
    metric = AECMOS(rate=48000)
    assert [c.name for c in metric.columns] == ["AECMOS_echo@48k", "AECMOS_other@48k", "AECMOS_scored_s@48k",
                                                "AECMOS_clip_s@48k"]
    scores = score(metric, item, near, 48000)
    assert set(scores) == {c.name for c in metric.columns} and scores["AECMOS_clip_s@48k"] == 3.0
    assert {c.name for c in AECMOS().columns}.isdisjoint(scores)


@pytest.mark.parametrize("seconds, covered, windows", [(3.0, 3.0, 3), (9.5, 9.01, 1), (20.0, 15.01, 7), (39.2, 38.01, 13)])
def test_dnsmos_coverage_follows_the_challenge_script_windows(seconds: float, covered: float, windows: int) -> None:
    samples = int(seconds * 16000)
    assert covered_seconds(samples) == pytest.approx(covered)
    assert len(window_bounds(len(filled(np.ones(samples, dtype=np.float32))))) == windows


def test_dnsmos_records_coverage_per_item(tmp_path: Path) -> None:
    audio = (0.1 * np.random.default_rng(1).standard_normal(20 * 16000)).astype(np.float32)
    item = make_item(tmp_path, 16000, input=audio)
    scores = score(DNSMOS(), item, audio, 16000)
    assert scores["DNSMOS_scored_s"] == pytest.approx(15.01) and scores["DNSMOS_clip_s"] == 20.0


def test_best_assignment_pairs_swapped_outputs_with_their_sources() -> None:
    from bench.metrics.separation import best_assignment

    rng = np.random.default_rng(2)
    s1, s2, s3 = (rng.standard_normal(8000).astype(np.float32) for _ in range(3))
    leak = 0.3
    out_a, out_b = s2 + leak * s1, s1 + leak * s2  # the separator returned the sources the other way round
    assert best_assignment([s1, s2], [out_a, out_b]) == (1, 0)
    assert best_assignment([s1, s2], [out_b, out_a]) == (0, 1)
    assert best_assignment([s1, s2, s3], [s3, s1, s2]) == (1, 2, 0)
    # the assignment maximises the mean: greedily, s1 would take out_a (-0.9 dB vs -6 dB) and leave s2 at -40 dB
    out_a, out_b = s2 + 0.9 * s1, s3 + 0.5 * s1
    assert best_assignment([s1, s2], [out_a, out_b]) == (1, 0)
    with pytest.raises(ValueError, match="2 outputs for 3 references"):
        best_assignment([s1, s2, s3], [s1, s2])


def test_metric_instances_need_distinct_column_names() -> None:
    from bench.columns import check_distinct_columns
    from bench.errors import ConfigError
    from bench.metric import build_metric, rename_scores
    from bench.spec import parse_spec

    def build(texts: list[str]):
        specs = [parse_spec(t) for t in texts]
        return [build_metric(s) for s in specs], specs

    check_distinct_columns(*build(["aecmos", "aecmos:rate=48000"]))  # the model names its columns
    with pytest.raises(ConfigError, match="metric 'pesq' is listed twice with the same config; list it once"):
        check_distinct_columns(*build(["pesq", "sisdr", "pesq"]))
    with pytest.raises(ConfigError, match=r"metrics 'plcmos' and 'plcmos:seed=1' would both write column "
                                          r"PLCMOS; give one a label \(plcmos:seed=1,label=NAME names its columns "
                                          r"PLCMOS@NAME\)"):
        check_distinct_columns(*build(["plcmos", "plcmos:seed=1"]))
    metrics, specs = build(["plcmos", "plcmos:seed=1,label=seed1", "wer:label=x"])
    check_distinct_columns(metrics, specs)
    assert [c.name for c in metrics[1].columns] == ["PLCMOS@seed1"] and "label=seed1" in metrics[1].version
    assert metrics[0].version != metrics[1].version and rename_scores(metrics[1], {"PLCMOS": 3.0}) == {"PLCMOS@seed1": 3.0}
    wer = {c.name: c for c in metrics[2].columns}
    assert wer["WER@x"].ratio_of == ("WER_edits@x", "WER_words@x") and wer["WER_edits@x"].hidden
