"""Seeded shoebox rooms from pyroomacoustics (image source method) for reverberation and echo paths.

Only the deterministic image-source model is used (no ray tracing, whose rays are random), and the
RIR is computed on one thread: pyroomacoustics sums image sources per thread, so the last bits of
the response depend on the thread count, which would break byte-identical builds across machines.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pyroomacoustics as pra


@dataclass(frozen=True)
class Room:
    """A room impulse response and the facts a result table may want to slice by."""

    rir: np.ndarray
    rt60_target: float
    rt60_measured: float
    dims: tuple[float, float, float]
    distance: float
    direct_index: int
    """Sample index of the direct-path peak (the pre-delay plus the fractional-delay filter's half
    length); trimming the RIR here aligns a reverberant signal with its dry source."""


@contextmanager
def _single_thread() -> Iterator[None]:
    previous = pra.constants.get("num_threads")
    pra.constants.set("num_threads", 1)
    try:
        yield
    finally:
        pra.constants.set("num_threads", previous)


def random_room(
    rng: np.random.Generator,
    sample_rate: int,
    rt60_range: tuple[float, float],
    distance_range: tuple[float, float],
) -> Room:
    """A room with RT60 drawn from ``rt60_range`` and source-microphone distance from ``distance_range``.

    Wall absorption and reflection order come from Sabine's formula (``inverse_sabine``); the
    measured RT60 of the resulting response is recorded too, since the image-source decay does not
    match Sabine's exactly.
    """
    dims = (float(rng.uniform(3.5, 8.0)), float(rng.uniform(3.0, 6.0)), float(rng.uniform(2.5, 3.5)))
    rt60 = float(rng.uniform(*rt60_range))
    absorption, max_order = pra.inverse_sabine(rt60, list(dims))
    margin = 0.5
    mic = np.array([rng.uniform(margin, d - margin) for d in dims[:2]] + [rng.uniform(1.0, 1.6)])
    for _ in range(1000):
        distance = float(rng.uniform(*distance_range))
        azimuth = rng.uniform(0, 2 * np.pi)
        source = mic + np.array([distance * np.cos(azimuth), distance * np.sin(azimuth), rng.uniform(-0.2, 0.2)])
        if all(margin <= source[i] <= dims[i] - margin for i in range(3)):
            break
    else:  # pragma: no cover - the smallest room fits the largest distance many times over
        raise RuntimeError(f"could not place a source {distance_range} m from the microphone in a {dims} room")
    room = pra.ShoeBox(list(dims), fs=sample_rate, materials=pra.Material(absorption), max_order=max_order)
    room.add_source(source.tolist())
    room.add_microphone(mic.tolist())
    with _single_thread():
        room.compute_rir()
    rir = np.asarray(room.rir[0][0], dtype=np.float64)
    direct = int(np.argmax(np.abs(rir)))
    return Room(
        rir=rir,
        rt60_target=rt60,
        rt60_measured=float(pra.experimental.measure_rt60(rir, fs=sample_rate)),
        dims=dims,
        distance=float(np.linalg.norm(source - mic)),
        direct_index=direct,
    )
