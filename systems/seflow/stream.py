"""Hop-by-hop streaming inference: 10 ms of audio in, 10 ms out, with bounded state.

State is the previous hop of input (the analysis window spans two hops), the last spectra (the
concealment taps and the complex filter), each block's attention cache (the last ``window - 1``
frames) and the noise-floor history (the last second of features). The output of ``push`` for hop
``t`` is what the offline model gives for those samples (tested), so the benchmark times the real
thing.

Two engines run the network: ``onnx`` (default; the fused fixed-shape step of ``onnx_step`` in
onnxruntime, front end in numpy: about 10x faster, since a hop of the eager model is mostly
per-operator overhead) and ``torch`` (the eager model's own ``step``, the reference).
"""

from __future__ import annotations

import numpy as np
import torch

from systems.seflow import frontend
from systems.seflow.model import SEFlowNet, extract_subnetwork

ENGINES = ("onnx", "torch")


class NumpyFrontEnd:
    """``frontend``'s analysis, features and synthesis for one frame at a time, in numpy: a handful
    of array operations per hop instead of a few dozen torch dispatches."""

    def __init__(self, sample_rate: int, df_order: int) -> None:
        self.window, self.hop = frontend.frame_sizes(sample_rate)
        w = frontend.analysis_window(sample_rate).astype(np.float64)
        self.w, self.wsum = w, w.sum()
        self.synth = 1.0 / w[self.hop :]
        analysis, interp = frontend.band_matrices(sample_rate)
        self.analysis, self.to_bins = analysis.astype(np.float64), interp.T.astype(np.float64)
        self.df_order = df_order
        self.sign = 1.0 - 2.0 * (np.arange(frontend.DF_BINS) % 2)

    def spectrum(self, frame: np.ndarray) -> np.ndarray:
        return np.fft.rfft(frame * self.w) / self.wsum

    def inputs(self, spec: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """``frontend.network_inputs`` of one frame, (1, n_inputs)."""
        power = spec.real**2 + spec.imag**2
        feats = np.concatenate([power @ self.analysis, power[: frontend.N_FINE]])
        parts = [(np.log10(feats + frontend.FLOOR) + 5.0) / 3.0]
        if self.df_order:
            low = spec[: frontend.DF_BINS]
            turn = low * np.conj(previous[: frontend.DF_BINS]) * self.sign
            unit = turn / (np.abs(turn) + frontend.FLOOR)
            parts += [unit.real, unit.imag]
        return np.concatenate(parts)[None].astype(np.float32)

    def apply(self, spec: np.ndarray, logits: np.ndarray, lost: bool, past: np.ndarray) -> np.ndarray:
        """``frontend.apply_gains`` + ``istft`` for one frame: the enhanced hop. ``past`` holds the
        last ``max(FILL_TAPS)`` spectra, oldest first."""
        logits = logits.astype(np.float64)
        bin_logits = logits[: frontend.N_BANDS] @ self.to_bins
        bin_logits[: frontend.N_FINE] += logits[frontend.N_BANDS : frontend.N_FEATURES]
        out = spec * (frontend.MAX_GAIN / (1.0 + np.exp(-bin_logits)))
        taps = past.shape[0]
        if lost:
            at_zero = frontend._FILL_AT_ZERO
            for i, delay in enumerate(frontend.FILL_TAPS):
                first = frontend.N_FEATURES + i * frontend.N_BANDS
                opened = 1.0 / (1.0 + np.exp(-(logits[first : first + frontend.N_BANDS] @ self.to_bins - frontend.FILL_OFFSET)))
                out = out + (opened - at_zero) / (1.0 - at_zero) * past[taps - delay]
        if self.df_order:
            coef = logits[frontend.GAIN_OUTPUTS :].reshape(self.df_order, 2, frontend.DF_BINS)
            for k in range(self.df_order):
                source = spec if k == 0 else past[taps - k]
                out[: frontend.DF_BINS] += (coef[k, 0] + 1j * coef[k, 1]) * source[: frontend.DF_BINS]
        frame = np.fft.irfft(out * self.wsum, n=self.window)
        return frame[self.hop :] * self.synth


class StreamingSEFlow:
    def __init__(self, net: SEFlowNet, sample_rate: int, blocks: int, heads: int, engine: str = "onnx",
                 threads: int = 1) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown streaming engine {engine!r}; known: {', '.join(ENGINES)}")
        self.engine = engine
        self.rate = sample_rate
        self.blocks = blocks
        self.heads = heads
        self.window, self.hop = frontend.frame_sizes(sample_rate)
        if engine == "onnx":
            from systems.seflow.onnx_step import OnnxStep

            self.step = OnnxStep(net, blocks, heads, threads)
            self.front = NumpyFrontEnd(sample_rate, net.cfg.df_order)
        else:
            # A dense copy of the point runs every layer at full size: no slicing work per hop.
            self.net = extract_subnetwork(net, blocks, heads)
        self.reset()

    def reset(self) -> None:
        taps, bins = max(frontend.FILL_TAPS), self.window // 2 + 1
        if self.engine == "onnx":
            self.previous_np = np.zeros(self.hop)
            self.past_np = np.zeros((taps, bins), dtype=np.complex128)
            self.step.reset()
            return
        self.previous = torch.zeros(self.hop)
        self.state: dict | None = None
        self.past_spectra = torch.zeros(1, taps, bins, dtype=torch.complex64)

    def push(self, hop: np.ndarray) -> np.ndarray:
        """Enhance one hop (``hop`` samples); returns the enhanced hop."""
        if len(hop) != self.hop:
            raise ValueError(f"push takes exactly one hop ({self.hop} samples at {self.rate} Hz), got {len(hop)}")
        if self.engine == "onnx":
            return self._push_onnx(np.asarray(hop, dtype=np.float32))
        return self._push_torch(hop)

    def _push_onnx(self, hop: np.ndarray) -> np.ndarray:
        front = self.front
        spec = front.spectrum(np.concatenate([self.previous_np, hop]))
        self.previous_np = hop
        logits = self.step(front.inputs(spec, self.past_np[-1]))
        out = front.apply(spec, logits, not hop.any(), self.past_np)
        self.past_np = np.concatenate([self.past_np[1:], spec[None]])
        return out.astype(np.float32)

    @torch.inference_mode()
    def _push_torch(self, hop: np.ndarray) -> np.ndarray:
        current = torch.from_numpy(np.asarray(hop, dtype=np.float32))
        frame = torch.cat([self.previous, current])[None]
        self.previous = current
        spec = frontend.spectrum(frame[:, None, :], self.rate)
        feats = frontend.network_inputs(spec, self.rate, self.net.cfg.df_order, self.past_spectra[:, -1:])
        logits, self.state = self.net.step(feats, self.blocks, self.heads, self.state)
        lost = frontend.lost_hops(current[None], self.rate)
        out = frontend.istft(frontend.apply_gains(spec, logits, self.rate, lost, self.past_spectra), self.rate, self.hop)
        self.past_spectra = torch.cat([self.past_spectra, spec], dim=1)[:, -self.past_spectra.shape[1] :]
        return out[0].numpy()
