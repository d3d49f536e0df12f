"""Built-ins are declared as the package's own entry points (pyproject.toml), found like a third-party
package's; a source checkout's pyproject.toml wins over installed metadata that may predate it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

import bench.registry
from bench.cli import build_parser
from bench.errors import MissingDependencyError
from bench.metric import METRICS
from bench.registry import TRAINERS_GROUP, declared
from bench.system import SYSTEMS
from bench.testset import TESTSETS

PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
ENTRY_POINTS = PYPROJECT["entry-points"]


@pytest.mark.parametrize("registry", [SYSTEMS, TESTSETS, METRICS], ids=lambda r: r.group)
def test_every_declared_builtin_resolves(registry) -> None:
    names = ENTRY_POINTS[registry.group]
    assert {"unprocessed", "synthetic", "pesq"} & set(names)  # each group holds built-ins
    assert set(names) <= set(registry.names())
    for name, target in names.items():
        try:
            cls = registry.get(name)
        except MissingDependencyError:
            continue
        assert cls.name == name and f"{cls.__module__}:{cls.__qualname__}" == target


def test_trainers_come_from_their_entry_point_group() -> None:
    assert declared(TRAINERS_GROUP) == ENTRY_POINTS[TRAINERS_GROUP]
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    system = next(action for action in train._actions if action.dest == "system")
    assert list(system.choices) == sorted(ENTRY_POINTS[TRAINERS_GROUP])


@pytest.fixture
def unread_metadata():
    """``declared`` reads the metadata once per process: these tests fake it, so they read afresh
    and leave nothing of the fake behind."""
    declared.cache_clear()
    yield
    declared.cache_clear()


def fake_metadata(*entries: tuple[str, str, str]):
    points = [SimpleNamespace(name=name, value=value, dist=SimpleNamespace(name=dist)) for name, value, dist in entries]
    return lambda group: points if group == "sebench.systems" else []


def test_checkout_pyproject_wins_over_stale_installed_metadata(monkeypatch, unread_metadata) -> None:
    monkeypatch.setattr(bench.registry, "entry_points", fake_metadata(
        ("unprocessed", "old.module:Gone", "sebench"),          # sebench's own, installed before a change
        ("removed-since", "old.module:Removed", "sebench"),
        ("their-denoiser", "their_pkg.model:Denoiser", "their-package")))  # a third-party plugin
    found = declared("sebench.systems")
    assert found["unprocessed"] == ENTRY_POINTS["sebench.systems"]["unprocessed"]
    assert "removed-since" not in found and found["their-denoiser"] == "their_pkg.model:Denoiser"


def test_installed_metadata_is_used_without_a_checkout(monkeypatch, unread_metadata) -> None:
    monkeypatch.setattr(bench.registry, "_checkout_entry_points", lambda: None)
    monkeypatch.setattr(bench.registry, "entry_points", fake_metadata(("unprocessed", "systems.sanity:Unprocessed", "sebench")))
    assert declared("sebench.systems") == {"unprocessed": "systems.sanity:Unprocessed"}
