"""Shared fixtures: real audio from ../shared (skipped when absent) and an isolated SEBENCH_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.paths import shared_data_root


@pytest.fixture
def shared_data() -> Path:
    root = shared_data_root()
    if root is None:
        pytest.skip("../shared/data is not present")
    return root


@pytest.fixture
def sebench_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "sebench-home"
    monkeypatch.setenv("SEBENCH_HOME", str(home))
    return home


PLUGINS_DIR = Path(__file__).parent / "plugins"


@pytest.fixture
def toy_plugin(monkeypatch: pytest.MonkeyPatch):
    """The test plugin, importable in this process and in subprocesses."""
    import sys

    monkeypatch.syspath_prepend(str(PLUGINS_DIR))
    monkeypatch.setenv("PYTHONPATH", str(PLUGINS_DIR) + ":" + __import__("os").environ.get("PYTHONPATH", ""))
    import sebench_toy_plugin

    return sebench_toy_plugin
