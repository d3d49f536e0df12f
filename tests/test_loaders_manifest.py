"""Generic CSV/TSV/JSONL manifests, and the path-safety rule every manifest path goes through."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.errors import ConfigError
from bench.item import FAREND_SINGLE_TALK
from testsets.manifest import Manifest
from tests.loaders_support import noise, tone


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    noise(root / "in" / "a.wav")
    tone(root / "ref" / "a.wav")
    noise(root / "in" / "b.wav", seed=1)
    tone(root / "spk" / "b_enrol.wav")
    noise(root / "aec" / "mic.wav")
    tone(root / "aec" / "lpb.wav")
    (root / "traces").mkdir()
    (root / "traces" / "b_is_lost.txt").write_text("0\n1\n1\n0\n")
    return root


def test_csv_columns_fill_the_item_and_extras_go_to_meta(data: Path) -> None:
    (data / "m.csv").write_text(
        "input,reference,enrollment,transcript,task,snr,noise_type,loss_trace\n"
        "in/a.wav,ref/a.wav,,HELLO WORLD,denoise,5,babble,\n"
        "in/b.wav,,spk/b_enrol.wav,,tse+plc,-2.5,,traces/b_is_lost.txt\n"
    )
    a, b = Manifest(path=str(data / "m.csv")).items()
    assert a.id == "in/a" and a.reference == (data / "ref" / "a.wav").resolve() and a.transcript == "HELLO WORLD"
    assert a.subset == "m" and dict(a.meta) == {"snr": 5, "noise_type": "babble"} and a.loss_trace is None
    assert b.task == "tse+plc" and b.enrollment.name == "b_enrol.wav" and b.reference is None
    assert b.loss_trace == (0, 1, 1, 0) and dict(b.meta) == {"snr": -2.5}


def test_jsonl_with_ids_far_end_talk_type_and_inline_trace(data: Path) -> None:
    rows = [
        {"id": "echo-1", "input": "aec/mic.wav", "far_end": "aec/lpb.wav", "task": "aec", "talk_type": FAREND_SINGLE_TALK},
        {"id": "plc-1", "input": "in/b.wav", "task": "plc", "loss_trace": "0 0 1", "sample_rate": 16000, "room": {"rt60": 0.4}},
    ]
    (data / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    echo, plc = Manifest(path=str(data / "m.jsonl"), subset="mine").items()
    assert echo.id == "echo-1" and echo.far_end.name == "lpb.wav" and echo.talk_type == FAREND_SINGLE_TALK
    assert plc.loss_trace == (0, 0, 1) and plc.sample_rate == 16000 and plc.meta == {"room": {"rt60": 0.4}}
    assert echo.subset == "mine"


def test_dotdot_escape_is_refused(data: Path) -> None:
    (data / "m.csv").write_text("input,reference\nin/a.wav,../../etc/passwd\n")
    with pytest.raises(ConfigError, match=r"row 1: path '../../etc/passwd' resolves to .* outside the data root"):
        list(Manifest(path=str(data / "m.csv")).items())


def test_absolute_paths_inside_the_root_pass_and_outside_are_refused(data: Path, tmp_path: Path) -> None:
    inside = (data / "in" / "a.wav").resolve()
    outside = noise(tmp_path / "elsewhere" / "x.wav")
    (data / "m.csv").write_text(f"input\n{inside}\n")
    assert next(iter(Manifest(path=str(data / "m.csv")).items())).input == inside
    (data / "m.csv").write_text(f"input\n{outside}\n")
    with pytest.raises(ConfigError, match="outside the data root"):
        list(Manifest(path=str(data / "m.csv")).items())
    # A manifest kept elsewhere reads paths relative to the configured root, still confined to it.
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "m.tsv").write_text("input\treference\nin/a.wav\tref/a.wav\n")
    item = next(iter(Manifest(path=str(tmp_path / "lists" / "m.tsv"), root=str(data)).items()))
    assert item.reference == (data / "ref" / "a.wav").resolve()


def test_symlinks_inside_the_root_are_followed_but_dotdot_through_them_is_not(data: Path, tmp_path: Path) -> None:
    disk = noise(tmp_path / "other_disk" / "s.wav").parent
    os.symlink(disk, data / "linked")
    (data / "m.csv").write_text("input\nlinked/s.wav\n")
    assert next(iter(Manifest(path=str(data / "m.csv")).items())).input.read_bytes() == (disk / "s.wav").read_bytes()
    (data / "m.csv").write_text("input\nlinked/../../other_disk/s.wav\n")
    with pytest.raises(ConfigError, match="outside the data root"):
        list(Manifest(path=str(data / "m.csv")).items())


def test_shared_inputs_get_reference_suffixed_ids_and_bad_rows_are_named(data: Path) -> None:
    (data / "m.csv").write_text("input,reference,task\nin/a.wav,ref/a.wav,tse\nin/a.wav,in/b.wav,tse\n")
    assert [i.id for i in Manifest(path=str(data / "m.csv")).items()] == ["in/a:a", "in/a:b"]
    (data / "m.csv").write_text("reference\nref/a.wav\n")
    with pytest.raises(ConfigError, match="row 1: no 'input' column"):
        list(Manifest(path=str(data / "m.csv")).items())
    (data / "m.csv").write_text("input,task\nin/a.wav,denoize\n")
    with pytest.raises(ConfigError, match="row 1: unknown task 'denoize'"):
        list(Manifest(path=str(data / "m.csv")).items())
    (data / "m.csv").write_text("id,input\nx,in/a.wav\nx,in/b.wav\n")
    with pytest.raises(ConfigError, match="duplicate id 'x'"):
        list(Manifest(path=str(data / "m.csv")).items())
    (data / "m.txt").write_text("input\n")
    with pytest.raises(ConfigError, match="unknown format"):
        list(Manifest(path=str(data / "m.txt")).items())


def test_real_tse_demo_manifest(shared_data: Path) -> None:
    demo = shared_data / "seflow-demo"
    manifest = Manifest(path=str(demo / "tse_items.tsv"), root=str(demo / "tse@06d9b74"), task="tse",
                        rename="mixture:input|target_ref:reference|transcript_as_shown_on_page:transcript")
    items = list(manifest.items())
    assert len(items) == 12 and all(i.task == "tse" and i.enrollment.is_file() and i.reference.is_file() for i in items)
    first = items[0]
    assert first.enrollment.name == "61.wav" and first.reference.name.endswith("_s1.wav")
    assert first.transcript == "THIS WAS SO SWEET A LADY SIR AND IN SOME MANNER I DO THINK SHE DIED"
    assert first.meta["SEFlow_ours"] == "demo/librimix/ours/61-70968-0005_5105-28233-0000_s1.wav"
    assert manifest.prepare() == []
