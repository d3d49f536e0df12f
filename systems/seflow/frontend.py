"""Sampling-rate agnostic, causal STFT front end.

Why this shape:

* **Fixed durations, not fixed sizes.** The window is 20 ms and the hop 10 ms at every rate, so a
  bin is always 50 Hz wide and bin ``k`` is the same frequency at 8, 16, 24 and 48 kHz: the bins of
  a lower rate are a prefix of the bins of a higher one. The network never sees bins; it sees a fixed
  set of ``N_BANDS`` bands laid out in Hz over 0-24 kHz (bands above the input's Nyquist are empty)
  plus the ``N_FINE`` bins under 4 kHz, which exist at every supported rate. So one set of weights
  serves every rate with no resampling, and the per-frame cost of the network does not depend on it.
* **Look-ahead below one hop.** The analysis window is asymmetric (a long rise, a short partial
  fall) and each frame synthesises only its last hop, with the inverse of the window there, so no
  overlap-add waits on a future frame. Output sample ``n`` depends on input up to the end of its
  hop: a look-ahead of at most ``hop - 1`` samples (9.98 ms at 48 kHz), i.e. below one hop.
* **Rate-independent levels.** Spectra are divided by the window sum, so a tone or a noise with a
  given power per Hz gives the same feature value at every rate.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

WINDOW_SECONDS = 0.020
HOP_SECONDS = 0.010
BIN_HZ = 1.0 / WINDOW_SECONDS
MAX_RATE = 48000
N_BANDS = 32
N_FINE = 81
"""Bins 0..80 = 0..4 kHz at 50 Hz: present at every rate >= 8 kHz, modelled at full resolution
(harmonics of voiced speech are resolved there)."""
N_FEATURES = N_BANDS + N_FINE
FILL_TAPS = (2, 4)
"""Concealment taps: the input spectrum 2 and 4 hops (20 and 40 ms) back. Bins are 50 Hz apart and
a hop is 10 ms, so two hops hold a whole number of periods of every bin centre: these copies
continue stationary partials in phase. Weighted per band by the network, they are a learned
repeat-the-last-packet, the one thing a gain alone cannot do (a lost packet is all zeros). They act
only on lost hops (``lost_hops``): elsewhere a stale copy can only hurt, and gating them there
leaves the lost frames as the taps' whole training signal."""
GAIN_OUTPUTS = N_FEATURES + len(FILL_TAPS) * N_BANDS
"""Head outputs per frame of the gain stage: band gains, fine-bin gains, then one band weight vector
per fill tap."""
DF_BINS = N_FINE
"""The complex filter acts on the bins under 4 kHz, where the phase inputs are (``phase_features``)."""


def n_outputs(df_order: int) -> int:
    """Head outputs per frame: the gain stage, then ``df_order`` complex filter taps per low bin
    (real parts, then imaginary parts, tap by tap)."""
    return GAIN_OUTPUTS + 2 * df_order * DF_BINS


def n_frame_features(df_order: int) -> int:
    """Width of ``network_inputs``: log powers, plus the low bins' phase inputs with a complex filter."""
    return N_FEATURES + (2 * DF_BINS if df_order else 0)


def n_inputs(df_order: int) -> int:
    """Network inputs per frame: features and their distance to the noise floor, plus the phase
    inputs of the low bins when the head has a complex filter to steer."""
    return 2 * N_FEATURES + (2 * DF_BINS if df_order else 0)
FILL_OFFSET = 2.0
"""Fill weights are ``(sigmoid(logit - 2) - sigmoid(-2)) / (1 - sigmoid(-2))``: exactly 0 at logit 0,
so an untrained (zero) head is the identity, and 1 as the logit grows. (An offset of 6 made the
slope at 0 so flat that 133 CPU-minutes of training left the weights at 0.001 on lost frames.)"""
_FILL_AT_ZERO = 1.0 / (1.0 + math.exp(FILL_OFFSET))
MIN_RATE = 8000
FLOOR = 1e-10
MAX_GAIN = 2.0
"""Gains are 2*sigmoid: 1 at logit 0 (identity at initialisation), up to 6 dB of boost for
restoring energy that clipping took away."""


