"""Score outputs that already exist on disk: one folder of enhanced files per table row.

Published demo outputs and the results of systems nobody can run here are scored exactly like a
live system: the harness asks for item X, this adapter returns the file named like X's input,
resampled to the input's rate and fitted to its length. A missing file fails that item only.

Where an output is looked for, in this order (first existing file wins), under ``root``:

1. each ``layout`` template (default: ``{id}`` then ``{stem}``),
2. with each ``suffix`` appended (default: none, ``_proc``, ``_enhanced``),
3. with each extension (the input's own, then ``.wav``, ``.flac``).

Template fields: ``{id}`` (item id, may contain ``/``), ``{stem}`` and ``{name}`` (the input file's
stem and name), ``{dir}`` and ``{parent}`` (the names of the folder holding the input file and of the
folder above it), ``{subset}`` (the item's subset), and any key of the item's meta (``{fileid}`` for
DNS; a manifest's extra columns). Examples:

* SEFlow demo, ``<subset>/f-1-1/<stem>.flac``: ``layout={subset}/f-1-1/{stem}``;
* per-item folders, ``7/mixture.wav`` beside ``7/tselm_l.wav``: ``layout={dir}/tselm_l``;
* one folder per kind, ``librimix/mixture/x.wav`` and ``librimix/ours/x.wav``: ``layout={parent}/ours/{stem}``;
* separation (one file per source): ``{source}`` is the source number, ``layout={stem}_s{source}``
  finds ``x_s1.wav`` and ``x_s2.wav``, returned together in that order (scoring finds the best pairing).

A candidate that is one of the item's own files (its input, reference, enrollment or far end, after
following symlinks) is never used: a folder root that is the data root would otherwise find the
input under the default ``{id}`` layout and score ``unprocessed`` under another name. When such a file
is the only match the item fails with an error saying so.

The file that was scored is recorded per item (its path relative to ``root`` and its sha256, see
``published_file``), and its audio is returned at the rate it was saved at, fitted to the input's
duration at that rate (no resampling here: each metric resamples once, to its own rate).
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.audio import file_sha256, fit_length, load_audio
from bench.errors import BadOutputError, ConfigError
from bench.item import TASKS, normalize_task, task_parts
from bench.system import DEFAULT_VARIANT, EnhanceInput, EnhanceOutput, System, register_system
from testsets._config import as_float, as_list
from testsets._paths import resolve_inside

DEFAULT_LAYOUTS = ("{id}", "{stem}")
DEFAULT_SUFFIXES = ("", "_proc", "_enhanced")
DEFAULT_EXTENSIONS = (".wav", ".flac")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
DEFAULT_LENGTH_TOLERANCE = 0.5
"""Seconds an output may differ from its input before it counts as the wrong file.

STFT systems often drop or add up to a frame at the end, which ``fit_length`` absorbs; a clip
seconds longer or shorter is a different excerpt, and scoring it would be meaningless."""


class MissingOutputError(BadOutputError):
    """The folder has no file for this item; recorded as that item's failure."""


class RefusedOutputError(BadOutputError):
    """The only file the layout finds is one of the item's own (its input, say), never an output."""


@dataclass(frozen=True)
class PublishedOutput:
    """Published files as scored: audio at the files' own rate (fitted to the input's duration; one
    row per source for separation) and where it came from, for the results store."""

    audio: np.ndarray
    sample_rate: int
    files: tuple[str, ...]
    """Paths relative to the folder root, one per source."""
    sha256: tuple[str, ...]

    @property
    def relative_path(self) -> str:
        return "|".join(self.files)

    def provenance(self) -> dict[str, str]:
        return {"published_file": self.relative_path, "published_sha256": "|".join(self.sha256)}


def _real(path: Path) -> str:
    return os.path.realpath(path)


