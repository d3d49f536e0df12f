"""Run configuration: from CLI flags or a YAML file, with the rules for resuming.

Two runs with the same name and the same *content* config (test sets, systems, metrics, seed,
item limit) are the same run: the second resumes the first. Where and how it executes (executor,
workers, cache folder) is not part of that identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from bench.hashing import digest
from bench.errors import ConfigError
from bench.paths import sebench_home
from bench.spec import Spec, parse_spec, spec_from_entry

DEFAULT_METRICS = ("dnsmos", "pesq", "stoi", "sisdr", "wer", "spksim", "plcmos", "aecmos", "erle")
DEFAULT_SYSTEMS = ("unprocessed", "oracle", "silence", "deepfilternet3", "seflow@f-12-4")
"""The sanity rows (ceiling and floor of every column) beside the strongest shipped denoiser and
SEFlow's full model, so a first run already compares real systems."""
QUICK_ITEMS_PER_SUBSET = 4
DEFAULT_TESTSETS = (f"synthetic:n_per_subset={QUICK_ITEMS_PER_SUBSET}",)
"""A first look that finishes in under 2 minutes cold on 2 cores (README, set-up). Its items are the
full suite's first ones byte for byte, so a later ``--full`` run reuses their cached results."""
FULL_TESTSETS = ("synthetic",)
"""``sebench run --full``: the suite at its documented size (10 items per subset, as in the README's tables)."""


def check_run_name(name: object) -> None:
    """A run name is one folder under the runs folder: never a path that could lead out of it."""
    text = str(name)
    if (text in ("", ".", "..") or "/" in text or "\\" in text or "\0" in text
            or text != text.strip()):
        raise ConfigError(f"run name {text!r} must be a plain folder name (no '/', '..' or surrounding spaces): "
                          "it names the run's folder inside the runs folder")


@dataclass
class RunConfig:
    name: str = "default"
    testsets: list[Spec] = field(default_factory=lambda: [parse_spec(s) for s in DEFAULT_TESTSETS])
    systems: list[Spec] = field(default_factory=lambda: [parse_spec(s) for s in DEFAULT_SYSTEMS])
    metrics: list[Spec] = field(default_factory=lambda: [parse_spec(s) for s in DEFAULT_METRICS])
    seed: int = 0
    limit: int | None = None
    """At most this many items per subset of each test set (quick looks); part of the run's identity."""
    timeout: float | None = None
    """Seconds a system may spend on one item before it is recorded as timed out."""
    runs_dir: Path = Path("runs")
    cache_dir: Path | None = None
    executor: str = "local"
    """``local`` (a process per core), ``serial`` (this process, plan order) or ``ray``."""
    workers: int | None = None
    ray_address: str | None = None
    """Ray cluster to join (``ray://host:10001``, ``auto``); unset: $RAY_ADDRESS, else a local Ray."""
    ray_gpus: float = 0.0
    """GPUs each Ray enhancement actor reserves (a fraction shares one GPU between actors)."""
    ray_score_cpus: int | None = None
    """Ray scoring actors, one CPU each; unset: one per CPU of the nodes that may score."""
    ray_enhance_resources: dict[str, float] = field(default_factory=dict)
    """Custom Ray resources each enhancement actor reserves, which pins the stage to the nodes
    started with them (``{"gpu_node": 0.01}`` for ``ray start --resources='{"gpu_node": 1}'``).
    Also given as ``NAME=AMOUNT`` strings."""
    ray_score_resources: dict[str, float] = field(default_factory=dict)
    """Custom Ray resources each scoring actor reserves."""
    ray_cache: str | None = None
    """The cache of the Ray actors: a folder every node mounts or an fsspec URL every node reaches
    (``s3://bucket/sebench``); unset: each node's own ``$SEBENCH_HOME/cache``. The driver keeps its
    own copy of everything it records either way."""
    overwrite: bool = False
    use_cache: bool = True

    def __post_init__(self) -> None:
        self.name = str(self.name)  # YAML reads `name: 2024` as a number
        check_run_name(self.name)
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be at least 1 item per subset, got {self.limit}")
        if self.timeout is not None and not self.timeout > 0:
            raise ConfigError(f"timeout must be a positive number of seconds, got {self.timeout}")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"workers must be at least 1, got {self.workers}")
        if not self.ray_gpus >= 0:
            raise ConfigError(f"ray_gpus must be a GPU share of 0 or more, got {self.ray_gpus}")
        if self.ray_score_cpus is not None and self.ray_score_cpus < 1:
            raise ConfigError(f"ray_score_cpus must be at least 1, got {self.ray_score_cpus}")
        self.ray_enhance_resources = ray_resources(self.ray_enhance_resources, "ray_enhance_resources")
        self.ray_score_resources = ray_resources(self.ray_score_resources, "ray_score_resources")
        if self.ray_cache is not None:
            self.ray_cache = str(self.ray_cache)

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.name

    @property
    def store_path(self) -> Path:
        return self.run_dir / "results.sqlite"

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir or sebench_home() / "cache"

    def content(self) -> dict[str, Any]:
        """The part that defines the results (what is hashed for resume)."""
        return {
            "testsets": [s.to_dict() for s in self.testsets],
            "systems": [s.to_dict() for s in self.systems],
            "metrics": [s.to_dict() for s in self.metrics],
            "seed": self.seed,
            "limit": self.limit,
            "timeout": self.timeout,
        }

    def content_hash(self) -> str:
        return digest(self.content())

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.content(), "executor": self.executor, "workers": self.workers}


