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