@register_system("folder")
class FolderSystem(System):
    """A folder of enhanced files named like the inputs (published outputs), at any sample rate."""

    tasks = frozenset(TASKS)
    sample_rate = None
    cache_outputs = False
    reads_item_files = True
    version = "2"
    license = "outputs' own"
    data_root = True
    options = dict.fromkeys(("layout", "suffix", "ext", "length_tolerance", "tasks"))

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.config["root"] = str(self.root)
        self.layouts = as_list(config.get("layout"), "layout") or list(DEFAULT_LAYOUTS)
        fields: set[str | None] = set()
        for layout in self.layouts:
            try:
                fields.update(field for _, field, _, _ in string.Formatter().parse(layout))
            except ValueError as exc:
                raise ConfigError(f"folder: bad layout template {layout!r}: {exc}") from None
        self.names_sources = "source" in fields  # separation outputs need one file per source
        self.suffixes = as_list(config.get("suffix"), "suffix") if "suffix" in config else list(DEFAULT_SUFFIXES)
        self.extensions = [e if e.startswith(".") else f".{e}" for e in as_list(config.get("ext"), "ext")]
        self.length_tolerance = as_float(config.get("length_tolerance", DEFAULT_LENGTH_TOLERANCE), "length_tolerance")
        if "tasks" in config:
            chosen = as_list(config["tasks"], "tasks")
            try:
                self.tasks = frozenset().union(*(task_parts(normalize_task(t)) for t in chosen)) if chosen else frozenset()
            except ValueError as exc:
                raise ConfigError(f"folder: {exc}") from None
            if not self.tasks:
                raise ConfigError("folder: 'tasks' is empty")

    @staticmethod
    def fields(inputs: EnhanceInput) -> dict[str, Any]:
        source = Path(inputs.source)
        fields: dict[str, Any] = {str(k): v for k, v in inputs.meta.items()}
        fields.update(id=inputs.item_id, stem=source.stem, name=source.name, subset=inputs.subset,
                      dir=source.parent.name, parent=source.parent.parent.name)
        return fields

    def candidates(self, inputs: EnhanceInput, source: int | None = None) -> list[Path]:
        """Every path tried for one item (or one source of a separation item), in the documented order."""
        fields = self.fields(inputs)
        if source is not None:
            fields["source"] = source
        extensions = self.extensions or list(dict.fromkeys([Path(inputs.source).suffix.lower(), *DEFAULT_EXTENSIONS]))
        where = f"folder system ({self.root})"
        found: list[Path] = []
        for layout in self.layouts:
            try:
                base = layout.format_map(fields)
            except (KeyError, IndexError) as exc:
                raise ConfigError(f"folder: layout {layout!r} uses {exc} which item {inputs.item_id} lacks; "
                                  f"available fields: {', '.join(sorted(fields))}") from None
            if Path(base).suffix.lower() in AUDIO_SUFFIXES:
                found.append(resolve_inside(self.root, base, source=where))
            for suffix in self.suffixes:
                for ext in extensions:
                    found.append(resolve_inside(self.root, f"{base}{suffix}{ext}", source=where))
        return list(dict.fromkeys(found))

    def find_output(self, inputs: EnhanceInput, source: int | None = None) -> Path:
        """The first existing candidate that is not one of the item's own files."""
        tried = self.candidates(inputs, source)
        own = {_real(Path(path)): name for name, path in inputs.item_files.items() if path is not None}
        own.setdefault(_real(Path(inputs.source)), "input")
        refused: list[tuple[Path, str]] = []
        for path in tried:
            if path.is_file():
                if _real(path) in own:
                    refused.append((path, own[_real(path)]))
                    continue
                return path
        if refused:
            path, field_name = refused[0]
            raise RefusedOutputError(
                f"folder {self.root}: for item {inputs.item_id} the layout finds only {path.relative_to(self.root)}, "
                f"which is the item's own {field_name.replace('_', '-')} file, not an output (is the folder root the "
                "data root?); set 'layout' to where the outputs are, e.g. layout={dir}/<output name>")
        shown = ", ".join(str(p.relative_to(self.root)) for p in tried[:6]) + (" ..." if len(tried) > 6 else "")
        raise MissingOutputError(f"no output for item {inputs.item_id} in {self.root} (tried {shown})")

    def published_file(self, inputs: EnhanceInput) -> PublishedOutput:
        """The item's published output(s) at their own rate, checked against the input's duration."""
        if inputs.sources > 1 and not self.names_sources:
            raise ConfigError(f"folder {self.root}: item {inputs.item_id} needs {inputs.sources} outputs (one per "
                              "source); put {source} in the layout, e.g. layout={stem}_s{source}")
        numbers = list(range(1, inputs.sources + 1)) if inputs.sources > 1 else [None]
        paths = [self.find_output(inputs, number) for number in numbers]
        signals, rates = zip(*(load_audio(path) for path in paths))
        if len(set(rates)) > 1:
            raise BadOutputError(f"the outputs of item {inputs.item_id} mix sample rates: "
                                 + ", ".join(f"{p.name} {r} Hz" for p, r in zip(paths, rates)))
        rate = rates[0]
        expected = round(len(inputs.audio) * rate / inputs.sample_rate)
        for path, audio in zip(paths, signals):
            if abs(len(audio) - expected) / rate > self.length_tolerance:
                raise BadOutputError(f"{path} lasts {len(audio) / rate:.2f} s but the input lasts "
                                     f"{len(inputs.audio) / inputs.sample_rate:.2f} s (tolerance "
                                     f"{self.length_tolerance:g} s): probably not this item's output")
        fitted = [fit_length(audio, expected) for audio in signals]
        return PublishedOutput(np.stack(fitted) if inputs.sources > 1 else fitted[0], rate,
                               tuple(p.relative_to(self.root).as_posix() for p in paths),
                               tuple(file_sha256(p) for p in paths))

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> EnhanceOutput:
        published = self.published_file(inputs)
        return EnhanceOutput(published.audio, published.sample_rate, published.provenance())
