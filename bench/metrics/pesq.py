"""PESQ (ITU-T P.862.2 wide-band, P.862.1 narrow-band) through the ``pesq`` package.

Both modes run at 16 kHz (the rate most SE papers report NB PESQ at; P.862 defines NB for 8 or
16 kHz input): output and reference are resampled to 16 kHz and truncated to the shorter.

Edge cases, decided rather than left to the C code:
- An all-zero output makes ``pesq`` fail (NaN inside its level alignment). It scores the floor of
  the MOS-LQO scale instead, ``PESQ_SILENCE`` = 0.999 for both modes: the lower asymptote of the
  P.862.1/.2 mappings from raw P.862 scores, which every real output stays above (raw scores can
  fall below P.862's nominal -0.5: DNS 2020 test clip 6 scores PESQ_WB 1.034, raw -0.66).
- A reference with no speech (all zeros, or ``NoUtterancesError``) leaves the columns absent.
"""

from __future__ import annotations

import numpy as np

from bench.metric import Column, Metric, ScoringContext, register_metric
from bench.metrics._common import is_silent, mean_columns, reference_pairs

SAMPLE_RATE = 16000
MOS_LQO_FLOOR = 0.999
"""MOS-LQO = 0.999 + 4 / (1 + exp(-a * raw + b)) (P.862.1 and P.862.2) tends to this as raw -> -inf."""
PESQ_SILENCE = {"PESQ_WB": MOS_LQO_FLOOR, "PESQ_NB": MOS_LQO_FLOOR}
_MODES = {"PESQ_WB": "wb", "PESQ_NB": "nb"}


def pesq_fn(reference: np.ndarray, output: np.ndarray) -> dict[str, float]:
    """PESQ_WB and PESQ_NB of 16 kHz signals of equal length: the floor for an all-zero output,
    nothing (``{}``) for a reference without speech."""
    from pesq import NoUtterancesError, pesq

    if is_silent(output):
        return dict(PESQ_SILENCE)
    scores = {}
    for column, mode in _MODES.items():
        try:
            scores[column] = float(pesq(SAMPLE_RATE, reference.astype(np.float32), output.astype(np.float32), mode))
        except NoUtterancesError:
            return {}
    return scores


@register_metric("pesq")
class PESQ(Metric):
    options: dict = {}
    columns = (
        Column("PESQ_WB", higher_is_better=True, lower=MOS_LQO_FLOOR, upper=4.644),
        Column("PESQ_NB", higher_is_better=True, lower=MOS_LQO_FLOOR, upper=4.549),
    )
    needs = frozenset({"reference"})
    handles_sources = True

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        per_pair = [pesq_fn(reference, output) for reference, output in reference_pairs(ctx, SAMPLE_RATE)]
        return mean_columns([scores for scores in per_pair if scores])
