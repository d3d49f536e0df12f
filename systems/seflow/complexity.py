"""Parameters and MACs per second of audio for each (blocks, heads) point, by counting.

MACs come from ``torch.utils.flop_counter.FlopCounterMode`` on one streaming-equivalent pass over
one second of audio (100 frames) through the network (front end included: its matrix products
count, its FFTs do not, as FlopCounterMode has no FFT formula). FlopCounterMode reports FLOPs
(2 per multiply-accumulate), so MACs = FLOPs / 2. Attention is counted at the full window with a
sequence of one window length, which is what a streaming step attends to once warm.

Parameters are counted on the dense network cut out for the point (``extract_subnetwork``), whose
output equals the sliced full network's (tested).
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch.utils.flop_counter import FlopCounterMode

from systems.seflow import frontend
from systems.seflow.model import SEFlowConfig, SEFlowNet, extract_subnetwork

COUNT_RATE = 16000
"""The rate the count runs at; the network's cost per frame is the same at every rate."""


def count_macs_per_second(net: SEFlowNet, blocks: int, heads: int) -> float:
    """MACs to process one second: the window's worth of frames in one pass, scaled to 100 frames."""
    frames = net.cfg.window
    feats = torch.zeros(1, frames, frontend.N_FEATURES)
    spec = torch.zeros(1, frames, frontend.frame_sizes(COUNT_RATE)[0] // 2 + 1, dtype=torch.complex64)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        logits = net(feats, blocks, heads)[blocks]
        frontend.apply_gains(spec, logits, COUNT_RATE, torch.ones(1, frames, dtype=torch.bool))
    return counter.get_total_flops() / 2 * (100.0 / frames)


def count_params(net: SEFlowNet, blocks: int, heads: int) -> int:
    """Parameters of the point: the tensors of the dense network cut from the weight prefixes
    (``extract_subnetwork``, tested to compute the same function), priors included."""
    return sum(p.numel() for p in extract_subnetwork(net, blocks, heads).parameters())


@lru_cache(maxsize=None)
def table(cfg: SEFlowConfig = SEFlowConfig()) -> dict[tuple[int, int], tuple[int, float]]:
    """(blocks, heads) -> (params, MACs/s) for every point of the grid, from a fresh network of the
    same shape (counts depend on shapes only, so no checkpoint is needed)."""
    net = SEFlowNet(cfg)
    return {
        (b, h): (count_params(net, b, h), count_macs_per_second(net, b, h))
        for b in range(1, cfg.blocks + 1)
        for h in range(1, cfg.heads + 1)
    }

