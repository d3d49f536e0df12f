"""Libri2Mix and WSJ0-2mix as TSE items: official layouts, enrollment rule and lists, transcripts."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from bench.audio import load_audio
from bench.errors import ConfigError
from bench.item import DENOISE, TSE
from testsets.libri2mix import Libri2Mix
from testsets.wsj0_2mix import WSJ0Mix
from tests.loaders_support import noise, tone

MIXTURES = ["1089-134686-0000_121-121726-0000", "1089-134691-0001_237-126133-0002", "121-123859-0003_237-134493-0014"]
GENERATED_ON = "/home/someone/LibriMix/storage/Libri2Mix/wav16k/min"
"""The generator writes absolute paths of its own machine into the CSVs; loaders must cope."""


def libri2mix_layout(root: Path, mixtures: list[str] = MIXTURES, mix: str = "mix_clean") -> Path:
    """Libri2Mix/wav16k/min with metadata/mixture_test_<mix>.csv and test/{mix,s1,s2}/."""
    base = root / "Libri2Mix" / "wav16k" / "min"
    rows = []
    for i, mixture in enumerate(mixtures):
        noise(base / "test" / mix / f"{mixture}.wav", seed=i)
        tone(base / "test" / "s1" / f"{mixture}.wav", freq=200 + i)
        tone(base / "test" / "s2" / f"{mixture}.wav", freq=400 + i)
        row = {"mixture_ID": mixture, "mixture_path": f"{GENERATED_ON}/test/{mix}/{mixture}.wav",
               "source_1_path": f"{GENERATED_ON}/test/s1/{mixture}.wav",
               "source_2_path": f"{GENERATED_ON}/test/s2/{mixture}.wav", "length": 3200}
        if mix == "mix_both":
            row["noise_path"] = f"{GENERATED_ON}/test/noise/{mixture}.wav"
        rows.append(row)
    (base / "metadata").mkdir(parents=True, exist_ok=True)
    with open(base / "metadata" / f"mixture_test_{mix}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return base


def librispeech_layout(root: Path) -> Path:
    """LibriSpeech/test-clean/<spk>/<chapter>/{<spk>-<chapter>.trans.txt, *.flac}."""
    utterances = {"1089-134686-0000": "HE HOPED THERE WOULD BE STEW", "1089-134686-0001": "STUFF IT INTO YOU",
                  "1089-134691-0001": "A SECOND LINE", "121-121726-0000": "ALSO A POPULAR CONTRIVANCE",
                  "121-123859-0003": "ANOTHER", "237-126133-0002": "THIRD", "237-134493-0014": "FOURTH"}
    for utterance, text in utterances.items():
        speaker, chapter, _ = utterance.split("-")
        folder = root / "LibriSpeech" / "test-clean" / speaker / chapter
        tone(folder / f"{utterance}.flac", seconds=0.3)
        with open(folder / f"{speaker}-{chapter}.trans.txt", "a") as f:
            f.write(f"{utterance} {text}\n")
    return root / "LibriSpeech"


def test_libri2mix_items_per_target_with_rerooted_paths(tmp_path: Path) -> None:
    base = libri2mix_layout(tmp_path)
    items = list(Libri2Mix(root=str(base)).items())
    assert [i.id for i in items] == [f"{m}_s{k}" for m in MIXTURES for k in (1, 2)]
    first = items[0]
    assert first.input == base.resolve() / "test" / "mix_clean" / f"{MIXTURES[0]}.wav"
    assert first.reference == base.resolve() / "test" / "s1" / f"{MIXTURES[0]}.wav"
    assert first.task == TSE and first.subset == "mix_clean" and first.sample_rate == 16000 and first.transcript is None
    assert first.meta["speaker"] == "1089" and first.meta["interferer"] == "121-121726-0000" and first.meta["length"] == 3200
    # Enrollment: another utterance of the same speaker, here the only other 1089 source (mixture 2, s1).
    assert first.enrollment == base.resolve() / "test" / "s1" / f"{MIXTURES[1]}.wav"
    assert first.meta["enrollment_utterance"] == "1089-134691-0001"
    for item in items:
        assert item.meta["enrollment_utterance"] != item.meta["utterance"]
        assert item.meta["enrollment_utterance"].split("-")[0] == item.meta["speaker"]


def test_libri2mix_enrollment_rule_is_seeded_per_item(tmp_path: Path) -> None:
    base = libri2mix_layout(tmp_path)
    speech = librispeech_layout(tmp_path)
    picks = {s: {i.id: i.meta["enrollment_utterance"] for i in Libri2Mix(root=str(base), librispeech_root=str(speech), seed=s).items()}
             for s in range(6)}
    assert picks[0] == {i.id: i.meta["enrollment_utterance"] for i in Libri2Mix(root=str(base), librispeech_root=str(speech), seed="0").items()}
    # Speaker 1089 has 2 other utterances for MIXTURES[0]_s1; across seeds both are drawn.
    assert {p[f"{MIXTURES[0]}_s1"] for p in picks.values()} == {"1089-134686-0001", "1089-134691-0001"}
    # The choice for an item does not depend on which other rows are loaded.
    (base / "metadata" / "mixture_test_mix_clean.csv").write_text(
        "\n".join((base / "metadata" / "mixture_test_mix_clean.csv").read_text().splitlines()[i] for i in (0, 3, 2, 1)) + "\n")
    reordered = {i.id: i.meta["enrollment_utterance"] for i in Libri2Mix(root=str(base), librispeech_root=str(speech), seed=3).items()}
    assert reordered == picks[3]


def test_libri2mix_librispeech_transcripts_and_original_enrollments(tmp_path: Path) -> None:
    base = libri2mix_layout(tmp_path)
    speech = librispeech_layout(tmp_path)
    items = {i.id: i for i in Libri2Mix(root=str(base), librispeech_root=str(speech)).items()}
    item = items[f"{MIXTURES[0]}_s1"]
    assert item.transcript == "HE HOPED THERE WOULD BE STEW"
    assert items[f"{MIXTURES[0]}_s2"].transcript == "ALSO A POPULAR CONTRIVANCE"
    # 1089-134691-0001 is both a Libri2Mix source and a LibriSpeech file: the original recording wins.
    enrolled = [i for i in items.values() if i.meta["enrollment_utterance"] == "1089-134691-0001"]
    assert enrolled and all(i.enrollment.suffix == ".flac" for i in enrolled)


def test_libri2mix_lonely_speaker_and_missing_metadata(tmp_path: Path) -> None:
    base = libri2mix_layout(tmp_path, mixtures=MIXTURES[:1])
    with pytest.raises(ConfigError, match="speaker 1089 .* has no other utterance"):
        list(Libri2Mix(root=str(base)).items())
    with pytest.raises(ConfigError, match="mixture_test_mix_both.csv does not exist"):
        Libri2Mix(root=str(base), mix="mix_both")
    with pytest.raises(ConfigError, match="mix must be one of"):
        Libri2Mix(root=str(base), mix="mix_noisy")


def test_libri2mix_enrollment_list_defines_items(tmp_path: Path) -> None:
    base = libri2mix_layout(tmp_path)
    enrol = tmp_path / "enrol"
    tone(enrol / "1089" / "a.wav")
    tone(enrol / "237" / "b.wav")
    (enrol / "list.txt").write_text(f"# item enrollment\n{MIXTURES[0]}_s1 1089/a.wav\n{MIXTURES[2]} 237-134493-0014 237/b.wav\n")
    items = list(Libri2Mix(root=str(base), enrollment=str(enrol / "list.txt")).items())
    assert [(i.id, i.enrollment.relative_to(enrol.resolve()).as_posix()) for i in items] == [
        (f"{MIXTURES[0]}_s1", "1089/a.wav"), (f"{MIXTURES[2]}_s2", "237/b.wav")]
    (enrol / "list.txt").write_text(f"{MIXTURES[0]}_s1 ../../secret.wav\n")
    with pytest.raises(ConfigError, match="outside the data root"):
        list(Libri2Mix(root=str(base), enrollment=str(enrol / "list.txt")).items())
    (enrol / "list.txt").write_text("9999-1-1_8888-1-1_s1 1089/a.wav\n")
    with pytest.raises(ConfigError, match="not <mixture_ID>_s<k> for a mixture"):
        list(Libri2Mix(root=str(base), enrollment=str(enrol / "list.txt")).items())


def test_libri2mix_mix_both_and_mix_single(tmp_path: Path) -> None:
    both = libri2mix_layout(tmp_path / "a", mix="mix_both")
    assert {i.task for i in Libri2Mix(root=str(both), mix="mix_both").items()} == {f"{TSE}+{DENOISE}"}
    single = libri2mix_layout(tmp_path / "b", mix="mix_single")
    items = list(Libri2Mix(root=str(single), mix="mix_single").items())
    assert [(i.id, i.task, i.reference.parent.name) for i in items] == [(m, DENOISE, "s1") for m in MIXTURES]


def test_libri2mix_real_librispeech_transcripts(shared_data: Path, tmp_path: Path) -> None:
    mixture = "1089-134686-0000_1089-134691-0000"
    base = libri2mix_layout(tmp_path, mixtures=[mixture])
    speech = shared_data / "librispeech-test-clean-mini" / "LibriSpeech"
    items = list(Libri2Mix(root=str(base), librispeech_root=str(speech)).items())
    assert items[0].transcript.startswith("HE HOPED THERE WOULD BE STEW FOR DINNER")
    assert items[0].enrollment.parent.parent == (speech / "test-clean" / "1089").resolve()
    assert items[0].meta["enrollment_utterance"] in {"1089-134686-0001", "1089-134691-0000", "1089-134691-0001"}
    assert items[0].meta["enrollment_utterance"] != "1089-134686-0000"


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(src, dst)


def test_libri2mix_real_demo_mixtures_in_official_layout(shared_data: Path, tmp_path: Path) -> None:
    """The SEFlow TSE demo's Libri2Mix mixtures, laid out as the generator writes them."""
    demo = shared_data / "seflow-demo" / "tse@06d9b74" / "demo" / "librimix"
    base = tmp_path / "Libri2Mix" / "wav16k" / "min"
    mixtures = sorted(p.stem for p in (demo / "mixture").glob("*.wav"))
    lines = ["mixture_ID,mixture_path,source_1_path,source_2_path,length"]
    enrol = []
    for mixture in mixtures:
        _link(demo / "mixture" / f"{mixture}.wav", base / "test" / "mix_clean" / f"{mixture}.wav")
        for k in (1, 2):
            _link(demo / "target" / f"{mixture}_s{k}.wav", base / "test" / f"s{k}" / f"{mixture}.wav")
            enrol.append(f"{mixture} s{k} query/{mixture.split('_')[k - 1].split('-')[0]}.wav")
        lines.append(f"{mixture},{GENERATED_ON}/test/mix_clean/{mixture}.wav,{GENERATED_ON}/test/s1/{mixture}.wav,"
                     f"{GENERATED_ON}/test/s2/{mixture}.wav,0")
    (base / "metadata").mkdir()
    (base / "metadata" / "mixture_test_mix_clean.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "enrol.txt").write_text("\n".join(enrol) + "\n")
    loader = Libri2Mix(root=str(base), enrollment=str(tmp_path / "enrol.txt"), enrollment_root=str(demo))
    items = list(loader.items())
    assert len(items) == 6 and loader.prepare() == []
    by_id = {i.id: i for i in items}
    assert by_id["61-70968-0005_5105-28233-0000_s2"].enrollment.name == "5105.wav"
    for mixture in mixtures:  # the pairing is right: mixture == s1 + s2 (mix_clean)
        mix = load_audio(by_id[f"{mixture}_s1"].input)[0]
        s1, s2 = (load_audio(by_id[f"{mixture}_s{k}"].reference)[0] for k in (1, 2))
        assert np.max(np.abs(mix - s1 - s2)) < 1e-2 * np.max(np.abs(mix))


def wsj_layout(root: Path, extr: bool = False) -> Path:
    tt = root / "2speakers" / "wav8k" / "min" / "tt"
    names = ["050a050a_0.1_22ga010e_-0.1", "442c0202_1.3_423a010v_-1.3"]
    for i, name in enumerate(names):
        stem = f"{name}_{'050c0104' if i == 0 else '442c020m'}" if extr else name
        noise(tt / "mix" / f"{stem}.wav", rate=8000, seed=i)
        tone(tt / "s1" / f"{stem}.wav", rate=8000)
        if extr:
            tone(tt / "aux" / f"{stem}.wav", rate=8000, freq=330)
        else:
            tone(tt / "s2" / f"{stem}.wav", rate=8000, freq=550)
    return tt.parent


def test_wsj0_2mix_with_enrollment_list(tmp_path: Path) -> None:
    root = wsj_layout(tmp_path)
    enrol = tmp_path / "wsj0" / "si_et_05"
    tone(enrol / "050" / "050c0104.wav", rate=8000)
    tone(enrol / "22g" / "22gc0102.wav", rate=8000)
    (tmp_path / "wsj0" / "tt_enrol.txt").write_text(
        "050a050a_0.1_22ga010e_-0.1_s1\tsi_et_05/050/050c0104.wav\n050a050a_0.1_22ga010e_-0.1 22ga010e si_et_05/22g/22gc0102.wav\n")
    (tmp_path / "trans.dot").write_text("THE FIRST SENTENCE (050a050a)\nSECOND ONE (22ga010e)\n")
    items = list(WSJ0Mix(root=str(root), enrollment=str(tmp_path / "wsj0" / "tt_enrol.txt"), transcripts=str(tmp_path / "trans.dot")).items())
    assert [(i.id, i.reference.parent.name, i.enrollment.name) for i in items] == [
        ("050a050a_0.1_22ga010e_-0.1_s1", "s1", "050c0104.wav"), ("050a050a_0.1_22ga010e_-0.1_s2", "s2", "22gc0102.wav")]
    assert items[1].meta == {"mixture": "050a050a_0.1_22ga010e_-0.1", "target": 2, "utterance": "22ga010e", "speaker": "22g",
                             "snr": -0.1, "interferer": "050a050a"}
    assert items[0].transcript == "THE FIRST SENTENCE" and items[1].sample_rate == 8000 and items[0].task == TSE


def test_wsj0_2mix_needs_a_list_without_aux(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs an 'enrollment' list"):
        WSJ0Mix(root=str(wsj_layout(tmp_path)))


def test_wsj0_2mix_extr_layout_reads_aux(tmp_path: Path) -> None:
    items = list(WSJ0Mix(root=str(wsj_layout(tmp_path, extr=True))).items())
    assert [(i.id, i.enrollment.parent.name, i.meta["enrollment_utterance"]) for i in items] == [
        ("050a050a_0.1_22ga010e_-0.1_050c0104", "aux", "050c0104"), ("442c0202_1.3_423a010v_-1.3_442c020m", "aux", "442c020m")]


def test_wsj0_2mix_real_demo_as_extr_layout(shared_data: Path, tmp_path: Path) -> None:
    demo = shared_data / "seflow-demo" / "tse@06d9b74" / "demo" / "wsj"
    tt = tmp_path / "wsj0-2mix-extr" / "wav16k" / "max" / "tt"
    for src, dst in (("mixture", "mix"), ("target", "s1"), ("query", "aux")):
        for path in (demo / src).glob("*.wav"):
            _link(path, tt / dst / path.name)
    loader = WSJ0Mix(root=str(tt.parent))
    items = list(loader.items())
    assert len(items) == 6 and loader.prepare() == [] and {i.sample_rate for i in items} == {16000}
    for item in items:  # enrollment and target are the same WSJ0 speaker, the interferer another
        assert item.meta["enrollment_utterance"][:3] == item.meta["speaker"] != item.meta["interferer"][:3]
