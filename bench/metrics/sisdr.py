"""Scale-invariant SDR (Le Roux et al., ICASSP 2019) in numpy, in dB.

Both signals are made zero-mean, the output is projected on the reference, and SI-SDR is the
energy ratio of that projection to the residual, computed in float64 at the item's own rate after
truncating both to the shorter. The ratio is unbounded at both ends (a perfect output divides by
zero, a silent one takes the log of zero), so values are clamped to +/-``SISDR_LIMIT_DB`` = 100 dB:
the oracle scores 100, an all-zero output -100. A silent reference leaves the column absent.
"""

from __future__ import annotations

import numpy as np

from bench.metric import Column, Metric, ScoringContext, register_metric
from bench.metrics._common import mean_columns, reference_pairs

SISDR_LIMIT_DB = 100.0

BLOCK = 1 << 16
"""Samples per block: the float64 working copies stay at 0.5 MB however long the item is."""


def _blocks(length: int) -> range:
    return range(0, length, BLOCK)


def si_sdr(reference: np.ndarray, output: np.ndarray) -> float:
    """SI-SDR in dB, clamped to [-SISDR_LIMIT_DB, SISDR_LIMIT_DB]; NaN for a constant reference.

    Computed in float64 blocks (means and dot products first, then the residual energy), so a
    1-hour item needs no float64 copy of either signal; each block sums the same terms as the
    whole-signal formula.
    """
    reference, output = np.asarray(reference), np.asarray(output)
    n = len(reference)
    if len(output) != n:
        raise ValueError(f"SI-SDR needs signals of equal length, got {n} and {len(output)} samples")
    if n == 0 or all(np.all(reference[i:i + BLOCK] == reference[0]) for i in _blocks(n)):
        return float("nan")
    r_mean = sum(np.sum(reference[i:i + BLOCK], dtype=np.float64) for i in _blocks(n)) / n
    o_mean = sum(np.sum(output[i:i + BLOCK], dtype=np.float64) for i in _blocks(n)) / n
    r_energy = cross = 0.0
    for i in _blocks(n):
        r = reference[i:i + BLOCK].astype(np.float64) - r_mean
        r_energy += float(np.dot(r, r))
        cross += float(np.dot(output[i:i + BLOCK].astype(np.float64) - o_mean, r))
    scale = cross / r_energy
    residual = 0.0
    for i in _blocks(n):
        r = reference[i:i + BLOCK].astype(np.float64) - r_mean
        e = output[i:i + BLOCK].astype(np.float64) - o_mean - scale * r
        residual += float(np.dot(e, e))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 10.0 * np.log10(np.float64(scale * scale * r_energy) / np.float64(residual))
    if np.isnan(value):  # 0/0: a silent output has neither target nor residual energy
        value = -np.inf
    return float(np.clip(value, -SISDR_LIMIT_DB, SISDR_LIMIT_DB))


@register_metric("sisdr")
class SISDR(Metric):
    options: dict = {}
    columns = (Column("SISDR", higher_is_better=True, lower=-SISDR_LIMIT_DB, upper=SISDR_LIMIT_DB, unit="dB"),)
    needs = frozenset({"reference"})
    implementation_version = "2"  # blockwise (bounded memory)
    handles_sources = True

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        values = [si_sdr(*pair) for pair in reference_pairs(ctx)]
        return mean_columns([{"SISDR": v} for v in values if not np.isnan(v)])
