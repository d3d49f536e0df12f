"""The array-level metric functions: the Metric classes are thin wrappers that give the same
numbers, and the functions work on plain arrays with no item, file or context."""

from __future__ import annotations

import numpy as np
import pytest

from bench.metric import METRICS
from bench.metrics import functional as F
from tests._metrics_support import make_item, noisy, score, speech


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    clean = speech()
    return clean, noisy(clean, 5.0)


def test_intrusive_functions_equal_their_metrics(tmp_path, pair) -> None:
    clean, degraded = pair
    item = make_item(tmp_path, 16000, input=degraded, reference=clean)
    assert F.pesq(clean, degraded) == score(METRICS.get("pesq")(), item, degraded, 16000)
    assert F.si_sdr(clean, degraded) == score(METRICS.get("sisdr")(), item, degraded, 16000)["SISDR"]
    stoi = score(METRICS.get("stoi")(), item, degraded, 16000)
    assert F.stoi(clean, degraded, 16000) == stoi["STOI"]
    assert F.stoi(clean, degraded, 16000, extended=True) == pytest.approx(stoi["ESTOI"], rel=1e-12)  # summation order
    assert 1.0 < F.pesq(clean, degraded)["PESQ_WB"] < F.pesq(clean, clean)["PESQ_WB"]  # real scores, ordered
    assert F.pesq(clean, np.zeros_like(clean)) == {"PESQ_WB": 0.999, "PESQ_NB": 0.999}


def test_model_functions_equal_their_metrics(tmp_path, pair) -> None:
    clean, degraded = pair
    item = make_item(tmp_path, 16000, task="plc", input=degraded, reference=clean)
    dnsmos = score(METRICS.get("dnsmos")(), item, degraded, 16000)
    assert {f"DNSMOS_{k}": v for k, v in F.dnsmos(degraded).items()} == {
        k: v for k, v in dnsmos.items() if k.split("_")[1] in ("SIG", "BAK", "OVRL", "P808")}
    assert F.plcmos(degraded, seed=0) == score(METRICS.get("plcmos")(), item, degraded, 16000)["PLCMOS"]
    assert F.plcmos(degraded, seed=0) != F.plcmos(degraded, seed=1)  # the seed picks the raters
