"""Issue 18, ``folder`` side: per-item-folder layouts, refusing the item's own files, and the
published file behind each score, on small real-like demo layouts (generated audio)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.audio import file_sha256
from bench.errors import ConfigError
from bench.pipeline import prepare_input
from systems.folder import FolderSystem, RefusedOutputError
from testsets.manifest import Manifest
from tests.loaders_support import noise, tone


def per_item_demo(root: Path, count: int = 2) -> Path:
    """A TSE demo page laid out one folder per item (LLaSE-G1 style): N/{mixture,enrollment,target,tselm_l}.wav."""
    for n in range(1, count + 1):
        noise(root / str(n) / "mixture.wav", seconds=0.5, seed=n)
        tone(root / str(n) / "enrollment.wav", seconds=0.3, freq=200 + n)
        tone(root / str(n) / "target.wav", seconds=0.5, freq=300 + n)
        tone(root / str(n) / "tselm_l.wav", seconds=0.5, freq=400 + n)
    rows = "".join(f"{n}/mixture.wav,{n}/target.wav,{n}/enrollment.wav\n" for n in range(1, count + 1))
    (root / "items.csv").write_text("input,reference,enrollment\n" + rows)
    return root


def test_per_item_folders_the_default_layout_refuses_the_input_and_dir_finds_the_output(tmp_path: Path) -> None:
    root = per_item_demo(tmp_path / "demo")
    first, second = Manifest(path=str(root / "items.csv"), task="TSE").items()
    assert first.id == "1/mixture"  # no id column: the id is the input's path, which the default layout finds
    system = FolderSystem(root=str(root))
    with pytest.raises(RefusedOutputError, match=r"the layout finds only 1/mixture.wav, which is the item's own "
                                                 r"input file, not an output.*layout=\{dir\}/<output name>"):
        system.published_file(prepare_input(system, first).inputs)
    published = FolderSystem(root=str(root), layout="{dir}/tselm_l").published_file(prepare_input(system, second).inputs)
    assert published.relative_path == "2/tselm_l.wav" and published.sha256 == (file_sha256(root / "2" / "tselm_l.wav"),)
    np.testing.assert_array_equal(published.audio, sf.read(root / "2" / "tselm_l.wav", dtype="float32")[0])


def test_refusal_follows_symlinks_and_a_later_candidate_still_wins(tmp_path: Path) -> None:
    data = tmp_path / "data"
    noise(data / "noisy" / "a.wav", seconds=0.5)
    tone(data / "noisy" / "a_proc.wav", seconds=0.5)  # outputs written beside the inputs, MaskSR style
    (data / "m.csv").write_text("input\nnoisy/a.wav\n")
    (item,) = Manifest(path=str(data / "m.csv")).items()
    system = FolderSystem(root=str(data))  # layout {id}: noisy/a.wav (refused), then noisy/a_proc.wav
    assert system.published_file(prepare_input(system, item).inputs).relative_path == "noisy/a_proc.wav"
    linked = tmp_path / "linked"
    (linked / "noisy").mkdir(parents=True)
    (linked / "noisy" / "a.wav").symlink_to(data / "noisy" / "a.wav")
    with pytest.raises(RefusedOutputError, match="own input file"):
        FolderSystem(root=str(linked)).published_file(prepare_input(system, item).inputs)


def test_parent_field_for_one_folder_per_kind(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    noise(root / "librimix" / "mixture" / "x.wav", seconds=0.5)
    tone(root / "librimix" / "target" / "x_s1.wav", seconds=0.5)
    tone(root / "librimix" / "ours" / "x_s1.wav", seconds=0.5, freq=500)
    (root / "m.csv").write_text("id,input,reference\nx_s1,librimix/mixture/x.wav,librimix/target/x_s1.wav\n")
    (item,) = Manifest(path=str(root / "m.csv"), task="tse").items()
    system = FolderSystem(root=str(root), layout="{parent}/ours/{id}")
    inputs = prepare_input(system, item).inputs
    assert system.fields(inputs)["dir"] == "mixture" and system.fields(inputs)["parent"] == "librimix"
    assert system.published_file(inputs).relative_path == "librimix/ours/x_s1.wav"


def test_separation_outputs_one_file_per_source(tmp_path: Path) -> None:
    root = tmp_path / "wsj"
    noise(root / "mix" / "x.wav", seconds=0.5)
    tone(root / "s1" / "x.wav", seconds=0.5, freq=300)
    tone(root / "s2" / "x.wav", seconds=0.5, freq=500)
    tone(tmp_path / "out" / "x_s1.wav", seconds=0.5, freq=500, rate=8000)  # published at 8 kHz, sources swapped
    tone(tmp_path / "out" / "x_s2.wav", seconds=0.5, freq=300, rate=8000)
    (root / "m.csv").write_text("input,reference,task\nmix/x.wav,s1/x.wav|s2/x.wav,separation\n")
    (item,) = Manifest(path=str(root / "m.csv")).items()
    assert item.references == (root.resolve() / "s1" / "x.wav", root.resolve() / "s2" / "x.wav") and item.sources == 2
    inputs = prepare_input(FolderSystem(root=str(tmp_path / "out")), item).inputs
    inputs = dataclasses.replace(inputs, sources=item.sources)
    with pytest.raises(ConfigError, match=r"needs 2 outputs \(one per source\); put \{source\} in the layout"):
        FolderSystem(root=str(tmp_path / "out")).published_file(inputs)
    published = FolderSystem(root=str(tmp_path / "out"), layout="{stem}_s{source}").published_file(inputs)
    assert published.audio.shape == (2, 4000) and published.sample_rate == 8000
    assert published.files == ("x_s1.wav", "x_s2.wav") and published.provenance()["published_file"] == "x_s1.wav|x_s2.wav"
