"""The embedded synthetic suite: every task's test cases, generated offline and deterministically.

Speech comes from eSpeak NG (the ``espeakng-loader`` wheel), noise from code, rooms from
pyroomacoustics; the same seed gives byte-identical files on any machine with the same library
versions. The suite is built on first use (a few seconds at the default size; only the subsets
asked for) and cached under ``sebench_home()/synthetic/``; see ``build.py`` for the layout and
``recipes.py`` for how each subset is made.

Config keys: ``seed`` (default 0), ``n_per_subset`` (default 10), ``sample_rate`` (default 16000;
eSpeak renders at 22050 Hz, so higher rates add no bandwidth above 11 kHz), ``subsets`` (a list, or
a string joined with ``+``, e.g. ``subsets=no_reverb+plc``; default all).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator

from bench.audio import file_sha256
from bench.errors import ConfigError
from bench.item import Item
from bench.testset import TestSet, register_testset
from testsets.synthetic.build import BUILDER_VERSION, SUBSETS, build_key, build_subset, load_manifest, suite_root

_DEFAULTS: dict[str, Any] = {"seed": 0, "n_per_subset": 10, "sample_rate": 16000, "subsets": None}


def _as_int(key: str, value: Any, minimum: int) -> int:
    """Config arrives as ints from YAML or strings from CLI spec strings; accept both, nothing else."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise ConfigError(f"synthetic: {key} must be a non-negative integer, got {value!r}")
    number = int(value)
    if number < minimum:
        raise ConfigError(f"synthetic: {key} must be >= {minimum}, got {number}")
    return number


def _as_subsets(value: Any) -> tuple[str, ...]:
    if value is None:
        return SUBSETS
    names = value.replace(" ", "+").split("+") if isinstance(value, str) else [str(v) for v in value]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in SUBSETS]
    if unknown or not names:
        raise ConfigError(f"synthetic: unknown subset(s) {unknown or names}; known: {', '.join(SUBSETS)}")
    return tuple(n for n in SUBSETS if n in names)


@register_testset("synthetic")
class SyntheticSuite(TestSet):
    """Denoise (no_reverb, with_reverb), declip, plc, tse and aec cases with known ground truth."""

    name = "synthetic"
    version = BUILDER_VERSION

    options = dict.fromkeys(_DEFAULTS)
    """Defaults stay out of ``self.config`` (``_DEFAULTS`` applies them): a spec names only what it sets."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.seed = _as_int("seed", config.get("seed", _DEFAULTS["seed"]), 0)
        self.n_per_subset = _as_int("n_per_subset", config.get("n_per_subset", _DEFAULTS["n_per_subset"]), 1)
        self.sample_rate = _as_int("sample_rate", config.get("sample_rate", _DEFAULTS["sample_rate"]), 8000)
        self.subsets = _as_subsets(config.get("subsets"))

    @property
    def root(self) -> Path:
        """Where this configuration's files live (built or not)."""
        return suite_root(self.seed, self.n_per_subset, self.sample_rate)

    def build(self) -> list[Path]:
        """Build the selected subsets that are not built yet; return their folders."""
        return [build_subset(self.seed, self.n_per_subset, self.sample_rate, subset) for subset in self.subsets]

    def _records(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        for folder in self.build():
            for record in load_manifest(folder)["items"]:
                yield folder, record

    def items(self) -> Iterable[Item]:
        for folder, record in self._records():
            files = {name: folder / relative for name, relative in record["files"].items()}
            trace = record["loss_trace"]
            yield Item(
                id=record["id"],
                task=record["task"],
                subset=record["subset"],
                input=files["input"],
                reference=files.get("reference"),
                enrollment=files.get("enrollment"),
                far_end=files.get("far_end"),
                loss_trace=tuple(trace) if trace is not None else None,
                transcript=record["transcript"],
                talk_type=record["talk_type"],
                sample_rate=self.sample_rate,
                meta=record["meta"],
            )

    def prepare(self) -> list[str]:
        """Build if needed, then check every file against the sha256 recorded at build time, so a
        file edited or truncated after the build is reported rather than silently scored."""
        problems = []
        for folder, record in self._records():
            for relative, expected in record["sha256"].items():
                path = folder / relative
                if not path.is_file():
                    problems.append(f"{record['id']}: missing file {path}")
                elif file_sha256(path) != expected:
                    problems.append(f"{record['id']}: {path} changed since it was built (sha256 mismatch); delete {folder} to rebuild")
        return problems or super().prepare()

    def card(self) -> dict[str, Any]:
        return {**super().card(), "build": build_key(self.seed, self.n_per_subset, self.sample_rate)}
