"""The synthetic suite: reproducible builds, cache behaviour, and that each subset's labels are true."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from scipy.signal import correlate

from bench.audio import file_sha256, load_audio
from bench.errors import ConfigError, SebenchError
from bench.item import DOUBLE_TALK, FAREND_SINGLE_TALK, NEAREND_SINGLE_TALK, PACKET_SECONDS, Item
from bench.testset import TESTSETS
from testsets.synthetic import SUBSETS, SyntheticSuite
from testsets.synthetic.sentences import TALK

RATE = 16000


def _file_hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): file_sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[Item]]]:
    """One build of 5 items per subset (5 so the AEC talk pattern reaches near-end single talk)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEBENCH_HOME", str(tmp_path_factory.mktemp("synthetic-home")))
        by_subset: dict[str, list[Item]] = {}
        for item in SyntheticSuite(n_per_subset=5, seed=11).items():
            by_subset.setdefault(item.subset, []).append(item)
        yield by_subset


def _audio(path: Path | None) -> np.ndarray:
    assert path is not None
    audio, rate = load_audio(path, expected_rate=RATE)
    return audio


def test_registered_under_its_builtin_name() -> None:
    assert TESTSETS.get("synthetic") is SyntheticSuite


def test_same_seed_is_byte_identical_across_processes_and_homes(sebench_home: Path, tmp_path: Path) -> None:
    suite = SyntheticSuite(n_per_subset=2, seed=3)
    suite.build()
    here = suite.root
    other_home = tmp_path / "other-home"
    env = {**os.environ, "SEBENCH_HOME": str(other_home)}
    code = "from testsets.synthetic import SyntheticSuite as S; s = S(n_per_subset=2, seed=3); s.build(); print(s.root)"
    there = Path(subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout.strip())
    assert here.is_relative_to(sebench_home) and there.is_relative_to(other_home)
    hashes = _file_hashes(here)
    assert len([name for name in hashes if name.endswith(".wav")]) >= 2 * len(SUBSETS) * 2
    assert len([name for name in hashes if name.endswith("manifest.json")]) == len(SUBSETS)
    assert hashes == _file_hashes(there)


def test_different_seed_gives_different_audio(sebench_home: Path) -> None:
    a = {i.id: file_sha256(i.input) for i in SyntheticSuite(n_per_subset=1, seed=1).items()}
    b = {i.id: file_sha256(i.input) for i in SyntheticSuite(n_per_subset=1, seed=2).items()}
    assert a.keys() == b.keys() == {f"{s}/000" for s in SUBSETS}
    assert all(a[k] != b[k] for k in a)


def test_items_do_not_depend_on_suite_size(items: dict[str, list[Item]], sebench_home: Path) -> None:
    small = {i.id: file_sha256(i.input) for i in SyntheticSuite(n_per_subset=1, seed=11).items()}
    large = {i.id: file_sha256(i.input) for v in items.values() for i in v}  # seed 11, 5 per subset
    assert small == {k: v for k, v in large.items() if k.endswith("/000")}


def test_second_load_reuses_the_build(sebench_home: Path) -> None:
    suite = SyntheticSuite(n_per_subset=1, subsets="plc+tse")
    first = [i.id for i in suite.items()]
    manifest = suite.root / "plc" / "manifest.json"
    stamp = manifest.stat().st_mtime_ns
    assert [i.id for i in SyntheticSuite(n_per_subset=1, subsets="plc+tse").items()] == first == ["plc/000", "tse/000"]
    assert manifest.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in suite.root.iterdir()) == ["plc", "tse"]  # only what was asked; no debris


