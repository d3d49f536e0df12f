"""Quality claims of the shipped checkpoint on the synthetic suite (slow: runs DNSMOS, PESQ, PLCMOS).

These assert the issue's Done-when claims on the suite as a user runs it (its default 10 items per
subset, the README's table). Fewer items are not the suite: at 4 items per subset the full model's
no_reverb DNSMOS OVRL sits a hair under noisereduce's (2.255 vs 2.269), at 6 and 10 above it. The
full per-point table is in systems/seflow/README.md (``python -m systems.seflow.training.evaluate``)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from bench.metric import METRICS
from bench.pipeline import enhance_item, score_item
from bench.system import SYSTEMS
from bench.testset import TESTSETS
from systems.seflow import checkpoint

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not checkpoint.DEFAULT_CHECKPOINT.is_file(), reason="no shipped checkpoint"),
]

DENOISE = ("no_reverb", "with_reverb")
ROWS = {"unprocessed": ("unprocessed", "default"), "noisereduce": ("noisereduce", "default"),
        "f-1-1": ("seflow", "f-1-1"), "f-12-4": ("seflow", "f-12-4")}


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> dict[str, dict[str, dict[str, float]]]:
    """{row: {subset: {column: mean over the suite's items}}}."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEBENCH_HOME", str(tmp_path_factory.mktemp("home")))
        items = list(TESTSETS.get("synthetic")(subsets="no_reverb+with_reverb+declip+plc").items())
    metrics = [METRICS.get(name)() for name in ("dnsmos", "pesq", "sisdr", "plcmos")]
    out = {}
    for label, (name, variant) in ROWS.items():
        system = SYSTEMS.get(name)()
        system.load()
        columns: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for item in items:
            if label == "noisereduce" and item.subset not in DENOISE:
                continue
            values, errors = score_item(metrics, item, *enhance_item(system, variant, item))
            assert not errors, (label, item.id, errors)
            for column, value in values.items():
                columns[item.subset][column].append(value)
        out[label] = {s: {c: float(np.mean(v)) for c, v in cols.items()} for s, cols in columns.items()}
    return out


@pytest.mark.parametrize("subset", DENOISE)
def test_full_model_beats_unprocessed_and_noisereduce_on_denoise(scores, subset):
    for column in ("DNSMOS_OVRL", "PESQ_WB"):
        for baseline in ("unprocessed", "noisereduce"):
            assert scores["f-12-4"][subset][column] > scores[baseline][subset][column], (subset, column, baseline, scores)


@pytest.mark.parametrize("subset", DENOISE)
def test_smallest_point_beats_unprocessed_in_ovrl(scores, subset):
    assert scores["f-1-1"][subset]["DNSMOS_OVRL"] > scores["unprocessed"][subset]["DNSMOS_OVRL"], scores


def test_full_model_beats_unprocessed_on_declip_in_pesq_and_sisdr(scores):
    for column in ("PESQ_WB", "SISDR"):
        assert scores["f-12-4"]["declip"][column] > scores["unprocessed"]["declip"][column], (column, scores)


@pytest.mark.parametrize("column", ["PLCMOS", "PESQ_WB"])
def test_full_model_beats_unprocessed_on_plc(scores, column):
    assert scores["f-12-4"]["plc"][column] > scores["unprocessed"]["plc"][column], (column, scores)


@pytest.mark.parametrize("subset", DENOISE)
def test_quality_grows_with_compute(scores, subset):
    for column in ("PESQ_WB", "SISDR"):
        assert scores["f-12-4"][subset][column] > scores["f-1-1"][subset][column], (subset, column, scores)
