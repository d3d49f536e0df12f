"""Spectrogram images for the listening page: one PNG per distinct clip, written once.

Every image uses the same analysis (32 ms Hann window, 8 ms hop, power in dB re full scale) and
the same colour range, so the input, the reference and each system's output of an item can be
compared by eye, as on the field's demo pages. Images are named by the clip's content hash plus
the analysis version, so a clip shared by two rows (the oracle's output is the reference) is drawn
once, and re-rendering a page redraws nothing that is already there.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

ANALYSIS = "v1:hann32ms:hop8ms:db-80..0:magma:128x480"
"""Part of every image's name: change it with any parameter below and every image is redrawn."""
WINDOW_S, HOP_S = 0.032, 0.008
FLOOR_DB, CEILING_DB = -80.0, 0.0
HEIGHT, MAX_WIDTH = 128, 480
COLORMAP = "magma"


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pool(values: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Mean over ``size`` nearly equal consecutive groups along ``axis`` (no-op when already small)."""
    if values.shape[axis] <= size:
        return values
    edges = np.linspace(0, values.shape[axis], size + 1).astype(int)
    return np.add.reduceat(values, edges[:-1], axis=axis) / np.diff(edges).reshape(
        (-1, 1) if axis == 0 else (1, -1))


def power_db(audio: np.ndarray, rate: int) -> np.ndarray:
    """(frequency rows, time columns) power in dB re a full-scale sine, pooled to the image size."""
    window = int(round(WINDOW_S * rate))
    hop = max(1, int(round(HOP_S * rate)))
    audio = np.asarray(audio, dtype=np.float64)
    if audio.size < window:
        audio = np.pad(audio, (0, window - audio.size))
    frames = np.lib.stride_tricks.sliding_window_view(audio, window)[::hop]
    taper = np.hanning(window)
    spectrum = np.fft.rfft(frames * taper, axis=1)
    power = (np.abs(spectrum) / (taper.sum() / 2)) ** 2
    power = _pool(_pool(power.T, HEIGHT, axis=0), MAX_WIDTH, axis=1)
    return 10.0 * np.log10(np.maximum(power, 10 ** (FLOOR_DB / 10)))


def spectrogram_png(source: Path, folder: Path) -> Path:
    """The image of ``source`` in ``folder``, drawing it only if it is not there yet."""
    target = folder / f"{hashlib.sha256((file_digest(source) + ANALYSIS).encode()).hexdigest()[:20]}.png"
    if target.is_file():
        return target
    audio, rate = sf.read(source, dtype="float64", always_2d=True)
    image = power_db(audio.mean(axis=1), rate)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".png")
    os.close(handle)
    plt.imsave(temporary, image, cmap=COLORMAP, vmin=FLOOR_DB, vmax=CEILING_DB, origin="lower", format="png",
               metadata={"Software": None})
    os.chmod(temporary, 0o644)
    os.replace(temporary, target)
    return target
