"""Issue 18, loader side: official spellings in manifests, PLC traces from a trace root or derived
from zeroed packets, on small real-like layouts (generated audio)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.cli import main
from bench.errors import ConfigError
from bench.item import AEC, DOUBLE_TALK, FAREND_SINGLE_TALK, NEAREND_SINGLE_TALK, PLC, normalize_talk_type, normalize_task
from testsets.aec_challenge import AECChallenge
from testsets.manifest import Manifest
from testsets.plc_challenge import PLCChallenge, derive_zero_trace
from tests.loaders_support import noise, tone


def lossy(path: Path, lost: list[int], rate: int = 16000, packet_ms: float = 20, seed: int = 0) -> Path:
    """Noise with the flagged packets zeroed, as the PLC Challenge's lossy files are."""
    size = round(rate * packet_ms / 1000)
    audio = 0.1 * np.random.default_rng(seed).standard_normal(len(lost) * size).astype(np.float32)
    for index, flag in enumerate(lost):
        if flag:
            audio[index * size:(index + 1) * size] = 0.0
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, rate, subtype="PCM_16")
    return path


@pytest.mark.parametrize("written, expected", [
    ("AEC", AEC), ("Denoise+Dereverb", "denoise+dereverb"), ("noise_suppression", "denoise"),
    ("Packet-Loss Concealment", PLC), ("TSE", "tse"), ("echo_cancellation+NS", "aec+denoise"),
])
def test_task_spellings(written: str, expected: str) -> None:
    assert normalize_task(written) == expected


@pytest.mark.parametrize("written, expected", [
    ("doubletalk", DOUBLE_TALK), ("DoubleTalk", DOUBLE_TALK), ("double-talk", DOUBLE_TALK), ("DT", DOUBLE_TALK),
    ("farend_singletalk_with_movement", FAREND_SINGLE_TALK), ("Far-end single talk", FAREND_SINGLE_TALK),
    ("nearend_singletalk", NEAREND_SINGLE_TALK), ("nst", NEAREND_SINGLE_TALK), ("double_talk", DOUBLE_TALK),
])
def test_talk_type_spellings(written: str, expected: str) -> None:
    assert normalize_talk_type(written) == expected


def test_manifest_accepts_the_aec_challenge_spellings_and_any_case(tmp_path: Path) -> None:
    noise(tmp_path / "a_mic.wav")
    tone(tmp_path / "a_lpb.wav")
    (tmp_path / "m.csv").write_text(
        "id,input,far_end,task,talk_type\n"
        "dt,a_mic.wav,a_lpb.wav,AEC,doubletalk\n"
        "st,a_mic.wav,a_lpb.wav,Aec,farend_singletalk_with_movement\n"
        "bad,a_mic.wav,a_lpb.wav,AEC,crosstalk\n"
    )
    items = Manifest(path=str(tmp_path / "m.csv")).items()
    dt, st = next(items), next(items)
    assert (dt.task, dt.talk_type) == (AEC, DOUBLE_TALK) and (st.task, st.talk_type) == (AEC, FAREND_SINGLE_TALK)
    with pytest.raises(ConfigError, match=r"row 3: item bad: unknown talk type 'crosstalk'"):
        next(items)
    assert Manifest(path=str(tmp_path / "m.csv"), task="Noise_Suppression").task == "denoise"
    with pytest.raises(ConfigError, match="unknown task 'sing'"):
        Manifest(path=str(tmp_path / "m.csv"), task="sing")


def test_aec_synthetic_meta_talk_type_in_the_challenge_spelling(tmp_path: Path) -> None:
    base = tmp_path / "synthetic"
    noise(base / "nearend_mic_signal" / "nearend_mic_fileid_0.wav")
    tone(base / "farend_speech" / "farend_speech_fileid_0.wav")
    (base / "meta.csv").write_text("fileid,ser,talk_type\n0,5,doubletalk\n")
    (item,) = AECChallenge(root=str(tmp_path)).items()
    assert item.talk_type == DOUBLE_TALK


