"""PLC Challenge layout: lossy wav files with a ``<name>_is_lost.txt`` trace beside each.

The trace holds one flag per 20 ms packet (1 = lost, the packet's samples are zeroed in the wav);
it travels with the item, so PLC systems (zero-fill, repeat, Opus PLC) know which packets to
conceal. PLCMOS v2 does not read it: the model is non-intrusive and sees only the output. Clean
references exist only for validation sets and demos; name their folder with ``clean`` (relative
to ``root``).

Two ways to find the items:

* trace-driven (default): ``trace_root`` (default ``root``) is searched recursively for
  ``*_is_lost.txt``; the wav with the same name before ``_is_lost`` is looked for beside the trace,
  in a sibling ``lossy_signals`` folder, then at the trace's relative path under ``lossy`` and in ``lossy``
  itself (default ``root``). ``trace_root`` lets traces live outside a read-only data tree.
* ``derive_trace=zeros``: every audio file under ``lossy`` (default ``root``; the ``clean`` folder
  excluded) is an item; a trace file is used where one exists, otherwise the trace is derived from
  the audio: a packet is lost when every one of its samples is exactly zero (what the challenge's
  lossy files and most demo pages hold). ``packet_ms`` (default 20, a multiple of 20) is the
  sender's packet size; each derived packet becomes ``packet_ms / 20`` flags. Genuine digital
  silence of a whole packet (a zero-padded start) is indistinguishable from a loss and is flagged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np

from bench.audio import audio_info, load_audio
from bench.errors import AudioError, ConfigError
from bench.item import PACKET_SECONDS, PLC, Item
from bench.options import expand_root
from bench.testset import TestSet, register_testset
from testsets._config import as_float, as_int
from testsets._paths import resolve_inside

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


DERIVE_MODES = ("zeros",)


def derive_options(config: dict[str, Any], what: str) -> tuple[str | None, float]:
    """(``derive_trace`` mode or None, packet seconds) from a loader's config, checked."""
    mode = config.get("derive_trace")
    if mode is not None and str(mode).strip().lower() not in DERIVE_MODES:
        raise ConfigError(f"{what}: derive_trace must be one of {list(DERIVE_MODES)}, got {mode!r}")
    packet_ms = as_float(config.get("packet_ms", PACKET_SECONDS * 1000), "packet_ms")
    ratio = packet_ms / (PACKET_SECONDS * 1000)
    if packet_ms <= 0 or abs(ratio - round(ratio)) > 1e-9:
        raise ConfigError(f"{what}: packet_ms must be a positive multiple of {PACKET_SECONDS * 1000:g} "
                          f"(loss traces hold one flag per {PACKET_SECONDS * 1000:g} ms), got {packet_ms:g}")
    if "packet_ms" in config and mode is None:
        raise ConfigError(f"{what}: packet_ms only applies with derive_trace=zeros")
    return (None if mode is None else str(mode).strip().lower()), packet_ms / 1000


