"""STOI and extended STOI (ESTOI) through ``pystoi``.

Output and reference are compared at the output's rate (``pystoi`` resamples to its 10 kHz
internally) after truncating both to the shorter. An all-zero output scores what ``pystoi`` gives
(STOI 0.0, ESTOI close to 0); a silent reference leaves the columns absent.
"""

from __future__ import annotations

from bench.metric import Column, Metric, ScoringContext, register_metric
from bench.metrics._common import reference_pair


@register_metric("stoi")
class STOI(Metric):
    columns = (
        Column("STOI", higher_is_better=True, lower=0.0, upper=1.0),
        Column("ESTOI", higher_is_better=True, lower=-1.0, upper=1.0),
    )
    needs = frozenset({"reference"})

    def load(self) -> None:
        """Import pystoi once per worker (it pulls in scipy.signal and friends: seconds, not ms)."""
        import pystoi  # noqa: F401

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        from pystoi import stoi

        pair = reference_pair(ctx)
        if pair is None:
            return {}
        reference, output = pair
        rate = ctx.output_rate
        return {
            "STOI": float(stoi(reference, output, rate, extended=False)),
            "ESTOI": float(stoi(reference, output, rate, extended=True)),
        }
