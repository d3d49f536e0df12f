"""WSJ0-2mix (``2speakers/wav{8k,16k}/{min,max}/tt/{mix,s1,s2}``) as target-speaker-extraction items.

Mixture files are named ``<utt1>_<snr1>_<utt2>_<snr2>.wav`` (WSJ0 utterance ids, the first three
characters being the speaker). WSJ0-2mix has no enrollment of its own, so TSE needs one of:

* ``enrollment=<list>``: the list format of ``testsets._tse`` (``<mix>_s1 <path>`` or
  ``<mix> <s1|s2|utterance> <path>``); paths inside ``enrollment_root`` (default: the list's folder);
* the wsj0-2mix-extr layout (``tt/{mix,aux,s1}``, names ``<utt1>_<snr1>_<utt2>_<snr2>_<aux utt>``),
  where ``aux`` holds the enrollment of target ``s1``, read without a list.

``root`` is the folder holding ``tt`` (or ``tt`` itself). ``transcripts`` optionally names a file of
``<utterance> <text>`` lines or WSJ ``.dot`` lines (``text (utterance)``) for WER.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from bench.errors import ConfigError
from bench.item import TSE, Item
from bench.options import expand_root
from bench.testset import TestSet, register_testset
from testsets._config import as_int, numeric
from testsets._paths import expand_file
from testsets._tse import read_enrollment_list, target_index

MIX_NAME = re.compile(r"^(?P<utt1>[0-9a-z]{8})_(?P<snr1>-?\d+(?:\.\d+)?)_(?P<utt2>[0-9a-z]{8})_(?P<snr2>-?\d+(?:\.\d+)?)"
                      r"(?:_(?P<aux>[0-9a-z]{8}))?$")
DOT_LINE = re.compile(r"^(?P<text>.*)\((?P<utterance>[0-9a-z]{8})\)\s*$")
FOLDER_RATES = {"wav8k": 8000, "wav16k": 16000}
AUDIO_SUFFIXES = (".wav", ".flac")


def parse_mix_name(stem: str) -> dict[str, Any]:
    match = MIX_NAME.match(stem)
    if not match:
        raise ConfigError(f"wsj0-2mix: mixture name {stem!r} is not <utt1>_<snr1>_<utt2>_<snr2>")
    return {"utterances": [match["utt1"], match["utt2"]], "snrs": [numeric(match["snr1"]), numeric(match["snr2"])],
            "aux": match["aux"]}


def read_transcripts(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        dot = DOT_LINE.match(line)
        if dot:
            out[dot["utterance"]] = dot["text"].strip()
        else:
            utterance, _, text = line.partition(" ")
            out[utterance] = text.strip()
    return out


@register_testset("wsj0-2mix")
class WSJ0Mix(TestSet):
    """WSJ0-2mix tt/{mix,s1,s2} with an enrollment list (or the wsj0-2mix-extr aux/ folder)."""

    version = "1"
    data_root = True
    options = dict.fromkeys(("split", "enrollment", "enrollment_root", "transcripts", "sample_rate"))

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.split = str(config.get("split", "tt"))
        self.folder = self.root / self.split if (self.root / self.split / "mix").is_dir() else self.root
        if not (self.folder / "mix").is_dir() or not (self.folder / "s1").is_dir():
            raise ConfigError(f"wsj0-2mix: expected {self.root}/{self.split}/mix and s1 folders")
        self.enrollment_list = expand_file(config["enrollment"], "wsj0-2mix") if config.get("enrollment") else None
        self.enrollment_root = (expand_root(config["enrollment_root"], "wsj0-2mix enrollment_root") if config.get("enrollment_root")
                                else self.enrollment_list.parent if self.enrollment_list else None)
        if self.enrollment_list is None and not (self.folder / "aux").is_dir():
            raise ConfigError(f"wsj0-2mix: {self.folder} has no aux/ folder, so TSE needs an 'enrollment' list "
                              "(lines '<mix>_s1 <path>' or '<mix> <s1|s2> <path>')")
        self.transcripts = read_transcripts(expand_file(config["transcripts"], "wsj0-2mix")) if config.get("transcripts") else None
        rate = config.get("sample_rate")
        inferred = next((FOLDER_RATES[p] for p in self.root.parts + self.folder.parts if p in FOLDER_RATES), None)
        self.sample_rate = as_int(rate, "sample_rate") if rate is not None else inferred

    def _mixtures(self) -> dict[str, Path]:
        mixes = {p.stem: p for p in sorted((self.folder / "mix").iterdir()) if p.suffix.lower() in AUDIO_SUFFIXES}
        if not mixes:
            raise ConfigError(f"wsj0-2mix: {self.folder / 'mix'} holds no audio files")
        return mixes

    def _targets(self, mixes: dict[str, Path]) -> list[tuple[str, int, Path]]:
        """(mixture stem, target index, enrollment file) in a stable order."""
        if self.enrollment_list is None:
            return [(stem, 1, self.folder / "aux" / path.name) for stem, path in mixes.items()]
        assert self.enrollment_root is not None
        where = f"enrollment list {self.enrollment_list}"
        targets = []
        for key, target, path in read_enrollment_list(self.enrollment_list, self.enrollment_root):
            if target is None:
                stem, _, index = key.rpartition("_s")
                if stem not in mixes or not index.isdigit():
                    raise ConfigError(f"{where}: {key!r} is not <mixture>_s<k> for a file in {self.folder / 'mix'}")
                targets.append((stem, int(index), path))
            else:
                if key not in mixes:
                    raise ConfigError(f"{where}: mixture {key!r} is not in {self.folder / 'mix'}")
                targets.append((key, target_index(target, parse_mix_name(key)["utterances"], where), path))
        return targets

    def items(self) -> Iterable[Item]:
        mixes = self._mixtures()
        extr = self.enrollment_list is None
        for stem, k, enrollment in self._targets(mixes):
            parsed = parse_mix_name(stem)
            if k not in (1, 2):
                raise ConfigError(f"wsj0-2mix: target s{k} of {stem}: WSJ0-2mix has sources s1 and s2")
            reference = self.folder / f"s{k}" / mixes[stem].name
            utterance = parsed["utterances"][k - 1]
            transcript = None
            if self.transcripts is not None:
                if utterance not in self.transcripts:
                    raise ConfigError(f"wsj0-2mix: utterance {utterance} (mixture {stem}) has no transcript")
                transcript = self.transcripts[utterance]
            meta = {"mixture": stem, "target": k, "utterance": utterance, "speaker": utterance[:3],
                    "snr": parsed["snrs"][k - 1], "interferer": parsed["utterances"][2 - k]}
            if parsed["aux"]:
                meta["enrollment_utterance"] = parsed["aux"]
            yield Item(id=stem if extr else f"{stem}_s{k}", task=TSE, subset=self.split, input=mixes[stem],
                       reference=reference, enrollment=enrollment, transcript=transcript,
                       sample_rate=self.sample_rate, meta=meta)
