"""PLC Challenge layout: lossy wav files with a ``<name>_is_lost.txt`` trace beside each.

The trace holds one flag per 20 ms packet (1 = lost, the packet's samples are zeroed in the wav);
it travels with the item, so PLC systems know which packets to conceal and PLCMOS can be given the
same trace. Clean references exist only for validation sets and demos; name their folder with
``clean`` (relative to ``root``).

``root`` is searched recursively for ``*_is_lost.txt``; the wav with the same name before
``_is_lost`` is looked for beside the trace, then in a sibling ``lossy_signals`` folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from bench.audio import audio_info
from bench.errors import AudioError, ConfigError
from bench.item import PACKET_SECONDS, PLC, Item
from bench.testset import TestSet, register_testset
from testsets._config import as_int, reject_unknown
from testsets._paths import expand_root, resolve_inside

TRACE_SUFFIX = "_is_lost.txt"
AUDIO_SUFFIXES = (".wav", ".flac")
TRACE_TOLERANCE_PACKETS = 1
"""A trace may be one packet longer or shorter than the audio (a trailing partial packet)."""


def read_loss_trace(path: Path) -> tuple[int, ...]:
    """Flags separated by whitespace or newlines, each 0 or 1."""
    try:
        tokens = path.read_text().split()
    except OSError as exc:
        raise ConfigError(f"cannot read loss trace {path}: {exc}") from exc
    flags = []
    for index, token in enumerate(tokens):
        try:
            flag = int(float(token))
        except ValueError:
            raise ConfigError(f"loss trace {path}: flag {index} is {token!r}, expected 0 or 1") from None
        if flag not in (0, 1) or float(token) != flag:
            raise ConfigError(f"loss trace {path}: flag {index} is {token!r}, expected 0 or 1")
        flags.append(flag)
    if not flags:
        raise ConfigError(f"loss trace {path} is empty")
    return tuple(flags)


def trace_problem(audio: Path, trace: tuple[int, ...]) -> str | None:
    """Whether a trace covers its audio (one flag per 20 ms), as a message or None."""
    try:
        rate, frames = audio_info(audio)
    except AudioError as exc:
        return str(exc)
    packets = frames / (rate * PACKET_SECONDS)
    if abs(packets - len(trace)) > TRACE_TOLERANCE_PACKETS:
        return (f"{audio} lasts {packets:.1f} packets of {PACKET_SECONDS * 1000:g} ms but its loss trace has "
                f"{len(trace)} flags")
    return None


def _find_audio(trace: Path, stem: str) -> Path | None:
    for folder in (trace.parent, trace.parent.parent / "lossy_signals"):
        for suffix in AUDIO_SUFFIXES:
            candidate = folder / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate
    return None


@register_testset("plc-challenge")
class PLCChallenge(TestSet):
    """PLC Challenge: lossy wavs + *_is_lost.txt traces (20 ms packets), optional clean folder."""

    version = "1"
    KEYS = {"root", "clean", "subset", "sample_rate"}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        reject_unknown(config, self.KEYS, "plc-challenge")
        self.root = expand_root(config.get("root"), "plc-challenge")
        self.clean = None
        if config.get("clean"):
            self.clean = resolve_inside(self.root, str(config["clean"]), source="plc-challenge 'clean'")
            if not self.clean.is_dir():
                raise ConfigError(f"plc-challenge: clean folder {self.clean} does not exist")
        self.subset = str(config.get("subset", self.root.name))
        self.sample_rate = as_int(config["sample_rate"], "sample_rate") if "sample_rate" in config else None

    def items(self) -> Iterable[Item]:
        traces = sorted(self.root.rglob(f"*{TRACE_SUFFIX}"))
        if not traces:
            raise ConfigError(f"plc-challenge: no *{TRACE_SUFFIX} files under {self.root}")
        seen: dict[str, Path] = {}
        for trace_path in traces:
            stem = trace_path.name[: -len(TRACE_SUFFIX)]
            audio = _find_audio(trace_path, stem)
            if audio is None:
                raise ConfigError(f"plc-challenge: loss trace {trace_path} has no lossy audio {stem}.wav beside it")
            if stem in seen:
                raise ConfigError(f"plc-challenge: two traces for {stem!r}: {seen[stem]} and {trace_path}")
            seen[stem] = trace_path
            reference = None
            if self.clean is not None:
                reference = next((self.clean / f"{stem}{s}" for s in AUDIO_SUFFIXES if (self.clean / f"{stem}{s}").is_file()), None)
            trace = read_loss_trace(trace_path)
            meta = {"loss_rate": round(sum(trace) / len(trace), 4), "packets": len(trace), "trace_file": str(trace_path)}
            yield Item(id=stem, task=PLC, subset=self.subset, input=audio, reference=reference,
                       loss_trace=trace, sample_rate=self.sample_rate, meta=meta)

    def prepare(self) -> list[str]:
        problems = super().prepare()
        for item in self.items():
            problem = trace_problem(item.input, item.loss_trace or ())
            if problem:
                problems.append(f"{item.id}: {problem}")
        return problems
