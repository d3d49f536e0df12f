"""Parallel executors: same results as serial, dynamic scheduling, models loaded once per worker,
crash isolation, batching that changes nothing, and the Ray executor on a local Ray."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.config import RunConfig
from bench.errors import MissingDependencyError
from bench.executors import job_units
from bench.item import DENOISE
from bench.metric import Column, Metric, ScoringContext, register_metric
from bench.runner import execute
from bench.spec import parse_spec
from bench.system import EnhanceInput, System, register_system
from bench.plan import Job
from bench.ray_cluster import processes
from bench.worker import Worker

TESTS_DIR = Path(__file__).parent


# --- instrumented plugins (this module is imported by worker processes by its name) ------------


def _log(directory: str | None, name: str) -> None:
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        (Path(directory) / f"{name}-{os.getpid()}-{random.getrandbits(64):x}").touch()


@register_system("scale-counted")
class CountedSystem(System):
    """Two variants with different gains; logs every load and every enhance_batch call."""

    tasks = frozenset({DENOISE})
    sample_rate = 8000

    def variants(self) -> list[str]:
        return ["half", "quarter"]

    def load(self) -> None:
        _log(self.config.get("log_dir"), "load")

    def enhance(self, inputs: EnhanceInput, variant: str = "half") -> np.ndarray:
        return inputs.audio * (0.5 if variant == "half" else 0.25)

    def enhance_batch(self, batch, variant: str = "half") -> list[np.ndarray]:
        _log(self.config.get("log_dir"), f"batch{len(batch)}")
        if self.config.get("batch_fails") and len(batch) > 1:
            raise RuntimeError("batch too large")
        return [self.enhance(inputs, variant) for inputs in batch]


@register_system("scale-noisy")
class NoisySystem(System):
    """Adds noise from the global RNG: equal results everywhere only if every item is seeded alike."""

    tasks = frozenset({DENOISE})
    sample_rate = None

    def enhance(self, inputs: EnhanceInput, variant: str = "default") -> np.ndarray:
        return inputs.audio + np.random.standard_normal(len(inputs.audio)).astype(np.float32) * 0.01


@register_system("scale-crash")
class CrashingSystem(System):
    """Kills its process on one item, every time, as a segfault in native code would (logging
    each crash into ``log_dir`` when given)."""

    tasks = frozenset({DENOISE})
    sample_rate = None

    def enhance(self, inputs: EnhanceInput, variant: str = "default") -> np.ndarray:
        if inputs.item_id == self.config["crash_on"]:
            _log(self.config.get("log_dir"), "crash")
            os._exit(3)
        return inputs.audio * 0.9


@register_metric("scale-counted-rms")
class CountedRMS(Metric):
    columns = (Column("cRMS", higher_is_better=True),)

    def load(self) -> None:
        _log(self.config.get("log_dir"), "metric-load")

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        return {"cRMS": float(np.sqrt(np.mean(ctx.output() ** 2)))}


def make_config(tmp_path: Path, systems: list[str], metrics: list[str], *, name: str, executor: str = "serial",
                cache: str | None = None, n: int = 6) -> RunConfig:
    return RunConfig(
        name=name,
        testsets=[parse_spec(f"toy:root={tmp_path / 'data'},n={n}")],
        systems=[parse_spec(s) for s in systems],
        metrics=[parse_spec(m) for m in metrics],
        runs_dir=tmp_path / "runs",
        cache_dir=tmp_path / (cache or f"cache-{name}"),
        executor=executor,
        workers=2,
    )


def logged(directory: Path, prefix: str) -> list[str]:
    """pids of the processes that logged ``prefix``, one entry per event."""
    if not directory.exists():
        return []
    return [p.name.split("-")[-2] for p in directory.iterdir() if p.name.rsplit("-", 2)[0] == prefix]


def table(summary) -> pd.DataFrame:
    scores = summary.store.scores_frame(summary.run_id)
    return scores.pivot_table(index=["system", "item_id"], columns="column", values="value").sort_index()


def outcomes(summary) -> pd.DataFrame:
    outputs = summary.store.outputs_frame(summary.run_id)
    return outputs.set_index(["system", "item_id"])[["status", "reason"]].sort_index()


SYSTEMS = ["scale-counted@all", "scale-noisy", "unprocessed", "oracle", "toy-bad:mode=nan", "toy-gain:factor=0.3"]
METRICS = ["toy-rms", "toy-err", "scale-counted-rms"]


def test_local_executor_matches_serial_and_loads_each_model_once(tmp_path, toy_plugin):
    log = tmp_path / "log"
    systems = [s.replace("@all", f"@all:log_dir={log}") for s in SYSTEMS]
    metrics = [m if m != "scale-counted-rms" else f"{m}:log_dir={log}" for m in METRICS]
    systems.append("toy-bad:mode=hang,label=hang")  # the per-item time limit works in worker processes
    configs = {name: make_config(tmp_path, systems, metrics, name=name, executor=name) for name in ("serial", "local")}
    for config in configs.values():
        config.timeout = 0.5
    serial = execute(configs["serial"], progress=False)
    serial_pids = set(logged(log, "load"))
    parallel = execute(configs["local"], progress=False)

    assert (parallel.ok, parallel.failed) == (serial.ok, serial.failed) == (36, 12)
    pd.testing.assert_frame_equal(table(parallel), table(serial))  # exact: same scores per item
    pd.testing.assert_frame_equal(outcomes(parallel), outcomes(serial))
    assert "NaN or infinite" in outcomes(parallel).loc[("toy-bad", "toy/0"), "reason"]
    assert "timed out after 0.5 s" in outcomes(parallel).loc[("hang", "toy/5"), "reason"]

    worker_pids = [pid for pid in logged(log, "load") if pid not in serial_pids]
    assert len(worker_pids) == 2 and len(set(worker_pids)) == 2  # two workers, one system load each
    metric_pids = [pid for pid in logged(log, "metric-load") if pid not in serial_pids]
    assert sorted(metric_pids) == sorted(worker_pids)  # and one metric load each
    assert os.getpid() not in {int(pid) for pid in worker_pids}


def test_local_executor_matches_serial_on_real_metrics(tmp_path, sebench_home):
    """Bit-identical PESQ/STOI/SI-SDR whichever executor ran them (BLAS is single-threaded in all)."""
    runs = {}
    for executor in ("serial", "local"):
        config = RunConfig(name=executor, testsets=[parse_spec("synthetic:n_per_subset=2,subsets=no_reverb+plc")],
                           systems=[parse_spec("unprocessed"), parse_spec("oracle")],
                           metrics=[parse_spec(m) for m in ("sisdr", "stoi", "pesq")], runs_dir=tmp_path / "runs",
                           cache_dir=tmp_path / f"cache-{executor}", executor=executor, workers=2)
        runs[executor] = execute(config, progress=False)
    assert runs["local"].ok == runs["serial"].ok == 8
    serial, parallel = table(runs["serial"]), table(runs["local"])
    assert {"PESQ_WB", "PESQ_NB", "STOI", "ESTOI", "SISDR"} <= set(serial.columns)
    pd.testing.assert_frame_equal(parallel, serial, check_exact=True)
    assert (serial.loc["oracle", "STOI"] > serial.loc["unprocessed", "STOI"]).all()  # real scores, not defaults


def test_fully_cached_rerun_loads_no_model(tmp_path, toy_plugin):
    log = tmp_path / "log"
    systems = [f"scale-counted@all:log_dir={log}"]
    metrics = [f"scale-counted-rms:log_dir={log}"]
    execute(make_config(tmp_path, systems, metrics, name="cold", cache="cache"), progress=False)
    assert len(logged(log, "load")) == len(logged(log, "metric-load")) == 1
    again = execute(make_config(tmp_path, systems, metrics, name="warm", cache="cache"), progress=False)
    assert again.enhanced == 0 and again.enhance_cache_hits == 12 and again.score_cache_hits == 12
    assert len(logged(log, "load")) == len(logged(log, "metric-load")) == 1


def plan_jobs(tmp_path: Path, n: int = 9) -> list[Job]:
    import sebench_toy_plugin

    items = list(sebench_toy_plugin.ToyTestSet(root=tmp_path / "data", n=n).items())
    return [Job("toy", item, index, label, variant)
            for index, (label, variant) in enumerate([("a", "default"), ("b", "x"), ("b", "y")])
            for item in items]


def test_units_are_single_jobs_except_batches_longest_first(tmp_path, toy_plugin):
    jobs = plan_jobs(tmp_path, n=9)  # toy items all last 1 s: ties keep plan order
    config = make_config(tmp_path, ["unprocessed", "toy-gain", "scale-counted"], ["toy-rms"], name="u")
    units = job_units(config, jobs)
    batched = [job for job in jobs if job.system_index == 2]  # scale-counted overrides enhance_batch: 8 a unit
    assert units == [batched[:8]] + [[job] for job in jobs if job.system_index < 2] + [batched[8:]]

    long_items = toy_plugin.ToyTestSet(root=tmp_path / "long", n=3, rate=48000).items()  # 1 s at 48k: 3x the frames
    mixed = jobs[:3] + [Job("long", item, 0, "a", "default") for item in long_items]
    assert [unit[0].testset for unit in job_units(config, mixed)] == ["long"] * 3 + ["toy"] * 3


@register_system("scale-sleepy")
class SleepySystem(System):
    """Sleeps ``long`` seconds on item toy/0 and ``short`` on the others; logs each job's worker."""

    tasks = frozenset({DENOISE})
    sample_rate = None

    def enhance(self, inputs: EnhanceInput, variant: str = "default") -> np.ndarray:
        import time

        time.sleep(float(self.config["long"] if inputs.item_id == "toy/0" else self.config["short"]))
        _log(self.config["log_dir"], f"job_{inputs.item_id.replace('/', '_')}")
        return inputs.audio