def test_counts_ids_and_tasks(items: dict[str, list[Item]]) -> None:
    assert {s: len(v) for s, v in items.items()} == {s: 5 for s in SUBSETS}
    assert [i.id for i in items["plc"]] == [f"plc/{k:03d}" for k in range(5)]
    tasks = {s: {i.task for i in v} for s, v in items.items()}
    assert tasks == {"no_reverb": {"denoise"}, "with_reverb": {"denoise"}, "declip": {"declip"},
                     "plc": {"plc"}, "tse": {"tse"}, "aec": {"aec"}}
    for item in (i for v in items.values() for i in v):
        assert item.sample_rate == RATE
        seconds = len(_audio(item.input)) / RATE
        assert (7.0 < seconds < 13.0) if item.subset == "aec" else (2.0 < seconds < 6.0), item.id
        if item.reference is not None:
            assert len(_audio(item.reference)) == len(_audio(item.input)), item.id
        if item.transcript is not None:
            assert item.transcript == TALK[item.meta["sentence"]]


def test_no_reverb_snr_matches_meta(items: dict[str, list[Item]]) -> None:
    kinds = set()
    for item in items["no_reverb"]:
        clean = _audio(item.reference).astype(np.float64)
        noise = _audio(item.input).astype(np.float64) - clean
        snr = 10 * np.log10(np.sum(clean**2) / np.sum(noise**2))
        assert snr == pytest.approx(item.meta["snr_db"], abs=0.1), item.id
        assert -5.0 <= item.meta["snr_db"] <= 15.0
        kinds.add(item.meta["noise"])
    assert len(kinds) == 5  # the noise kind cycles, so five items cover five generators


def test_with_reverb_reference_is_dry_and_aligned(items: dict[str, list[Item]]) -> None:
    for item in items["with_reverb"]:
        noisy, dry = _audio(item.input), _audio(item.reference)
        lag = int(np.argmax(correlate(noisy, dry, "full"))) - (len(dry) - 1)
        assert lag == 0, item.id
        assert 0.2 <= item.meta["rt60_s"] <= 0.8
        assert item.meta["rt60_measured_s"] > 0.1


def test_declip_clips_exactly_at_the_stated_level(items: dict[str, list[Item]]) -> None:
    for item in items["declip"]:
        clipped, clean = _audio(item.input), _audio(item.reference)
        level = np.float32(item.meta["clip_level"])
        over = np.abs(clean) > level
        assert over.any(), item.id
        assert float(np.max(np.abs(clipped))) == level
        assert np.array_equal(clipped[over], np.sign(clean[over]) * level)
        assert np.array_equal(clipped[~over], clean[~over])
        assert item.meta["clipped_fraction"] == pytest.approx(float(over.mean()))


def test_plc_trace_lines_up_with_zeroed_packets(items: dict[str, list[Item]]) -> None:
    packet = int(PACKET_SECONDS * RATE)
    for item in items["plc"]:
        lossy, clean = _audio(item.input), _audio(item.reference)
        trace = np.array(item.loss_trace)
        assert len(lossy) == len(trace) * packet, item.id
        packets_in, packets_ref = lossy.reshape(-1, packet), clean.reshape(-1, packet)
        assert not packets_in[trace == 1].any()
        assert np.array_equal(packets_in[trace == 0], packets_ref[trace == 0])
        assert packets_ref[trace == 1].any()  # the loss hit some speech, not only leading silence
        assert 0 < trace.mean() < 1 and trace.mean() == pytest.approx(item.meta["loss_rate"])


def test_tse_enrollment_is_the_target_voice_reading_another_sentence(items: dict[str, list[Item]]) -> None:
    for item in items["tse"]:
        meta = item.meta
        assert meta["enrollment_voice"] == meta["voice"] != meta["interferer_voice"]
        assert meta["enrollment_sentence"] not in (meta["sentence"], meta["interferer_sentence"])
        assert meta["sentence"] != meta["interferer_sentence"]
        mixture, target, enrollment = _audio(item.input), _audio(item.reference), _audio(item.enrollment)
        interferer = mixture.astype(np.float64) - target
        sir = 10 * np.log10(np.sum(target.astype(np.float64) ** 2) / np.sum(interferer**2))
        assert sir == pytest.approx(meta["sir_db"], abs=0.1)
        assert len(enrollment) != len(target) or not np.array_equal(enrollment, target)


