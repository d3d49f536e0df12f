"""Fault injection, systems: unusable output (integer, complex, out of range, wrong shape), anything
raised (SystemExit and other BaseExceptions included), failures while starting (``__init__``,
``variants``, ``card``, ``load``), under the serial and the local executor. The bad item or system is
recorded as failed with the cause; every other result equals a clean run's (README, "Failure
handling")."""

from __future__ import annotations

import pytest

from faults_support import (  # noqa: F401  (clean, fault_plugin: fixtures)
    BAD, ITEMS, assert_failed, assert_kept, clean, config, fault_plugin, make_dataset, run,
)


# --- misbehaving systems ----------------------------------------------------------------------

OUTPUT_FAULTS = {
    # mode: words the failure reason must contain
    "int16": ("int16", "floating-point"),
    "int32": ("int32", "floating-point"),
    "uint8": ("uint8", "floating-point"),
    "bool": ("bool", "floating-point"),
    "object-array": ("object", "floating-point"),
    "complex": ("complex",),
    "int16-as-float": ("peak",),
    "scale1e6": ("peak",),
    "nan": ("NaN or infinite",),
    "inf": ("NaN or infinite",),
    "silence": ("silent",),
    "short": ("7900 samples", "expected 8000"),
    "long": ("8100 samples", "expected 8000"),
    "empty": ("0 samples",),
    "stereo-rows": ("shape (2, 8000)",),
    "stereo-columns": ("shape (8000, 2)",),
    "3d": ("shape (2, 1, 8000)",),
    "scalar": ("shape ()",),
    "none-object": ("NoneType",),
    "string": ("str",),
    "hang": ("timed out",),
}


@pytest.mark.parametrize("mode", sorted(OUTPUT_FAULTS))
def test_unusable_output_fails_that_item_only(tmp_path, fault_plugin, clean, mode):
    data = make_dataset(tmp_path / "data")
    systems = (f"fault:mode={mode},on={BAD}", "unprocessed")
    outcome = run(config(tmp_path, data, systems, timeout=0.5))
    assert_failed(outcome, {("fault", BAD)}, *OUTPUT_FAULTS[mode])
    assert_kept(outcome, clean(("fault", "unprocessed")), {("fault", BAD)})


@pytest.mark.parametrize("mode", ["float64", "list", "mutate-input"])
def test_harmless_output_shapes_are_accepted(tmp_path, fault_plugin, clean, mode):
    data = make_dataset(tmp_path / "data")
    outcome = run(config(tmp_path, data, (f"fault:mode={mode}", "unprocessed")))
    assert_kept(outcome, clean(("fault", "unprocessed")), set())


RAISES = {
    # mode: words the failure reason must contain
    "raise": ("RuntimeError", "model exploded"),
    "valueerror": ("ValueError", "bad shape in layer 3"),
    "memoryerror": ("MemoryError",),
    "recursion": ("RecursionError",),
    "exit": ("SystemExit", "3"),
    "exit0": ("SystemExit",),
    "exit-message": ("SystemExit", "fatal: model file corrupt"),
    "baseexception": ("CustomBaseError", "raised by a C extension"),
    "generatorexit": ("GeneratorExit",),
}


@pytest.mark.parametrize("mode", sorted(RAISES))
def test_whatever_a_system_raises_fails_that_item_only(tmp_path, fault_plugin, clean, mode):
    data = make_dataset(tmp_path / "data")
    systems = (f"fault:mode={mode},on={BAD}", "unprocessed")
    outcome = run(config(tmp_path, data, systems))
    assert_failed(outcome, {("fault", BAD)}, "system raised", *RAISES[mode])
    assert_kept(outcome, clean(("fault", "unprocessed")), {("fault", BAD)})


@pytest.mark.parametrize("mode", ["exit", "baseexception"])
def test_system_exit_in_a_worker_process_taints_no_other_system(tmp_path, fault_plugin, clean, mode):
    data = make_dataset(tmp_path / "data")
    systems = (f"fault:mode={mode},on={BAD}", "unprocessed")
    outcome = run(config(tmp_path, data, systems, executor="local", workers=2))
    assert_failed(outcome, {("fault", BAD)}, "system raised", *RAISES[mode])
    assert_kept(outcome, clean(("fault", "unprocessed")), {("fault", BAD)})


@pytest.mark.parametrize("mode", ["raise", "exit"])
@pytest.mark.parametrize("stage", ["init", "card", "variants", "load"])
def test_a_system_that_cannot_start_fails_its_own_rows_only(tmp_path, fault_plugin, clean, stage, mode):
    data = make_dataset(tmp_path / "data")
    systems = (f"fault:stage={stage},mode={mode}", "unprocessed")
    outcome = run(config(tmp_path, data, systems))
    rows = {("fault", item) for item in ITEMS}
    assert_failed(outcome, rows, "fault", RAISES[mode][0])
    assert_kept(outcome, clean(("fault", "unprocessed")), rows)


def test_a_system_that_cannot_start_in_a_worker_fails_its_own_rows_only(tmp_path, fault_plugin, clean):
    data = make_dataset(tmp_path / "data")
    systems = ("fault:stage=load,mode=exit", "unprocessed")
    outcome = run(config(tmp_path, data, systems, executor="local", workers=2))
    rows = {("fault", item) for item in ITEMS}
    assert_failed(outcome, rows, "fault", "SystemExit")
    assert_kept(outcome, clean(("fault", "unprocessed")), rows)
