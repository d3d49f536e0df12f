"""DNS Challenge test sets as Microsoft distributes them (Interspeech 2020 and later blind sets).

Layout of ``datasets/test_set`` in microsoft/DNS-Challenge (interspeech2020/master)::

    synthetic/no_reverb/noisy/clnsp126_3Wjw0nadnM4_snr15_tl-22_fileid_0.wav
    synthetic/no_reverb/clean/clean_fileid_0.wav
    synthetic/with_reverb/{noisy,clean}/...
    real_recordings/audioset_realrec_car__1h9umA8agI.wav      (some mirrors add a noisy/ level)

``root`` may be ``test_set``, its ``synthetic`` folder, or a folder holding the subsets directly.
Any other subset name (a later blind set, ``real_recordings``) is read as reference-free noisy clips.

In ``with_reverb`` the clean reference is itself reverberant: the 2020 challenge asked systems to
remove noise and keep the reverberation, so the task is ``denoise`` there too (meta
``reverberant=True``), and intrusive metrics compare against the reverberant speech.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from bench.errors import ConfigError
from bench.item import DENOISE, Item
from bench.testset import TestSet, register_testset
from testsets._config import as_int, as_list, numeric
from testsets._paths import find_subdir

SYNTHETIC = ("no_reverb", "with_reverb")
DEFAULT_SUBSETS = ("no_reverb", "with_reverb", "real_recordings")
DNS2020_RATE = 16000

NOISY_NAME = re.compile(
    r"^clnsp(?P<clean_id>\d+)_(?P<noise>.+)_snr(?P<snr>-?\d+(?:\.\d+)?)"
    r"_tl(?P<target_level>-?\d+(?:\.\d+)?)_fileid_(?P<fileid>\d+)$"
)
"""``clnsp<clean clip>_<noise clip>_snr<dB>_tl<target dBFS>_fileid_<N>``, the synthesiser's naming."""
FILEID = re.compile(r"fileid_(?P<fileid>\d+)$")
REAL_NAME = re.compile(r"^(?P<source>[A-Za-z0-9]+)_realrec_(?P<recording>.+)$")
YOUTUBE_ID = re.compile(r"^(?P<category>.+?)_(?P<clip_id>[A-Za-z0-9_-]{11})$")
AUDIO_SUFFIXES = (".wav", ".flac")


def parse_noisy_name(stem: str) -> dict[str, Any]:
    """Fields encoded in a DNS file name; unknown names give only what can be read safely."""
    match = NOISY_NAME.match(stem)
    if match:
        fields = match.groupdict()
        return {
            "clean_id": int(fields["clean_id"]),
            "noise": fields["noise"],
            "snr": numeric(fields["snr"]),
            "target_level": numeric(fields["target_level"]),
            "fileid": int(fields["fileid"]),
        }
    real = REAL_NAME.match(stem)
    if real:
        meta: dict[str, Any] = {"source": real["source"], "recording": real["recording"]}
        if real["source"] == "audioset":  # audioset_realrec_<category>_<11-char YouTube id>
            clip = YOUTUBE_ID.match(real["recording"])
            if clip:
                meta.update(category=clip["category"], clip_id=clip["clip_id"])
        return meta
    fileid = FILEID.search(stem)
    return {"fileid": int(fileid["fileid"])} if fileid else {}


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


@register_testset("dns")
class DNSChallenge(TestSet):
    """DNS Challenge test set: no_reverb / with_reverb (clean pairs), real_recordings and blind sets."""

    version = "1"
    data_root = True
    options = dict.fromkeys(("subset", "sample_rate"))

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.rate_override = as_int(config["sample_rate"], "sample_rate") if "sample_rate" in config else None
        requested = as_list(config.get("subset"), "subset")
        self.subsets = requested or [s for s in DEFAULT_SUBSETS if self._subset_dir(s) is not None]
        if not self.subsets:
            raise ConfigError(f"dns: no DNS subsets under {self.root}; expected folders such as "
                              f"{', '.join(DEFAULT_SUBSETS)} (or synthetic/no_reverb)")

    def _subset_dir(self, subset: str) -> Path | None:
        return find_subdir(self.root, (subset, f"synthetic/{subset}", f"test_set/{subset}",
                                       f"test_set/synthetic/{subset}"))

    def _rate(self, subset: str) -> int | None:
        if self.rate_override is not None:
            return self.rate_override
        return DNS2020_RATE if subset in DEFAULT_SUBSETS else None

    def items(self) -> Iterable[Item]:
        for subset in self.subsets:
            folder = self._subset_dir(subset)
            if folder is None:
                raise ConfigError(f"dns: subset {subset!r} not found under {self.root} "
                                  f"(looked for {subset}/ and synthetic/{subset}/)")
            if subset in SYNTHETIC:
                yield from self._synthetic(subset, folder)
            else:
                yield from self._unpaired(subset, folder)

    def _synthetic(self, subset: str, folder: Path) -> Iterable[Item]:
        noisy_dir, clean_dir = folder / "noisy", folder / "clean"
        if not noisy_dir.is_dir():
            raise ConfigError(f"dns: {folder} has no noisy/ folder")
        noisy_files = _audio_files(noisy_dir)
        if not noisy_files:
            raise ConfigError(f"dns: {noisy_dir} holds no audio files")
        for noisy in sorted(noisy_files, key=lambda p: (parse_noisy_name(p.stem).get("fileid", -1), p.name)):
            meta = parse_noisy_name(noisy.stem)
            if "fileid" not in meta:
                raise ConfigError(f"dns: {noisy} does not end in _fileid_<N>, so its clean file cannot be found")
            clean = clean_dir / f"clean_fileid_{meta['fileid']}{noisy.suffix}"
            if not clean.is_file():
                raise ConfigError(f"dns: {noisy} has no clean reference {clean}")
            meta.update(reverberant=subset == "with_reverb")
            yield Item(id=f"{subset}/fileid_{meta['fileid']}", task=DENOISE, subset=subset, input=noisy,
                       reference=clean, sample_rate=self._rate(subset), meta=meta)

    def _unpaired(self, subset: str, folder: Path) -> Iterable[Item]:
        source = folder / "noisy" if (folder / "noisy").is_dir() else folder
        files = [p for p in _audio_files(source) if "clean" not in p.relative_to(source).parts[:-1]]
        if not files:
            raise ConfigError(f"dns: {source} holds no audio files")
        for path in files:
            relative = path.relative_to(source).with_suffix("")
            meta = parse_noisy_name(path.stem)
            if len(relative.parts) > 1:
                meta["folder"] = relative.parent.as_posix()
            yield Item(id=f"{subset}/{relative.as_posix()}", task=DENOISE, subset=subset, input=path,
                       sample_rate=self._rate(subset), meta=meta)