def test_aec_talk_types_and_references(items: dict[str, list[Item]]) -> None:
    talk = Counter(i.talk_type for i in items["aec"])
    assert talk == {FAREND_SINGLE_TALK: 2, DOUBLE_TALK: 2, NEAREND_SINGLE_TALK: 1}
    for item in items["aec"]:
        mic, far = _audio(item.input), _audio(item.far_end)
        assert len(far) == len(mic)
        if item.talk_type == FAREND_SINGLE_TALK:
            assert item.reference is None and item.transcript is None
            assert np.any(far) and np.sqrt(np.mean(mic**2)) > 1e-3  # echo reaches the mic
        elif item.talk_type == DOUBLE_TALK:
            near = _audio(item.reference)
            echo = mic.astype(np.float64) - near
            ser = 10 * np.log10(np.sum(near.astype(np.float64) ** 2) / np.sum(echo**2))
            assert np.any(far) and item.transcript is not None
            assert ser == pytest.approx(item.meta["ser_db"], abs=0.5)  # mic noise is 30-40 dB down
        else:
            assert not np.any(far) and item.reference is not None


def test_prepare_reports_a_file_changed_after_the_build(sebench_home: Path) -> None:
    suite = SyntheticSuite(n_per_subset=1, subsets="plc")
    assert suite.prepare() == []
    (item,) = suite.items()
    item.input.write_bytes(item.input.read_bytes()[:-400])
    problems = suite.prepare()
    assert len(problems) == 1 and "plc/000" in problems[0] and str(item.input) in problems[0]
    assert "sha256 mismatch" in problems[0]


def test_corrupt_manifest_is_a_clear_error(sebench_home: Path) -> None:
    suite = SyntheticSuite(n_per_subset=1, subsets="declip")
    (folder,) = suite.build()
    (folder / "manifest.json").write_text('{"items": [')
    path = re.escape(str(folder / "manifest.json"))
    with pytest.raises(SebenchError, match=f"manifest {path} is unreadable.*delete {re.escape(str(folder))} to rebuild"):
        list(suite.items())


def test_subset_selection_and_config_errors(sebench_home: Path) -> None:
    chosen = SyntheticSuite(n_per_subset="1", subsets="tse+declip")
    assert [i.id for i in chosen.items()] == ["declip/000", "tse/000"]
    assert [i.subset for i in SyntheticSuite(n_per_subset=1, subsets=["aec"]).items()] == ["aec"]
    with pytest.raises(ConfigError, match="unknown subset.*'reverb'.*known: no_reverb"):
        SyntheticSuite(subsets="reverb")
    with pytest.raises(ConfigError, match="unknown config key.*'snr'"):
        SyntheticSuite(snr=5)
    with pytest.raises(ConfigError, match="n_per_subset must be"):
        SyntheticSuite(n_per_subset="ten")
    with pytest.raises(ConfigError, match="n_per_subset must be >= 1"):
        SyntheticSuite(n_per_subset=0)


def test_manifest_records_config_and_hashes(sebench_home: Path) -> None:
    suite = SyntheticSuite(n_per_subset=1, seed=5, sample_rate=8000, subsets="no_reverb")
    (folder,) = suite.build()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["seed"], manifest["n_per_subset"], manifest["sample_rate"]) == (5, 1, 8000)
    assert folder.parent.parent == sebench_home / "synthetic"
    for record in manifest["items"]:
        for relative, digest in record["sha256"].items():
            assert file_sha256(folder / relative) == digest
    (item,) = suite.items()
    assert load_audio(item.input, expected_rate=8000)[1] == 8000


@pytest.mark.slow
def test_default_suite_builds_and_verifies(sebench_home: Path) -> None:
    suite = SyntheticSuite()
    assert suite.prepare() == []
    built = list(suite.items())
    assert Counter(i.subset for i in built) == {s: 10 for s in SUBSETS}
    assert Counter(i.talk_type for i in built if i.subset == "aec") == {
        FAREND_SINGLE_TALK: 4, DOUBLE_TALK: 4, NEAREND_SINGLE_TALK: 2}
    assert {i.meta["noise"] for i in built if i.subset == "no_reverb"} == {
        "white", "pink", "brown", "hum", "babble", "bursts", "modulated"}
    assert len({i.meta["voice"] for i in built if i.transcript is not None}) >= 6
