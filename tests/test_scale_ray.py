"""The Ray executor's two stages on a simulated two-node cluster with no shared disk, plus the pieces
it is built from (item files carried to a node, an fsspec cache, the sizing of each stage)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.audio import load_audio
from bench.config import RunConfig
from bench.errors import ConfigError
from bench.fsspec_cache import FsspecCache, open_cache
from bench.item import DENOISE, Item
from bench.item_files import Staging, manifest, pack
from bench.metric import Column, Metric, ScoringContext, register_metric
from bench.ray_executor import stage_plan
from bench.runner import execute
from bench.spec import parse_spec
from bench.system import EnhanceInput, System, register_system
from test_scale_executors import METRICS, SYSTEMS, logged, make_config, outcomes, table  # also registers scale-*

TESTS_DIR = Path(__file__).parent


# --- plugins the actors import by this module's name ------------------------------------------


def _doomed(marker_dir: str, name: str) -> bool:
    """The first call for ``name`` writes a marker holding this process's pid and returns True;
    later calls (the retry on a fresh actor, or a run whose markers exist) return False."""
    marker = Path(marker_dir) / name
    if marker.exists():
        return False
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(os.getpid()))
    return True


def _await_kill(seconds: float = 60.0) -> None:
    """Wait to be killed by the test (which watches the marker folder)."""
    time.sleep(seconds)
    raise RuntimeError("nobody killed this actor")


@register_system("ray-victim")
class VictimSystem(System):
    """Gain 0.7; on item ``on`` the first time ever, waits to be killed mid-item."""

    tasks = frozenset({DENOISE})
    sample_rate = None

    def enhance(self, inputs: EnhanceInput, variant: str = "default") -> np.ndarray:
        if inputs.item_id == self.config["on"] and _doomed(self.config["markers"], "system"):
            _await_kill()
        return inputs.audio * 0.7


@register_metric("ray-victim-peak")
class VictimPeak(Metric):
    """Peak level; on item ``on`` the first time ever, waits to be killed mid-item."""

    columns = (Column("Peak", higher_is_better=True),)

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        if ctx.item.id == self.config["on"] and _doomed(self.config["markers"], "metric"):
            _await_kill()
        return {"Peak": float(np.max(np.abs(ctx.output())))}


class Killer(threading.Thread):
    """SIGKILLs each process that writes a marker (see ``_doomed``), as an external kill would."""

    def __init__(self, markers: Path) -> None:
        super().__init__(daemon=True)
        self.markers, self.killed, self._done = markers, {}, threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            for marker in self.markers.glob("*") if self.markers.exists() else []:
                text = marker.read_text()
                if marker.name not in self.killed and text:
                    os.kill(int(text), signal.SIGKILL)
                    self.killed[marker.name] = int(text)
            time.sleep(0.05)

    def stop(self) -> None:
        self._done.set()
        self.join()


# --- fast tests of the parts ------------------------------------------------------------------


def _toy_item(tmp_path: Path) -> Item:
    import sebench_toy_plugin

    return next(iter(sebench_toy_plugin.ToyTestSet(root=tmp_path / "data", n=1).items()))


def test_item_files_reach_a_node_byte_identical_and_are_fetched_once(tmp_path, toy_plugin):
    item = _toy_item(tmp_path)
    files = manifest(item)
    assert set(files) == {"input", "reference"} and files["input"].name == "noisy_0.wav"
    staging = Staging(tmp_path / "node" / "ray-inputs")
    fetches = []

    def fetch():
        fetches.append(1)
        return pack(item, files)

    local = staging.localise(item, files, fetch)
    assert local.input != item.input and local.input.name == item.input.name  # the name is kept
    assert local.input.read_bytes() == item.input.read_bytes()
    assert local.reference.read_bytes() == item.reference.read_bytes()
    assert (local.id, local.task, local.sample_rate) == (item.id, item.task, item.sample_rate)
    assert staging.localise(item, files, fetch) == local and len(fetches) == 1  # already there: no fetch


def test_unreadable_item_file_is_left_for_the_worker_to_report(tmp_path, toy_plugin):
    item = _toy_item(tmp_path).with_(reference=tmp_path / "missing.wav")
    assert set(manifest(item)) == {"input"}


@pytest.mark.parametrize("scheme", ["file", "memory"])
def test_fsspec_cache_round_trips_audio_and_scores(tmp_path, scheme):
    url = f"file://{tmp_path}/cache" if scheme == "file" else f"memory://sebench-test-{os.getpid()}/cache"
    cache = open_cache(url)
    assert isinstance(cache, FsspecCache)
    audio = np.random.default_rng(0).standard_normal(800).astype(np.float32)
    key = "ab" * 32
    assert cache.get_audio(key) is None and cache.get_scores(key) is None
    path = cache.put_audio(key, audio, 8000)
    assert path.startswith(f"{scheme}://") and path.endswith(f"{key}.wav")
    got, rate = cache.get_audio(key)
    assert rate == 8000 and np.array_equal(got, audio)
    cache.put_scores(key, {"SISDR": 12.5})
    assert cache.get_scores(key) == {"SISDR": 12.5}
    if scheme == "file":  # the same layout as the local cache: either can read the other's entries
        assert (tmp_path / "cache" / "audio" / key[:2] / f"{key}.wav").is_file()
        assert not list((tmp_path / "cache").rglob("*.tmp-*"))
        assert open_cache(tmp_path / "cache").get_scores(key) == {"SISDR": 12.5}


def test_unknown_cache_url_is_a_config_error():
    with pytest.raises(ConfigError, match="nosuchfs://"):
        open_cache("nosuchfs://bucket/cache")


def _node(name: str, cpus: float, **resources: float) -> dict:
    return {"NodeID": name, "Alive": True, "Resources": {"CPU": cpus, **resources}}


def _counts(nodes: list[str]) -> dict[str, int]:
    return {node: nodes.count(node) for node in sorted(set(nodes))}


def test_stage_plan_places_each_stage_on_the_nodes_that_qualify(tmp_path):
    config = RunConfig(runs_dir=tmp_path)
    cpu_only = [_node("a", 4), _node("b", 2), {**_node("dead", 64), "Alive": False}]
    enhancers, scorers = stage_plan(cpu_only, config)
    assert _counts(enhancers) == _counts(scorers) == {"a": 4, "b": 2}  # both stages on every CPU
    assert set(enhancers[:2]) == {"a", "b"}  # any first actors are spread too
    gpu = [_node("g", 8, GPU=2, gpu_node=1), _node("c", 16, cpu_node=1)]
    config.ray_gpus = 0.5
    enhancers, scorers = stage_plan(gpu, config)
    assert _counts(enhancers) == {"g": 4} and _counts(scorers) == {"c": 16, "g": 8}  # four GPU halves
    config.ray_score_resources = {"cpu_node": 0.01}
    assert _counts(stage_plan(gpu, config)[1]) == {"c": 16}  # scoring pinned to the CPU node
    config.ray_score_cpus = 3
    assert len(stage_plan(gpu, config)[1]) == 3
    config.workers = 5
    with pytest.raises(ConfigError, match="--workers 5: the Ray cluster has room for 4 enhancement actors"):
        stage_plan(gpu, config)
    config.workers, config.ray_gpus = None, 0.0
    config.ray_enhance_resources = {"tpu_node": 1}
    with pytest.raises(ConfigError, match="tpu_node=1 for the enhancement actors"):
        stage_plan(gpu, config)
    config.ray_enhance_resources, config.ray_gpus = {}, 1.0
    with pytest.raises(ConfigError, match="GPU=1 for the enhancement actors"):
        stage_plan(cpu_only, config)
    config.ray_gpus, config.ray_score_cpus, config.ray_score_resources = 0.0, None, {"cpu_node": 1}
    with pytest.raises(ConfigError, match="CPU=1, cpu_node=1 for the scoring actors"):
        stage_plan(cpu_only, config)


def test_cli_and_yaml_pass_ray_options(tmp_path):
    from bench.cli import build_parser, config_from_args
    from bench.config import load_yaml_config

    args = build_parser().parse_args([
        "run", "--executor", "ray", "--ray-address", "ray://head:10001", "--ray-gpus", "0.5", "--workers", "4",
        "--ray-score-cpus", "32", "--ray-enhance-resource", "gpu_node=0.01", "--ray-score-resource", "cpu_node=0.01",
        "--ray-score-resource", "big_memory=1", "--ray-cache", "s3://bucket/sebench"])
    config = config_from_args(args)
    assert (config.executor, config.ray_address, config.ray_gpus, config.workers) == ("ray", "ray://head:10001", 0.5, 4)
    assert (config.ray_score_cpus, config.ray_cache) == (32, "s3://bucket/sebench")
    assert config.ray_enhance_resources == {"gpu_node": 0.01}
    assert config.ray_score_resources == {"cpu_node": 0.01, "big_memory": 1.0}
    path = tmp_path / "run.yaml"
    path.write_text("executor: ray\nray_enhance_resources: {gpu_node: 0.5}\nray_cache: file:///mnt/cache\n")
    config = RunConfig(**load_yaml_config(path))
    assert (config.ray_enhance_resources, config.ray_cache) == ({"gpu_node": 0.5}, "file:///mnt/cache")
    with pytest.raises(ConfigError, match="'gpu_node' is not a resource name with a positive amount"):
        config_from_args(build_parser().parse_args(["run", "--ray-enhance-resource", "gpu_node"]))


# --- a local Ray, and the simulated two-node cluster ------------------------------------------


@pytest.mark.slow
def test_local_ray_matches_serial_with_systems_and_metrics_in_separate_actors(tmp_path, toy_plugin, monkeypatch):
    ray = pytest.importorskip("ray")
    # Ray workers are fresh interpreters: they find the test modules and the toy plugin on PYTHONPATH
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS_DIR), os.environ["PYTHONPATH"]]))
    log = tmp_path / "log"
    systems = [s.replace("@all", f"@all:log_dir={log}") for s in SYSTEMS] + ["toy-bad:mode=hang,label=hang"]
    metrics = [m if m != "scale-counted-rms" else f"{m}:log_dir={log}" for m in METRICS]
    serial_config = make_config(tmp_path, systems, metrics, name="serial", n=4)
    serial_config.timeout = 1.0
    serial = execute(serial_config, progress=False)
    serial_pid = logged(log, "load")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        config = make_config(tmp_path, systems, metrics, name="ray", executor="ray", n=4)
        config.timeout = 1.0  # the per-item limit works in actors too
        distributed = execute(config, progress=False)
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(table(distributed), table(serial))
    pd.testing.assert_frame_equal(outcomes(distributed), outcomes(serial))
    assert "timed out after 1 s" in outcomes(distributed).loc[("hang", "toy/0"), "reason"]
    system_loads = [pid for pid in logged(log, "load") if pid not in serial_pid]
    metric_loads = [pid for pid in logged(log, "metric-load") if pid not in serial_pid]
    assert system_loads and metric_loads
    assert len(system_loads) == len(set(system_loads)) and len(metric_loads) == len(set(metric_loads))  # once each
    assert not set(system_loads) & set(metric_loads)  # systems in enhancement actors, metrics in scoring actors



@pytest.mark.slow
def test_a_damaged_cached_output_is_enhanced_again_when_a_metric_is_added(tmp_path, toy_plugin, monkeypatch):
    """Adding a metric to a cached run sends cached outputs straight to scoring. An output whose
    cache file exists but is damaged must be enhanced again, as the local executor does; it was
    recorded ok with none of the new metric's scores."""
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS_DIR), os.environ["PYTHONPATH"]]))
    first = make_config(tmp_path, ["toy-gain"], ["toy-rms"], name="first", cache="cache", n=3)
    execute(first, progress=False)
    damaged = sorted((tmp_path / "cache").rglob("*.wav"))[0]
    damaged.write_bytes(damaged.read_bytes()[:-400])  # truncated: its stored hash no longer matches
    serial = execute(make_config(tmp_path, ["toy-gain"], ["toy-rms", "sisdr"], name="serial", n=3), progress=False)
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        again = execute(make_config(tmp_path, ["toy-gain"], ["toy-rms", "sisdr"], name="again", executor="ray",
                                    cache="cache", n=3), progress=False)
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(table(again), table(serial))
    assert again.enhanced == 1 and again.enhance_cache_hits == 2




