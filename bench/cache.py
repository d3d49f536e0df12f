"""Content-addressed cache of enhanced audio and of scores.

Keys (DESIGN.md): enhanced audio by (system card identity, task, hashes of every input the system
sees); scores by (output audio hash, hashes of the reference signals and text the metric reads,
metric version). A changed system config, checkpoint or input therefore misses the cache and
nothing else does. Entries are written atomically (``bench.files``), so concurrent workers and
killed runs can only ever leave complete files, and checked when read, so a file damaged later is
recomputed rather than trusted.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Mapping

import numpy as np
import soundfile as sf

from bench.audio import audio_hash, encode_audio
from bench.errors import AudioError
from bench.files import atomic_write_bytes
from bench.hashing import digest, file_sha256
from bench.item import Item


def content_hash(path: Path | None, role: str = "input") -> str | None:
    """sha256 of an item file's bytes (memoised, see ``bench.hashing``); None for an absent one.

    A missing or unreadable file is an ``AudioError`` naming it and its role, so the item fails
    alone instead of the whole run (the cache key is the first thing that touches the file).
    """
    if path is None:
        return None
    try:
        return file_sha256(path)
    except FileNotFoundError:
        raise AudioError(f"{role} file {path} does not exist") from None
    except OSError as exc:
        raise AudioError(f"cannot read {role} file {path}: {exc.strerror or exc}") from None


def check_item_files(item: Item) -> None:
    """Hash every file the item names (memoised), so one that is missing fails the item up front,
    for every system, before any model is loaded or output computed."""
    for role, path in item.files():
        content_hash(path, role.replace("_", "-"))


def enhancement_key(system_identity: str, item: Item, uses_reference: bool) -> str:
    payload = {
        "system": system_identity,
        "task": item.task,
        "input": content_hash(item.input),
        "enrollment": content_hash(item.enrollment, "enrollment"),
        "far_end": content_hash(item.far_end, "far-end"),
        "loss_trace": list(item.loss_trace) if item.loss_trace is not None else None,
        "reference": content_hash(item.reference, "reference") if uses_reference else None,
    }
    if item.extra_references:  # separation: the number of sources, and every reference for the oracle
        payload["sources"] = item.sources
        payload["extra_references"] = [content_hash(p, "reference") for p in item.extra_references] if uses_reference else None
    return digest(payload)


def score_key(metric_version: str, output_hash: str, item: Item) -> str:
    """Everything a metric may read besides the output: its version, the item's signals and labels."""
    payload = {
        "metric": metric_version,
        "output": output_hash,
        "task": item.task,
        "input": content_hash(item.input),
        "reference": content_hash(item.reference, "reference"),
        "enrollment": content_hash(item.enrollment, "enrollment"),
        "far_end": content_hash(item.far_end, "far-end"),
        "loss_trace": list(item.loss_trace) if item.loss_trace is not None else None,
        "transcript": item.transcript,
        "talk_type": item.talk_type,
    }
    if item.extra_references:  # added only when present, so every other item keeps its key
        payload["extra_references"] = [content_hash(p, "reference") for p in item.extra_references]
    return digest(payload)


AUDIO_TAG = "sebench-audio-sha256:"
"""Prefix of the content hash a cached WAV carries in its comment (INFO chunk)."""


class Cache:
    """Entries are checked on every read: a cached WAV against the hash of its samples stored in
    the file itself, a score file against the checksum stored beside the scores. A damaged entry (a
    truncated copy, a disk error, a hand edit) is a miss and gets recomputed, never a result.

    All file access goes through ``_read`` and ``_write``, so a subclass can keep the same entries
    elsewhere (``bench.fsspec_cache``: an object store every cluster node reaches)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def audio_path(self, key: str) -> Path:
        return self.root / "audio" / key[:2] / f"{key}.wav"

    def _score_path(self, key: str) -> Path:
        return self.root / "scores" / key[:2] / f"{key}.json"

    def _read(self, path: Path) -> bytes | None:
        """An entry's bytes; None if it is absent or unreadable."""
        try:
            return Path(path).read_bytes()
        except OSError:
            return None

    def _write(self, path: Path, data: bytes) -> None:
        atomic_write_bytes(Path(path), data)

    def get_audio(self, key: str) -> tuple[np.ndarray, int] | None:
        data = self._read(self.audio_path(key))
        if data is None:
            return None
        try:
            with sf.SoundFile(io.BytesIO(data)) as f:
                stored, rate = f.comment, f.samplerate
                frames = f.read(dtype="float32", always_2d=True)
        except (RuntimeError, OSError):  # unreadable (soundfile's errors are RuntimeErrors): damaged
            return None
        # mono as 1-D; a separation output (one channel per source) as (sources, samples)
        audio = np.ascontiguousarray(frames[:, 0] if frames.shape[1] == 1 else frames.T)
        if stored != AUDIO_TAG + audio_hash(audio, rate):  # truncated, replaced or edited
            return None
        return audio, rate

    def put_audio(self, key: str, audio: np.ndarray, sample_rate: int) -> Path:
        path = self.audio_path(key)
        self._write(path, encode_audio(audio, sample_rate, comment=AUDIO_TAG + audio_hash(audio, sample_rate)))
        return path

    def get_scores(self, key: str) -> dict[str, float] | None:
        data = self._read(self._score_path(key))
        try:
            entry = json.loads(data)  # type: ignore[arg-type]  # None: absent, a TypeError below
            scores = entry["scores"]
            if entry["key"] != key or entry["sha256"] != digest(scores):
                return None
            return {str(column): float(value) for column, value in scores.items()}
        except (ValueError, TypeError, KeyError, AttributeError):  # absent or damaged: a miss
            return None

    def put_scores(self, key: str, scores: Mapping[str, float]) -> None:
        scores = dict(scores)
        entry = {"key": key, "scores": scores, "sha256": digest(scores)}
        self._write(self._score_path(key), json.dumps(entry).encode())
