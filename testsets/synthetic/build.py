"""Builds the synthetic suite once, subset by subset, into content-named folders with manifests.

Folder: ``sebench_home()/synthetic/<key>/<subset>/`` where ``key`` is a short hash of (builder
version, seed, items per subset, sample rate), so any change to what would be generated lands in a
new folder and an old build is never half-overwritten. Each subset is built in a temporary sibling
folder that is renamed into place only when complete; its ``manifest.json`` (items, labels and
every file's sha256) is written last, so its presence means the subset is whole. Subsets are
independent, so asking for one builds only that one.

Files are IEEE-float WAVs written by scipy: libsndfile's float WAVs carry a PEAK chunk with a
timestamp, which would make two builds of the same seed differ byte-wise.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.audio import file_sha256
from bench.errors import SebenchError
from bench.paths import sebench_home

if TYPE_CHECKING:
    from testsets.synthetic.recipes import Case

SUBSETS = ("no_reverb", "with_reverb", "declip", "plc", "tse", "aec")
"""The recipes' subsets in build order (``recipes.RECIPES``; tested equal), named here so that loading a
built suite never imports the recipes (scipy.signal, pyroomacoustics: seconds)."""

BUILDER_VERSION = "3"
"""Bump whenever a recipe, voice list, sentence list or noise generator changes output."""

MANIFEST = "manifest.json"


def build_key(seed: int, n_per_subset: int, sample_rate: int) -> str:
    payload = json.dumps({"builder": BUILDER_VERSION, "seed": seed, "n": n_per_subset, "rate": sample_rate}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def suite_root(seed: int, n_per_subset: int, sample_rate: int) -> Path:
    return sebench_home() / "synthetic" / build_key(seed, n_per_subset, sample_rate)


def item_rng(seed: int, subset: str, index: int) -> np.random.Generator:
    """Independent stream per (seed, subset, item): items do not shift when others change."""
    return np.random.default_rng([seed, SUBSETS.index(subset), index])


def _write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    from scipy.io import wavfile

    wavfile.write(path, sample_rate, np.asarray(audio, dtype=np.float32))


def _write_case(folder: Path, subset: str, index: int, case: Case, sample_rate: int) -> dict[str, Any]:
    stem = f"{index:03d}"
    record: dict[str, Any] = {
        "id": f"{subset}/{stem}",
        "task": case.task,
        "subset": subset,
        "transcript": case.transcript,
        "talk_type": case.talk_type,
        "loss_trace": list(case.loss_trace) if case.loss_trace is not None else None,
        "meta": case.meta,
        "files": {},
        "sha256": {},
    }
    for field_name, audio in case.signals.items():
        name = f"{stem}_{field_name}.wav"
        _write_wav(folder / name, audio, sample_rate)
        record["files"][field_name] = name
        record["sha256"][name] = file_sha256(folder / name)
    return record


def build_subset(seed: int, n_per_subset: int, sample_rate: int, subset: str) -> Path:
    """Build one subset if its folder is missing; return the folder. Safe against concurrent
    builds: the loser of the rename race discards its copy and uses the winner's."""
    folder = suite_root(seed, n_per_subset, sample_rate) / subset
    if (folder / MANIFEST).is_file():
        return folder
    from testsets.synthetic.recipes import RECIPES

    recipe = RECIPES[subset]
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".build-{subset}-", dir=folder.parent))
    try:
        items = [
            _write_case(staging, subset, index, recipe(item_rng(seed, subset, index), index, sample_rate), sample_rate)
            for index in range(n_per_subset)
        ]
        manifest = {
            "builder_version": BUILDER_VERSION,
            "seed": seed,
            "n_per_subset": n_per_subset,
            "sample_rate": sample_rate,
            "subset": subset,
            "items": items,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        if folder.exists() and not (folder / MANIFEST).is_file():
            shutil.rmtree(folder)  # debris from an interrupted manual copy; builds themselves are atomic
        try:
            os.rename(staging, folder)
        except OSError:
            if not (folder / MANIFEST).is_file():
                raise
            # a concurrent build finished first; its files are identical to ours
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def load_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SebenchError(f"synthetic suite manifest {path} is unreadable ({exc}); delete {folder} to rebuild") from exc
