"""SEFlow as a sebench system: every ``f-B-H`` point of the width/depth grid is a variant.

``seflow`` alone is the full model f-12-4; ``seflow@f-6-2`` one point; ``seflow@all`` the 48 points;
``seflow@f-1-1,f-12-4`` a list. The config key ``variants`` (a comma list or ``all``) narrows what
``variants()`` enumerates, and ``checkpoint`` points at another weights file.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.audio import file_sha256, fit_length, resample
from bench.errors import ConfigError
from bench.item import AEC, DECLIP, DENOISE, DEREVERB, PLC, TSE
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, SystemCard, register_system
from systems.seflow import checkpoint, complexity, frontend
from systems.seflow.model import SEFlowConfig, SEFlowNet, enhance_tensor

VARIANT_RE = re.compile(r"^f-(\d+)-(\d+)$")
NATIVE_RATES = (8000, 16000, 24000, 48000)


def parse_variant(variant: str, cfg: SEFlowConfig = SEFlowConfig()) -> tuple[int, int]:
    """'f-6-2' -> (6, 2); anything else is a ConfigError listing the grid."""
    m = VARIANT_RE.match(variant)
    if not m or not (1 <= int(m[1]) <= cfg.blocks and 1 <= int(m[2]) <= cfg.heads):
        raise ConfigError(f"SEFlow variant {variant!r} is not f-B-H with B in 1..{cfg.blocks} and H in 1..{cfg.heads}")
    return int(m[1]), int(m[2])


def grid(cfg: SEFlowConfig = SEFlowConfig()) -> list[str]:
    return [f"f-{b}-{h}" for b in range(1, cfg.blocks + 1) for h in range(1, cfg.heads + 1)]


def run_rate(rate: int) -> int:
    """The rate SEFlow processes an input at: its own when supported (a multiple of 100 Hz from 8
    to 48 kHz), else the next native rate up (22.05 kHz -> 24 kHz), so nothing is band-limited."""
    try:
        frontend.frame_sizes(rate)
        return rate
    except ValueError:
        return next((r for r in NATIVE_RATES if r >= rate), NATIVE_RATES[-1])


@lru_cache(maxsize=4)
def _shape_net(cfg: SEFlowConfig) -> SEFlowNet:
    """Counting needs shapes, not trained values, so cards work before any weights are loaded."""
    return SEFlowNet(cfg)


@lru_cache(maxsize=None)
def _point_cost(cfg: SEFlowConfig, blocks: int, heads: int) -> tuple[int, float]:
    net = _shape_net(cfg)
    return complexity.count_params(net, blocks, heads), complexity.count_macs_per_second(net, blocks, heads)


@register_system("seflow")
class SEFlow(System):
    """Scalable causal SE model (our reference implementation and checkpoint; see README.md here)."""

    name = "seflow"
    tasks = frozenset({DENOISE, DEREVERB, DECLIP, PLC, TSE, AEC})
    sample_rate = None
    version = "1"
    license = "Apache-2.0"
    options = {"checkpoint": None, "variants": None}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.weights = Path(config.get("checkpoint", checkpoint.DEFAULT_CHECKPOINT))
        self.net: SEFlowNet | None = None
        self._sha: str | None = None

    def variants(self) -> list[str]:
        full = grid()
        chosen = self.config.get("variants")
        if chosen is None or chosen == "all":
            return full
        names = [v.strip() for v in (chosen.split(",") if isinstance(chosen, str) else chosen) if v.strip()]
        for v in names:
            parse_variant(v)
        return names

    def default_variant(self) -> str:
        known = self.variants()
        return "f-12-4" if "f-12-4" in known else known[-1]

    def load(self) -> None:
        if self.net is None:
            self.net, _ = checkpoint.load(self.weights)

    def checkpoint_sha256(self) -> str | None:
        if self._sha is None and self.weights.is_file():
            self._sha = file_sha256(self.weights)
        return self._sha

    def card(self, variant: str = DEFAULT_VARIANT) -> SystemCard:
        variant = self.default_variant() if variant == DEFAULT_VARIANT else variant
        blocks, heads = parse_variant(variant)
        cfg = checkpoint.read_config(self.weights) if self.weights.is_file() else SEFlowConfig()
        params, macs = _point_cost(cfg, blocks, heads)
        base = super().card(variant)
        return SystemCard(
            **{**base.to_dict(), "params": params, "macs_per_second": macs,
               "extra": {"blocks": blocks, "heads": heads, "lookahead": "hop - 1 samples (< 10 ms)",
                         "window_ms": 1000 * frontend.WINDOW_SECONDS, "hop_ms": 1000 * frontend.HOP_SECONDS}}
        )

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        variant = self.default_variant() if variant == DEFAULT_VARIANT else variant
        blocks, heads = parse_variant(variant)
        self.load()
        assert self.net is not None
        rate_in = inputs.sample_rate
        rate = run_rate(rate_in)
        n = len(inputs.audio)

        def prep(x: np.ndarray | None, length: int | None) -> torch.Tensor | None:
            if x is None:
                return None
            x = resample(np.asarray(x, dtype=np.float32), rate_in, rate)
            if length is not None:
                x = fit_length(x, length)
            return torch.from_numpy(np.ascontiguousarray(x))[None]

        audio = prep(inputs.audio, None)
        assert audio is not None
        far = prep(inputs.far_end, audio.shape[-1])
        enroll = prep(inputs.enrollment, None)
        with torch.inference_mode():
            out = enhance_tensor(self.net, audio, rate, blocks, heads, far_end=far, enrollment=enroll)[blocks][0].numpy()
        return fit_length(resample(out, rate, rate_in), n).astype(np.float32)
