"""DNS Challenge loader on the official test_set layout (generated) and on real DNS 2020 items."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.errors import ConfigError
from bench.item import DENOISE
from bench.testset import TESTSETS
from testsets.dns import DNSChallenge, parse_noisy_name
from tests.loaders_support import noise, tone


def official_layout(root: Path) -> Path:
    """datasets/test_set as in microsoft/DNS-Challenge interspeech2020/master."""
    test_set = root / "test_set"
    synthetic = test_set / "synthetic"
    for fileid, name in ((10, "clnsp3_TjLRHI4gGJQ_snr-5_tl-30_fileid_10"), (2, "clnsp200_air_conditioner_151977_0_snr18_tl-23_fileid_2")):
        noise(synthetic / "no_reverb" / "noisy" / f"{name}.wav", seed=fileid)
        tone(synthetic / "no_reverb" / "clean" / f"clean_fileid_{fileid}.wav", freq=200 + fileid)
    noise(synthetic / "with_reverb" / "noisy" / "clnsp27_GvaTLOWuCK8_snr10_tl-22_fileid_296.wav")
    tone(synthetic / "with_reverb" / "clean" / "clean_fileid_296.wav")
    noise(test_set / "real_recordings" / "audioset_realrec_car__1h9umA8agI.wav")
    noise(test_set / "real_recordings" / "ms_realrec_headset_cafe_01.wav")
    return test_set


def test_official_layout_pairs_noisy_with_clean_by_fileid(tmp_path: Path) -> None:
    items = list(DNSChallenge(root=str(official_layout(tmp_path))).items())
    assert [i.id for i in items] == [
        "no_reverb/fileid_2", "no_reverb/fileid_10", "with_reverb/fileid_296",
        "real_recordings/audioset_realrec_car__1h9umA8agI", "real_recordings/ms_realrec_headset_cafe_01",
    ]
    first = items[0]
    assert first.reference.name == "clean_fileid_2.wav" and first.input.name.endswith("_fileid_2.wav")
    assert first.task == DENOISE and first.sample_rate == 16000
    assert dict(first.meta) == {"clean_id": 200, "noise": "air_conditioner_151977_0", "snr": 18,
                                "target_level": -23, "fileid": 2, "reverberant": False}
    assert items[1].meta["snr"] == -5 and items[1].meta["target_level"] == -30
    assert items[2].meta["reverberant"] is True and items[2].subset == "with_reverb"
    assert items[3].reference is None and items[3].meta["category"] == "car"
    assert items[3].meta["clip_id"] == "_1h9umA8agI"
    assert items[4].meta == {"source": "ms", "recording": "headset_cafe_01"}


def test_subset_selection_and_registry_name(tmp_path: Path) -> None:
    root = official_layout(tmp_path)
    loader = TESTSETS.get("dns")(root=str(root / "synthetic"), subset="with_reverb")
    assert [i.id for i in loader.items()] == ["with_reverb/fileid_296"]
    both = DNSChallenge(root=str(root), subset="no_reverb+with_reverb")
    assert {i.subset for i in both.items()} == {"no_reverb", "with_reverb"}


def test_missing_clean_reference_names_the_file(tmp_path: Path) -> None:
    root = official_layout(tmp_path)
    (root / "synthetic" / "no_reverb" / "clean" / "clean_fileid_10.wav").unlink()
    with pytest.raises(ConfigError, match="clean_fileid_10.wav"):
        list(DNSChallenge(root=str(root), subset="no_reverb").items())


def test_unknown_subset_and_unknown_key_are_config_errors(tmp_path: Path) -> None:
    root = official_layout(tmp_path)
    with pytest.raises(ConfigError, match="subset 'no_such' not found"):
        list(DNSChallenge(root=str(root), subset="no_such").items())
    with pytest.raises(ConfigError, match="unknown config keys"):
        DNSChallenge(root=str(root), subsets="no_reverb")
    with pytest.raises(ConfigError, match="does not exist"):
        DNSChallenge(root=str(tmp_path / "nowhere"))


def test_blind_set_is_read_without_references(tmp_path: Path) -> None:
    blind = tmp_path / "test_set" / "blind_test_set"
    noise(blind / "emotional" / "emotional_clip_3.wav", rate=48000)
    noise(blind / "noreverb_fileid_7.wav", rate=48000)
    items = list(DNSChallenge(root=str(tmp_path / "test_set"), subset="blind_test_set").items())
    assert [i.id for i in items] == ["blind_test_set/emotional/emotional_clip_3", "blind_test_set/noreverb_fileid_7"]
    assert all(i.reference is None and i.sample_rate is None for i in items)
    assert items[0].meta["folder"] == "emotional" and items[1].meta == {"fileid": 7}


def test_name_parser_reads_decimal_snr() -> None:
    meta = parse_noisy_name("clnsp1_door_4_snr2.5_tl-27.5_fileid_3")
    assert meta == {"clean_id": 1, "noise": "door_4", "snr": 2.5, "target_level": -27.5, "fileid": 3}


def test_real_dns2020_sample(shared_data: Path) -> None:
    loader = DNSChallenge(root=str(shared_data / "dns2020-sample"))
    items = {i.id: i for i in loader.items()}
    assert sorted(items) == ["no_reverb/fileid_0", "no_reverb/fileid_6", "no_reverb/fileid_80",
                             "real_recordings/audioset_realrec_car__1h9umA8agI", "with_reverb/fileid_296"]
    assert items["no_reverb/fileid_0"].meta["snr"] == 15 and items["no_reverb/fileid_0"].meta["noise"] == "3Wjw0nadnM4"
    assert items["no_reverb/fileid_80"].meta["noise"] == "air_conditioner_151977_0"
    assert items["with_reverb/fileid_296"].reference.name == "clean_fileid_296.wav"
    assert loader.prepare() == []  # every file readable at the declared 16 kHz
