"""Fault injection at the process level: what reaches the terminal, interrupts, crashes, full disks,
broken results stores. Each case runs ``python -m bench.cli`` (or ``bench.cli.main``) as a user
would and checks the exit code, the one-line message, that no traceback is printed, and that a
re-run resumes (README, "Failure handling")."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time

import pytest

from faults_support import (  # noqa: F401  (fault_plugin: a fixture)
    BAD, ITEMS, Outcome, assert_failed, assert_kept, assert_no_traceback, cli_env, config, fault_plugin,
    make_dataset, run, run_args, sebench, sebench_inprocess,
)


# --- a system's stdout ------------------------------------------------------------------------


@pytest.mark.parametrize("executor", ["serial", "local"])
@pytest.mark.parametrize("mode", ["print", "print-native"])
def test_a_system_printing_to_stdout_cannot_corrupt_the_result_table(tmp_path, executor, mode):
    data = make_dataset(tmp_path / "data")
    result = sebench(*run_args(tmp_path, data, [f"fault:mode={mode}", "unprocessed"], executor=executor),
                     home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert "fault:" not in result.stdout, result.stdout  # stdout carries the table and the summary only
    assert "| unprocessed" in result.stdout and "results:" in result.stdout
    assert "fault: a line" in result.stderr  # nothing the system says is lost
    assert_no_traceback(result.stderr)


# --- interrupts -------------------------------------------------------------------------------


@pytest.mark.parametrize("executor, stop", [("serial", signal.SIGINT), ("local", signal.SIGINT),
                                            ("local", signal.SIGTERM)])
def test_ctrl_c_or_sigterm_stops_cleanly_and_a_rerun_resumes(tmp_path, executor, stop):
    data = make_dataset(tmp_path / "data")
    log, hold = tmp_path / "log", tmp_path / "hold"
    # the first item is held in flight until the signal has been handled: a fixed sleep raced the
    # signal on a loaded machine (the run could finish before the test got to send it)
    args = ["--plugin", "sebench_fault_plugin",
            *run_args(tmp_path, data, [f"fault:hold={hold},log_dir={log}"], executor=executor)]
    if executor == "local":
        args += ["--workers", "1"]
    env = cli_env(tmp_path / "home")
    proc = subprocess.Popen([sys.executable, "-m", "bench.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (log.exists() and any(log.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, stop)  # what Ctrl-C in a terminal does: the whole process group
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143}[stop], (out, err)
    word = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}[stop]
    assert f"sebench: {word}" in err and "re-run the same command to resume" in err, err
    assert_no_traceback(err)

    hold.touch()
    again = subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, env=env,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    outcome = Outcome.read(tmp_path / "runs" / "faults" / "results.sqlite")
    assert outcome.ok() == {("fault", item) for item in ITEMS}


def test_a_keyboard_interrupt_raised_inside_a_system_stops_the_run_like_ctrl_c(tmp_path, fault_plugin):
    data = make_dataset(tmp_path / "data")
    code, out, err = sebench_inprocess(*run_args(tmp_path, data, [f"fault:mode=keyboardinterrupt,on={BAD}"]))
    assert code == 130 and "re-run the same command to resume" in err, (out, err)


# --- native crashes ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["segfault", "abort", "os-exit"])
def test_a_native_crash_in_a_worker_process_fails_that_item_only(tmp_path, fault_plugin, mode):
    data = make_dataset(tmp_path / "data")
    systems = (f"fault:mode={mode},on={BAD}", "unprocessed")
    outcome = run(config(tmp_path, data, systems, executor="local", workers=2))
    assert_failed(outcome, {("fault", BAD)}, "worker process died")
    clean = run(config(tmp_path / "clean", make_dataset(tmp_path / "clean" / "data"), ("fault", "unprocessed")))
    assert_kept(outcome, clean, {("fault", BAD)})


def test_a_native_crash_under_the_serial_executor_is_reported_and_a_rerun_gets_past_it(tmp_path):
    data = make_dataset(tmp_path / "data")
    args = run_args(tmp_path, data, [f"fault:mode=segfault,on={BAD}", "unprocessed"])
    crashed = sebench(*args, home=tmp_path / "home")
    assert crashed.returncode != 0
    assert "crashed" in crashed.stderr and f"'fault' was processing item '{BAD}'" in crashed.stderr, crashed.stderr
    assert "re-run the same command" in crashed.stderr and "--executor local" in crashed.stderr
    assert_no_traceback(crashed.stderr)

    resumed = sebench(*args, home=tmp_path / "home")
    assert resumed.returncode == 0, resumed.stderr
    outcome = Outcome.read(tmp_path / "runs" / "faults" / "results.sqlite")
    assert_failed(outcome, {("fault", BAD)}, "crashed")
    assert outcome.ok() == {(s, i) for s in ("fault", "unprocessed") for i in ITEMS} - {("fault", BAD)}


# --- full disks and broken stores -------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path):
    """A 96 KiB tmpfs (a real 'No space left on device'); skipped where mounting is not allowed."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("where, executor", [("cache", "serial"), ("runs", "serial"), ("cache", "local")])
