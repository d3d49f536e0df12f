"""A delay-free STFT with frames that end on the newest hop, shared by the spectral baselines.

NSNet2 and log-MMSE work on frames of a square-root Hann window (analysis and synthesis), whose
square overlaps-adds to a constant at hops that divide the window. Frame ``k`` ends at sample
``(k + 1) * hop``, as a streaming implementation sees it, so a frame-recursive model (NSNet2's
GRUs, log-MMSE's decision-directed prior) runs over the frames in the order it was trained on;
the synthesis undoes the front padding, so the output is aligned with the input sample for
sample and has its length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@dataclass(frozen=True)
class SqrtHannSTFT:
    window_length: int
    hop: int
    fft_size: int

    def __post_init__(self) -> None:
        if self.window_length % self.hop or self.fft_size < self.window_length:
            raise ValueError(f"hop {self.hop} must divide window {self.window_length}, and the FFT must be at least as long")

    @property
    def window(self) -> np.ndarray:
        """Periodic Hann (its square root squared sums to a constant under overlap-add)."""
        n = np.arange(self.window_length)
        return np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * n / self.window_length))

    @property
    def bins(self) -> int:
        return self.fft_size // 2 + 1

    def _lead(self) -> int:
        return self.window_length - self.hop

    def analysis(self, audio: np.ndarray) -> np.ndarray:
        """Complex spectra, shape (frames, bins); enough frames that every sample is fully covered."""
        lead = self._lead()
        total = lead + len(audio) + lead
        total += -(total - self.window_length) % self.hop
        padded = np.zeros(total, dtype=np.float64)
        padded[lead : lead + len(audio)] = audio
        frames = sliding_window_view(padded, self.window_length)[:: self.hop]
        return np.fft.rfft(frames * self.window, n=self.fft_size, axis=-1)

    def synthesis(self, spectra: np.ndarray, length: int) -> np.ndarray:
        """Weighted overlap-add back to ``length`` samples, aligned with the analysed signal."""
        frames = np.fft.irfft(spectra, n=self.fft_size, axis=-1)[:, : self.window_length] * self.window
        count = frames.shape[0]
        out = np.zeros((count - 1) * self.hop + self.window_length)
        for offset in range(self.window_length // self.hop):
            # frames k with the same offset inside the window land on disjoint stretches: add them at once
            chunk = frames[:, offset * self.hop : (offset + 1) * self.hop].reshape(-1)
            out[offset * self.hop : offset * self.hop + len(chunk)] += chunk
        norm = np.sum((self.window**2).reshape(-1, self.hop), axis=0)
        lead = self._lead()
        aligned = out[lead : lead + length]
        return (aligned / np.resize(norm, len(aligned))).astype(np.float32)
