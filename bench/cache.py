"""Content-addressed cache of enhanced audio and of scores.

Keys (DESIGN.md): enhanced audio by (system card identity, task, hashes of every input the system
sees); scores by (output audio hash, hashes of the reference signals and text the metric reads,
metric version). A changed system config, checkpoint or input therefore misses the cache and
nothing else does. Entries are written atomically, so concurrent workers and killed runs can only
ever leave complete files.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Mapping

import numpy as np

from bench.audio import load_audio, write_audio
from bench.hashing import digest, file_sha256
from bench.item import Item


def content_hash(path: Path | None) -> str | None:
    """sha256 of an item file's bytes (memoised, see ``bench.hashing``); None for an absent one."""
    return None if path is None else file_sha256(path)


def enhancement_key(system_identity: str, item: Item, uses_reference: bool) -> str:
    payload = {
        "system": system_identity,
        "task": item.task,
        "input": content_hash(item.input),
        "enrollment": content_hash(item.enrollment),
        "far_end": content_hash(item.far_end),
        "loss_trace": list(item.loss_trace) if item.loss_trace is not None else None,
        "reference": content_hash(item.reference) if uses_reference else None,
    }
    return digest(payload)


def score_key(metric_version: str, output_hash: str, item: Item) -> str:
    """Everything a metric may read besides the output: its version, the item's signals and labels."""
    payload = {
        "metric": metric_version,
        "output": output_hash,
        "task": item.task,
        "input": content_hash(item.input),
        "reference": content_hash(item.reference),
        "enrollment": content_hash(item.enrollment),
        "far_end": content_hash(item.far_end),
        "loss_trace": list(item.loss_trace) if item.loss_trace is not None else None,
        "transcript": item.transcript,
        "talk_type": item.talk_type,
    }
    return digest(payload)


class Cache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def audio_path(self, key: str) -> Path:
        return self.root / "audio" / key[:2] / f"{key}.wav"

    def get_audio(self, key: str) -> tuple[np.ndarray, int] | None:
        path = self.audio_path(key)
        if not path.exists():
            return None
        return load_audio(path)

    def put_audio(self, key: str, audio: np.ndarray, sample_rate: int) -> Path:
        path = self.audio_path(key)
        write_audio(path, audio, sample_rate)
        return path

    def _score_path(self, key: str) -> Path:
        return self.root / "scores" / key[:2] / f"{key}.json"

    def get_scores(self, key: str) -> dict[str, float] | None:
        path = self._score_path(key)
        if not path.exists():
            return None
        return json.loads(path.read_text())

    def put_scores(self, key: str, scores: Mapping[str, float]) -> None:
        path = self._score_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            json.dump(dict(scores), f)
        os.replace(tmp, path)
