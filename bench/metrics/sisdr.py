"""Scale-invariant SDR (Le Roux et al., ICASSP 2019) in numpy, in dB.

Both signals are made zero-mean, the output is projected on the reference, and SI-SDR is the
energy ratio of that projection to the residual, computed in float64 at the output's rate after
truncating both to the shorter. The ratio is unbounded at both ends (a perfect output divides by
zero, a silent one takes the log of zero), so values are clamped to +/-``SISDR_LIMIT_DB`` = 100 dB:
the oracle scores 100, an all-zero output -100. A silent reference leaves the column absent.
"""

from __future__ import annotations

import numpy as np

from bench.metric import Column, Metric, ScoringContext, register_metric
from bench.metrics._common import reference_pair

SISDR_LIMIT_DB = 100.0


def si_sdr(reference: np.ndarray, output: np.ndarray) -> float:
    """SI-SDR in dB, clamped to [-SISDR_LIMIT_DB, SISDR_LIMIT_DB]; NaN for a constant reference."""
    reference = np.asarray(reference, dtype=np.float64) - np.mean(reference, dtype=np.float64)
    output = np.asarray(output, dtype=np.float64) - np.mean(output, dtype=np.float64)
    if not np.any(reference):
        return float("nan")
    scale = np.dot(output, reference) / np.dot(reference, reference)
    target = scale * reference
    residual = output - target
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 10.0 * np.log10(np.dot(target, target) / np.dot(residual, residual))
    if np.isnan(value):  # 0/0: a silent output has neither target nor residual energy
        value = -np.inf
    return float(np.clip(value, -SISDR_LIMIT_DB, SISDR_LIMIT_DB))


@register_metric("sisdr")
class SISDR(Metric):
    columns = (Column("SISDR", higher_is_better=True, lower=-SISDR_LIMIT_DB, upper=SISDR_LIMIT_DB, unit="dB"),)
    needs = frozenset({"reference"})

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        pair = reference_pair(ctx)
        if pair is None:
            return {}
        value = si_sdr(*pair)
        return {} if np.isnan(value) else {"SISDR": value}
