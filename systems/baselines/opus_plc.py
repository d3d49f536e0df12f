"""Opus packet loss concealment: the input is Opus-encoded in 20 ms packets, and the packets the
item's loss trace marks lost are replaced by the decoder's own concealment (``opus_decode`` with
no data), as a VoIP receiver would do.

Runs at 16 kHz (wideband). The decoder's output lags the encoder's input by the encoder lookahead
(104 samples at 16 kHz, exact in every mode); at 48 kHz the SILK path's resamplers land 2-3
samples off the reported lookahead, which would break sample alignment. The encoder is fed the
input advanced by the lookahead, so decoded packet k is input packet k and the loss trace lines up
with the packets the decoder conceals. Needs ``opuslib`` and the system libopus
(``apt install libopus0``, ``brew install opus``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.errors import MissingDependencyError
from bench.item import PLC
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, register_system
from systems.baselines._common import EXTRA, from_int16, installed_version, to_int16
from systems.baselines.plc import loss_flags, packet_samples


def _import_opuslib() -> Any:
    """opuslib raises a bare Exception at import when libopus is absent; name the fix instead."""
    try:
        import opuslib
    except ImportError as exc:
        raise MissingDependencyError("opuslib", EXTRA, str(exc)) from exc
    except Exception as exc:  # opuslib/api/__init__.py: "Could not find Opus library."
        raise MissingDependencyError(
            "libopus", None, f"{exc} opuslib needs the system Opus library: apt install libopus0 / brew install opus"
        ) from exc
    return opuslib


@register_system("opus-plc")
class OpusPLC(System):
    """Config: ``bitrate`` in bit/s (default 32000) and ``application`` (``voip``, the default, or
    ``audio``), passed to the Opus encoder."""

    tasks = frozenset({PLC})
    needs = frozenset({"loss_trace"})
    sample_rate = 16000
    version = installed_version("opuslib")
    license = "BSD-3-Clause (libopus, opuslib)"
    options = {"bitrate": 32000, "application": "voip"}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._opus: Any = None

    def load(self) -> None:
        if self._opus is None:
            self._opus = _import_opuslib()

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        self.load()
        rate = inputs.sample_rate
        packet = packet_samples(rate)
        lost = loss_flags(inputs)
        encoder = self._opus.Encoder(rate, 1, str(self.config["application"]))
        encoder.bitrate = int(self.config["bitrate"])
        decoder = self._opus.Decoder(rate, 1)
        lookahead = int(encoder.lookahead)

        audio = np.asarray(inputs.audio, dtype=np.float32)
        advanced = np.zeros(len(lost) * packet, dtype=np.float32)
        advanced[: max(0, len(audio) - lookahead)] = audio[lookahead:]
        pcm = to_int16(advanced)
        decoded = []
        for index, is_lost in enumerate(lost):
            # Every packet is encoded, lost or not: the sender never knows what the network drops.
            data = encoder.encode(pcm[index * packet : (index + 1) * packet].tobytes(), packet)
            decoded.append(np.frombuffer(decoder.decode(b"" if is_lost else data, packet), dtype=np.int16))
        output = from_int16(np.concatenate(decoded))[: len(audio)]
        # The decoder's first `lookahead` samples precede anything the encoder was given.
        head = min(lookahead, len(audio))
        output[:head] = 0.0 if lost[0] else audio[:head]
        return output
