"""Systems that misbehave on purpose, for the fault-injection suite (tests/test_faults*.py).

Loaded like any user plugin (``--plugin sebench_fault_plugin``). ``fault`` behaves like
``unprocessed`` (returns a copy of its input) except where told otherwise:

- ``mode``: what goes wrong (see ``OUTPUTS`` and ``ACTIONS``);
- ``stage``: where it goes wrong: ``enhance`` (default), ``init``, ``card``, ``variants``, ``load``;
- ``on``: item ids (``+``-separated) the enhance-stage fault hits; default: every item;
- ``log_dir``: a file per enhance call, so a test can wait until an item is in flight;
- ``hold``: a path; enhance waits until it exists (a run interrupted mid-item on any machine load).

Every fault is something a real adapter has been seen doing: returning int16 counts, printing
progress to stdout, calling ``sys.exit`` from a library, crashing in native code.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bench.item import AEC, DENOISE, TSE
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, SystemCard, register_system


class CustomBaseError(BaseException):
    """A BaseException subclass that is neither Exception nor SystemExit (as some C extensions raise)."""


def _segfault() -> None:
    ctypes.string_at(0)  # reads address 0: a real SIGSEGV in native code


def _raise(exc: BaseException) -> Callable[[], None]:
    def action() -> None:
        raise exc

    return action


ACTIONS: dict[str, Callable[[], None]] = {
    "raise": _raise(RuntimeError("model exploded")),
    "valueerror": _raise(ValueError("bad shape in layer 3")),
    "exit": lambda: sys.exit(3),
    "exit0": lambda: sys.exit(0),
    "exit-message": lambda: sys.exit("fatal: model file corrupt"),
    "memoryerror": _raise(MemoryError("cannot allocate 80 GB")),
    "recursion": _raise(RecursionError("maximum recursion depth exceeded")),
    "baseexception": _raise(CustomBaseError("raised by a C extension")),
    "generatorexit": _raise(GeneratorExit()),
    "keyboardinterrupt": _raise(KeyboardInterrupt()),
    "segfault": _segfault,
    "abort": os.abort,
    "os-exit": lambda: os._exit(7),
    "sigkill-self": lambda: os.kill(os.getpid(), signal.SIGKILL),
}
"""Faults that happen instead of returning: exceptions of every kind, and process deaths."""


def _int16(audio: np.ndarray) -> Any:
    return np.round(audio * 32767).astype(np.int16)


OUTPUTS: dict[str, Callable[[np.ndarray], Any]] = {
    "none": lambda audio: audio.copy(),
    "int16": _int16,
    "int32": lambda audio: np.round(audio * 2**31 * 0.9).astype(np.int32),
    "uint8": lambda audio: np.round(audio * 127 + 128).astype(np.uint8),
    "bool": lambda audio: audio > 0,
    "int16-as-float": lambda audio: _int16(audio).astype(np.float32),
    "complex": lambda audio: audio.astype(np.complex64),
    "scale1e6": lambda audio: audio * 1e6,
    "nan": lambda audio: np.where(np.arange(len(audio)) == 10, np.nan, audio),
    "inf": lambda audio: np.where(np.arange(len(audio)) == 10, np.inf, audio),
    "silence": lambda audio: np.zeros_like(audio),
    "short": lambda audio: audio[:-100].copy(),
    "long": lambda audio: np.concatenate([audio, audio[:100]]),
    "empty": lambda audio: audio[:0].copy(),
    "stereo-rows": lambda audio: np.stack([audio, audio]),
    "stereo-columns": lambda audio: np.stack([audio, audio], axis=1),
    "3d": lambda audio: audio[None, None, :].repeat(2, axis=0),
    "scalar": lambda audio: np.float32(0.5),
    "none-object": lambda audio: None,
    "string": lambda audio: "enhanced.wav",
    "object-array": lambda audio: np.array([object()] * len(audio)),
    "float64": lambda audio: audio.astype(np.float64),
    "list": lambda audio: [float(x) for x in audio],
    "mutate-input": lambda audio: _mutate(audio),
}
"""Faults in what comes back (and two harmless shapes: float64 and a list of floats)."""


def _mutate(audio: np.ndarray) -> np.ndarray:
    out = audio.copy()
    audio *= 0.0  # scribbles over the harness's copy of the input
    return out


@register_system("fault")
class Fault(System):
    """Returns its input, except where ``mode``/``stage``/``on`` make it misbehave."""

    tasks = frozenset({DENOISE, TSE, AEC})
    sample_rate = None
    version = "1"

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._misbehave("init")

    @property
    def _stage(self) -> str:
        return str(self.config.get("stage", "enhance"))

    def _misbehave(self, stage: str) -> None:
        if self._stage != stage:
            return
        mode = str(self.config.get("mode", "raise"))
        if mode == "print":
            print("fault: a line printed to stdout by the system")
            return
        ACTIONS[mode]()

    def variants(self) -> list[str]:
        self._misbehave("variants")
        return [DEFAULT_VARIANT]

    def card(self, variant: str = DEFAULT_VARIANT) -> SystemCard:
        self._misbehave("card")
        return super().card(variant)

    def load(self) -> None:
        self._misbehave("load")

    def _hits(self, item_id: str) -> bool:
        on = str(self.config.get("on", ""))
        return not on or item_id in on.split("+")

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> Any:
        log_dir = self.config.get("log_dir")
        if log_dir:  # lets a test wait until items are in flight
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            (Path(log_dir) / f"{inputs.item_id}-{time.monotonic_ns()}").touch()
        hold = self.config.get("hold")
        if hold:  # stays in flight until the test creates this file, however slow the machine is
            deadline = time.monotonic() + 300
            while not Path(hold).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        time.sleep(float(self.config.get("sleep", 0)))
        mode = str(self.config.get("mode", "none"))
        if self._stage != "enhance" or not self._hits(inputs.item_id):
            return inputs.audio.copy()
        if mode == "print":
            print("fault: a line printed to stdout by the system", flush=True)
            return inputs.audio.copy()
        if mode == "print-native":
            sys.stdout.flush()
            os.write(1, b"fault: a line written to file descriptor 1\n")
            return inputs.audio.copy()
        if mode == "hang":
            time.sleep(60)
        if mode in ACTIONS:
            ACTIONS[mode]()
        return OUTPUTS[mode](inputs.audio)
