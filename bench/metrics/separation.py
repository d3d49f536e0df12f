"""Permutation-invariant pairing of a separation system's outputs with the item's references.

A separator returns its sources in no particular order, so output 1 may be reference 2. Scoring
follows the usual practice (Asteroid's PIT evaluation, the WSJ0-2mix and LibriMix papers): the
assignment is the permutation of outputs that maximises the mean SI-SDR over the sources, chosen
once per item, and every intrusive column (SI-SDR, PESQ, STOI) is then the mean over the sources of
that same pairing, so the columns describe one consistent answer rather than each its own best.
All permutations are tried (2 sources: 2, 3 sources: 6), which is exact and cheap at these counts.
"""

from __future__ import annotations

from itertools import permutations
from typing import Sequence

import numpy as np

from bench.audio import align
from bench.metrics.sisdr import si_sdr

MAX_SOURCES = 6
"""720 permutations; beyond that an exhaustive search stops being cheap (and no SE set needs it)."""


def best_assignment(references: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> tuple[int, ...]:
    """For each reference, the index of the output assigned to it (maximum mean SI-SDR).

    Signals are truncated to the shortest first. Ties keep the identity order (the first permutation
    in lexicographic order wins), so a symmetric case does not depend on floating-point noise.
    """
    if len(references) != len(outputs):
        raise ValueError(f"{len(outputs)} outputs for {len(references)} references; a separation system must "
                         "return one output per reference")
    if not 1 <= len(references) <= MAX_SOURCES:
        raise ValueError(f"separation scoring handles 1 to {MAX_SOURCES} sources, got {len(references)}")
    signals = align(*references, *outputs)
    refs, outs = signals[: len(references)], signals[len(references):]
    table = np.array([[si_sdr(ref, out) for out in outs] for ref in refs])
    table = np.where(np.isnan(table), -np.inf, table)  # a silent reference pairs with anything equally badly
    best, best_value = None, -np.inf
    for perm in permutations(range(len(outs))):
        value = float(np.mean([table[i, j] for i, j in enumerate(perm)]))
        if best is None or value > best_value:
            best, best_value = perm, value
    assert best is not None
    return best
