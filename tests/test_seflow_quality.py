"""Quality claims of the shipped checkpoint on a few synthetic items per subset (slow: runs DNSMOS,
PESQ, PLCMOS).

These assert the issue's Done-when claims at small scale (4 items per subset); the full per-point
table is in systems/seflow/README.md (``python -m systems.seflow.evaluate``)."""

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


def unmet(reason: str) -> pytest.MarkDecorator:
    """A claim the shipped checkpoint does not meet yet (133 CPU-minutes of training). Strict: a
    better checkpoint that meets it turns the XPASS into a failure, so the marker must go."""
    return pytest.mark.xfail(strict=True, reason=f"unmet by the shipped checkpoint: {reason}; see systems/seflow/README.md")


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> dict[str, dict[str, dict[str, float]]]:
    """{row: {subset: {column: mean over 4 items}}}."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEBENCH_HOME", str(tmp_path_factory.mktemp("home")))
        items = list(TESTSETS.get("synthetic")(n_per_subset=4, subsets="no_reverb+with_reverb+declip+plc").items())
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


@pytest.mark.parametrize("subset", [
    pytest.param("no_reverb", marks=unmet("DNSMOS OVRL 2.25 vs noisereduce 2.27 on these 4 items (met on 6 and 10 items: "
                                          "2.40 vs 2.34, 2.35 vs 2.23); PESQ is met")),
    "with_reverb",
])
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


@pytest.mark.parametrize("column", [
    "PLCMOS",
    pytest.param("PESQ_WB", marks=unmet("PESQ 1.7706 vs 1.7709 on these 4 items, a tie: the concealment taps do not "
                                        "conceal yet (10 items: 1.8042 vs 1.8046)")),
])
def test_full_model_beats_unprocessed_on_plc(scores, column):
    assert scores["f-12-4"]["plc"][column] > scores["unprocessed"]["plc"][column], (column, scores)


@pytest.mark.parametrize("subset", DENOISE)
def test_quality_grows_with_compute(scores, subset):
    for column in ("PESQ_WB", "SISDR"):
        assert scores["f-12-4"][subset][column] > scores["f-1-1"][subset][column], (subset, column, scores)
