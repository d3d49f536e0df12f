"""Fault injection, all scenarios in one run through the command line, as a user meets them: every
way an item's file can break (each on its own item) and every way a system can misbehave (each on
one intact item, plus a system that cannot start) in one ``sebench run``. The run exits 0 with no
traceback, and it loses no result a correct run produces: the count of good results is the clean
run's minus exactly the faulty (system, item) pairs, and every kept score equals the clean run's
(README, "Failure handling")."""

from __future__ import annotations

import pytest
import soundfile as sf

from faults_support import FILE_FAULTS, RATE, Dataset, Outcome, assert_no_traceback, sebench, tone
from test_faults_systems import OUTPUT_FAULTS, RAISES

INTACT = ("ok0", "ok1")
TARGET = "ok1"
"""The intact item the misbehaving systems fail on; ``ok0`` stays good for every system that starts."""


def broken_items() -> dict[str, tuple[str, str]]:
    """Item id -> (fault, role): each file fault once, alternating between reference and input."""
    roles = ("reference", "input")  # a missing reference (bug 1), input peaks far above 1.0 among them
    return {f"bad-{fault}-{roles[index % 2]}": (fault, roles[index % 2])
            for index, fault in enumerate(sorted(FILE_FAULTS))}


def write_dataset(root, damaged: bool) -> Dataset:
    """A manifest of the intact items and one item per file fault (damaged only when asked)."""
    root.mkdir(parents=True)
    rows = ["id,input,reference,enrollment,far_end,task"]
    broken = broken_items()
    for index, item in enumerate([*INTACT, *broken]):
        clean, noisy = tone(index)
        files = {"input": root / f"noisy_{item}.wav", "reference": root / f"clean_{item}.wav"}
        sf.write(files["reference"], clean, RATE, subtype="FLOAT")
        sf.write(files["input"], noisy, RATE, subtype="FLOAT")
        if damaged and item in broken:
            fault, role = broken[item]
            FILE_FAULTS[fault][0](files[role])
        rows.append(f"{item},{files['input'].name},{files['reference'].name},,,denoise")
    manifest = root / "items.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return Dataset(root, manifest)


def misbehaving(executor: str | None) -> dict[str, str]:
    """Row label -> the fault system's options: every bad output and every exception on TARGET,
    a native crash where a worker process can absorb it (not under serial, where it ends the
    run: test_faults_process.py), and a system whose __init__ exits. ``None``: the clean run,
    the same rows behaving."""
    modes = sorted({*OUTPUT_FAULTS, *RAISES})
    systems = {f"out-{mode}": f"mode={mode},on={TARGET}" for mode in modes}
    systems["crash-segfault"] = f"mode=segfault,on={TARGET}" if executor == "local" else "mode=none"
    systems["nostart"] = "stage=init,mode=exit"
    return {label: "mode=none" if executor is None else options for label, options in systems.items()}


def run_all(root, name: str, executor: str | None) -> Outcome:
    data = write_dataset(root / f"data-{name}", damaged=executor is not None)
    args = ["run", "--no-progress", "--name", name, "--testset", data.spec, "--runs-dir", str(root / "runs"),
            "--cache-dir", str(root / f"cache-{name}"), "--executor", executor or "serial", "--timeout", "2",
            "--metric", "sisdr", "--system", "unprocessed", "--system", "oracle"]
    for label, options in misbehaving(executor).items():
        args += ["--system", f"fault:{options},label={label}"]
    if executor == "local":
        args += ["--workers", "2"]
    result = sebench(*args, home=root / "home", timeout=900)
    assert result.returncode == 0, result.stderr  # failed items are results, not a failed run
    assert_no_traceback(result.stderr)
    assert "| unprocessed" in result.stdout  # the table still reaches the user
    return Outcome.read(root / "runs" / name / "results.sqlite")


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Outcome:
    """What a correct run produces: the same rows and items, nothing broken."""
    outcome = run_all(tmp_path_factory.mktemp("clean"), "clean", None)
    assert len(outcome.ok()) == len(outcome.status)  # every (system, item) of the clean run succeeded
    return outcome


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_a_run_of_every_scenario_loses_no_result_a_correct_run_produces(tmp_path, clean, executor):
    faulty = run_all(tmp_path, "faulty", executor)
    labels = {system for system, _ in clean.status}
    faulty_systems = {label for label, options in misbehaving(executor).items()
                      if label != "nostart" and options != "mode=none"}
    bad = {(system, item) for system in labels for item in broken_items()}
    bad |= {(system, TARGET) for system in faulty_systems}
    bad |= {("nostart", item) for item in [*INTACT, *broken_items()]}
    assert faulty.status.keys() == clean.status.keys()  # every pair is accounted for
    assert len(faulty.ok()) == len(clean.ok()) - len(bad), sorted(clean.ok() - bad - faulty.ok())
    assert faulty.ok() == clean.ok() - bad
    for key in faulty.ok():
        assert faulty.scores[key] == clean.scores[key], key
    for key in bad:
        assert faulty.status[key] == "failed" and faulty.reason[key], (key, faulty.reason.get(key))
