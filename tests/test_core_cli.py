"""The command line: help with examples, listing, and resume after `kill -9`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.cli import main
from bench.store import ResultStore


def sebench(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, **kwargs)


def test_help_has_examples(capsys):
    for command in ("run", "list", "prepare"):
        try:
            main([command, "--help"])
        except SystemExit as exit_:
            assert exit_.code == 0
        assert "examples:" in capsys.readouterr().out


def test_list_shows_sanity_systems_with_tasks(capsys):
    assert main(["list", "systems"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.strip().startswith("oracle"))
    assert "aec" in line and "denoise" in line and "any rate" in line


def test_unknown_system_is_a_clear_error(tmp_path, capsys):
    code = main(["run", "--system", "no-such-system", "--runs-dir", str(tmp_path)])
    assert code == 2
    assert "unknown system 'no-such-system'" in capsys.readouterr().err


def test_killed_run_resumes_without_recomputing(tmp_path, toy_plugin):
    log = tmp_path / "log"
    args = ["--plugin", "sebench_toy_plugin", "run", "--no-progress", "--name", "killed",
            "--testset", f"toy:root={tmp_path / 'data'},n=8",
            "--system", f"toy-gain:sleep=0.4,log_dir={log}", "--metric", "toy-rms",
            "--runs-dir", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "cache")]
    proc = subprocess.Popen([sys.executable, "-m", "bench.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while (not log.exists() or len(list(log.iterdir())) < 4) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    store = ResultStore(tmp_path / "runs" / "killed" / "results.sqlite")
    run_id = store.latest_run_id()
    done_before = int((store.outputs_frame(run_id)["status"] == "ok").sum())
    assert 2 <= done_before < 8
    calls_before = len(list(log.iterdir()))

    result = sebench(*args)
    assert result.returncode == 0, result.stderr
    stats = re.search(r"(\d+) already done.*enhanced (\d+) \(cache hits (\d+)\)", result.stdout)
    assert stats, result.stdout
    already, enhanced, hits = map(int, stats.groups())
    assert already == done_before
    assert enhanced + hits == 8 - done_before
    assert len(list(log.iterdir())) - calls_before == enhanced  # only the missing items were computed
    assert store.latest_run_id() == run_id
    outputs = store.outputs_frame(run_id)
    assert (outputs["status"] == "ok").sum() == 8
    assert len(store.scores_frame(run_id)) == 8