def full_testsets(chosen: list[Spec] | None) -> list[Spec]:
    """What ``--full`` runs: the default test set at its documented size. Test sets chosen
    explicitly carry their own size, so ``--full`` beside them is an error, not silently ignored."""
    if chosen is not None:
        raise ConfigError("--full sizes the default test set; a chosen test set sets its own size "
                          "(e.g. synthetic:n_per_subset=50)")
    return [parse_spec(s) for s in FULL_TESTSETS]


def _entries(data: dict[str, Any], key: str) -> list[Spec] | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, list) or not value:
        raise ConfigError(f"'{key}' must be a non-empty list")
    return [spec_from_entry(entry) for entry in value]


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line: where and what (PyYAML's own text spans several lines with a caret drawing)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}"


def ray_resources(value: Mapping[str, Any] | Sequence[str] | None, what: str) -> dict[str, float]:
    """Custom Ray resources as {name: amount}, from a mapping (YAML) or ``NAME=AMOUNT`` strings
    (the command line); each amount a positive number."""
    if not value:
        return {}
    if isinstance(value, Mapping):
        pairs = [(name, amount, f"{name}: {amount}") for name, amount in value.items()]
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        pairs = [(*(v.split("=", 1) if "=" in v else (v, None)), v) for v in value]
    else:
        raise ConfigError(f"{what} must map resource names to amounts, got {value!r}")
    resources = {}
    for name, amount, shown in pairs:
        try:
            number = float(amount)
        except (TypeError, ValueError):
            number = float("nan")
        if not str(name).strip() or not number > 0:
            raise ConfigError(f"{what}: {shown!r} is not a resource name with a positive amount (NAME=AMOUNT)")
        resources[str(name).strip()] = number
    return resources


def load_yaml_config(path: Path) -> dict[str, Any]:
    """Read a YAML run config into RunConfig keyword arguments."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot read config {path}: {_yaml_problem(exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a mapping")
    known = {"name", "testsets", "systems", "metrics", "seed", "limit", "timeout", "executor", "workers", "runs_dir", "cache_dir",
             "ray_address", "ray_gpus", "ray_score_cpus", "ray_enhance_resources", "ray_score_resources", "ray_cache"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"config {path}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    kwargs: dict[str, Any] = {}
    for key in ("testsets", "systems", "metrics"):
        specs = _entries(data, key)
        if specs is not None:
            kwargs[key] = specs
    for key in ("name", "seed", "limit", "timeout", "executor", "workers", "ray_address", "ray_gpus", "ray_score_cpus",
                "ray_enhance_resources", "ray_score_resources", "ray_cache"):
        if key in data:
            kwargs[key] = data[key]
    for key in ("runs_dir", "cache_dir"):
        if key in data:
            kwargs[key] = Path(data[key])
    return kwargs
