"""STOI and extended STOI (ESTOI), equal to ``pystoi`` and computed in bounded memory.

Output and reference are compared at the item's own rate (resampled to STOI's 10 kHz with
``pystoi``'s own resampler) after truncating both to the shorter. An all-zero output scores STOI
0.0 and ESTOI close to 0; a silent reference leaves the columns absent.

Why not call ``pystoi.stoi`` directly: it materialises every 384 ms analysis segment at once
(15 bands x 30 frames x 8 bytes per 12.8 ms frame, several copies), about 3.7 MB per second of
audio: a 1-hour input took 10.5 GB. The same computation is done here in blocks of
``SEGMENT_BLOCK`` segments, with silent-frame removal and the STFT streamed over frames; only the
signals themselves and the 15-band envelopes (120 bytes per frame) are held whole. The blocks sum
the same terms, so the results equal ``pystoi``'s to rounding (tested to 1e-9).

Items too short for STOI (fewer than 30 frames, about 0.4 s of non-silent reference, where
``pystoi`` raises an ``AxisError`` or returns a 1e-5 placeholder) are a per-item error that says so.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bench.metric import Column, Metric, ScoringContext, register_metric
from bench.metrics._common import mean_columns, reference_pairs

FS = 10000
"""STOI's internal rate."""
N_FRAME = 256
HOP = N_FRAME // 2
NFFT = 512
N_BANDS = 15
MIN_FREQ = 150
N_SEGMENT = 30
"""Frames per analysis segment (384 ms)."""
BETA = -15.0
"""Lower signal-to-distortion bound of the clipping step, in dB."""
DYN_RANGE = 40.0
"""Frames this many dB below the loudest reference frame count as silent and are removed."""
SEGMENT_BLOCK = 256
"""Segments (and STFT frames) processed per block: about 1 MB per working array."""
EPS = np.finfo("float").eps


def _window() -> np.ndarray:
    return np.hanning(N_FRAME + 2)[1:-1]


def _frame_starts(length: int) -> range:
    return range(0, length - N_FRAME, HOP)


