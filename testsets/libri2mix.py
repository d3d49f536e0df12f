"""Libri2Mix (JorisCos/LibriMix) read from its metadata CSVs, as target-speaker-extraction items.

``root`` is one generated folder such as ``Libri2Mix/wav16k/min``, holding
``metadata/mixture_test_mix_clean.csv`` (columns ``mixture_ID, mixture_path, source_1_path,
source_2_path, length``; ``mix_both`` adds ``noise_path``) and ``test/{mix_clean,mix_both,s1,s2}/``.
The generator writes absolute paths of the machine it ran on into the CSVs, so a path outside
``root`` is looked up as ``root/<split>/<its folder>/<its file>``: the data set reads as
distributed, wherever it was moved.

One TSE item per target speaker (``<mixture_ID>_s1`` and ``_s2``): input the mixture, reference
that speaker's source, enrollment another utterance of the same speaker chosen by this rule:

* with ``enrollment=<list>``: the list (format in ``testsets._tse``) names each item's enrollment;
* otherwise the candidates are that speaker's other utterances: sources of the other mixtures in
  the same CSV and, when ``librispeech_root`` is given, the speaker's LibriSpeech files (the
  original recording is preferred for an utterance found in both); sorted by utterance id, one is
  drawn with ``random.Random(f"{seed}/{item_id}")`` (``seed`` config, default 0).

With ``librispeech_root`` each target also gets its transcript from LibriSpeech ``*.trans.txt``.
``mix=mix_single`` (speaker 1 plus noise, same file names) gives plain denoising items instead.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any, Iterable

from bench.errors import ConfigError
from bench.item import DENOISE, TSE, Item
from bench.options import expand_root
from bench.testset import TestSet, register_testset
from testsets._config import as_int
from testsets._paths import expand_file, resolve_inside
from testsets._tse import pick_enrollment, read_enrollment_list, target_index

MIXES = {"mix_clean": TSE, "mix_both": f"{TSE}+{DENOISE}", "mix_single": DENOISE}
UTTERANCE = re.compile(r"^(?P<speaker>\d+)-(?P<chapter>\d+)-(?P<index>\d+)$")
FOLDER_RATES = {"wav8k": 8000, "wav16k": 16000}


def librispeech_index(root: Path) -> tuple[dict[str, str], dict[str, dict[str, Path]]]:
    """(utterance -> transcript, speaker -> {utterance: audio file}) from ``*.trans.txt`` files."""
    transcripts: dict[str, str] = {}
    audio: dict[str, dict[str, Path]] = {}
    for trans in sorted(root.rglob("*.trans.txt")):
        for line in trans.read_text().splitlines():
            utterance, _, text = line.strip().partition(" ")
            match = UTTERANCE.match(utterance)
            if not match:
                continue
            transcripts[utterance] = text.strip()
            flac = trans.parent / f"{utterance}.flac"
            if flac.is_file():
                audio.setdefault(match["speaker"], {})[utterance] = flac
    if not transcripts:
        raise ConfigError(f"libri2mix: no LibriSpeech *.trans.txt files under {root}")
    return transcripts, audio


@register_testset("libri2mix")
class Libri2Mix(TestSet):
    """Libri2Mix metadata CSVs (mix_clean / mix_both): one TSE item per target, seeded enrollment."""

    version = "1"
    data_root = True
    options = dict.fromkeys(("split", "mix", "metadata", "librispeech_root", "enrollment", "enrollment_root", "seed", "sample_rate"))

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.split = str(config.get("split", "test"))
        self.mix = str(config.get("mix", "mix_clean"))
        if self.mix not in MIXES:
            raise ConfigError(f"libri2mix: mix must be one of {sorted(MIXES)}, got {self.mix!r}")
        default_csv = self.root / "metadata" / f"mixture_{self.split}_{self.mix}.csv"
        self.metadata = expand_file(config["metadata"], "libri2mix") if config.get("metadata") else default_csv
        if not self.metadata.is_file():
            raise ConfigError(f"libri2mix: metadata file {self.metadata} does not exist (set 'metadata' or check 'split'/'mix')")
        self.librispeech = expand_root(config["librispeech_root"], "libri2mix librispeech_root") if config.get("librispeech_root") else None
        self.enrollment_list = expand_file(config["enrollment"], "libri2mix") if config.get("enrollment") else None
        self.enrollment_root = (expand_root(config["enrollment_root"], "libri2mix enrollment_root") if config.get("enrollment_root")
                                else self.enrollment_list.parent if self.enrollment_list else None)
        self.seed = as_int(config.get("seed", 0), "seed")
        rate = config.get("sample_rate")
        inferred = next((FOLDER_RATES[p] for p in self.root.parts if p in FOLDER_RATES), None)
        self.sample_rate = as_int(rate, "sample_rate") if rate is not None else inferred

    def _locate(self, value: str, where: str) -> Path:
        path = Path(value)
        if not path.is_absolute():
            return resolve_inside(self.root, value, source=where)
        resolved = path.resolve()
        if resolved == self.root or self.root in resolved.parents:
            return resolved
        return resolve_inside(self.root, f"{self.split}/{path.parent.name}/{path.name}", source=where)

    def _rows(self) -> list[dict[str, Any]]:
        with open(self.metadata, newline="") as f:
            reader = csv.DictReader(f)
            required = {"mixture_ID", "mixture_path", "source_1_path"} | ({"source_2_path"} if self.mix != "mix_single" else set())
            missing = required - set(reader.fieldnames or [])
            if missing:
                raise ConfigError(f"libri2mix: {self.metadata} lacks columns {sorted(missing)}")
            rows = []
            for number, row in enumerate(reader, 2):
                where = f"{self.metadata}, line {number}"
                utterances = row["mixture_ID"].split("_")
                if len(utterances) != 2 or not all(UTTERANCE.match(u) for u in utterances):
                    raise ConfigError(f"{where}: mixture_ID {row['mixture_ID']!r} is not <utterance>_<utterance>")
                rows.append({
                    "id": row["mixture_ID"], "utterances": utterances, "where": where,
                    "mixture": self._locate(row["mixture_path"], where),
                    "sources": [self._locate(row[f"source_{k}_path"], where) for k in (1, 2) if row.get(f"source_{k}_path")],
                    "length": int(row["length"]) if row.get("length", "").isdigit() else None,
                })
        if not rows:
            raise ConfigError(f"libri2mix: {self.metadata} has no rows")
        return rows

    def items(self) -> Iterable[Item]:
        rows = self._rows()
        transcripts, speaker_audio = librispeech_index(self.librispeech) if self.librispeech else ({}, {})
        if self.mix == "mix_single":
            for row in rows:
                yield Item(id=row["id"], task=DENOISE, subset=self.mix, input=row["mixture"], reference=row["sources"][0],
                           transcript=self._transcript(transcripts, row["utterances"][0], row["where"]),
                           sample_rate=self.sample_rate, meta={"mixture_id": row["id"], "utterance": row["utterances"][0]})
            return
        targets = self._listed_targets(rows) if self.enrollment_list else None
        pool = self._pool(rows, speaker_audio)
        for row in rows:
            for k, utterance in enumerate(row["utterances"], 1):
                item_id = f"{row['id']}_s{k}"
                speaker = UTTERANCE.match(utterance)["speaker"]
                if targets is not None:
                    if item_id not in targets:
                        continue
                    enrollment_utterance, enrollment = None, targets[item_id]
                else:
                    candidates = {u: p for u, p in pool.get(speaker, {}).items() if u != utterance}
                    if not candidates:
                        raise ConfigError(f"libri2mix: speaker {speaker} (item {item_id}) has no other utterance to enrol "
                                          "with; give 'librispeech_root' or an 'enrollment' list")
                    enrollment_utterance, enrollment = pick_enrollment(candidates, self.seed, item_id)
                meta = {"mixture_id": row["id"], "target": k, "speaker": speaker, "utterance": utterance,
                        "interferer": row["utterances"][2 - k], "enrollment_utterance": enrollment_utterance}
                if row["length"] is not None:
                    meta["length"] = row["length"]
                yield Item(id=item_id, task=MIXES[self.mix], subset=self.mix, input=row["mixture"],
                           reference=row["sources"][k - 1], enrollment=enrollment,
                           transcript=self._transcript(transcripts, utterance, row["where"]),
                           sample_rate=self.sample_rate, meta=meta)

    def _transcript(self, transcripts: dict[str, str], utterance: str, where: str) -> str | None:
        if self.librispeech is None:
            return None
        if utterance not in transcripts:
            raise ConfigError(f"{where}: utterance {utterance} has no transcript under {self.librispeech}")
        return transcripts[utterance]

    @staticmethod
    def _pool(rows: list[dict[str, Any]], speaker_audio: dict[str, dict[str, Path]]) -> dict[str, dict[str, Path]]:
        """speaker -> {utterance: file}: other mixtures' sources, LibriSpeech originals winning."""
        pool: dict[str, dict[str, Path]] = {}
        for row in rows:
            for utterance, source in zip(row["utterances"], row["sources"]):
                pool.setdefault(UTTERANCE.match(utterance)["speaker"], {}).setdefault(utterance, source)
        for speaker, files in speaker_audio.items():
            pool.setdefault(speaker, {}).update(files)
        return pool

    def _listed_targets(self, rows: list[dict[str, Any]]) -> dict[str, Path]:
        by_id = {row["id"]: row for row in rows}
        targets: dict[str, Path] = {}
        assert self.enrollment_list is not None and self.enrollment_root is not None
        for key, target, path in read_enrollment_list(self.enrollment_list, self.enrollment_root):
            where = f"enrollment list {self.enrollment_list}"
            if target is None:
                mixture, _, index = key.rpartition("_s")
                if mixture not in by_id or not index.isdigit():
                    raise ConfigError(f"{where}: {key!r} is not <mixture_ID>_s<k> for a mixture in {self.metadata}")
                targets[key] = path
            else:
                if key not in by_id:
                    raise ConfigError(f"{where}: mixture {key!r} is not in {self.metadata}")
                targets[f"{key}_s{target_index(target, by_id[key]['utterances'], where)}"] = path
        return targets