def test_uneven_jobs_do_not_idle_a_worker(tmp_path, toy_plugin):
    """One slow item and many quick ones on two workers: the quick ones all go to the free worker
    (static shards of equal audio would have queued half of them behind the slow one)."""
    log = tmp_path / "log"
    config = make_config(tmp_path, [f"scale-sleepy:long=4,short=0.05,log_dir={log}"], ["toy-rms"], name="uneven",
                         executor="local", n=9)
    summary = execute(config, progress=False)
    assert summary.ok == 9
    by_worker: dict[str, list[str]] = {}
    for path in log.iterdir():
        by_worker.setdefault(path.name.split("-")[-2], []).append(path.name.rsplit("-", 2)[0])
    assert len(by_worker) == 2
    slow = next(jobs for jobs in by_worker.values() if "job_toy_0" in jobs)
    assert slow == ["job_toy_0"]  # the other worker took all eight quick items meanwhile


def test_process_batch_equals_process_and_shares_work(tmp_path, toy_plugin):
    log = tmp_path / "log"
    jobs = [Job("toy", item, 0, f"scale-counted@{variant}", variant)
            for item in [j.item for j in plan_jobs(tmp_path, 3)[:3]] for variant in ("half", "quarter")]
    metrics = ["toy-rms", "toy-err"]
    one = Worker(make_config(tmp_path, ["scale-counted"], metrics, name="one"))
    batched = Worker(make_config(tmp_path, [f"scale-counted:log_dir={log}"], metrics, name="batched"))
    expected = [one.process(job) for job in jobs]
    results = batched.process_batch(jobs)

    assert [r.job for r in results] == jobs
    for got, want in zip(results, expected):
        assert (got.status, got.scores) == (want.status, want.scores)
        assert got.scores["RMS"] > 0
    assert sorted(logged(log, "batch3")) == [str(os.getpid())] * 2  # one call per variant, 3 items each
    again = batched.process_batch(jobs)
    assert all(r.enhance_cache_hits == 1 and r.enhanced == 0 for r in again)


