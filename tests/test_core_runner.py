"""Runner behaviour: caching, resume, invalidation, failure isolation, corrupt inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.config import RunConfig
from bench.errors import ConfigError
from bench.runner import execute
from bench.spec import parse_spec


def make_config(tmp_path: Path, systems: list[str], *, metrics=("toy-rms", "toy-err"), name="t", **testset) -> RunConfig:
    options = ",".join(f"{k}={v}" for k, v in {"root": tmp_path / "data", "n": 4, **testset}.items())
    return RunConfig(
        name=name,
        testsets=[parse_spec(f"toy:{options}")],
        systems=[parse_spec(s) for s in systems],
        metrics=[parse_spec(m) for m in metrics],
        runs_dir=tmp_path / "runs",
        cache_dir=tmp_path / "cache",
    )


def calls(log_dir: Path) -> int:
    return len(list(log_dir.iterdir())) if log_dir.exists() else 0


def test_rerun_recomputes_nothing_and_scores_match(tmp_path, toy_plugin):
    log = tmp_path / "log"
    config = make_config(tmp_path, [f"toy-gain:factor=0.5,log_dir={log}", "unprocessed", "oracle"])
    first = execute(config, progress=False)
    assert (first.ok, first.failed, first.enhanced) == (12, 0, 12)
    assert first.scored == 24 and first.score_cache_hits == 0
    assert calls(log) == 4

    again = execute(config, progress=False)  # same run: everything already recorded
    assert again.run_id == first.run_id
    assert again.already_done == 12 and again.enhanced == 0 and again.scored == 0

    other_name = execute(make_config(tmp_path, [f"toy-gain:factor=0.5,log_dir={log}", "unprocessed", "oracle"],
                                     name="t2"), progress=False)
    assert other_name.enhanced == 0 and other_name.enhance_cache_hits == 12
    assert other_name.scored == 0 and other_name.score_cache_hits == 24
    assert calls(log) == 4

    frame = first.store.scores_frame(first.run_id)
    mse = frame[(frame["column"] == "MSE")].groupby("system")["value"].mean()
    assert mse["oracle"] == pytest.approx(0.0, abs=1e-12)
    assert mse["unprocessed"] == pytest.approx(0.05**2, rel=0.1)  # the toy noise has std 0.05
    # factor 0.5 halves the RMS of the input (resampled 16k -> 8k -> 16k on the way)
    rms = frame[frame["column"] == "RMS"].pivot(index="item_id", columns="system", values="value")
    np.testing.assert_allclose(rms["toy-gain"], 0.5 * rms["unprocessed"], rtol=0.02)


def test_changed_system_config_recomputes_only_that_system(tmp_path, toy_plugin):
    log_a, log_b = tmp_path / "a", tmp_path / "b"
    execute(make_config(tmp_path, [f"toy-gain:factor=0.5,log_dir={log_a}", "unprocessed"], name="one"), progress=False)
    summary = execute(make_config(tmp_path, [f"toy-gain:factor=0.7,log_dir={log_b}", "unprocessed"], name="two"),
                      progress=False)
    assert calls(log_b) == 4  # new config: recomputed
    assert summary.enhanced == 4 and summary.enhance_cache_hits == 4  # unprocessed came from the cache


def test_resume_after_partial_run(tmp_path, toy_plugin):
    log = tmp_path / "log"
    partial = make_config(tmp_path, [f"toy-gain:log_dir={log}"], n=6, name="partial")
    partial.limit = 3  # stands in for an interrupted run; the killed-process case is test_cli_resume
    execute(partial, progress=False)
    full = make_config(tmp_path, [f"toy-gain:log_dir={log}"], n=6)
    summary = execute(full, progress=False)
    assert summary.enhanced == 3 and summary.enhance_cache_hits == 3
    assert calls(log) == 6


@pytest.mark.parametrize(
    "mode, reason",
    [
        ("nan", "NaN or infinite"),
        ("inf", "NaN or infinite"),
        ("silence", "output is silent"),
        ("short", "expected 16000"),
        ("raise", "model exploded"),
        ("hang", "timed out after 0.5 s"),
    ],
)
def test_bad_outputs_are_recorded_and_the_run_goes_on(tmp_path, toy_plugin, mode, reason):
    config = make_config(tmp_path, [f"toy-bad:mode={mode}", "unprocessed"], n=2)
    config.timeout = 0.5
    summary = execute(config, progress=False)
    assert summary.failed == 2 and summary.ok == 2
    outputs = summary.store.outputs_frame(summary.run_id)
    bad = outputs[outputs["system"] == "toy-bad"]
    assert set(bad["status"]) == {"failed"}
    assert all(reason in r for r in bad["reason"])
    scores = summary.store.scores_frame(summary.run_id)
    assert set(scores["system"]) == {"unprocessed"}  # nothing was scored for the failed system


def test_failed_items_are_retried_on_rerun(tmp_path, toy_plugin):
    config = make_config(tmp_path, ["toy-bad:mode=raise"], n=2)
    execute(config, progress=False)
    again = execute(config, progress=False)
    assert again.already_done == 0 and again.failed == 2


def test_corrupt_input_names_the_file(tmp_path, toy_plugin):
    summary = execute(make_config(tmp_path, ["unprocessed"], n=3, corrupt="1"), progress=False)
    assert summary.ok == 2 and summary.failed == 1
    outputs = summary.store.outputs_frame(summary.run_id)
    reason = outputs.set_index("item_id").loc["toy/1", "reason"]
    assert "cannot read audio file" in reason and str(tmp_path / "data" / "noisy_1.wav") in reason


def test_unsupported_tasks_are_recorded_not_run(tmp_path, toy_plugin):
    from bench.item import AEC
    from systems.sanity import Unprocessed

    assert Unprocessed.tasks >= {AEC}
    summary = execute(make_config(tmp_path, ["toy-gain"]), progress=False)
    assert summary.unsupported == 0  # toy items are denoise, which toy-gain supports


def test_different_config_under_same_name_is_refused(tmp_path, toy_plugin):
    execute(make_config(tmp_path, ["unprocessed"]), progress=False)
    with pytest.raises(ConfigError, match="different config"):
        execute(make_config(tmp_path, ["oracle"]), progress=False)
    config = make_config(tmp_path, ["oracle"])
    config.overwrite = True
    summary = execute(config, progress=False)
    assert list(summary.store.runs()["run_id"]) == [summary.run_id]


def test_provenance_is_recorded(tmp_path, toy_plugin):
    summary = execute(make_config(tmp_path, ["unprocessed"]), progress=False)
    prov = summary.store.provenance(summary.run_id)
    assert prov["seed"] == 0
    assert "numpy" in prov["packages"] and "sebench" in prov["packages"]
    assert set(prov["metric_versions"]) == {"toy-rms", "toy-err"}
    assert prov["device"]["python"]


@pytest.mark.parametrize("text", ["unprocessed", "seflow@f-12-4", "folder:root=/d,layout={id}_x,label=ours",
                                  "seflow@f-1-1:checkpoint=c.safetensors,label=mine", "plcmos:seed=1,label=seed1"])
def test_a_spec_written_back_as_text_parses_to_itself(text):
    """The throughput benchmark re-launches a run from its config with these strings: a dropped variant or
    label would time a different, uncached run."""
    spec = parse_spec(text)
    assert spec.text() == text and parse_spec(spec.text()) == spec
