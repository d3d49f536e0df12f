"""Fault injection, data files: an item's input, reference, enrollment or far end missing, unreadable,
truncated, non-finite, out of range, at the wrong rate or too short. Each fails its own item, naming
the file and the cause; every other result equals a clean run's; a re-run after repair completes
(README, "Failure handling")."""

from __future__ import annotations

import pytest
import soundfile as sf

from faults_support import (  # noqa: F401  (clean, fault_plugin: fixtures)
    BAD, FILE_FAULTS, ITEMS, assert_failed, assert_kept, clean, config, fault_plugin, make_dataset, run, tone,
)


# --- broken data files ------------------------------------------------------------------------

DATA_SYSTEMS = ("unprocessed", "oracle")


@pytest.mark.parametrize("role", ["input", "reference"])
@pytest.mark.parametrize("fault", sorted(FILE_FAULTS))
def test_a_broken_item_file_fails_that_item_only_and_a_rerun_resumes(tmp_path, fault_plugin, clean, fault, role):
    data = make_dataset(tmp_path / "data")
    path = data.file(BAD, role)
    intact = path.read_bytes()
    damage, cause = FILE_FAULTS[fault]
    damage(path)
    cfg = config(tmp_path, data, DATA_SYSTEMS)
    outcome = run(cfg)
    bad = {(system, BAD) for system in DATA_SYSTEMS}
    assert_failed(outcome, bad, str(path), cause)
    assert_kept(outcome, clean(DATA_SYSTEMS), bad)

    if path.is_symlink() or path.is_dir():  # repair the file, then the same command again
        path.unlink() if path.is_symlink() else path.rmdir()
    path.write_bytes(intact)
    assert_kept(run(cfg), clean(DATA_SYSTEMS), set())


@pytest.mark.parametrize("role, item", [("enrollment", "t"), ("far_end", "e")])
@pytest.mark.parametrize("fault", ["missing", "truncated"])
def test_a_broken_side_signal_fails_its_item_only(tmp_path, fault_plugin, clean, role, item, fault):
    data = make_dataset(tmp_path / "data", extra_tasks=True)
    path = data.file(item, role)
    damage, cause = FILE_FAULTS[fault]
    damage(path)
    systems = ("unprocessed", "fault")
    outcome = run(config(tmp_path, data, systems))
    bad = {(system, item) for system in systems}
    assert_failed(outcome, bad, str(path), cause)
    assert_kept(outcome, clean(systems, extra_tasks=True), bad)


def test_a_ten_sample_input_gets_a_clear_stoi_message(tmp_path, fault_plugin):
    data = make_dataset(tmp_path / "data")
    clean, noisy = tone(1)
    sf.write(data.file(BAD, "input"), noisy[:10], 16000, subtype="FLOAT")
    sf.write(data.file(BAD, "reference"), clean[1:11], 16000, subtype="FLOAT")
    outcome = run(config(tmp_path, data, ["unprocessed"], metrics=("stoi", "sisdr")))
    reason = outcome.reason[("unprocessed", BAD)]
    assert "AxisError" not in reason and "too short" in reason and "STOI" in reason, reason
    assert "SISDR" in outcome.scores[("unprocessed", BAD)]  # the other metric's column is kept
    for item in set(ITEMS) - {BAD}:
        assert set(outcome.scores[("unprocessed", item)]) == {"STOI", "ESTOI", "SISDR"}
