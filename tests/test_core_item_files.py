"""``Item.files``: the one list of an item's files, and everything that walks it: the files staged on
a node without the driver's disk (Ray), the check that fails a missing file up front, a test set's
``prepare`` and file warnings, the files a ``folder`` system must refuse, and failure texts named
with the driver's paths. A separation item's second reference is the case each once missed."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.cache import check_item_files
from bench.errors import AudioError
from bench.item import AEC, SEPARATION, TSE, Item
from bench.item_files import Staging, manifest, pack
from bench.metrics.sisdr import SISDR
from bench.pipeline import prepare_input, score_item
from bench.plan import Job
from bench.ray_executor import _restore
from bench.status import Status
from bench.testset import TestSet, file_warnings
from bench.worker import JobResult
from systems.folder import FolderSystem, RefusedOutputError
from tests.loaders_support import tone

RATE = 16000


def separation_item(root: Path, seconds: float = 1.0, second_seconds: float | None = None) -> Item:
    """Two speakers-like sources (harmonic tones at different pitches) and their mixture."""
    t = np.arange(int(seconds * RATE)) / RATE
    s1 = 0.2 * np.sin(2 * np.pi * 180 * t) + 0.1 * np.sin(2 * np.pi * 540 * t)
    s2 = 0.2 * np.sin(2 * np.pi * 310 * t) + 0.1 * np.sin(2 * np.pi * 930 * t)
    for name, signal in (("mix", s1 + s2), ("s1", s1), ("s2", s2)):
        (root / name).mkdir(parents=True, exist_ok=True)
        sf.write(root / name / "utt.wav", signal.astype(np.float32), RATE)
    if second_seconds is not None:
        tone(root / "s2" / "utt.wav", seconds=second_seconds, freq=310)
    return Item(id="utt", task=SEPARATION, subset="2speakers", input=root / "mix" / "utt.wav",
                reference=root / "s1" / "utt.wav", extra_references=(root / "s2" / "utt.wav",), sample_rate=RATE)


def test_files_lists_every_file_in_a_fixed_order_and_with_files_moves_them(tmp_path: Path) -> None:
    item = separation_item(tmp_path / "data")
    assert [role for role, _ in item.files()] == ["input", "reference", "reference_2"]
    assert [path for _, path in item.files()] == [item.input, *item.references]
    aec = Item(id="a", task=AEC, subset="", input=Path("mic.wav"), reference=Path("ref.wav"), far_end=Path("far.wav"))
    tse = Item(id="t", task=TSE, subset="", input=Path("mix.wav"), enrollment=Path("enr.wav"))
    assert list(aec.files()) == [("input", Path("mic.wav")), ("reference", Path("ref.wav")), ("far_end", Path("far.wav"))]
    assert list(tse.files()) == [("input", Path("mix.wav")), ("enrollment", Path("enr.wav"))]
    moved = item.with_files({"reference_2": Path("/node/s2.wav"), "input": Path("/node/mix.wav")})
    assert moved.references == (item.reference, Path("/node/s2.wav")) and moved.input == Path("/node/mix.wav")
    assert moved.with_(input=item.input, extra_references=item.extra_references) == item
    with pytest.raises(ValueError, match="names no far_end file"):
        item.with_files({"far_end": Path("far.wav")})


def test_separation_item_reaches_a_node_without_the_driver_disk_with_every_reference(tmp_path: Path) -> None:
    """The Ray executor's path: the driver packs the item's files, the node stages them and runs the
    item on its own copies. Every reference must travel, or PIT scoring there reads a path that
    exists only on the driver."""
    item = separation_item(tmp_path / "driver")
    originals = [Path(path).read_bytes() for path in (item.input, *item.references)]
    s1 = sf.read(item.reference, dtype="float32")[0]
    s2 = sf.read(item.extra_references[0], dtype="float32")[0]
    noise_rows = 0.01 * np.random.default_rng(1).standard_normal((2, len(s1))).astype(np.float32)
    output = np.stack([s2, s1]) + noise_rows  # the sources in the other order: PIT must pair them back
    on_driver, errors = score_item([SISDR()], item, output, RATE)
    assert not errors and on_driver["SISDR"] > 15.0

    files = manifest(item)
    blobs = pack(item, files)
    shutil.move(tmp_path / "driver", tmp_path / "driver-elsewhere")  # the node cannot read the driver's disk
    node = tmp_path / "node" / "ray-inputs"
    local = Staging(node).localise(item, files, lambda: blobs)

    assert len(local.references) == 2
    for path, original in zip((local.input, *local.references), originals, strict=True):
        assert Path(path).is_relative_to(node), f"{path} is the driver's file, not the node's copy"
        assert Path(path).read_bytes() == original
    check_item_files(local)  # what a worker checks first: every file is there
    on_node, errors = score_item([SISDR()], local, output, RATE)
    assert not errors and on_node == on_driver


def test_failure_texts_from_a_node_name_the_driver_files_of_every_reference(tmp_path: Path) -> None:
    item = separation_item(tmp_path / "driver")
    files = manifest(item)
    local = Staging(tmp_path / "node").localise(item, files, lambda: pack(item, files))
    job = Job(testset="wsj", item=item, system_index=0, label="sep", variant="default")
    staged_job = Job(testset="wsj", item=local, system_index=0, label="sep", variant="default")
    result = JobResult(job=staged_job, status=Status.FAILED, reason=f"cannot read reference file {local.extra_references[0]}",
                       metric_errors={"sisdr": ("AudioError", f"{local.reference} and {local.extra_references[0]}")})
    _restore([result], [job], [staged_job])
    assert result.job is job
    assert result.reason == f"cannot read reference file {item.extra_references[0]}"
    assert result.metric_errors["sisdr"][1] == f"{item.reference} and {item.extra_references[0]}"


def test_a_missing_second_reference_fails_the_item_up_front_and_in_prepare(tmp_path: Path) -> None:
    item = separation_item(tmp_path / "data")
    item.extra_references[0].unlink()
    with pytest.raises(AudioError, match=r"reference-2 file .*s2/utt.wav does not exist"):
        check_item_files(item)

    class OneItem(TestSet):
        def items(self):
            yield item

    (problem,) = OneItem().prepare()
    assert problem.startswith("utt: ") and "s2/utt.wav" in problem


def test_file_warnings_compare_every_reference_with_the_input(tmp_path: Path) -> None:
    item = separation_item(tmp_path / "data", second_seconds=0.5)
    (warning,) = file_warnings(item)
    assert warning.problem.startswith("reference 2 length differs from the input's")
    assert warning.files == "input: 16000 Hz, 1.00 s; reference_2: 16000 Hz, 0.50 s"


def test_folder_system_refuses_a_second_reference_as_an_output(tmp_path: Path) -> None:
    """A layout that lands on the data set's own second source would score the reference against
    itself; like the first reference, it is refused."""
    data = tmp_path / "data"
    item = separation_item(data)
    published = tmp_path / "published"
    tone(published / "1" / "utt.wav", seconds=1.0, freq=180)  # the system's first source
    (published / "2").symlink_to(data / "s2")  # its "second source" is the data set's own
    system = FolderSystem(root=str(published), layout="{source}/{stem}")
    inputs = prepare_input(system, item).inputs
    assert inputs.sources == 2
    with pytest.raises(RefusedOutputError, match=r"finds only 2/utt.wav, which is the item's own reference-2 file"):
        system.published_file(inputs)
