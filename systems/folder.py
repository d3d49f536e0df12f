"""Score outputs that already exist on disk: one folder of enhanced files per table row.

Published demo outputs and the results of systems nobody can run here are scored exactly like a
live system: the harness asks for item X, this adapter returns the file named like X's input,
resampled to the input's rate and fitted to its length. A missing file fails that item only.

Where an output is looked for, in this order (first existing file wins), under ``root``:

1. each ``layout`` template (default: ``{id}`` then ``{stem}``),
2. with each ``suffix`` appended (default: none, ``_proc``, ``_enhanced``),
3. with each extension (the input's own, then ``.wav``, ``.flac``).

Template fields: ``{id}`` (item id, may contain ``/``), ``{stem}`` and ``{name}`` (the input file's
stem and name), ``{subset}`` (the item's subset), and any key of the item's meta (``{fileid}`` for DNS).
The SEFlow demo's f-1-1 outputs, for example, are ``layout={subset}/f-1-1/{stem}``.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import numpy as np

from bench.audio import fit_length, load_audio, resample
from bench.errors import BadOutputError, ConfigError
from bench.item import TASKS, task_parts
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, register_system
from testsets._config import as_float, as_list, reject_unknown
from testsets._paths import expand_root, resolve_inside

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


@register_system("folder")
class FolderSystem(System):
    """A folder of enhanced files named like the inputs (published outputs), at any sample rate."""

    tasks = frozenset(TASKS)
    sample_rate = None
    cache_outputs = False
    version = "1"
    license = "outputs' own"
    KEYS = {"root", "layout", "suffix", "ext", "length_tolerance", "tasks"}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        reject_unknown(config, self.KEYS, "folder")
        self.root = expand_root(config.get("root"), "folder")
        self.config["root"] = str(self.root)
        self.layouts = as_list(config.get("layout"), "layout") or list(DEFAULT_LAYOUTS)
        for layout in self.layouts:
            try:
                list(string.Formatter().parse(layout))
            except ValueError as exc:
                raise ConfigError(f"folder: bad layout template {layout!r}: {exc}") from None
        self.suffixes = as_list(config.get("suffix"), "suffix") if "suffix" in config else list(DEFAULT_SUFFIXES)
        self.extensions = [e if e.startswith(".") else f".{e}" for e in as_list(config.get("ext"), "ext")]
        self.length_tolerance = as_float(config.get("length_tolerance", DEFAULT_LENGTH_TOLERANCE), "length_tolerance")
        if "tasks" in config:
            chosen = as_list(config["tasks"], "tasks")
            try:
                self.tasks = frozenset().union(*(task_parts(t) for t in chosen)) if chosen else frozenset()
            except ValueError as exc:
                raise ConfigError(f"folder: {exc}") from None
            if not self.tasks:
                raise ConfigError("folder: 'tasks' is empty")

    @staticmethod
    def fields(inputs: EnhanceInput) -> dict[str, Any]:
        source = Path(inputs.source)
        fields: dict[str, Any] = {str(k): v for k, v in inputs.meta.items()}
        fields.update(id=inputs.item_id, stem=source.stem, name=source.name, subset=inputs.subset)
        return fields

    def candidates(self, inputs: EnhanceInput) -> list[Path]:
        """Every path tried for one item, in the documented order."""
        fields = self.fields(inputs)
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

    def find_output(self, inputs: EnhanceInput) -> Path:
        tried = self.candidates(inputs)
        for path in tried:
            if path.is_file():
                return path
        shown = ", ".join(str(p.relative_to(self.root)) for p in tried[:6]) + (" ..." if len(tried) > 6 else "")
        raise MissingOutputError(f"no output for item {inputs.item_id} in {self.root} (tried {shown})")

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        path = self.find_output(inputs)
        audio, rate = load_audio(path)
        audio = resample(audio, rate, inputs.sample_rate)
        mismatch = abs(len(audio) - len(inputs.audio)) / inputs.sample_rate
        if mismatch > self.length_tolerance:
            raise BadOutputError(f"{path} lasts {len(audio) / inputs.sample_rate:.2f} s but the input lasts "
                                 f"{len(inputs.audio) / inputs.sample_rate:.2f} s (tolerance {self.length_tolerance:g} s): "
                                 "probably not this item's output")
        return fit_length(audio, len(inputs.audio))