def test_failing_batch_is_retried_item_by_item(tmp_path, toy_plugin):
    log = tmp_path / "log"
    jobs = [Job("toy", j.item, 0, "c", "half") for j in plan_jobs(tmp_path, 3) if j.system_index == 0]
    worker = Worker(make_config(tmp_path, [f"scale-counted:batch_fails=1,log_dir={log}"], ["toy-rms"], name="b"))
    results = worker.process_batch(jobs)
    assert [r.status for r in results] == ["ok"] * 3
    assert len(logged(log, "batch3")) == 1 and len(logged(log, "batch1")) == 3

    bad = Worker(make_config(tmp_path, ["toy-bad:mode=raise"], ["toy-rms"], name="bad"))
    results = bad.process_batch([Job("toy", j.item, 0, "bad", "default") for j in jobs])
    assert [r.status for r in results] == ["failed"] * 3
    assert all(r.reason == "system raised RuntimeError: model exploded" for r in results)


def test_worker_crash_fails_only_that_item(tmp_path, toy_plugin):
    config = make_config(tmp_path, ["scale-crash:crash_on=toy/2", "unprocessed"], ["toy-rms"], name="crash",
                         executor="local")
    summary = execute(config, progress=False)
    frame = outcomes(summary)
    assert summary.ok == 11 and summary.failed == 1
    assert frame.loc[("scale-crash", "toy/2"), "status"] == "failed"
    assert "worker process died" in frame.loc[("scale-crash", "toy/2"), "reason"]
    assert (frame.drop(("scale-crash", "toy/2"))["status"] == "ok").all()


