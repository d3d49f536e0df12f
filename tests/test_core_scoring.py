"""Scoring: one ScoringContext per output shared by every metric, failure isolation per metric,
metrics with a missing optional dependency skipped with one line, failures summarised by kind."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import bench.metric
from bench.cli import main
from bench.config import RunConfig
from bench.errors import MissingDependencyError
from bench.metric import Column, Metric, ScoringContext, register_metric
from bench.plan import Job
from bench.runner import execute
from bench.spec import parse_spec
from bench.worker import Worker


@register_metric("ctx-ref-8k")
class ReferenceAt8k(Metric):
    columns = (Column("REF8K", higher_is_better=True),)
    needs = frozenset({"reference"})

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        return {"REF8K": float(np.mean(ctx.reference(8000) ** 2))}


@register_metric("ctx-ref-native")
class ReferenceNative(Metric):
    columns = (Column("REFN", higher_is_better=True),)
    needs = frozenset({"reference"})

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        return {"REFN": float(np.mean(ctx.reference() ** 2)) + float(np.mean(ctx.input(16000) ** 2))}


@register_metric("ctx-fails")
class AlwaysFails(Metric):
    columns = (Column("NEVER", higher_is_better=True),)

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        raise ValueError("no score for you")


@register_metric("needs-absent-package")
class NeedsAbsentPackage(Metric):
    """Its model file lives in a package that is not installed (found when hashing its version)."""

    columns = (Column("ABSENT", higher_is_better=True),)

    def model_files(self) -> dict[str, str]:
        raise MissingDependencyError("absentpkg", "absent")

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        return {"ABSENT": 1.0}


@register_metric("loads-absent-package")
class LoadsAbsentPackage(Metric):
    """Versions fine but cannot load: the package is only imported by ``load``."""

    columns = (Column("LOADS", higher_is_better=True),)

    def load(self) -> None:
        raise MissingDependencyError("absentpkg", "absent")

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        return {"LOADS": 1.0}


def make_config(tmp_path: Path, systems: list[str], metrics: list[str], n: int = 3, name: str = "s") -> RunConfig:
    return RunConfig(name=name, testsets=[parse_spec(f"toy:root={tmp_path / 'data'},n={n}")],
                     systems=[parse_spec(s) for s in systems], metrics=[parse_spec(m) for m in metrics],
                     runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache", executor="serial")


def test_each_signal_is_read_once_per_output_whatever_the_metrics_ask(tmp_path, toy_plugin, monkeypatch):
    reads: Counter[str] = Counter()
    real = bench.metric.load_audio

    def counting(path, *args, **kwargs):
        reads[Path(path).name] += 1
        return real(path, *args, **kwargs)

    monkeypatch.setattr(bench.metric, "load_audio", counting)
    config = make_config(tmp_path, ["toy-gain"], ["toy-err", "ctx-ref-8k", "ctx-ref-native", "toy-rms"], n=2)
    items = list(toy_plugin.ToyTestSet(root=tmp_path / "data", n=2).items())
    worker = Worker(config)
    results = [worker.process(Job("toy", item, 0, "toy-gain", "default")) for item in items]
    assert all(set(r.scores) == {"MSE", "REF8K", "REFN", "RMS"} for r in results)
    # three metrics read the reference at three rates, one the input: each file read once per output
    assert reads == {"clean_0.wav": 1, "clean_1.wav": 1, "noisy_0.wav": 1, "noisy_1.wav": 1}

    # and the shared context gives each metric what a context of its own would
    ctx = ScoringContext(items[0], np.ones(16000, np.float32) * 0.1, 16000)
    alone = ScoringContext(items[0], np.ones(16000, np.float32) * 0.1, 16000)
    ctx.reference(8000), ctx.reference(16000)
    np.testing.assert_array_equal(ctx.reference(8000), alone.reference(8000))
    np.testing.assert_array_equal(ctx.reference(), real(items[0].reference)[0])


def test_a_failing_metric_leaves_the_other_columns(tmp_path, toy_plugin):
    summary = execute(make_config(tmp_path, ["unprocessed"], ["toy-rms", "ctx-fails", "toy-err"]), progress=False)
    assert summary.ok == 3 and summary.failed == 0
    scores = summary.store.scores_frame(summary.run_id)
    assert set(scores["column"]) == {"RMS", "MSE"}
    reasons = set(summary.store.outputs_frame(summary.run_id)["reason"])
    assert reasons == {"ctx-fails: ValueError: no score for you"}


def test_metric_with_a_missing_package_is_skipped_with_one_line(tmp_path, toy_plugin, capsys):
    args = ["--plugin", "sebench_toy_plugin", "run", "--no-progress",
            "--testset", f"toy:root={tmp_path / 'data'},n=3", "--system", "unprocessed", "--system", "oracle",
            "--metric", "toy-rms", "--metric", "needs-absent-package", "--metric", "loads-absent-package",
            "--runs-dir", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "cache"), "--executor", "serial"]
    assert main(args) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "absent" in line]
    assert lines == [
        "metric needs-absent-package skipped: 'absentpkg' is not installed: pip install 'sebench[absent]'",
        "  failed: metric loads-absent-package not scored on 6 items: loading failed: MissingDependencyError: "
        "'absentpkg' is not installed: pip install 'sebench[absent]'",
    ]
    from bench.store import ResultStore

    store = ResultStore(tmp_path / "runs" / "default" / "results.sqlite")
    run_id = store.latest_run_id()
    assert set(store.scores_frame(run_id)["column"]) == {"RMS"}
    assert "needs-absent-package" not in store.metric_versions(run_id)


def test_failures_are_summarised_per_system_and_error_type(tmp_path, toy_plugin):
    summary = execute(make_config(tmp_path, ["toy-bad:mode=raise", "toy-bad:mode=nan,label=nan", "unprocessed"],
                                  ["toy-rms", "ctx-fails"], n=4), progress=False)
    assert (summary.ok, summary.failed) == (4, 8)
    assert summary.failure_lines() == [
        "toy-bad: 4 items RuntimeError, e.g. toy/0: system raised RuntimeError: model exploded",
        "nan: 4 items BadOutputError, e.g. toy/0: BadOutputError: output contains NaN or infinite samples",
        "unprocessed: 4 items ValueError in ctx-fails, e.g. toy/0: ValueError: no score for you",
    ]


def test_cli_prints_grouped_failures_not_every_item(tmp_path, toy_plugin, capsys):
    args = ["--plugin", "sebench_toy_plugin", "run", "--no-progress", "--testset", f"toy:root={tmp_path / 'data'},n=6",
            "--system", "toy-bad:mode=raise", "--metric", "toy-rms", "--runs-dir", str(tmp_path / "runs"),
            "--cache-dir", str(tmp_path / "cache"), "--executor", "serial"]
    assert main(args) == 0
    err = capsys.readouterr().err
    failed = [line for line in err.splitlines() if line.startswith("  failed:")]
    assert failed == ["  failed: toy-bad: 6 items RuntimeError, e.g. toy/0: system raised RuntimeError: model exploded"]
    assert "results.sqlite" in err


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_status_is_an_enum_on_every_result(tmp_path, toy_plugin, executor):
    from bench.status import Status

    config = make_config(tmp_path, ["toy-bad:mode=raise", "unprocessed"], ["toy-rms"], n=2, name=executor)
    config.executor = executor
    summary = execute(config, progress=False)
    statuses = summary.store.outputs_frame(summary.run_id)["status"]
    assert [type(s) for s in statuses] == [Status] * 4
    assert sorted(statuses) == [Status.FAILED, Status.FAILED, Status.OK, Status.OK]