def test_derived_trace_marks_exactly_the_zeroed_packets(tmp_path: Path) -> None:
    flags = [0, 1, 1, 0, 0, 1, 0]
    assert derive_zero_trace(lossy(tmp_path / "a.wav", flags)) == tuple(flags)
    # 48 kHz and 40 ms packets: each lost packet is two 20 ms flags
    wide = lossy(tmp_path / "b.wav", [0, 1, 0], rate=48000, packet_ms=40)
    assert derive_zero_trace(wide, 0.04) == (0, 0, 1, 1, 0, 0)
    # a trailing partial packet counts; a packet with one non-zero sample is received
    audio = np.zeros(16000 // 50 * 2 + 100, dtype=np.float32)
    audio[5] = 0.5
    sf.write(tmp_path / "c.wav", audio, 16000)
    assert derive_zero_trace(tmp_path / "c.wav") == (0, 1, 1)


def test_manifest_trace_root_and_derived_traces(tmp_path: Path) -> None:
    data, traces = tmp_path / "data", tmp_path / "my_traces"
    lossy(data / "lossy" / "a.wav", [0, 1, 0, 0])
    lossy(data / "lossy" / "b.wav", [1, 1, 0, 0], seed=1)
    lossy(data / "lossy" / "c.wav", [0, 0, 0, 1], seed=2)
    traces.mkdir()
    (traces / "a_is_lost.txt").write_text("0 1 0 0\n")
    (data / "m.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"id": "a", "input": "lossy/a.wav", "task": "PLC", "loss_trace": "a_is_lost.txt"},
        {"id": "b", "input": "lossy/b.wav", "task": "plc"},
        {"id": "c", "input": "lossy/c.wav", "task": "plc", "loss_trace": [0, 0, 0, 1]},
        {"id": "d", "input": "lossy/c.wav", "task": "denoise"},
    ]) + "\n")
    a, b, c, d = Manifest(path=str(data / "m.jsonl"), trace_root=str(traces), derive_trace="zeros").items()
    assert a.loss_trace == (0, 1, 0, 0) and "trace_derived" not in a.meta
    assert b.loss_trace == (1, 1, 0, 0) and b.meta["trace_derived"] == "zeros/20ms"
    assert c.loss_trace == (0, 0, 0, 1) and d.loss_trace is None  # only PLC rows get a derived trace
    # without derive_trace the PLC row has no trace; a trace file is looked up in trace_root only
    assert [i.loss_trace for i in Manifest(path=str(data / "m.jsonl"), trace_root=str(traces)).items()][1] is None
    with pytest.raises(ConfigError, match=r"row 1 \(loss_trace, trace_root\): path '\.\./x_is_lost.txt'.*outside"):
        (data / "n.csv").write_text("input,task,loss_trace\nlossy/a.wav,plc,../x_is_lost.txt\n")
        list(Manifest(path=str(data / "n.csv"), trace_root=str(traces)).items())
    with pytest.raises(ConfigError, match="derive_trace must be one of"):
        Manifest(path=str(data / "m.jsonl"), derive_trace="energy")
    with pytest.raises(ConfigError, match="packet_ms must be a positive multiple of 20"):
        Manifest(path=str(data / "m.jsonl"), derive_trace="zeros", packet_ms="10")


def test_plc_loader_derives_traces_and_reads_traces_outside_the_data_root(tmp_path: Path) -> None:
    # a demo page's shape: corrupted/, clean/, improved/ (published outputs), no traces at all
    root = tmp_path / "demo"
    lossy(root / "corrupted" / "4607.wav", [0, 1, 1, 0, 1])
    lossy(root / "corrupted" / "54.wav", [0, 0, 0, 0, 1], seed=1)
    for name in ("4607", "54"):
        tone(root / "clean" / f"{name}.wav", seconds=0.1)
        tone(root / "improved" / f"{name}.wav", seconds=0.1)
    with pytest.raises(ConfigError, match="set trace_root, or derive_trace=zeros"):
        list(PLCChallenge(root=str(root)).items())
    loader = PLCChallenge(root=str(root), lossy="corrupted", clean="clean", derive_trace="zeros")
    first, second = loader.items()
    assert (first.id, first.task, first.loss_trace) == ("4607", PLC, (0, 1, 1, 0, 1))
    assert first.reference == root.resolve() / "clean" / "4607.wav" and first.meta["trace_derived"] == "zeros/20ms"
    assert second.loss_trace == (0, 0, 0, 0, 1) and loader.prepare() == []
    # traces kept in the user's own folder (the data tree is read-only): trace-driven discovery there
    traces = tmp_path / "traces"
    traces.mkdir()
    (traces / "54_is_lost.txt").write_text("0\n0\n0\n0\n1\n")
    (item,) = PLCChallenge(root=str(root), lossy="corrupted", trace_root=str(traces)).items()
    assert item.id == "54" and item.input.parent.name == "corrupted" and item.meta["trace_file"].startswith(str(traces))
    # with derive_trace a trace file wins over the derivation
    (traces / "4607_is_lost.txt").write_text("1 1 1 1 1\n")
    items = {i.id: i for i in PLCChallenge(root=str(root), lossy="corrupted", trace_root=str(traces),
                                           derive_trace="zeros").items()}
    assert items["4607"].loss_trace == (1,) * 5 and "trace_derived" not in items["4607"].meta