class _Players(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "audio":
            self.sources.append(dict(attrs)["src"] or "")


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.rglob(pattern) if not p.name.startswith(".tmp-")) if root.exists() else []


@pytest.mark.slow
def test_two_nodes_without_shared_disk_match_serial_and_survive_killed_actors(tmp_path, toy_plugin, monkeypatch):
    """Enhancement pinned to one node, scoring to the other, each node with its own SEBENCH_HOME
    (so its own cache and staging folder); one enhancement actor and one scoring actor are killed
    mid-item. Results equal the serial run's; the driver's cache holds every recorded output; the
    listening page is complete; a job that kills its actor twice is recorded as failed."""
    pytest.importorskip("ray")
    from bench.ray_cluster import LocalCluster, NodeSpec
    from reports.aggregate import load_run
    from reports.listening import write_listening_page

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS_DIR), os.environ["PYTHONPATH"]]))
    data, markers = tmp_path / "data", tmp_path / "markers"
    systems = ["unprocessed", "oracle", "toy-gain:factor=0.3", "toy-bad:mode=nan", "scale-noisy",
               f"ray-victim:on=toy/2,markers={markers}"]
    metrics = ["toy-rms", "toy-err", f"ray-victim-peak:on=toy/4,markers={markers}"]

    def config(name: str, executor: str, run_systems=systems) -> RunConfig:
        return RunConfig(name=name, testsets=[parse_spec(f"toy:root={data},n=6")],
                         systems=[parse_spec(s) for s in run_systems], metrics=[parse_spec(m) for m in metrics],
                         runs_dir=tmp_path / "runs", cache_dir=tmp_path / f"driver-cache-{name}", executor=executor)

    for victim in ("system", "metric"):  # the serial run must not wait to be killed
        markers.mkdir(exist_ok=True)
        (markers / victim).write_text("")
    serial = execute(config("serial", "serial"), progress=False)
    for marker in markers.iterdir():
        marker.unlink()

    homes = {"gpu": tmp_path / "node-gpu", "cpu": tmp_path / "node-cpu"}
    nodes = [NodeSpec(cpus=1, resources={"gpu_node": 1}, env={"SEBENCH_HOME": str(homes["gpu"])}),
             NodeSpec(cpus=1, resources={"cpu_node": 1}, env={"SEBENCH_HOME": str(homes["cpu"])})]
    killer = Killer(markers)
    with LocalCluster(nodes) as cluster:
        distributed_config = config("ray", "ray")
        distributed_config.ray_address = cluster.address
        distributed_config.workers = 2
        distributed_config.ray_enhance_resources = {"gpu_node": 0.5}
        distributed_config.ray_score_resources = {"cpu_node": 0.5}
        killer.start()
        try:
            distributed = execute(distributed_config, progress=False)
        finally:
            killer.stop()
        node_entries = {node: len(_files(home / "cache", "*.*")) for node, home in homes.items()}
        crash_log = tmp_path / "crash-log"
        crash_config = config("crash", "ray", [f"scale-crash:crash_on=toy/3,log_dir={crash_log}", "unprocessed"])
        crash_config.ray_address = cluster.address
        crash_config.ray_enhance_resources = {"gpu_node": 0.5}
        crash_config.ray_score_resources = {"cpu_node": 0.5}
        crash_config.ray_cache = f"file://{tmp_path / 'shared-cache'}"  # one fsspec cache for both nodes
        crashed = execute(crash_config, progress=False)

    # one actor of each stage was killed mid-item, and its job still got its result
    assert set(killer.killed) == {"system", "metric"}
    pd.testing.assert_frame_equal(table(distributed), table(serial))
    pd.testing.assert_frame_equal(outcomes(distributed), outcomes(serial))
    assert (distributed.ok, distributed.failed) == (serial.ok, serial.failed) == (30, 6)

    # every output the store names is a file in the driver's cache, equal to the serial output
    driver_cache = distributed_config.cache_dir
    outputs = distributed.store.outputs_frame(distributed.run_id)
    serial_outputs = serial.store.outputs_frame(serial.run_id).set_index(["system", "item_id"])
    for row in outputs[outputs["status"] == "ok"].itertuples():
        path = Path(row.output_path)
        assert driver_cache in path.parents
        expected = load_audio(serial_outputs.loc[(row.system, row.item_id), "output_path"])
        got = load_audio(path)
        assert got[1] == expected[1] and np.array_equal(got[0], expected[0])
    serial_cache = tmp_path / "driver-cache-serial"
    for pattern in ("*.wav", "*.json"):  # and it holds every output and score, as a serial run's cache would
        assert {p.name for p in _files(driver_cache, pattern)} == {p.name for p in _files(serial_cache, pattern)}

    # each stage ran on its own node: outputs were computed on the GPU node only, scores on the CPU node
    assert _files(homes["gpu"] / "cache" / "audio", "*.wav") and not _files(homes["cpu"] / "cache" / "audio", "*.wav")
    assert _files(homes["cpu"] / "cache" / "scores", "*.json") and not _files(homes["gpu"] / "cache" / "scores", "*.json")
    # and read the inputs from their own staged copies, byte-identical to the driver's files
    staged = {p.name: p.read_bytes() for p in _files(homes["gpu"] / "ray-inputs", "*.wav")}
    assert staged["noisy_3.wav"] == (data / "noisy_3.wav").read_bytes()
    assert {p.name for p in _files(homes["cpu"] / "ray-inputs", "*.wav")} >= {"clean_0.wav", "noisy_0.wav"}

    # the listening page has a player for every input, reference and ok output, each a real file
    page = write_listening_page(load_run(distributed_config.run_dir), tmp_path / "listen", max_items=None)
    parser = _Players()
    parser.feed(page.read_text())
    assert len(parser.sources) == 6 * 2 + 30
    assert all((page.parent / src).is_file() for src in parser.sources)
    assert "file missing" not in page.read_text()

    # a job that kills its actor every time is retried once, then recorded as failed; nothing else is lost
    frame = outcomes(crashed)
    assert len(logged(crash_log, "crash")) == 2
    assert frame.loc[("scale-crash", "toy/3"), "status"] == "failed"
    assert "Ray actor died while processing this item, twice" in frame.loc[("scale-crash", "toy/3"), "reason"]
    assert (crashed.ok, crashed.failed) == (11, 1)
    # that run's actors cached into the shared URL, not into their nodes' own caches
    shared = tmp_path / "shared-cache"
    assert len(_files(shared / "audio", "*.wav")) == 11 and _files(shared / "scores", "*.json")
    assert {node: len(_files(home / "cache", "*.*")) for node, home in homes.items()} == node_entries


@pytest.mark.slow
def test_throughput_benchmark_compares_ray_on_two_local_nodes_with_local(tmp_path, sebench_home, capsys):
    from bench.benchmarks.throughput import main

    figures_path = tmp_path / "figures.json"
    assert main(["--items", "2", "--metric", "sisdr", "--workers", "2", "--executor", "ray",
                 "--json", str(figures_path)]) == 0
    assert "ray / local:" in capsys.readouterr().out
    figures = json.loads(figures_path.read_text())
    assert figures["stages"]["ray"]["items"] == figures["stages"]["local"]["items"] == {"enhance unprocessed": 2, "sisdr": 2}
    assert figures["ray_vs_local"] == figures["wall_seconds"]["ray"] / figures["wall_seconds"]["local"]
    assert figures["cpu_seconds"]["ray"]["workers"] > 0  # the work ran in the Ray nodes' processes
    assert figures["ray"] == {"address": None, "nodes": 2}