def test_missing_ray_names_the_extra(tmp_path, toy_plugin, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    config = make_config(tmp_path, ["unprocessed"], ["toy-rms"], name="noray", executor="ray")
    with pytest.raises(MissingDependencyError, match=r"pip install '(sebench\[ray\]|ray>=2\.9)'"):  # the package where [ray] is installed
        execute(config, progress=False)


def _children(pid: int) -> list[int]:
    """pids whose parent is ``pid`` (Linux /proc)."""
    return [child for child, fields in processes() if int(fields[1]) == pid]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_killed_parallel_run_leaves_no_workers_and_resumes(tmp_path, toy_plugin):
    import signal
    import time

    log = tmp_path / "log"
    args = [sys.executable, "-m", "bench.cli", "--plugin", "sebench_toy_plugin", "run", "--no-progress",
            "--name", "killed", "--testset", f"toy:root={tmp_path / 'data'},n=8",
            "--system", f"toy-gain:sleep=0.5,log_dir={log}", "--metric", "toy-rms", "--runs-dir", str(tmp_path / "runs"),
            "--cache-dir", str(tmp_path / "cache"), "--executor", "local", "--workers", "2"]
    driver = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while (not log.exists() or len(list(log.iterdir())) < 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = _children(driver.pid)
    assert len(workers) >= 2  # the two workers (and multiprocessing's resource tracker)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in workers if Path(f"/proc/{pid}").exists()
                 and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert survivors == []  # the workers left with their driver

    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "8 jobs" in result.stdout and "0 failed" in result.stdout


def test_a_driver_keeping_a_worker_computes_each_output_key_once(tmp_path, toy_plugin, monkeypatch):
    """The Ray driver settles cached jobs and then schedules the rest with the same keys: hashing
    every input and building every system card twice was start-up time on every run."""
    import bench.worker as worker_module
    from bench.executors import settle_cached

    computed = []
    real = worker_module.enhancement_key
    monkeypatch.setattr(worker_module, "enhancement_key", lambda *args: computed.append(args) or real(*args))
    jobs = plan_jobs(tmp_path, n=3)
    config = make_config(tmp_path, ["unprocessed", "toy-gain", "scale-counted"], ["toy-rms"], name="keys")
    driver = Worker(config)
    settled, todo = settle_cached(config, jobs, driver)
    assert settled == [] and todo == jobs
    keys = [driver.output_key(job) for job in todo]
    assert len(computed) == len(jobs) == 9 and len(set(keys)) == 9