def test_real_tplcnet_derived_traces_equal_the_published_ones(shared_data: Path, tmp_path: Path) -> None:
    root = shared_data / "tplcnet-plc"
    published = {i.id: i.loss_trace for i in PLCChallenge(root=str(root / "test_files")).items()}
    for name in published:  # the wavs alone, so every trace has to be derived
        shutil.copy(root / "test_files" / f"{name}.wav", tmp_path / f"{name}.wav")
    derived = {i.id: i.loss_trace for i in PLCChallenge(root=str(tmp_path), derive_trace="zeros").items()}
    assert derived == published and sum(published["2307"]) == 31 and sum(published["54"]) == 377
    demo = {i.id: i for i in PLCChallenge(root=str(root / "audio_samples"), lossy="corrupted", clean="clean",
                                          derive_trace="zeros").items()}
    assert sorted(demo) == ["2307", "4607", "54"] and demo["54"].loss_trace == published["54"]
    assert all(i.reference is not None for i in demo.values())


def test_prepare_prints_a_warning_table_for_mixed_rates_and_length_mismatch(tmp_path: Path, capsys) -> None:
    noise(tmp_path / "a_mic.wav", seconds=1.0, rate=48000)
    noise(tmp_path / "a_lpb.wav", seconds=2.0, rate=16000, seed=1)  # far end at another rate and twice as long
    noise(tmp_path / "b_mic.wav", seconds=1.0)
    noise(tmp_path / "b_lpb.wav", seconds=1.05, seed=2)  # within the tolerance: no warning
    noise(tmp_path / "c_noisy.wav", seconds=1.0)
    tone(tmp_path / "c_clean.wav", seconds=0.5)
    noise(tmp_path / "d.wav", seconds=0.1)
    (tmp_path / "m.csv").write_text(
        "id,input,far_end,reference,task,talk_type\n"
        "a,a_mic.wav,a_lpb.wav,,aec,doubletalk\nb,b_mic.wav,b_lpb.wav,,aec,dt\n"
        "c,c_noisy.wav,,c_clean.wav,denoise,\nd,d.wav,,,plc,\n"
    )
    assert main(["prepare", f"manifest:path={tmp_path / 'm.csv'}"]) == 0  # warnings, not problems
    out = capsys.readouterr().out
    table = out[out.index("3 warnings:"):].splitlines()
    assert table[1].split() == ["item", "warning", "files"]
    assert table[2].startswith("    a     mixed sample rates") and table[2].endswith(
        "input: 48000 Hz, 1.00 s; far_end: 16000 Hz, 2.00 s")
    assert table[3].startswith("    a     far end length differs from the input's")
    assert table[4].startswith("    c     reference length differs") and table[4].endswith(
        "input: 16000 Hz, 1.00 s; reference: 16000 Hz, 0.50 s")
    assert ("note: 1 plc item without loss_trace: opus-plc, plc-repeat, plc-zero will be marked unsupported "
            "there (-); give one with loss_trace / trace_root, or derive_trace=zeros") in out
    assert main(["prepare", f"manifest:path={tmp_path / 'm.csv'},derive_trace=zeros"]) == 0
    assert "without loss_trace" not in capsys.readouterr().out
