"""Slow: issue #16's Done-when claims for the shipped SEFlow checkpoint on the real items in
../shared/data (skipped when absent): the SEFlow demo page against the published outputs, the TSE
demo items against the mixture, the DNS 2020 sample against RNNoise and the noisy input.

A claim the checkpoint does not meet is a strict xfail whose reason carries the measured number, so
it stays visible and turns into a failure the day it starts to hold (systems/seflow/README.md lists
these gaps). The numbers in the reasons are ``python -m systems.seflow.training.realcheck``'s."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.paths import shared_data_root
from systems.seflow import checkpoint
from systems.seflow.training import realcheck

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not checkpoint.DEFAULT_CHECKPOINT.is_file(), reason="no shipped checkpoint"),
]


def _folder(part: Path) -> Path:
    shared = shared_data_root()
    if shared is None:
        pytest.skip("../shared/data is not present")
    root = shared / part
    if not root.is_dir():
        pytest.skip(f"{part} is not in ../shared/data")
    return root


def _not_met(reason: str):
    """A Done-when claim the shipped checkpoint misses: measured number in the reason. Only the
    claim's own assertion counts as the expected failure; an error scoring the items fails."""
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"not met by the shipped checkpoint: {reason}")


# Measured on the shipped checkpoint (stage 6); see systems/seflow/README.md, "On the real items".
MEDIAN_MARK = _not_met("median ratio 0.61 over the ten cells")
MIN_MARK = _not_met("lowest cell 0.44, clip PESQ-wb 1.64 vs published 3.76")
GROWTH = ["clip", "complex", "noise", "reverb",
          pytest.param("packet", marks=_not_met("packet PESQ-wb 1.181 / 1.181 / 1.185 at f-1-1 / f-6-2 / f-12-4"))]
TSE_CASES = [("libri2mix", "SISDR"),
             pytest.param("libri2mix", "SpkSim", marks=_not_met("Libri2Mix speaker similarity 0.7943 vs 0.7948 unprocessed")),
             pytest.param("wsj0-2mix", "SISDR", marks=_not_met("WSJ0-2mix SI-SDR 1.34 vs 2.13 dB unprocessed")),
             pytest.param("wsj0-2mix", "SpkSim", marks=_not_met("WSJ0-2mix speaker similarity 0.847 vs 0.863 unprocessed"))]
DNS_CASES = [pytest.param("DNSMOS_OVRL", marks=_not_met("no_reverb DNSMOS OVRL 2.70 vs RNNoise 3.16")),
             pytest.param("PESQ_WB", marks=_not_met("no_reverb PESQ-wb 2.02 vs RNNoise 2.09"))]


@pytest.fixture(scope="module")
def demo() -> dict:
    table = realcheck.demo(_folder(realcheck.DEMO), points=("f-1-1", "f-6-2", "f-12-4"),
                           metric_names=("dnsmos", "pesq"))
    return realcheck.demo_claims(table)


@pytest.fixture(scope="module")
def tse() -> dict:
    return realcheck.tse(_folder(realcheck.TSE_DEMO))


@pytest.fixture(scope="module")
def dns() -> dict:
    return realcheck.dns(_folder(realcheck.DNS))


@MEDIAN_MARK
def test_demo_median_ratio_to_published_f_12_4(demo):
    assert demo["median"] >= 0.80, demo


@MIN_MARK
def test_demo_no_cell_below_0_55_of_published(demo):
    assert demo["min"] >= 0.55, demo


@pytest.mark.parametrize("distortion", GROWTH)
def test_demo_pesq_grows_with_compute(demo, distortion):
    assert demo["pesq_grows"][distortion], demo


@pytest.mark.parametrize("corpus,column", TSE_CASES)
def test_tse_beats_the_mixture(tse, corpus, column):
    assert tse["f-12-4"][corpus][column] > tse["unprocessed"][corpus][column], tse


@pytest.mark.parametrize("column", DNS_CASES)
def test_dns_no_reverb_beats_rnnoise(dns, column):
    assert dns["f-12-4"]["no_reverb"][column] > dns["rnnoise"]["no_reverb"][column], dns


def test_dns_with_reverb_keeps_pesq(dns):
    assert dns["f-12-4"]["with_reverb"]["PESQ_WB"] >= dns["unprocessed"]["with_reverb"]["PESQ_WB"], dns