def frame_sizes(sample_rate: int) -> tuple[int, int]:
    """(window, hop) in samples; the rate must make both whole numbers."""
    if sample_rate < MIN_RATE or sample_rate > MAX_RATE or sample_rate % 100:
        raise ValueError(
            f"SEFlow runs at rates from {MIN_RATE} to {MAX_RATE} Hz that are multiples of 100 Hz "
            f"(whole 10 ms hops); got {sample_rate} Hz"
        )
    hop = sample_rate // 100
    return 2 * hop, hop


@lru_cache(maxsize=16)
def analysis_window(sample_rate: int) -> np.ndarray:
    """Rise as a Hann half over 1.5 hops, then fall as a cosine to 0.5 at the frame end.

    The short partial fall keeps side lobes below a rectangular edge while the synthesis gain
    (1 / window over the last hop) stays within [1, 2]."""
    window, hop = frame_sizes(sample_rate)
    rise = (3 * hop) // 2
    n = np.arange(window) + 0.5
    w = np.empty(window)
    w[:rise] = np.sin(0.5 * np.pi * n[:rise] / rise) ** 2
    fall_len = window - rise
    w[rise:] = np.cos((np.pi / 3.0) * (n[rise:] - rise) / fall_len)
    return w.astype(np.float32)


def _erb(f: np.ndarray) -> np.ndarray:
    return 21.4 * np.log10(1.0 + 0.00437 * f)


def _erb_inv(e: np.ndarray) -> np.ndarray:
    return (10 ** (e / 21.4) - 1.0) / 0.00437


@lru_cache(maxsize=1)
def band_centres_hz() -> np.ndarray:
    """ERB-spaced centres over 0-24 kHz, at least two bins (100 Hz) apart."""
    n_bins = MAX_RATE // 100 + 1
    nyq = (n_bins - 1) * BIN_HZ
    centres = [0.0]
    remaining = N_BANDS - 1
    while remaining:
        # Spread what is left evenly on the ERB scale, but never closer than 2 bins.
        step = (_erb(np.array(nyq)) - _erb(np.array(centres[-1]))) / remaining
        nxt = float(_erb_inv(_erb(np.array(centres[-1])) + step))
        centres.append(max(nxt, centres[-1] + 2 * BIN_HZ))
        remaining -= 1
    centres[-1] = nyq
    return np.array(centres)


