"""Audio I/O, resampling and hashing shared by every system, metric and loader.

Everything inside the harness is mono float32 in [-1, 1]; conversion happens here once so no adapter
has to guess a file's layout. Multi-channel files contribute their first channel, as the LLaSE and
DNS reference scripts do.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from bench.errors import AudioError
from bench.hashing import file_sha256  # noqa: F401  (systems import it from here)

PathLike = str | os.PathLike[str]


def load_audio(path: PathLike, sample_rate: int | None = None, *, expected_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read a file as mono float32; resample to ``sample_rate`` if given.

    ``expected_rate`` is the rate the data set declares for this file: a mismatch is an error naming
    the file, because silently resampling a mislabelled file hides a broken data set.
    """
    path = Path(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types (LibsndfileError, RuntimeError, TypeError)
        raise AudioError(f"cannot read audio file {path}: {exc}") from exc
    if data.shape[0] == 0:
        raise AudioError(f"audio file {path} is empty")
    if expected_rate is not None and rate != expected_rate:
        raise AudioError(f"audio file {path} is at {rate} Hz, expected {expected_rate} Hz")
    mono = np.ascontiguousarray(data[:, 0])
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"audio file {path} contains NaN or infinite samples")
    if sample_rate is not None and sample_rate != rate:
        return resample(mono, rate, sample_rate), sample_rate
    return mono, rate


def audio_info(path: PathLike) -> tuple[int, int]:
    """(sample rate, frames) without decoding the file."""
    try:
        info = sf.info(str(path))
    except Exception as exc:
        raise AudioError(f"cannot read audio file {path}: {exc}") from exc
    return info.samplerate, info.frames


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """soxr 'HQ' resampling; output length is round(len * rate_out / rate_in)."""
    if rate_in == rate_out:
        return np.asarray(audio, dtype=np.float32)
    out = soxr.resample(np.asarray(audio, dtype=np.float32), rate_in, rate_out, quality="HQ")
    return np.asarray(out, dtype=np.float32)


def fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad at the end to ``length`` samples (used after a round-trip resample)."""
    if len(audio) >= length:
        return audio[:length]
    return np.pad(audio, (0, length - len(audio)))


def align(*signals: np.ndarray) -> tuple[np.ndarray, ...]:
    """The documented alignment rule for intrusive metrics: truncate all signals to the shortest."""
    n = min(len(s) for s in signals)
    return tuple(s[:n] for s in signals)


def write_audio(path: PathLike, audio: np.ndarray, sample_rate: int, *, subtype: str = "FLOAT") -> None:
    """Atomic write (temp file + rename) so a killed run never leaves a truncated file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = "WAV" if path.suffix.lower() == ".wav" else None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    os.close(fd)
    try:
        sf.write(tmp, np.asarray(audio, dtype=np.float32), sample_rate, subtype=subtype, format=fmt)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def audio_hash(audio: np.ndarray, sample_rate: int) -> str:
    """sha256 of the float32 samples and the rate: the content address of a waveform."""
    h = hashlib.sha256()
    h.update(str(int(sample_rate)).encode())
    h.update(np.ascontiguousarray(audio, dtype=np.float32).tobytes())
    return h.hexdigest()
