"""Hop-by-hop streaming inference: 10 ms of audio in, 10 ms out, with bounded state.

State is the previous hop of input (the analysis window spans two hops), the last spectra (the
concealment taps), each block's attention
cache (the last ``window - 1`` frames) and the noise-floor history (the last second of features). The output of ``push`` for hop ``t`` is exactly what the
offline model gives for those samples (tested), so the benchmark times the real thing.
"""

from __future__ import annotations

import numpy as np
import torch

from systems.seflow import frontend
from systems.seflow.model import SEFlowNet, extract_subnetwork


class StreamingSEFlow:
    def __init__(self, net: SEFlowNet, sample_rate: int, blocks: int, heads: int) -> None:
        # A dense copy of the point runs every layer at full size: no slicing work per hop.
        self.net = extract_subnetwork(net, blocks, heads)
        self.rate = sample_rate
        self.blocks = blocks
        self.heads = heads
        self.window, self.hop = frontend.frame_sizes(sample_rate)
        self.reset()

    def reset(self) -> None:
        self.previous = torch.zeros(self.hop)
        self.state: dict | None = None
        taps, bins = max(frontend.FILL_TAPS), self.window // 2 + 1
        self.past_spectra = torch.zeros(1, taps, bins, dtype=torch.complex64)

    @torch.inference_mode()
    def push(self, hop: np.ndarray) -> np.ndarray:
        """Enhance one hop (``hop`` samples); returns the enhanced hop."""
        if len(hop) != self.hop:
            raise ValueError(f"push takes exactly one hop ({self.hop} samples at {self.rate} Hz), got {len(hop)}")
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