def derive_zero_trace(path: Path, packet_seconds: float = PACKET_SECONDS) -> tuple[int, ...]:
    """The loss trace of a zero-filled lossy file: packets whose samples are all exactly zero are lost.

    Packets of ``packet_seconds`` at the file's own rate, starting at sample 0, a trailing partial
    packet included; each becomes ``packet_seconds / PACKET_SECONDS`` flags of the 20 ms convention.
    On the PLC Challenge files this reproduces the published ``*_is_lost.txt`` exactly.
    """
    try:
        audio, rate = load_audio(path)
    except AudioError as exc:
        raise ConfigError(f"cannot derive a loss trace: {exc}") from None
    size = round(packet_seconds * rate)
    count = -(-len(audio) // size)
    padded = np.zeros(count * size, dtype=np.float32)
    padded[: len(audio)] = audio
    lost = ~np.any(padded.reshape(count, size) != 0.0, axis=1)
    flags_per_packet = round(packet_seconds / PACKET_SECONDS)
    return tuple(int(flag) for flag in np.repeat(lost, flags_per_packet))


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


def _find_audio(near: Path, stem: str) -> Path | None:
    """``stem``'s audio in ``near`` or in a sibling ``lossy_signals`` folder (the challenge's layouts)."""
    for folder in (near, near.parent / "lossy_signals"):
        for suffix in AUDIO_SUFFIXES:
            candidate = folder / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate
    return None


@register_testset("plc-challenge")
class PLCChallenge(TestSet):
    """PLC Challenge: lossy wavs + *_is_lost.txt traces (20 ms packets), optional clean folder."""

    version = "2"
    data_root = True
    options = dict.fromkeys(("clean", "lossy", "trace_root", "derive_trace", "packet_ms", "subset", "sample_rate"))

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.clean = self._folder(config, "clean")
        self.lossy = self._folder(config, "lossy") or self.root
        self.trace_root = expand_root(config["trace_root"], "plc-challenge trace_root") if config.get("trace_root") else self.root
        self.derive, self.packet_seconds = derive_options(config, "plc-challenge")
        self.subset = str(config.get("subset", self.root.name))
        self.sample_rate = as_int(config["sample_rate"], "sample_rate") if "sample_rate" in config else None

    def _folder(self, config: dict[str, Any], key: str) -> Path | None:
        if not config.get(key):
            return None
        folder = resolve_inside(self.root, str(config[key]), source=f"plc-challenge '{key}'")
        if not folder.is_dir():
            raise ConfigError(f"plc-challenge: {key} folder {folder} does not exist")
        return folder

    def items(self) -> Iterable[Item]:
        pairs = self._derived_pairs() if self.derive else self._trace_pairs()
        seen: dict[str, Path] = {}
        for audio, trace_path in pairs:
            stem = audio.stem
            if stem in seen:
                raise ConfigError(f"plc-challenge: two items named {stem!r}: {seen[stem]} and {audio}")
            seen[stem] = audio
            reference = None
            if self.clean is not None:
                reference = next((self.clean / f"{stem}{s}" for s in AUDIO_SUFFIXES if (self.clean / f"{stem}{s}").is_file()), None)
            if trace_path is not None:
                trace = read_loss_trace(trace_path)
                source = {"trace_file": str(trace_path)}
            else:
                trace = derive_zero_trace(audio, self.packet_seconds)
                source = {"trace_derived": f"zeros/{self.packet_seconds * 1000:g}ms"}
            meta = {"loss_rate": round(sum(trace) / len(trace), 4), "packets": len(trace), **source}
            yield Item(id=stem, task=PLC, subset=self.subset, input=audio, reference=reference,
                       loss_trace=trace, sample_rate=self.sample_rate, meta=meta)

    def _trace_pairs(self) -> list[tuple[Path, Path | None]]:
        traces = sorted(self.trace_root.rglob(f"*{TRACE_SUFFIX}"))
        if not traces:
            raise ConfigError(f"plc-challenge: no *{TRACE_SUFFIX} files under {self.trace_root} "
                              "(set trace_root, or derive_trace=zeros to derive traces from zeroed packets)")
        pairs = []
        for trace_path in traces:
            stem = trace_path.name[: -len(TRACE_SUFFIX)]
            relative = trace_path.parent.relative_to(self.trace_root)
            audio = (_find_audio(trace_path.parent, stem) or _find_audio(self.lossy / relative, stem)
                     or _find_audio(self.lossy, stem))
            if audio is None:
                raise ConfigError(f"plc-challenge: loss trace {trace_path} has no lossy audio {stem}.wav "
                                  f"beside it or under {self.lossy}")
            pairs.append((audio, trace_path))
        return pairs

    def _derived_pairs(self) -> list[tuple[Path, Path | None]]:
        pairs = []
        for audio in sorted(p for p in self.lossy.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()):
            if self.clean is not None and (audio.parent == self.clean or self.clean in audio.parents):
                continue
            relative = audio.parent.relative_to(self.lossy)
            candidates = [audio.with_name(audio.stem + TRACE_SUFFIX),
                          self.trace_root / relative / (audio.stem + TRACE_SUFFIX),
                          self.trace_root / (audio.stem + TRACE_SUFFIX)]
            pairs.append((audio, next((c for c in candidates if c.is_file()), None)))
        if not pairs:
            raise ConfigError(f"plc-challenge: no audio files under {self.lossy}")
        return pairs

    def prepare(self) -> list[str]:
        problems = super().prepare()
        for item in self.items():
            problem = trace_problem(item.input, item.loss_trace or ())
            if problem:
                problems.append(f"{item.id}: {problem}")
        return problems
