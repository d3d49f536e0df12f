"""Pairs-folder loader and the `folder` system (published outputs scored like a live system)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.audio import load_audio
from bench.config import RunConfig
from bench.errors import BadOutputError, ConfigError
from bench.pipeline import enhance_item
from bench.spec import parse_spec
from bench.system import SYSTEMS
from systems.folder import FolderSystem, MissingOutputError
from testsets.dns import DNSChallenge
from testsets.pairs import PairsFolder
from tests.loaders_support import noise, tone


def demo_layout(root: Path) -> Path:
    """The SEFlow demo shape: <distortion>/{noisy,clean,f-1-1}/<utterance>.flac at 48 kHz."""
    for subset, stems in {"noise": ["p232_189_mic1", "s5_070_mic1"], "clip": ["p257_089_mic1"]}.items():
        for i, stem in enumerate(stems):
            noise(root / subset / "noisy" / f"{stem}.flac", rate=48000, seed=i)
            tone(root / subset / "clean" / f"{stem}.flac", rate=48000, freq=300 + 100 * i)
            tone(root / subset / "f-1-1" / f"{stem}.flac", rate=48000, freq=310 + 100 * i)
    return root


def test_split_layout_items_and_tasks(tmp_path: Path) -> None:
    items = list(PairsFolder(root=str(demo_layout(tmp_path / "vctk"))).items())
    assert [(i.id, i.subset, i.task) for i in items] == [
        ("clip/p257_089_mic1", "clip", "declip"),
        ("noise/p232_189_mic1", "noise", "denoise"),
        ("noise/s5_070_mic1", "noise", "denoise"),
    ]
    assert all(i.reference.parent.name == "clean" and i.reference.stem == i.input.stem for i in items)


def test_flat_layout_task_override_and_subset_filter(tmp_path: Path) -> None:
    flat = tmp_path / "voicebank"
    noise(flat / "noisy_testset_wav" / "p232_001.wav")
    tone(flat / "clean_testset_wav" / "p232_001.wav")
    items = list(PairsFolder(root=str(flat), input="noisy_testset_wav", reference="clean_testset_wav",
                             task="denoise+dereverb", sample_rate="16000").items())
    assert [(i.id, i.subset, i.task, i.sample_rate) for i in items] == [("p232_001", "voicebank", "denoise+dereverb", 16000)]
    split = demo_layout(tmp_path / "vctk")
    mapped = list(PairsFolder(root=str(split), subset="noise", task="noise:dereverb").items())
    assert {i.task for i in mapped} == {"dereverb"} and len(mapped) == 2
    with pytest.raises(ConfigError, match=r"subsets \['reverb'\] not found"):
        PairsFolder(root=str(split), subset="reverb").subsets()
    with pytest.raises(ConfigError, match="unknown task"):
        PairsFolder(root=str(split), task="denoize")


def test_missing_reference_is_named(tmp_path: Path) -> None:
    root = demo_layout(tmp_path / "vctk")
    (root / "clip" / "clean" / "p257_089_mic1.flac").unlink()
    with pytest.raises(ConfigError, match="p257_089_mic1"):
        list(PairsFolder(root=str(root)).items())


def test_folder_system_returns_the_file_at_its_own_rate_fitted(tmp_path: Path) -> None:
    root = demo_layout(tmp_path / "vctk")
    item = next(i for i in PairsFolder(root=str(root), sample_rate=48000).items() if i.id == "noise/p232_189_mic1")
    # The published output is at 16 kHz and 5 ms short: it stays at 16 kHz, padded to the input's 200 ms.
    out16 = 0.3 * np.sin(2 * np.pi * 310 * np.arange(3120) / 16000).astype(np.float32)
    (root / "noise" / "f-1-1" / "p232_189_mic1.flac").unlink()
    sf.write(root / "noise" / "f-1-1" / "p232_189_mic1.wav", out16, 16000, subtype="FLOAT")
    system = SYSTEMS.get("folder")(root=str(root), layout="{subset}/f-1-1/{stem}")
    assert system.sample_rate is None and system.cache_outputs is False
    output, rate = enhance_item(system, "default", item)
    assert rate == 16000 and len(output) == 3200
    np.testing.assert_array_equal(output, np.pad(out16, (0, 80)))


def test_suffix_search_order_and_configured_suffix(tmp_path: Path) -> None:
    root = tmp_path / "dns"
    noise(root / "no_reverb" / "noisy" / "clnsp1_door_snr5_tl-25_fileid_4.wav")
    tone(root / "no_reverb" / "clean" / "clean_fileid_4.wav")
    item = next(iter(DNSChallenge(root=str(root)).items()))
    outputs = tmp_path / "maskSR"
    tone(outputs / "clnsp1_door_snr5_tl-25_fileid_4_enhanced.wav", freq=500)
    tone(outputs / "clnsp1_door_snr5_tl-25_fileid_4_proc.wav", freq=600)
    found = FolderSystem(root=str(outputs))
    output, _ = enhance_item(found, "default", item)
    np.testing.assert_allclose(output, load_audio(outputs / "clnsp1_door_snr5_tl-25_fileid_4_proc.wav")[0])
    only_enhanced = FolderSystem(root=str(outputs), suffix="_enhanced")
    output, _ = enhance_item(only_enhanced, "default", item)
    np.testing.assert_allclose(output, load_audio(outputs / "clnsp1_door_snr5_tl-25_fileid_4_enhanced.wav")[0])
    tone(tmp_path / "llase" / "fileid_4.wav", freq=700)
    by_fileid = FolderSystem(root=str(tmp_path / "llase"), layout="fileid_{fileid}")
    output, _ = enhance_item(by_fileid, "default", item)
    np.testing.assert_allclose(output, load_audio(tmp_path / "llase" / "fileid_4.wav")[0])


def test_missing_output_wrong_length_and_escapes_fail_per_item(tmp_path: Path) -> None:
    root = demo_layout(tmp_path / "vctk")
    items = {i.id: i for i in PairsFolder(root=str(root)).items()}
    system = FolderSystem(root=str(root), layout="{subset}/f-3-1/{stem}")
    with pytest.raises(MissingOutputError, match=r"no output for item noise/p232_189_mic1 .*noise/f-3-1/p232_189_mic1\.flac"):
        enhance_item(system, "default", items["noise/p232_189_mic1"])
    tone(root / "noise" / "f-3-1" / "s5_070_mic1.flac", rate=48000, seconds=1.5)
    with pytest.raises(BadOutputError, match="probably not this item's output"):
        enhance_item(system, "default", items["noise/s5_070_mic1"])
    escaping = FolderSystem(root=str(root / "noise" / "f-1-1"), layout="../../clip/clean/{stem}")
    with pytest.raises(ConfigError, match="outside the data root"):
        enhance_item(escaping, "default", items["clip/p257_089_mic1"])
    with pytest.raises(ConfigError, match="lacks"):
        enhance_item(FolderSystem(root=str(root), layout="{fileid}"), "default", items["clip/p257_089_mic1"])


def test_runner_records_missing_outputs_per_item(tmp_path: Path, sebench_home: Path) -> None:
    from bench.runner import execute

    root = demo_layout(tmp_path / "vctk")
    (root / "noise" / "f-1-1" / "s5_070_mic1.flac").unlink()
    config = RunConfig(
        name="folder-test", runs_dir=tmp_path / "runs",
        testsets=[parse_spec(f"pairs:root={root}")],
        systems=[parse_spec(f"folder:root={root},layout={{subset}}/f-1-1/{{stem}},label=f-1-1")],
        metrics=[parse_spec("sisdr")],
    )
    summary = execute(config, progress=False)
    assert (summary.ok, summary.failed) == (2, 1), summary.failure_lines()
    assert summary.failure_lines()[0].startswith("f-1-1: 1 item MissingOutputError, e.g. noise/s5_070_mic1: ")


def test_real_seflow_demo_every_point_has_every_output(shared_data: Path) -> None:
    root = shared_data / "seflow-demo" / "vctk@079d445"
    items = list(PairsFolder(root=str(root)).items())
    assert len(items) == 25 and {i.subset for i in items} == {"clip", "noise", "reverb", "packet", "complex"}
    point = FolderSystem(root=str(root), layout="{subset}/f-12-4/{stem}")
    for item in items[:3]:
        output, rate = enhance_item(point, "default", item)
        assert rate == 48000
        np.testing.assert_array_equal(output, load_audio(root / item.subset / "f-12-4" / item.input.name)[0])
    for name in ("f-1-1", "f-3-1", "f-6-2", "f-9-3", "f-12-4"):
        system = FolderSystem(root=str(root), layout=f"{{subset}}/{name}/{{stem}}")
        assert all(system.find_output(_inputs(i)).parent.name == name for i in items)


def _inputs(item):
    from bench.system import EnhanceInput

    return EnhanceInput(audio=np.zeros(1, np.float32), sample_rate=48000, task=item.task, item_id=item.id,
                        source=item.input, subset=item.subset, meta=dict(item.meta))


def test_seflow_demo_example_config_finds_every_output(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """examples/seflow_demo.yaml builds, and each f-B-H row has an output for all 25 items."""
    from bench.config import load_yaml_config
    from bench.plan import build_plan, load_items

    repo = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(repo)
    if (repo.parent / "shared" / "data").resolve() != shared_data.resolve():
        pytest.skip("the example's relative paths assume ../shared/data beside the checkout")
    config = RunConfig(**load_yaml_config(repo / "examples" / "seflow_demo.yaml"))
    systems = [SYSTEMS.get(spec.name)(**spec.config) for spec in config.systems]
    plan = build_plan(config.systems, systems, load_items(config.testsets, config.limit))
    jobs = plan.jobs
    assert not plan.unsupported and len(jobs) == 7 * 25
    assert list(plan.cards) == ["unprocessed", "oracle", "f-1-1", "f-3-1", "f-6-2", "f-9-3", "f-12-4"]
    assert [m.name for m in config.metrics] == ["dnsmos", "pesq", "stoi"]
    for job in jobs:
        system = systems[job.system_index]
        if isinstance(system, FolderSystem):
            assert system.find_output(_inputs(job.item)).parent.name == job.label
