"""The two reference concealments every PLC table starts from: silence, and repeating the last packet.

Both read the item's loss trace (one flag per 20 ms packet, 1 = lost; PLC Challenge convention) and
never touch received packets except for the short cross-fades around a loss, so their output is
aligned with the input by construction. Flags past the end of the audio are ignored; audio past the
end of the trace counts as received.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from bench.item import PACKET_SECONDS, PLC
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, register_system

CROSSFADE_SECONDS = 0.004
"""Raised-cosine cross-fade into and out of a concealed span, so the splice does not click."""


def packet_samples(sample_rate: int) -> int:
    return round(PACKET_SECONDS * sample_rate)


def loss_flags(inputs: EnhanceInput) -> np.ndarray:
    """One bool per packet of the audio (a partial last packet included)."""
    if inputs.loss_trace is None:
        raise ValueError(f"item {inputs.item_id} has no loss trace, which packet loss concealment needs")
    packet = packet_samples(inputs.sample_rate)
    count = -(-len(inputs.audio) // packet)
    flags = np.zeros(count, dtype=bool)
    trace = np.asarray(inputs.loss_trace[:count], dtype=bool)
    flags[: len(trace)] = trace
    return flags


def lost_bursts(flags: Sequence[bool]) -> list[tuple[int, int]]:
    """Runs of consecutive lost packets as (first, end) packet indices, end exclusive."""
    bursts: list[tuple[int, int]] = []
    start = None
    for index, lost in enumerate(flags):
        if lost and start is None:
            start = index
        elif not lost and start is not None:
            bursts.append((start, index))
            start = None
    if start is not None:
        bursts.append((start, len(flags)))
    return bursts


def _ramp(length: int) -> np.ndarray:
    """Raised-cosine fade-in weights."""
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(length) + 0.5) / max(length, 1))).astype(np.float32)


@register_system("plc-zero")
class ZeroFill(System):
    """Lost packets become silence: the floor a concealment has to beat."""

    tasks = frozenset({PLC})
    needs = frozenset({"loss_trace"})
    sample_rate = None
    version = "1"
    license = "Apache-2.0"
    options = {}

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        packet = packet_samples(inputs.sample_rate)
        output = np.array(inputs.audio, dtype=np.float32)
        for first, end in lost_bursts(loss_flags(inputs)):
            output[first * packet : end * packet] = 0.0
        return output


@register_system("plc-repeat")
class RepeatLast(System):
    """Each lost packet repeats the packet before it, fading linearly to silence over a burst.

    Config: ``fade_packets``, how many lost packets the fade to silence takes (default 3, i.e.
    60 ms, after which a long burst stays silent instead of buzzing).
    """

    tasks = frozenset({PLC})
    needs = frozenset({"loss_trace"})
    sample_rate = None
    version = "1"
    license = "Apache-2.0"
    options = {"fade_packets": 3}

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        packet = packet_samples(inputs.sample_rate)
        fade = max(1, int(self.config["fade_packets"])) * packet
        overlap = min(packet, max(1, round(CROSSFADE_SECONDS * inputs.sample_rate)))
        received = np.asarray(inputs.audio, dtype=np.float32)
        output = received.copy()
        length = len(output)
        for first, end in lost_bursts(loss_flags(inputs)):
            start, stop = first * packet, min(end * packet, length)
            if start < packet:
                output[start:stop] = 0.0  # nothing was received before the loss
                continue
            # Repeating the previous packet means s[n] = s[n - packet]. It starts `lead` samples
            # before the loss (where s[n] = output[n - packet]) and runs `overlap` samples past it,
            # so the concealment cross-fades in and out instead of splicing with a click.
            lead = min(overlap, start - packet)
            lead_in = start - lead
            span_end = min(stop + overlap, length)
            period = output[lead_in - packet : lead_in].copy()
            positions = np.arange(lead_in, span_end)
            gain = np.clip(1.0 - (positions - start) / fade, 0.0, 1.0).astype(np.float32)
            concealed = period[(positions - lead_in) % packet] * gain
            output[start:stop] = concealed[lead : lead + (stop - start)]
            fade_in = _ramp(lead)
            output[lead_in:start] = output[lead_in:start] * (1 - fade_in) + concealed[:lead] * fade_in
            tail = span_end - stop
            fade_out = _ramp(overlap)[:tail]
            output[stop:span_end] = concealed[lead + (stop - start) :] * (1 - fade_out) + received[stop:span_end] * fade_out
        return output
