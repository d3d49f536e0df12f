"""A plain folder of degraded/clean pairs, flat or split into subsets, matched by file stem.

Both shapes are common for demo pages and small corpora::

    root/noisy/x.wav  root/clean/x.wav                       (one subset, named after root)
    root/<subset>/noisy/x.flac  root/<subset>/clean/x.flac   (the SEFlow demo: clip, noise, ...)

Other folders beside ``noisy``/``clean`` (published outputs such as ``f-1-1``) are ignored, so a
``folder`` system can score them against the same items. Item ids are ``<subset>/<stem>`` in the
split shape (stems may repeat across subsets) and ``<stem>`` in the flat one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from bench.errors import ConfigError
from bench.item import DECLIP, DENOISE, DEREVERB, PLC, Item, normalize_task, task_parts
from bench.testset import TestSet, register_testset
from testsets._config import as_int, as_list, as_mapping

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")

SUBSET_TASKS: dict[str, str] = {
    "noise": DENOISE, "noisy": DENOISE, "denoise": DENOISE,
    "reverb": DEREVERB, "dereverb": DEREVERB,
    "clip": DECLIP, "clipping": DECLIP, "declip": DECLIP,
    "packet": PLC, "packet_loss": PLC, "plc": PLC,
    "complex": f"{DENOISE}+{DEREVERB}+{DECLIP}+{PLC}",
}
"""Default task per subset folder name (the SEFlow demo's names among them); ``task`` overrides it.

``complex`` is the demo's mixture of all four distortions, so only systems that claim all four run on
it. ``packet`` items carry no loss trace (the demo publishes none)."""


def _audio_by_stem(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES:
            if path.stem in files:
                raise ConfigError(f"pairs: {files[path.stem]} and {path} share the stem {path.stem!r}")
            files[path.stem] = path
    return files


@register_testset("pairs")
class PairsFolder(TestSet):
    """A folder of noisy/clean pairs (flat, or one folder per subset such as the SEFlow demo's)."""

    version = "1"
    data_root = True
    options = dict.fromkeys(("input", "reference", "subset", "task", "sample_rate"))

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.input_dir = str(config.get("input", "noisy"))
        self.reference_dir = str(config.get("reference", "clean"))
        self.only = as_list(config.get("subset"), "subset")
        task = config.get("task")
        self.task_map = as_mapping(task, "task") if task is not None and (isinstance(task, dict) or ":" in str(task)) else {}
        self.task_map = {subset: normalize_task(value) for subset, value in self.task_map.items()}
        self.task = None if self.task_map or task is None else normalize_task(str(task))
        for value in ([self.task] if self.task else []) + list(self.task_map.values()):
            try:
                task_parts(value)
            except ValueError as exc:
                raise ConfigError(f"pairs: {exc}") from None
        self.sample_rate = as_int(config["sample_rate"], "sample_rate") if "sample_rate" in config else None

    def subsets(self) -> list[tuple[str, Path]]:
        """(subset name, folder) pairs; the flat shape is one subset named after the root."""
        if (self.root / self.input_dir).is_dir():
            found = [(self.root.name, self.root)]
        else:
            found = [(d.name, d) for d in sorted(self.root.iterdir()) if (d / self.input_dir).is_dir()]
        if not found:
            raise ConfigError(f"pairs: no '{self.input_dir}/' folder in {self.root} or its subfolders")
        if self.only:
            names = {name for name, _ in found}
            missing = [s for s in self.only if s not in names]
            if missing:
                raise ConfigError(f"pairs: subsets {missing} not found in {self.root}; found: {sorted(names)}")
            found = [(name, d) for name, d in found if name in self.only]
        return found

    def task_for(self, subset: str) -> str:
        if self.task:
            return self.task
        return self.task_map.get(subset) or SUBSET_TASKS.get(subset.lower(), DENOISE)

    def items(self) -> Iterable[Item]:
        flat = (self.root / self.input_dir).is_dir()
        for subset, folder in self.subsets():
            inputs = _audio_by_stem(folder / self.input_dir)
            if not inputs:
                raise ConfigError(f"pairs: {folder / self.input_dir} holds no audio files")
            references = _audio_by_stem(folder / self.reference_dir) if (folder / self.reference_dir).is_dir() else None
            for stem, path in inputs.items():
                reference = None
                if references is not None:
                    reference = references.get(stem)
                    if reference is None:
                        raise ConfigError(f"pairs: {path} has no reference named {stem}.* in {folder / self.reference_dir}")
                yield Item(id=stem if flat else f"{subset}/{stem}", task=self.task_for(subset), subset=subset,
                           input=path, reference=reference, sample_rate=self.sample_rate)