def _frames(signal: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Windowed frames at ``starts`` (one block), shape (len(starts), N_FRAME)."""
    return _window() * sliding_window_view(signal, N_FRAME)[starts]


def remove_silent_frames(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop frames whose reference energy is more than DYN_RANGE dB below the loudest, and
    overlap-add the kept frames of both signals (STOI's first step), block by block."""
    starts = np.asarray(_frame_starts(len(x)))
    energies = np.concatenate([
        20 * np.log10(np.linalg.norm(_frames(x, block), axis=1) + EPS)
        for block in np.array_split(starts, max(1, -(-len(starts) // SEGMENT_BLOCK)))
    ]) if len(starts) else np.empty(0)
    kept = starts[(np.max(energies, initial=-np.inf) - DYN_RANGE - energies) < 0]
    if not len(kept):
        return np.empty(0), np.empty(0)
    outputs = []
    for signal in (x, y):
        out = np.zeros((len(kept) + 1) * HOP)
        for first in range(0, len(kept), SEGMENT_BLOCK):
            frames = _frames(signal, kept[first:first + SEGMENT_BLOCK])
            at = first * HOP
            out[at:at + len(frames) * HOP] += frames[:, :HOP].reshape(-1)
            out[at + HOP:at + (len(frames) + 1) * HOP] += frames[:, HOP:].reshape(-1)
        outputs.append(out[: (len(kept) - 1) * HOP + N_FRAME])
    return outputs[0], outputs[1]


def band_envelopes(signal: np.ndarray) -> np.ndarray:
    """One-third octave band magnitudes per STFT frame, shape (N_BANDS, frames)."""
    from pystoi.utils import thirdoct

    bands = thirdoct(FS, NFFT, N_BANDS, MIN_FREQ)[0]
    starts = np.asarray(_frame_starts(len(signal)))
    blocks = [np.sqrt(bands @ np.square(np.abs(np.fft.rfft(_frames(signal, starts[i:i + SEGMENT_BLOCK]), n=NFFT))).T)
              for i in range(0, len(starts), SEGMENT_BLOCK)]
    return np.concatenate(blocks, axis=1) if blocks else np.empty((N_BANDS, 0))


def _segments(envelopes: np.ndarray, first: int, count: int) -> np.ndarray:
    """Segments ``first .. first+count-1`` (each N_SEGMENT frames), shape (count, N_BANDS, N_SEGMENT)."""
    window = envelopes[:, first:first + count + N_SEGMENT - 1]
    return np.ascontiguousarray(sliding_window_view(window, N_SEGMENT, axis=1).transpose(1, 0, 2))


def _stoi_block(x: np.ndarray, y: np.ndarray) -> float:
    """Sum of the correlation terms of a block of segments (Taal et al. 2011, eq. 3-5)."""
    gain = np.linalg.norm(x, axis=2, keepdims=True) / (np.linalg.norm(y, axis=2, keepdims=True) + EPS)
    clipped = np.minimum(y * gain, x * (1 + 10 ** (-BETA / 20)))
    clipped -= np.mean(clipped, axis=2, keepdims=True)
    x = x - np.mean(x, axis=2, keepdims=True)
    clipped /= np.linalg.norm(clipped, axis=2, keepdims=True) + EPS
    x /= np.linalg.norm(x, axis=2, keepdims=True) + EPS
    return float(np.sum(clipped * x))


def _estoi_block(x: np.ndarray, y: np.ndarray) -> float:
    """Sum of the row- and column-normalised products of a block (Jensen & Taal 2016)."""
    from pystoi.utils import row_col_normalize

    return float(np.sum(row_col_normalize(x) * row_col_normalize(y) / N_SEGMENT))


def stoi(reference: np.ndarray, output: np.ndarray, rate: int, *, extended: bool = False) -> float:
    """STOI (or ESTOI) of ``output`` against ``reference``, both at ``rate``, same length."""
    from pystoi.utils import resample_oct

    def at_stoi_rate(signal: np.ndarray) -> np.ndarray:  # one float64 copy alive at a time
        signal = np.asarray(signal, dtype=np.float64)
        return signal if rate == FS else resample_oct(signal, FS, rate)

    x, y = remove_silent_frames(at_stoi_rate(reference), at_stoi_rate(output))
    x_env, y_env = band_envelopes(x), band_envelopes(y)
    frames = x_env.shape[1]
    if frames < N_SEGMENT:
        raise ValueError(f"too short for STOI: it needs {N_SEGMENT} frames ({N_SEGMENT * HOP / FS:.3f} s) of "
                         f"non-silent reference, this item has {frames} ({len(reference)} samples at {rate} Hz)")
    count = frames - N_SEGMENT + 1
    block_sum = _estoi_block if extended else _stoi_block
    total = sum(block_sum(_segments(x_env, first, min(SEGMENT_BLOCK, count - first)),
                          _segments(y_env, first, min(SEGMENT_BLOCK, count - first)))
                for first in range(0, count, SEGMENT_BLOCK))
    return total / count if extended else total / (count * N_BANDS)


@register_metric("stoi")
class STOI(Metric):
    columns = (
        Column("STOI", higher_is_better=True, lower=0.0, upper=1.0),
        Column("ESTOI", higher_is_better=True, lower=-1.0, upper=1.0),
    )
    needs = frozenset({"reference"})
    options: dict = {}
    implementation_version = "2"  # blockwise (bounded memory); equal to pystoi to rounding
    handles_sources = True

    def load(self) -> None:
        """Import pystoi once per worker (it pulls in scipy.signal and friends: seconds, not ms)."""
        import pystoi  # noqa: F401

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        rate = ctx.item_rate
        return mean_columns([{"STOI": stoi(reference, output, rate), "ESTOI": stoi(reference, output, rate, extended=True)}
                             for reference, output in reference_pairs(ctx, rate)])
