"""Building blocks of the fault-injection suite: a small data set, ways to damage its files, runs
through the user-facing entry points, and the comparison with a clean run.

The data set is a manifest (the generic loader users point at their own files) of three denoise
items ``a``, ``b``, ``c`` (0.5 s at 16 kHz, a tone in noise with a clean reference), plus one TSE
item (``t``, with an enrollment) and one AEC item (``e``, with a far end) when asked for. Faults hit
item ``b`` (or its files); everything else must come out exactly as in a clean run.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pytest
import soundfile as sf

from bench.config import RunConfig
from bench.runner import execute
from bench.spec import parse_spec
from bench.store import ResultStore

RATE = 16000
SAMPLES = 8000
ITEMS = ("a", "b", "c")
BAD = "b"
PLUGINS = Path(__file__).parent / "plugins"


def tone(index: int, samples: int = SAMPLES, rate: int = RATE) -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy) float32: a tone per item plus seeded white noise."""
    t = np.arange(samples) / rate
    clean = (0.3 * np.sin(2 * np.pi * (220 + 60 * index) * t)).astype(np.float32)
    noise = 0.05 * np.random.default_rng(index).standard_normal(samples)
    return clean, (clean + noise).astype(np.float32)


@dataclass
class Dataset:
    root: Path
    manifest: Path

    def file(self, item: str, role: str) -> Path:
        """The file of ``role`` (input, reference, enrollment, far_end) of an item."""
        names = {"input": "noisy", "reference": "clean", "enrollment": "enroll", "far_end": "farend"}
        return self.root / f"{names[role]}_{item}.wav"

    @property
    def spec(self) -> str:
        return f"manifest:path={self.manifest},sample_rate={RATE}"


def make_dataset(root: Path, *, extra_tasks: bool = False) -> Dataset:
    """Write the items' WAVs (float) and a CSV manifest naming them."""
    root.mkdir(parents=True, exist_ok=True)
    rows = ["id,input,reference,enrollment,far_end,task"]
    for index, item in enumerate(ITEMS):
        clean, noisy = tone(index)
        sf.write(root / f"clean_{item}.wav", clean, RATE, subtype="FLOAT")
        sf.write(root / f"noisy_{item}.wav", noisy, RATE, subtype="FLOAT")
        rows.append(f"{item},noisy_{item}.wav,clean_{item}.wav,,,denoise")
    if extra_tasks:
        clean, noisy = tone(7)
        for name, audio in (("clean_t", clean), ("noisy_t", noisy), ("enroll_t", tone(8)[0]),
                            ("clean_e", clean), ("noisy_e", noisy), ("farend_e", tone(9)[1])):
            sf.write(root / f"{name}.wav", audio, RATE, subtype="FLOAT")
        rows.append("t,noisy_t.wav,clean_t.wav,enroll_t.wav,,tse")
        rows.append("e,noisy_e.wav,clean_e.wav,,farend_e.wav,aec")
    manifest = root / "items.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return Dataset(root, manifest)


# --- damaging files ---------------------------------------------------------------------------


def _write(path: Path, audio: np.ndarray, rate: int = RATE, subtype: str = "FLOAT") -> None:
    path.unlink(missing_ok=True)
    sf.write(path, audio, rate, subtype=subtype)