def test_a_full_disk_is_one_line_naming_the_path_and_a_rerun_resumes(tmp_path, fault_plugin, tiny_disk, where,
                                                                     executor):
    data = make_dataset(tmp_path / "data")
    args = run_args(tmp_path, data, ["fault", "unprocessed"], executor=executor)
    full = tiny_disk / where
    if where == "runs":
        (tiny_disk / "filler").write_bytes(b"\0" * 60 * 1024)  # room for the store's first pages only
    args[args.index(f"--{where}-dir") + 1] = str(full)
    code, out, err = sebench_inprocess(*args)
    assert code == 2, (out, err)
    assert err.startswith("sebench: error:") and err.count("\n") == 1, err
    assert str(full) in err and ("No space left on device" in err or "disk is full" in err), err
    assert "re-run the same command to resume" in err

    subprocess.run(["mount", "-o", "remount,size=16m", str(tiny_disk)], check=True)
    code, out, err = sebench_inprocess(*args)
    assert code == 0, err
    outcome = Outcome.read((full if where == "runs" else tmp_path / "runs") / "faults" / "results.sqlite")
    assert outcome.ok() == {(s, i) for s in ("fault", "unprocessed") for i in ITEMS}


def test_a_write_error_in_the_cache_stops_the_run_with_one_line_without_root(tmp_path, fault_plugin, monkeypatch):
    """The same as the full tmpfs above where mounting is not allowed: the disk refuses the write."""

    def full_disk(fd: int, mode: str):
        os.close(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    data = make_dataset(tmp_path / "data")
    args = run_args(tmp_path, data, ["fault", "unprocessed"])
    with monkeypatch.context() as patch:
        patch.setattr(os, "fdopen", full_disk)  # how the cache's files are written (bench.files)
        code, out, err = sebench_inprocess(*args)
    assert code == 2 and err.count("\n") == 1, (out, err)
    assert f"cannot write {tmp_path / 'cache'}" in err and "No space left on device" in err, err
    assert not list((tmp_path / "cache").rglob(".tmp-*"))  # no half-written temporary left behind
    code, out, err = sebench_inprocess(*args)
    assert code == 0, err
    outcome = Outcome.read(tmp_path / "runs" / "faults" / "results.sqlite")
    assert outcome.ok() == {(s, i) for s in ("fault", "unprocessed") for i in ITEMS}


STORE_DAMAGE = {
    "garbage": lambda p: p.write_bytes(b"this is not an SQLite database, " * 64),
    "directory": lambda p: p.mkdir(),
    "truncated-header": lambda p: p.write_bytes(b"SQLite format 3\0" + b"\xff" * 84),
}


@pytest.mark.parametrize("damage", sorted(STORE_DAMAGE))
def test_a_broken_results_store_is_one_line_naming_it(tmp_path, fault_plugin, damage):
    data = make_dataset(tmp_path / "data")
    store = tmp_path / "runs" / "faults" / "results.sqlite"
    store.parent.mkdir(parents=True)
    STORE_DAMAGE[damage](store)
    code, out, err = sebench_inprocess(*run_args(tmp_path, data, ["fault"]))
    assert code == 2, (out, err)
    assert err.startswith("sebench: error:") and err.count("\n") == 1 and str(store) in err, err


def test_a_runs_folder_that_is_a_file_is_one_line(tmp_path, fault_plugin):
    data = make_dataset(tmp_path / "data")
    args = run_args(tmp_path, data, ["fault"])
    (tmp_path / "runs").write_text("not a folder")
    code, out, err = sebench_inprocess(*args)
    assert code == 2 and str(tmp_path / "runs") in err and err.count("\n") == 1, err


# --- tracebacks only on request ---------------------------------------------------------------


@pytest.mark.parametrize("how", ["--debug", "SEBENCH_DEBUG=1"])
def test_a_traceback_is_shown_only_when_asked_for(tmp_path, how):
    data = make_dataset(tmp_path / "data")
    args = run_args(tmp_path, data, ["no-such-system"])
    quiet = sebench(*args, home=tmp_path / "home")
    assert quiet.returncode == 2 and "unknown system" in quiet.stderr
    assert_no_traceback(quiet.stderr)
    if how == "--debug":
        loud = sebench("--debug", *args, home=tmp_path / "home")
    else:
        loud = sebench(*args, home=tmp_path / "home", SEBENCH_DEBUG="1")
    assert loud.returncode == 2 and "Traceback (most recent call last)" in loud.stderr
