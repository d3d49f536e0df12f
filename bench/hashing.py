"""The one place file contents and payloads are hashed.

``file_sha256`` is memoised per (path, size, mtime) within a process, because cache keys and metric
versions ask for the same input and model files again and again; files of 256 MB and more (LLM
checkpoints) are also memoised on disk under ``$SEBENCH_HOME``, so a multi-GB checkpoint is hashed
once per machine, not once per process. Clearing the output cache keeps that memo.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from bench.paths import sebench_home

PathLike = str | os.PathLike[str]

LARGE_FILE_BYTES = 256 << 20
"""Files at least this large are memoised on disk too."""


def digest(payload: Mapping[str, Any]) -> str:
    """sha256 of a JSON-able mapping, independent of key order: cache keys and card identities."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _read_sha256(path: PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: PathLike) -> str:
    """sha256 of a file's bytes; recomputed only when the file's size or mtime changes."""
    stat = os.stat(path)
    return _memoised(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=65536)
def _memoised(path: str, size: int, mtime_ns: int) -> str:
    if size < LARGE_FILE_BYTES:
        return _read_sha256(path)
    return _on_disk(path, size, mtime_ns)


def _memo_path() -> Path:
    return sebench_home() / "weights-sha256.json"


def _on_disk(path: str, size: int, mtime_ns: int) -> str:
    key = f"{path}|{size}|{mtime_ns}"
    memo_path = _memo_path()
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if key not in memo:
        memo[key] = _read_sha256(path)
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo, indent=1, sort_keys=True))
        os.replace(tmp, memo_path)
    return memo[key]