def _truncate(path: Path) -> None:
    """Cut the file mid-way through its data chunk; the header still declares every frame."""
    data = path.read_bytes()
    path.write_bytes(data[: 44 + (len(data) - 44) // 2])


def _replace_with_dir(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _dangling(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.with_name("nowhere.wav"))


def _loop(path: Path) -> None:
    path.unlink()
    path.symlink_to(path)


FILE_FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    # fault: (damage, what the failure reason must say besides the path)
    "missing": (lambda p: p.unlink(), "does not exist"),
    "garbage": (lambda p: p.write_bytes(b"RIFF\x00\x00garbage, not audio"), "cannot read"),
    "text": (lambda p: p.write_text("these are not the samples you are looking for\n"), "cannot read"),
    "empty-file": (lambda p: p.write_bytes(b""), "cannot read"),
    "zero-frames": (lambda p: _write(p, np.zeros(0, np.float32)), "empty"),
    "truncated": (_truncate, "truncated"),
    "nan": (lambda p: _write(p, np.where(np.arange(SAMPLES) == 5, np.nan, 0.1).astype(np.float32)), "NaN"),
    "inf": (lambda p: _write(p, np.where(np.arange(SAMPLES) == 5, np.inf, 0.1).astype(np.float32)), "NaN or infinite"),
    "int16-values": (lambda p: _write(p, np.round(tone(1)[1] * 32767).astype(np.float32)), "peak"),
    "wrong-rate": (lambda p: _write(p, tone(1, SAMPLES // 2, 8000)[1], 8000), "8000 Hz"),
    "directory": (_replace_with_dir, "cannot read"),
    "dangling-symlink": (_dangling, "does not exist"),
    "symlink-loop": (_loop, "cannot read"),
}
"""Ways an item's file can be broken on disk, each with the cause its failure must name."""


# --- running ----------------------------------------------------------------------------------


def config(tmp: Path, data: Dataset, systems: Iterable[str], *, metrics: Iterable[str] = ("sisdr",),
           name: str = "faults", executor: str = "serial", **options) -> RunConfig:
    """The config a user would write for these systems on the data set."""
    return RunConfig(name=name, testsets=[parse_spec(data.spec)], systems=[parse_spec(s) for s in systems],
                     metrics=[parse_spec(m) for m in metrics], runs_dir=tmp / "runs", cache_dir=tmp / "cache",
                     executor=executor, **options)


@dataclass
class Outcome:
    """What a run left in its store: per (system, item) the status, reason and scores."""

    status: dict[tuple[str, str], str]
    reason: dict[tuple[str, str], str]
    scores: dict[tuple[str, str], dict[str, float]]

    @classmethod
    def read(cls, store_path: Path) -> "Outcome":
        store = ResultStore(store_path)
        try:
            run_id = store.latest_run_id()
            outputs, scores = store.outputs_frame(run_id), store.scores_frame(run_id)
        finally:
            store.close()
        status = {(r.system, r.item_id): str(r.status) for r in outputs.itertuples()}
        reason = {(r.system, r.item_id): r.reason or "" for r in outputs.itertuples()}
        values: dict[tuple[str, str], dict[str, float]] = {}
        for r in scores.itertuples():
            values.setdefault((r.system, r.item_id), {})[r.column] = r.value
        return cls(status, reason, values)

    def ok(self) -> set[tuple[str, str]]:
        return {key for key, status in self.status.items() if status == "ok"}


def run(cfg: RunConfig) -> Outcome:
    execute(cfg, progress=False)
    return Outcome.read(cfg.store_path)


def assert_kept(faulty: Outcome, clean: Outcome, bad: set[tuple[str, str]]) -> None:
    """Every result a correct run produces outside ``bad`` is there, with the same numbers."""
    expected = {key for key in clean.ok() if key not in bad}
    lost = sorted(expected - faulty.ok())
    assert not lost, f"results lost to the fault: {lost}: {[faulty.reason.get(k) for k in lost]}"
    for key in expected:
        assert faulty.scores.get(key) == clean.scores.get(key), f"{key}: scores differ from the clean run"


def assert_failed(outcome: Outcome, keys: Iterable[tuple[str, str]], *words: str) -> None:
    for key in keys:
        assert outcome.status.get(key) == "failed", f"{key}: {outcome.status.get(key)} ({outcome.reason.get(key)})"
        for word in words:
            assert word in outcome.reason[key], f"{key}: {word!r} not in {outcome.reason[key]!r}"


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SEBENCH_DEBUG", "SEBENCH_PLUGINS")}
    env.update(SEBENCH_HOME=str(home), PYTHONPATH=os.pathsep.join([str(PLUGINS), env.get("PYTHONPATH", "")]),
               PYTHONFAULTHANDLER="", **extra)
    return env


def sebench(*args: str, home: Path, timeout: float = 300, **extra_env: str) -> subprocess.CompletedProcess:
    """``python -m bench.cli ARGS`` in a subprocess, as a user would run it (with the fault plugin)."""
    return subprocess.run([sys.executable, "-m", "bench.cli", "--plugin", "sebench_fault_plugin", *args],
                          capture_output=True, text=True, env=cli_env(home, **extra_env), timeout=timeout)


def sebench_inprocess(*args: str) -> tuple[int, str, str]:
    """``bench.cli.main(ARGS)`` here: (exit code, stdout, stderr). An exception escaping ``main``
    is what would reach the user as a traceback, so it fails the test."""
    from bench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--plugin", "sebench_fault_plugin", *args])
    return code, out.getvalue(), err.getvalue()


def run_args(tmp: Path, data: Dataset, systems: Iterable[str], *, metrics: Iterable[str] = ("sisdr",),
             name: str = "faults", executor: str = "serial") -> list[str]:
    args = ["run", "--no-progress", "--name", name, "--testset", data.spec, "--runs-dir", str(tmp / "runs"),
            "--cache-dir", str(tmp / "cache"), "--executor", executor]
    for system in systems:
        args += ["--system", system]
    for metric in metrics:
        args += ["--metric", metric]
    return args


def assert_no_traceback(stderr: str) -> None:
    assert "Traceback (most recent call last)" not in stderr, stderr


# --- fixtures (imported by the test modules) ---------------------------------------------------


@pytest.fixture
def fault_plugin(monkeypatch):
    """The fault plugin, importable here and in spawned worker processes; tracebacks not requested."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("SEBENCH_DEBUG", raising=False)
    monkeypatch.setenv("SEBENCH_PLUGINS", "")  # restored after the test (--plugin exports the variable)
    import sebench_fault_plugin

    return sebench_fault_plugin


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """Clean runs of the same data set, memoised per (systems, metrics, extra tasks): what a correct
    run produces, for ``assert_kept``."""
    runs: dict[tuple, Outcome] = {}

    def get(systems: tuple[str, ...], metrics: tuple[str, ...] = ("sisdr",), extra_tasks: bool = False) -> Outcome:
        key = (systems, metrics, extra_tasks)
        if key not in runs:
            tmp = tmp_path_factory.mktemp("clean")
            data = make_dataset(tmp / "data", extra_tasks=extra_tasks)
            runs[key] = run(config(tmp, data, systems, metrics=metrics))
            assert len(runs[key].ok()) == len(runs[key].status), "the clean run itself failed"
        return runs[key]

    return get