@lru_cache(maxsize=16)
def band_matrices(sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(analysis (bins, bands), interpolation (bins, bands)) for this rate.

    Triangles in Hz over the 48 kHz bin grid; a rate uses the rows of its own bins, so bands above
    its Nyquist get no energy. Interpolation rows sum to one (linear interpolation between centres).
    """
    n_bins = frame_sizes(sample_rate)[0] // 2 + 1
    freqs = np.arange(MAX_RATE // 100 + 1) * BIN_HZ
    c = band_centres_hz()
    tri = np.zeros((len(freqs), N_BANDS))
    for b in range(N_BANDS):
        lo = c[b - 1] if b > 0 else c[b]
        hi = c[b + 1] if b < N_BANDS - 1 else c[b]
        if b > 0:
            m = (freqs >= lo) & (freqs <= c[b])
            tri[m, b] = (freqs[m] - lo) / (c[b] - lo)
        if b < N_BANDS - 1:
            m = (freqs >= c[b]) & (freqs <= hi)
            tri[m, b] = (hi - freqs[m]) / (hi - c[b])
        tri[freqs == c[b], b] = 1.0
    interp = tri / tri.sum(axis=1, keepdims=True)
    analysis = tri / tri.sum(axis=0, keepdims=True)
    return analysis[:n_bins].astype(np.float32), interp[:n_bins].astype(np.float32)


def stft(audio: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """(batch, samples) -> complex (batch, frames, bins), frames = ceil(samples / hop).

    Frame ``t`` holds input samples ``[(t-1)*hop, (t+1)*hop)`` (zero before the start), so it ends
    exactly where output block ``t`` ends."""
    window, hop = frame_sizes(sample_rate)
    n = audio.shape[-1]
    frames = -(-n // hop)
    padded = torch.nn.functional.pad(audio, (hop, frames * hop - n))
    return spectrum(padded.unfold(-1, window, hop), sample_rate)


def spectrum(frames: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """(..., window) sample frames -> windowed, level-normalised spectra (..., bins)."""
    w = torch.from_numpy(analysis_window(sample_rate)).to(frames.device)
    return torch.fft.rfft(frames * w, dim=-1) / w.sum()


def istft(spec: torch.Tensor, sample_rate: int, length: int) -> torch.Tensor:
    """Inverse of ``stft`` for masked spectra: each frame gives its last hop (no overlap-add)."""
    window, hop = frame_sizes(sample_rate)
    w = torch.from_numpy(analysis_window(sample_rate)).to(spec.real.device)
    frames = torch.fft.irfft(spec * w.sum(), n=window, dim=-1)
    blocks = frames[..., hop:] / w[hop:]
    return blocks.reshape(*blocks.shape[:-2], -1)[..., :length]


def features(spec: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """(batch, frames, N_FEATURES): log band powers and log fine-bin powers, roughly unit-scaled."""
    analysis, _ = band_matrices(sample_rate)
    power = spec.real.square() + spec.imag.square()
    bands = power @ torch.from_numpy(analysis).to(power.device)
    fine = power[..., :N_FINE]
    feats = torch.cat([bands, fine], dim=-1)
    return (torch.log10(feats + FLOOR) + 5.0) / 3.0


FLOOR_FRAMES = 100
"""Noise-floor memory: the minimum of each feature over the last second (minimum statistics)."""


def noise_floor(feats: torch.Tensor, history: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Causal running minimum of each feature over the last ``FLOOR_FRAMES`` frames.

    Why: the distance of a band to its recent minimum is a classic a-priori SNR cue; handing it to
    the network makes stationary-noise suppression a per-frame function it learns in few steps.
    ``history`` holds the previous ``FLOOR_FRAMES - 1`` frames for streaming; returns (floor,
    new history)."""
    keep = FLOOR_FRAMES - 1
    if history is None:
        history = torch.full((feats.shape[0], keep, feats.shape[2]), float("inf"), device=feats.device)
    past = torch.cat([history, feats], dim=1)
    floor = past.unfold(1, FLOOR_FRAMES, 1).amin(dim=-1)
    return floor, past[:, -keep:]


def phase_features(spec: torch.Tensor, previous: torch.Tensor | None = None) -> torch.Tensor:
    """(batch, frames, 2 * DF_BINS): for each bin under 4 kHz, the phase advance over one hop
    relative to the bin centre's own, as a unit complex number (real parts, then imaginary parts).

    Why: the magnitude features say nothing about phase, so a complex filter steered by them alone
    could only act as a gain. The phase advance is the instantaneous frequency inside the bin: it is
    what tells a stationary partial (predictable from the last frames) from noise. A bin centre
    turns by ``pi * k`` in one 10 ms hop (bins are 50 Hz apart), so the sign ``(-1) ** k`` removes
    that turn. It depends only on bin frequencies and the hop in time, so it is rate agnostic.
    ``previous`` is the spectrum of the frame before the first (streaming); zeros otherwise. Bins
    without energy in either frame give 0."""
    low = spec[..., :DF_BINS]
    if previous is None:
        previous = torch.zeros_like(low[:, :1])
    before = torch.cat([previous[..., :DF_BINS], low[:, :-1]], dim=1)
    sign = 1.0 - 2.0 * (torch.arange(DF_BINS, device=spec.device) % 2).to(low.real.dtype)
    turn = low * before.conj() * sign
    unit = turn / (turn.abs() + FLOOR)
    return torch.cat([unit.real, unit.imag], dim=-1)


def network_inputs(spec: torch.Tensor, sample_rate: int, df_order: int, previous: torch.Tensor | None = None) -> torch.Tensor:
    """What the network reads per frame: ``features`` then, with a complex filter, ``phase_features``."""
    feats = features(spec, sample_rate)
    if not df_order:
        return feats
    return torch.cat([feats, phase_features(spec, previous)], dim=-1)


def lost_hops(audio: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """(batch, frames) bool: output block ``t``'s input samples are all exactly zero.

    That is how a lost packet arrives (zero-filled, the PLC Challenge's convention and sebench's
    PLC items); real recordings never hold a whole hop of exact zeros except digital silence,
    where a tap copies what came before it at most 40 ms into the silence."""
    _, hop = frame_sizes(sample_rate)
    n = audio.shape[-1]
    frames = -(-n // hop)
    padded = torch.nn.functional.pad(audio, (0, frames * hop - n))
    return (padded.reshape(*audio.shape[:-1], frames, hop) == 0).all(dim=-1)


def apply_gains(
    spec: torch.Tensor, logits: torch.Tensor, sample_rate: int, lost: torch.Tensor, past: torch.Tensor | None = None
) -> torch.Tensor:
    """Turn (batch, frames, n_outputs(df_order)) logits into per-bin gains and fill weights and apply them.

    Band logits are interpolated to bins; under 4 kHz the fine logits add a per-bin correction.
    On frames ``lost`` marks (``lost_hops``), each ``FILL_TAPS`` delay adds the spectrum that many
    frames back, weighted per band. ``past`` holds the ``max(FILL_TAPS)`` spectra before the first
    frame (streaming); zeros otherwise."""
    logits = logits.float()  # under mixed precision the head's output is bf16; gains and filter stay fp32
    _, interp = band_matrices(sample_rate)
    to_bins = torch.from_numpy(interp).to(logits.device).T
    bin_logits = logits[..., :N_BANDS] @ to_bins
    fine = logits[..., N_BANDS:N_FEATURES]
    bin_logits = torch.cat([bin_logits[..., :N_FINE] + fine, bin_logits[..., N_FINE:]], dim=-1)
    out = spec * (MAX_GAIN * torch.sigmoid(bin_logits))
    taps, frames = max(FILL_TAPS), spec.shape[1]
    if past is None:
        past = spec.new_zeros(spec.shape[0], taps, spec.shape[2])
    history = torch.cat([past, spec], dim=1)
    gate = lost[..., None].to(out.real.dtype)
    for i, delay in enumerate(FILL_TAPS):
        first = N_FEATURES + i * N_BANDS
        opened = torch.sigmoid(logits[..., first : first + N_BANDS] @ to_bins - FILL_OFFSET) - _FILL_AT_ZERO
        weight = gate * opened / (1.0 - _FILL_AT_ZERO)
        out = out + weight * history[:, taps - delay : taps - delay + frames]
    df_order, extra = divmod(logits.shape[-1] - GAIN_OUTPUTS, 2 * DF_BINS)
    if extra or df_order > taps + 1:
        raise ValueError(f"{logits.shape[-1]} logits per frame is not a gain stage plus up to {taps + 1} filter taps")
    if df_order:
        coef = logits[..., GAIN_OUTPUTS:].unflatten(-1, (df_order, 2, DF_BINS))
        low = out[..., :DF_BINS]
        for k in range(df_order):
            c = torch.complex(coef[..., k, 0, :], coef[..., k, 1, :])
            low = low + c * history[:, taps - k : taps - k + frames, :DF_BINS]
        out = torch.cat([low, out[..., DF_BINS:]], dim=-1)
    return out


def lookahead_samples(sample_rate: int) -> int:
    """The most samples past ``n`` that output sample ``n`` may depend on."""
    return frame_sizes(sample_rate)[1] - 1


def frames_for(samples: int, sample_rate: int) -> int:
    return math.ceil(samples / frame_sizes(sample_rate)[1])
