"""Audio I/O, resampling and hashing shared by every system, metric and loader.

Everything inside the harness is mono float32 in [-1, 1]; conversion happens here once so no adapter
has to guess a file's layout. Multi-channel files contribute their first channel, as the LLaSE and
DNS reference scripts do.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from bench.errors import AudioError
from bench.files import atomic_write_bytes
from bench.hashing import file_sha256  # noqa: F401  (systems import it from here)

PathLike = str | os.PathLike[str]


PEAK_LIMIT = 10.0
"""Largest sample magnitude sebench accepts in an input file or a system's output (+20 dBFS).

Float WAVs may legitimately exceed 1.0 a little (a mix that clipped, a declipper's restored peaks);
anything beyond 10 is a scaling bug, almost always integer PCM values stored as float (peaks in the
thousands), and no metric result on it would mean anything."""


def peak_of(audio: np.ndarray) -> float:
    """Largest sample magnitude, without a temporary array the size of the signal."""
    return float(max(np.max(audio, initial=0.0), -np.min(audio, initial=0.0)))


def _check_exists(path: Path) -> None:
    try:
        os.stat(path)
    except FileNotFoundError:
        raise AudioError(f"audio file {path} does not exist") from None
    except OSError as exc:
        raise AudioError(f"cannot read audio file {path}: {exc.strerror or exc}") from None


def _missing_wav_bytes(path: Path) -> tuple[int, int] | None:
    """(bytes of samples the WAV header declares, bytes present) when the data chunk is cut short.

    libsndfile quietly reads whatever part of the data chunk is there; a file truncated by a failed
    copy or download would then be scored as if it were complete. Streams written with an unknown
    length (size 0 or 0xFFFFFFFF, as pipes produce) and non-RIFF files are not judged here.
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return None
                declared = int.from_bytes(chunk[4:], "little")
                if chunk[:4] == b"data":
                    present = size - f.tell()
                    if declared in (0, 0xFFFFFFFF) or present >= declared:
                        return None
                    return declared, present
                f.seek(declared + (declared & 1), os.SEEK_CUR)
    except OSError:
        return None


def load_audio(path: PathLike, sample_rate: int | None = None, *, expected_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read a file as mono float32; resample to ``sample_rate`` if given.

    ``expected_rate`` is the rate the data set declares for this file: a mismatch is an error naming
    the file, because silently resampling a mislabelled file hides a broken data set. So are a
    missing file, a WAV whose data chunk is shorter than its header declares, NaN/inf samples and
    peaks beyond ``PEAK_LIMIT``.
    """
    path = Path(path)
    _check_exists(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types (LibsndfileError, RuntimeError, TypeError)
        raise AudioError(f"cannot read audio file {path}: {exc}") from exc
    if data.shape[0] == 0:
        raise AudioError(f"audio file {path} is empty")
    missing = _missing_wav_bytes(path)
    if missing is not None:
        raise AudioError(f"audio file {path} is truncated: its header declares {missing[0]} bytes of samples, "
                         f"only {missing[1]} are there")
    if expected_rate is not None and rate != expected_rate:
        raise AudioError(f"audio file {path} is at {rate} Hz, expected {expected_rate} Hz")
    mono = np.ascontiguousarray(data[:, 0])
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"audio file {path} contains NaN or infinite samples")
    peak = peak_of(mono)
    if peak > PEAK_LIMIT:
        raise AudioError(f"audio file {path} peaks at {peak:.6g}, beyond +/-{PEAK_LIMIT:g}: integer sample values "
                         "stored as float? Scale it to [-1, 1]")
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


def encode_audio(audio: np.ndarray, sample_rate: int, *, format: str = "WAV", subtype: str = "FLOAT",
                 comment: str | None = None) -> bytes:
    """An audio file's bytes (libsndfile writing into memory; ``comment`` goes into its metadata).
    A ``(sources, samples)`` array (a separation output) is written one channel per source."""
    audio = np.asarray(audio, dtype=np.float32)
    frames = audio.T if audio.ndim == 2 else audio
    buffer = io.BytesIO()
    with sf.SoundFile(buffer, "w", sample_rate, 1 if audio.ndim == 1 else audio.shape[0], subtype=subtype,
                      format=format) as f:
        if comment is not None:
            f.comment = comment
        f.write(frames)
    return buffer.getvalue()


def write_audio(path: PathLike, audio: np.ndarray, sample_rate: int, *, subtype: str = "FLOAT",
                comment: str | None = None) -> None:
    """Atomic write with ordinary permissions (``bench.files``), in the format the suffix names (WAV
    by default): a killed run never leaves a truncated file, and a full disk is a ``StorageError``
    naming the file, not libsndfile's "System error" (encoding happens in memory first)."""
    path = Path(path)
    format = path.suffix[1:].upper() or "WAV"
    atomic_write_bytes(path, encode_audio(audio, sample_rate, format=format, subtype=subtype, comment=comment))


def audio_hash(audio: np.ndarray, sample_rate: int) -> str:
    """sha256 of the float32 samples and the rate: the content address of a waveform."""
    h = hashlib.sha256()
    h.update(str(int(sample_rate)).encode())
    h.update(np.ascontiguousarray(audio, dtype=np.float32).tobytes())
    return h.hexdigest()
