"""Echo return loss enhancement for far-end single talk, in dB.

ERLE = 10 log10(sum mic^2 / sum output^2) over the whole clip (mic = ``item.input``), computed
at the item's own rate after truncating both to the shorter. It is only meaningful when the
microphone holds nothing but echo, so it applies to AEC items whose talk type is far-end single
talk and is absent elsewhere. An all-zero output (perfect suppression, or a muted system) is
clamped to ``ERLE_LIMIT_DB`` = 100 dB, as is any value beyond it.
"""

from __future__ import annotations

import numpy as np

from bench.audio import align
from bench.item import AEC, FAREND_SINGLE_TALK, Item
from bench.metric import Column, Metric, ScoringContext, register_metric

ERLE_LIMIT_DB = 100.0


def erle_db(mic: np.ndarray, output: np.ndarray) -> float:
    """Clip-level ERLE in dB, clamped to +/-ERLE_LIMIT_DB."""
    mic, output = align(np.asarray(mic, dtype=np.float64), np.asarray(output, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 10.0 * np.log10(np.dot(mic, mic) / np.dot(output, output))
    if np.isnan(value):  # silent mic and silent output: nothing was suppressed
        value = 0.0
    return float(np.clip(value, -ERLE_LIMIT_DB, ERLE_LIMIT_DB))


@register_metric("erle")
class ERLE(Metric):
    options: dict = {}
    columns = (Column("ERLE", higher_is_better=True, lower=-ERLE_LIMIT_DB, upper=ERLE_LIMIT_DB, unit="dB"),)
    needs = frozenset({"far_end", "talk_type"})
    tasks = frozenset({AEC})
    scope = ("ERLE is defined on far-end single talk only (the microphone holds nothing but echo); "
             "items of other talk types, or without a talk type, leave it empty")

    def applies_to(self, item: Item) -> bool:
        return super().applies_to(item) and item.talk_type == FAREND_SINGLE_TALK

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        if ctx.item.talk_type != FAREND_SINGLE_TALK:
            return {}
        return {"ERLE": erle_db(ctx.input(ctx.item_rate), ctx.output(ctx.item_rate))}
