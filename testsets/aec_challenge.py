"""AEC Challenge (microsoft/AEC-Challenge) test and synthetic sets, as distributed.

Real and blind test sets name each clip ``<GUID>_<scenario>_{lpb,mic}.wav``: ``lpb`` is the far-end
loopback signal played by the loudspeaker, ``mic`` the microphone capture to clean. The scenario
gives the talk type::

    farend_singletalk[_with_movement]   -> farend_single_talk   (ideal output: silence)
    nearend_singletalk                  -> nearend_single_talk  (no lpb file is published)
    doubletalk[_with_movement]          -> double_talk
    sweep                               -> skipped (an RT60 measurement, not a test clip)

These have no clean reference. The synthetic set (``nearend_mic_signal/nearend_mic_fileid_N.wav``,
``farend_speech/farend_speech_fileid_N.wav``, ``nearend_speech/nearend_speech_fileid_N.wav``,
``meta.csv``) has the near-end speech as reference and meta.csv's columns in meta. Its file names
do not say the talk type, so synthetic items carry one only where meta.csv has a ``talk_type``
column (any spelling ``bench.item.normalize_talk_type`` knows: ``doubletalk``, ``double_talk``, ``DT``...);
otherwise it is left unset rather than guessed.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any, Iterable

from bench.errors import ConfigError
from bench.item import AEC, DOUBLE_TALK, FAREND_SINGLE_TALK, NEAREND_SINGLE_TALK, Item, normalize_talk_type
from bench.testset import TestSet, register_testset
from testsets._config import as_int, as_list, numeric

SCENARIO_TALK = {
    "farend_singletalk": FAREND_SINGLE_TALK,
    "nearend_singletalk": NEAREND_SINGLE_TALK,
    "doubletalk": DOUBLE_TALK,
}
MIC_NAME = re.compile(r"^(?P<guid>.+?)_(?P<scenario>farend_singletalk|nearend_singletalk|doubletalk|sweep)"
                      r"(?P<movement>_with_movement)?_mic$")
SYNTHETIC_MIC = re.compile(r"^nearend_mic_fileid_(?P<fileid>\d+)$")


def _read_meta(path: Path) -> dict[int, dict[str, Any]]:
    """meta.csv rows keyed by ``fileid`` (synthesis parameters: SER, speaker ids, nonlinearity...)."""
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and "fileid" not in rows[0]:
        raise ConfigError(f"aec-challenge: {path} has no 'fileid' column")
    return {int(row["fileid"]): {k: numeric(v) for k, v in row.items() if k and k != "fileid"} for row in rows}


@register_testset("aec-challenge")
class AECChallenge(TestSet):
    """AEC Challenge: *_mic.wav + *_lpb.wav (far end), talk type from the name; synthetic set."""

    version = "1"
    data_root = True
    options = dict.fromkeys(("subset", "sample_rate"))

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.only = as_list(config.get("subset"), "subset")
        self.sample_rate = as_int(config["sample_rate"], "sample_rate") if "sample_rate" in config else None

    def items(self) -> Iterable[Item]:
        found = False
        for item in [*self._synthetic(), *self._real()]:
            if self.only and item.subset not in self.only:
                continue
            found = True
            yield item
        if not found:
            what = f" in subsets {self.only}" if self.only else ""
            raise ConfigError(f"aec-challenge: no *_mic.wav clips or nearend_mic_signal/ folder{what} under {self.root}")

    def _synthetic(self) -> Iterable[Item]:
        for mic_dir in sorted(self.root.rglob("nearend_mic_signal")):
            base = mic_dir.parent
            subset = base.relative_to(self.root).as_posix() if base != self.root else "synthetic"
            meta_rows = _read_meta(base / "meta.csv")
            mics = [(int(m["fileid"]), p) for p in mic_dir.glob("*.wav") if (m := SYNTHETIC_MIC.match(p.stem))]
            for fileid, mic in sorted(mics):
                far_end = base / "farend_speech" / f"farend_speech_fileid_{fileid}.wav"
                near = base / "nearend_speech" / f"nearend_speech_fileid_{fileid}.wav"
                if not far_end.is_file():
                    raise ConfigError(f"aec-challenge: {mic} has no far-end signal {far_end}")
                meta = {"fileid": fileid, **meta_rows.get(fileid, {})}
                talk_type = meta.pop("talk_type", None)
                try:
                    yield Item(id=f"{subset}/fileid_{fileid}", task=AEC, subset=subset, input=mic, far_end=far_end,
                               reference=near if near.is_file() else None,
                               talk_type=None if talk_type is None else normalize_talk_type(str(talk_type)),
                               sample_rate=self.sample_rate, meta=meta)
                except ValueError as exc:
                    raise ConfigError(f"aec-challenge: {base / 'meta.csv'}, fileid {fileid}: {exc}") from None

    def _real(self) -> Iterable[Item]:
        for mic in sorted(self.root.rglob("*_mic.wav")):
            match = MIC_NAME.match(mic.stem)
            if match is None or match["scenario"] == "sweep" or "nearend_mic_signal" in mic.parts:
                continue
            folder = mic.parent.relative_to(self.root).as_posix()
            subset = "real" if folder == "." else folder
            lpb = mic.with_name(mic.name[: -len("_mic.wav")] + "_lpb.wav")
            talk_type = SCENARIO_TALK[match["scenario"]]
            if not lpb.is_file() and talk_type != NEAREND_SINGLE_TALK:
                raise ConfigError(f"aec-challenge: {mic} has no loopback (far-end) file {lpb.name}")
            meta = {"guid": match["guid"], "scenario": match["scenario"] + (match["movement"] or ""),
                    "movement": bool(match["movement"])}
            yield Item(id=f"{subset}/{mic.stem[: -len('_mic')]}", task=AEC, subset=subset, input=mic,
                       far_end=lpb if lpb.is_file() else None, talk_type=talk_type,
                       sample_rate=self.sample_rate, meta=meta)
