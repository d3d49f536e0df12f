"""PLC Challenge (lossy wav + *_is_lost.txt) and AEC Challenge (*_lpb.wav / *_mic.wav) loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.audio import load_audio
from bench.errors import ConfigError
from bench.item import AEC, DOUBLE_TALK, FAREND_SINGLE_TALK, NEAREND_SINGLE_TALK, PLC
from testsets.aec_challenge import AECChallenge
from testsets.plc_challenge import PLCChallenge
from tests.loaders_support import noise, tone


def plc_layout(root: Path) -> Path:
    """Blind-set shape: lossy_signals/<id>.wav with <id>_is_lost.txt beside it, plus clean refs."""
    for clip, flags in (("1001", [0, 1, 0, 0, 1]), ("1002", [0, 0, 0, 0, 0])):
        noise(root / "lossy_signals" / f"{clip}.wav", seconds=0.1)  # 5 packets of 20 ms
        (root / "lossy_signals" / f"{clip}_is_lost.txt").write_text("\n".join(map(str, flags)) + "\n")
        tone(root / "clean_signals" / f"{clip}.wav", seconds=0.1)
    return root


def test_plc_items_carry_trace_and_reference(tmp_path: Path) -> None:
    loader = PLCChallenge(root=str(plc_layout(tmp_path / "blind")), clean="clean_signals")
    first, second = loader.items()
    assert (first.id, first.task, first.subset) == ("1001", PLC, "blind")
    assert first.loss_trace == (0, 1, 0, 0, 1) and first.meta["loss_rate"] == 0.4 and first.meta["packets"] == 5
    assert first.reference.parent.name == "clean_signals" and second.loss_trace == (0,) * 5
    assert loader.prepare() == []


def test_plc_trace_problems(tmp_path: Path) -> None:
    root = plc_layout(tmp_path / "blind")
    (root / "lossy_signals" / "1002_is_lost.txt").write_text("0\n0\n0\n0\n0\n0\n0\n0\n")
    assert PLCChallenge(root=str(root)).prepare() == [
        f"1002: {root.resolve() / 'lossy_signals' / '1002.wav'} lasts 5.0 packets of 20 ms but its loss trace has 8 flags"]
    (root / "lossy_signals" / "1002_is_lost.txt").write_text("0\n2\n")
    with pytest.raises(ConfigError, match=r"1002_is_lost.txt: flag 1 is '2', expected 0 or 1"):
        list(PLCChallenge(root=str(root)).items())
    (root / "lossy_signals" / "1001.wav").unlink()
    with pytest.raises(ConfigError, match="has no lossy audio 1001.wav"):
        list(PLCChallenge(root=str(root)).items())
    with pytest.raises(ConfigError, match="outside the data root"):
        PLCChallenge(root=str(root), clean="../elsewhere")


def test_real_tplcnet_traces_mark_exactly_the_zeroed_packets(shared_data: Path) -> None:
    loader = PLCChallenge(root=str(shared_data / "tplcnet-plc"), clean="audio_samples/clean")
    items = {i.id: i for i in loader.items()}
    assert sorted(items) == ["1214", "2307", "54"]
    assert items["1214"].reference is None and items["54"].reference.name == "54.wav"
    assert len(items["54"].loss_trace) == 484 and loader.prepare() == []
    for item in items.values():
        audio, rate = load_audio(item.input)
        hop = int(rate * 0.02)
        silent = [not np.any(audio[i * hop:(i + 1) * hop]) for i in range(len(item.loss_trace))]
        assert silent == [bool(flag) for flag in item.loss_trace]


def aec_real_layout(root: Path) -> Path:
    """ICASSP 2021 AEC test set naming: <GUID>_<scenario>_{lpb,mic}.wav."""
    for scenario in ("doubletalk", "farend_singletalk_with_movement", "sweep"):
        tone(root / "noisy" / f"G1d_{scenario}_lpb.wav")
        noise(root / "noisy" / f"G1d_{scenario}_mic.wav")
    noise(root / "clean" / "Zq9_nearend_singletalk_mic.wav")
    return root


def test_aec_talk_types_from_names(tmp_path: Path) -> None:
    items = list(AECChallenge(root=str(aec_real_layout(tmp_path / "test_set"))).items())
    assert [(i.id, i.talk_type, i.far_end is not None) for i in items] == [
        ("clean/Zq9_nearend_singletalk", NEAREND_SINGLE_TALK, False),
        ("noisy/G1d_doubletalk", DOUBLE_TALK, True),
        ("noisy/G1d_farend_singletalk_with_movement", FAREND_SINGLE_TALK, True),
    ]
    assert all(i.task == AEC and i.reference is None for i in items)
    assert items[2].meta == {"guid": "G1d", "scenario": "farend_singletalk_with_movement", "movement": True}
    assert items[1].far_end.name == "G1d_doubletalk_lpb.wav"
    only_noisy = AECChallenge(root=str(tmp_path / "test_set"), subset="noisy")
    assert {i.subset for i in only_noisy.items()} == {"noisy"}


def test_aec_missing_loopback_is_an_error(tmp_path: Path) -> None:
    root = aec_real_layout(tmp_path / "test_set")
    (root / "noisy" / "G1d_doubletalk_lpb.wav").unlink()
    with pytest.raises(ConfigError, match="G1d_doubletalk_mic.wav has no loopback"):
        list(AECChallenge(root=str(root)).items())


def test_aec_synthetic_layout_with_meta_csv(tmp_path: Path) -> None:
    root = tmp_path / "synthetic"
    for fileid in (3, 12):
        noise(root / "nearend_mic_signal" / f"nearend_mic_fileid_{fileid}.wav", seed=fileid)
        tone(root / "farend_speech" / f"farend_speech_fileid_{fileid}.wav")
        tone(root / "nearend_speech" / f"nearend_speech_fileid_{fileid}.wav", freq=300)
        tone(root / "echo_signal" / f"echo_fileid_{fileid}.wav", freq=500)
    (root / "meta.csv").write_text("fileid,ser,is_farend_nonlinear,talk_type\n3,-2.5,1,double_talk\n12,5,0,nearend_single_talk\n")
    first, second = AECChallenge(root=str(root)).items()
    assert (first.id, second.id) == ("synthetic/fileid_3", "synthetic/fileid_12")
    assert first.reference.name == "nearend_speech_fileid_3.wav" and first.far_end.name == "farend_speech_fileid_3.wav"
    assert first.meta == {"fileid": 3, "ser": -2.5, "is_farend_nonlinear": 1} and first.talk_type == DOUBLE_TALK
    assert second.talk_type == NEAREND_SINGLE_TALK
