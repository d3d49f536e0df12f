"""Slow: the baselines on real audio from ../shared/data (skipped when it is absent): official DNS
Challenge 2020 test items and the tPLCnet demo's lossy wavs with their ``is_lost`` traces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.item import Item
from bench.metric import METRICS
from bench.pipeline import enhance_item, score_item
from bench.system import SYSTEMS
from bench.testset import TESTSETS

pytestmark = pytest.mark.slow


def mean_of(system_name: str, items: list[Item], metric_names: list[str]) -> dict[str, float]:
    system = SYSTEMS.get(system_name)()
    system.load()
    metrics = [METRICS.get(name)() for name in metric_names]
    totals: dict[str, list[float]] = {}
    for item in items:
        output, rate = enhance_item(system, "default", item)
        scores, errors = score_item(metrics, item, output, rate)
        assert not errors, f"{system_name} on {item.id}: {errors}"
        for column, value in scores.items():
            totals.setdefault(column, []).append(value)
    return {column: float(np.mean(values)) for column, values in totals.items()}


def test_deepfilternet3_improves_official_dns2020_items(shared_data: Path) -> None:
    root = shared_data / "dns2020-sample"
    if not root.is_dir():
        pytest.skip("dns2020-sample is not in ../shared/data")
    items = list(TESTSETS.get("dns")(root=str(root), subset="no_reverb+with_reverb").items())
    assert items
    noisy = mean_of("unprocessed", items, ["dnsmos", "pesq"])
    enhanced = mean_of("deepfilternet3", items, ["dnsmos", "pesq"])
    assert enhanced["DNSMOS_OVRL"] > noisy["DNSMOS_OVRL"] + 0.3, (enhanced, noisy)
    assert enhanced["PESQ_WB"] > noisy["PESQ_WB"] + 0.3, (enhanced, noisy)


@pytest.mark.parametrize("name", ["nsnet2", "nsnet2-48k", "dtln", "logmmse"])
def test_dns_baselines_beat_unprocessed_in_dnsmos_on_official_items(shared_data: Path, name: str) -> None:
    """Measured on the sample's 3 no_reverb items: OVRL 2.44 unprocessed; nsnet2 3.05, nsnet2-48k
    3.18, dtln 3.05, logmmse 2.73."""
    items = dns_items(shared_data, "no_reverb")
    noisy = mean_of("unprocessed", items, ["dnsmos"])["DNSMOS_OVRL"]
    assert mean_of(name, items, ["dnsmos"])["DNSMOS_OVRL"] > noisy + 0.2


def test_wpe_dereverberates_the_official_with_reverb_item_in_srmr(shared_data: Path) -> None:
    """Its clean reference is reverberant too, so only a non-intrusive reverberation measure can see
    WPE's work (measured SRMR 4.54 -> 4.71; SI-SDR against the reverberant reference falls)."""
    items = dns_items(shared_data, "with_reverb")
    assert mean_of("wpe", items, ["srmr"])["SRMR"] > mean_of("unprocessed", items, ["srmr"])["SRMR"] + 0.05


def dns_items(shared_data: Path, subsets: str) -> list[Item]:
    root = shared_data / "dns2020-sample"
    if not root.is_dir():
        pytest.skip("dns2020-sample is not in ../shared/data")
    items = list(TESTSETS.get("dns")(root=str(root), subset=subsets).items())
    assert items
    return items


def test_concealment_beats_zero_fill_on_tplcnet_traces(shared_data: Path) -> None:
    root = shared_data / "tplcnet-plc" / "test_files"
    if not root.is_dir():
        pytest.skip("tplcnet-plc/test_files is not in ../shared/data")
    items = list(TESTSETS.get("plc-challenge")(root=str(root)).items())
    assert items and all(item.loss_trace for item in items)
    zero = mean_of("plc-zero", items, ["plcmos"])["PLCMOS"]
    assert mean_of("plc-repeat", items, ["plcmos"])["PLCMOS"] > zero
    assert mean_of("opus-plc", items, ["plcmos"])["PLCMOS"] > zero
