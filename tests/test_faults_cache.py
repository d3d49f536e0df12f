"""Fault injection, cache: damaged entries are misses that get recomputed, never results; cache files
are readable as the umask allows (README, "Failure handling")."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from faults_support import (  # noqa: F401  (clean, fault_plugin: fixtures)
    assert_kept, clean, config, fault_plugin, make_dataset, run,
)


# --- damaged cache entries --------------------------------------------------------------------


def _cache_files(tmp_path: Path, kind: str) -> list[Path]:
    suffix = {"audio": ".wav", "scores": ".json"}[kind]
    return sorted(p for p in (tmp_path / "cache" / kind).rglob(f"*{suffix}") if not p.name.startswith("."))


CACHE_DAMAGE = {
    "audio-truncated": ("audio", lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])),
    "audio-garbage": ("audio", lambda p: p.write_bytes(b"RIFF....WAVEnot really")),
    "audio-empty": ("audio", lambda p: p.write_bytes(b"")),
    "audio-other-valid-wav": ("audio", lambda p: sf.write(p, np.full(8000, 0.2, np.float32), 16000, subtype="FLOAT")),
    "scores-truncated": ("scores", lambda p: p.write_text(p.read_text()[:7])),
    "scores-not-a-mapping": ("scores", lambda p: p.write_text("[1, 2, 3]")),
    "scores-tampered": ("scores", lambda p: p.write_text(p.read_text().replace("SISDR\": ", "SISDR\": 1"))),
    "scores-empty": ("scores", lambda p: p.write_text("")),
}


@pytest.mark.parametrize("damage", sorted(CACHE_DAMAGE))
def test_a_damaged_cache_entry_is_a_miss_not_a_result(tmp_path, fault_plugin, clean, damage):
    data = make_dataset(tmp_path / "data")
    systems = ("fault", "unprocessed")
    run(config(tmp_path, data, systems, name="first"))
    kind, hurt = CACHE_DAMAGE[damage]
    files = _cache_files(tmp_path, kind)
    assert files
    for path in files:
        hurt(path)
    again = run(config(tmp_path, data, systems, name="second"))  # a new run reads the cache
    assert_kept(again, clean(systems), set())
    assert all(p.stat().st_size > 0 for p in _cache_files(tmp_path, kind))  # rewritten whole


def test_cache_files_are_readable_by_others_as_the_umask_allows(tmp_path, fault_plugin):
    data = make_dataset(tmp_path / "data")
    previous = os.umask(0o022)
    try:
        run(config(tmp_path, data, ["fault"]))
    finally:
        os.umask(previous)
    files = _cache_files(tmp_path, "audio") + _cache_files(tmp_path, "scores")
    assert files
    modes = {stat.S_IMODE(p.stat().st_mode) for p in files}
    assert modes == {0o644}, [oct(m) for m in modes]
