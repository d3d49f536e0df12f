"""Quality claims of the shipped checkpoint on a few synthetic denoise items (slow: runs DNSMOS/PESQ).

These assert the issue's Done-when claims at small scale; the full per-point table is in
systems/seflow/README.md (``python -m systems.seflow.evaluate``)."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def denoise_scores(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEBENCH_HOME", str(tmp_path_factory.mktemp("home")))
        items = list(TESTSETS.get("synthetic")(n_per_subset=4, subsets="no_reverb").items())
    metrics = [METRICS.get("dnsmos")(), METRICS.get("pesq")()]
    rows = {"unprocessed": ("unprocessed", "default"), "noisereduce": ("noisereduce", "default"),
            "f-1-1": ("seflow", "f-1-1"), "f-12-4": ("seflow", "f-12-4")}
    out = {}
    for label, (name, variant) in rows.items():
        system = SYSTEMS.get(name)()
        system.load()
        per = [score_item(metrics, it, *enhance_item(system, variant, it))[0] for it in items]
        out[label] = {c: float(np.mean([p[c] for p in per])) for c in ("DNSMOS_OVRL", "PESQ_WB")}
    return out


UNMET = pytest.mark.xfail(
    strict=True,
    reason="the shipped checkpoint (29 CPU-minutes of training) does not meet this claim yet; see "
    "systems/seflow/README.md. Strict: once a better checkpoint passes, this marker must go.",
)


@UNMET
def test_full_model_beats_unprocessed_and_noisereduce_on_denoise(denoise_scores):
    s = denoise_scores
    for col in ("DNSMOS_OVRL", "PESQ_WB"):
        assert s["f-12-4"][col] > s["unprocessed"][col], (col, s)
        assert s["f-12-4"][col] > s["noisereduce"][col], (col, s)


def test_smallest_point_beats_unprocessed_in_ovrl(denoise_scores):
    assert denoise_scores["f-1-1"]["DNSMOS_OVRL"] > denoise_scores["unprocessed"]["DNSMOS_OVRL"], denoise_scores


@UNMET
def test_quality_grows_with_compute(denoise_scores):
    assert denoise_scores["f-12-4"]["PESQ_WB"] > denoise_scores["f-1-1"]["PESQ_WB"], denoise_scores
