"""Native crashes under the serial executor: say which item crashed, and let a re-run get past it.

A segfault or abort in a system's native code kills the process that runs it. The parallel
executors run systems in worker processes, so there a crash fails one item (``bench.executors``);
the serial executor runs them in the driver, so the whole run dies. What can still be done:

- ``faulthandler`` writes the crash (signal and Python stack) to ``crash.log`` in the run folder;
- a tiny watcher process, fed the job in flight through a pipe, outlives the crash: when the pipe
  closes without the end-of-run line and ``crash.log`` shows a fatal signal, it prints one message
  naming the system and item, and writes ``crashed.json`` beside it;
- the next run of the same command records that job as failed ("crashed the process") and skips
  it (``take_crashed``), so a deterministic crash cannot stop every re-run at the same item.

A process killed from outside (``kill -9``) leaves no fatal-signal record, so nothing is marked:
its in-flight item is simply computed again, as the README promises.
"""

from __future__ import annotations

import faulthandler
import json
import subprocess
import sys
from pathlib import Path
from typing import IO

CRASH_LOG = "crash.log"
CRASHED = "crashed.json"
_DONE = "done"

_WATCHER = r"""
import json, os, sys
log_path, marker_path = sys.argv[1], sys.argv[2]
job = None
for line in sys.stdin:
    if line.strip() == "done":
        sys.exit(0)
    job = json.loads(line)
try:
    with open(log_path, errors="replace") as f:
        crash = f.read()
except OSError:
    crash = ""
if job is None or "Fatal Python error" not in crash:
    sys.exit(0)  # killed from outside, or crashed between jobs: nothing to pin on an item
cause = crash.split("Fatal Python error:", 1)[1].splitlines()[0].strip()
tmp = marker_path + ".tmp"
with open(tmp, "w") as f:
    json.dump(dict(job, cause=cause), f)
os.replace(tmp, marker_path)
sys.stderr.write(
    f"sebench: error: the run crashed ({cause}) while {job['label']!r} was processing item {job['item']!r}; "
    f"re-run the same command to resume (that item is then recorded as failed and skipped); "
    f"--executor local runs systems in worker processes, where a crash fails only its item "
    f"(details: {log_path})\n")
sys.exit(0)
"""


class CrashWatch:
    """Tells a watcher process which job is in flight; ``close`` at the normal end of the run."""

    def __init__(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self._log_path = run_dir / CRASH_LOG
        self._log: IO[str] = open(self._log_path, "w")
        self._was_enabled = faulthandler.is_enabled()  # pytest, PYTHONFAULTHANDLER
        faulthandler.enable(file=self._log, all_threads=False)
        self._watcher = subprocess.Popen(
            [sys.executable, "-S", "-c", _WATCHER, str(self._log_path), str(run_dir / CRASHED)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
            start_new_session=True)  # out of the terminal's process group: Ctrl-C is for the run, not for it

    def running(self, label: str, testset: str, item_id: str) -> None:
        assert self._watcher.stdin is not None
        self._watcher.stdin.write(json.dumps({"label": label, "testset": testset, "item": item_id}) + "\n")
        self._watcher.stdin.flush()

    def close(self) -> None:
        faulthandler.disable()
        if self._was_enabled:
            faulthandler.enable(file=sys.__stderr__)
        self._log.close()
        self._log_path.unlink(missing_ok=True)
        assert self._watcher.stdin is not None
        try:
            self._watcher.stdin.write(_DONE + "\n")
            self._watcher.stdin.close()
        except BrokenPipeError:  # the watcher is gone already: nothing left to tell it
            pass
        self._watcher.wait()


def take_crashed(run_dir: Path) -> dict[str, str] | None:
    """The job that crashed the previous serial run of this folder ({label, testset, item, cause}),
    removing the record so it is acted on once."""
    marker = run_dir / CRASHED
    try:
        job = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    finally:
        marker.unlink(missing_ok=True)
    if not isinstance(job, dict) or not {"label", "testset", "item"} <= set(job):
        return None
    return {key: str(value) for key, value in job.items()}


CRASHED_PREFIX = "crashed the process"
"""How the stored reason of a job that crashed a serial run begins (serial re-runs skip those)."""


def crash_reason(job: dict[str, str]) -> str:
    return (f"{CRASHED_PREFIX} ({job.get('cause', 'a fatal signal')}) in an earlier serial run; not retried by "
            "serial runs (--executor local isolates such crashes and retries it)")

