"""The SEFlow backbone: 12 residual blocks of flex attention + flex MLP, early exits, one shared head.

A sub-network ``f-B-H`` runs the first ``B`` blocks with ``H`` heads; the residual width is
``H * head_dim``, so heads and width scale together and every layer is a nested prefix slice
(see ``flex.py``). Each exit feeds the same output head, which predicts gain logits for the
front end's bands and fine bins (see ``frontend.py``). Processing is causal over frames: frame
``t`` attends to frames ``t - window + 1 .. t`` only.

Optional priors extend the same backbone: the far-end (loopback) signal's features are projected
and added per frame (AEC), and an enrollment utterance's mean feature vector is projected and added
to every frame (TSE). Absent priors add nothing, so one checkpoint serves every task without a
task id.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from systems.seflow import frontend
from systems.seflow.flex import FlexAttention, FlexLinear, FlexRMSNorm


@dataclass(frozen=True)
class SEFlowConfig:
    blocks: int = 12
    heads: int = 4
    head_dim: int = 16
    mlp_ratio: int = 2
    window: int = 64
    """Attention span in frames (0.64 s): bounds the streaming cache."""
    df_order: int = 3
    """Taps of the complex filter on the bins under 4 kHz (frames t, t-1, ...; ``frontend.apply_gains``);
    0 = the gain stage alone, as in checkpoints made before it existed (``LEGACY``)."""

    @property
    def width(self) -> int:
        return self.heads * self.head_dim

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


LEGACY = {"df_order": 0}
"""Config values of checkpoints whose sidecar predates a field: they load as what they were."""


class Block(nn.Module):
    """Pre-norm residual block: x + attn(norm(x)); x + mlp(norm(x))."""

    def __init__(self, cfg: SEFlowConfig) -> None:
        super().__init__()
        self.norm1 = FlexRMSNorm(cfg.width)
        self.attn = FlexAttention(cfg.heads, cfg.head_dim, cfg.window)
        self.norm2 = FlexRMSNorm(cfg.width)
        self.up = FlexLinear(cfg.width, cfg.width * cfg.mlp_ratio)
        self.down = FlexLinear(cfg.width * cfg.mlp_ratio, cfg.width)
        self.mlp_ratio = cfg.mlp_ratio

    def forward(self, x: torch.Tensor, heads: int, cache=None):
        width = x.shape[-1]
        a, cache = self.attn(self.norm1(x), heads, cache)
        x = x + a
        x = x + self.down(F.gelu(self.up(self.norm2(x), width * self.mlp_ratio)), width)
        return x, cache


class SEFlowNet(nn.Module):
    def __init__(self, cfg: SEFlowConfig = SEFlowConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.inp = FlexLinear(frontend.n_inputs(cfg.df_order), cfg.width)
        # No bias on the priors: an all-zero prior row (absent in a training batch) adds nothing.
        self.far = FlexLinear(frontend.N_FEATURES, cfg.width, bias=False)
        self.enroll = FlexLinear(frontend.N_FEATURES, cfg.width, bias=False)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.blocks))
        self.out_norm = FlexRMSNorm(cfg.width)
        self.head = FlexLinear(cfg.width, frontend.n_outputs(cfg.df_order))
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        for block in self.blocks:
            nn.init.zeros_(block.down.weight)
            nn.init.zeros_(block.attn.out.weight)

    def check_point(self, blocks: int, heads: int) -> None:
        if not (1 <= blocks <= self.cfg.blocks and 1 <= heads <= self.cfg.heads):
            raise ValueError(f"no sub-network f-{blocks}-{heads}: blocks 1..{self.cfg.blocks}, heads 1..{self.cfg.heads}")

    def embed(
        self,
        feats: torch.Tensor,
        heads: int,
        far_feats: torch.Tensor | None = None,
        enroll_vec: torch.Tensor | None = None,
        floor_history: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Input projection of [features, features - noise floor, phase inputs if any] plus whichever
        priors are present (batch, frames, width), and the noise-floor history for the next chunk.
        ``feats`` is ``frontend.network_inputs``: the log powers come first."""
        width = heads * self.cfg.head_dim
        power, phase = feats[..., : frontend.N_FEATURES], feats[..., frontend.N_FEATURES :]
        floor, history = frontend.noise_floor(power, floor_history)
        x = self.inp(torch.cat([power, power - floor, phase], dim=-1), width)
        if far_feats is not None:
            x = x + self.far(far_feats, width)
        if enroll_vec is not None:
            x = x + self.enroll(enroll_vec, width)[:, None, :]
        return x, history

    def forward(
        self,
        feats: torch.Tensor,
        blocks: int,
        heads: int,
        far_feats: torch.Tensor | None = None,
        enroll_vec: torch.Tensor | None = None,
        exits: tuple[int, ...] | None = None,
    ) -> dict[int, torch.Tensor]:
        """Gain logits at each requested exit (default: only ``blocks``), over a whole sequence."""
        self.check_point(blocks, heads)
        wanted = set(exits or (blocks,))
        x, _ = self.embed(feats, heads, far_feats, enroll_vec)
        outs: dict[int, torch.Tensor] = {}
        for b in range(blocks):
            x, _ = self.blocks[b](x, heads)
            if b + 1 in wanted:
                outs[b + 1] = self.head(self.out_norm(x))
        return outs

    def step(
        self,
        feats: torch.Tensor,
        blocks: int,
        heads: int,
        state: dict | None,
        far_feats: torch.Tensor | None = None,
        enroll_vec: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict]:
        """Streaming: process a chunk of frames given the state from the previous chunk (attention
        caches per block and the noise-floor history)."""
        self.check_point(blocks, heads)
        state = state or {"floor": None, "blocks": [None] * blocks}
        x, floor = self.embed(feats, heads, far_feats, enroll_vec, state["floor"])
        caches = []
        for b in range(blocks):
            x, c = self.blocks[b](x, heads, state["blocks"][b])
            caches.append(c)
        return self.head(self.out_norm(x)), {"floor": floor, "blocks": caches}

def enhance_tensor(
    net: SEFlowNet,
    audio: torch.Tensor,
    sample_rate: int,
    blocks: int,
    heads: int,
    far_end: torch.Tensor | None = None,
    enrollment: torch.Tensor | None = None,
    exits: tuple[int, ...] | None = None,
) -> dict[int, torch.Tensor]:
    """Waveforms (batch, samples) in, enhanced waveforms per exit out (same length)."""
    far_feats = None if far_end is None else frontend.features(frontend.stft(far_end, sample_rate), sample_rate)
    enroll_vec = None
    if enrollment is not None:
        enroll_vec = frontend.features(frontend.stft(enrollment, sample_rate), sample_rate).mean(dim=1)
    return enhance_with_priors(net, audio, sample_rate, blocks, heads, far_feats, enroll_vec, exits)


def enhance_with_priors(
    net: SEFlowNet,
    audio: torch.Tensor,
    sample_rate: int,
    blocks: int,
    heads: int,
    far_feats: torch.Tensor | None = None,
    enroll_vec: torch.Tensor | None = None,
    exits: tuple[int, ...] | None = None,
) -> dict[int, torch.Tensor]:
    """``enhance_tensor`` with the priors already turned into features: a training batch mixes
    examples with and without a far end or enrollment, so it builds them per example (zeros where
    absent)."""
    spec = frontend.stft(audio, sample_rate)
    feats = frontend.network_inputs(spec, sample_rate, net.cfg.df_order)
    logits = net(feats, blocks, heads, far_feats, enroll_vec, exits)
    n = audio.shape[-1]
    lost = frontend.lost_hops(audio, sample_rate)
    return {b: frontend.istft(frontend.apply_gains(spec, lg, sample_rate, lost), sample_rate, n) for b, lg in logits.items()}


def extract_subnetwork(net: SEFlowNet, blocks: int, heads: int) -> SEFlowNet:
    """A standalone dense network for point f-B-H, built from the weight prefixes.

    Running it at its full size gives the same output as running ``net`` at (blocks, heads): the
    weight-sharing claim in one function, and a way to ship one point alone."""
    net.check_point(blocks, heads)
    cfg = replace(net.cfg, blocks=blocks, heads=heads)
    small = SEFlowNet(cfg)
    full_w, w = net.cfg.width, cfg.width
    qkv_rows = torch.cat([torch.arange(i * full_w, i * full_w + w) for i in range(3)])
    state = {}
    for name, p in small.state_dict().items():
        src = net.state_dict()[name]
        if name.endswith("attn.qkv.weight"):
            state[name] = src[qkv_rows][:, :w]
        elif name.endswith("attn.qkv.bias"):
            state[name] = src[qkv_rows]
        else:
            state[name] = src[tuple(slice(0, n) for n in p.shape)]
    small.load_state_dict(state)
    return small.eval()


def grown_state(small: dict[str, torch.Tensor], net: SEFlowNet) -> dict[str, torch.Tensor]:
    """``small``'s weights laid into ``net``'s shapes, zeros wherever ``net`` is larger.

    Why: a checkpoint made before the complex filter (``df_order`` 0) has fewer input columns (no
    phase inputs) and fewer head rows (no filter taps); both sit at the end, so with zeros there the
    grown network computes exactly the old function and training continues from it instead of
    from scratch."""
    out = {}
    for name, target in net.state_dict().items():
        src = small[name]
        if src.shape == target.shape:
            out[name] = src.clone()
            continue
        if src.dim() != target.dim() or any(a > b for a, b in zip(src.shape, target.shape)):
            raise ValueError(f"cannot grow {name} from {tuple(src.shape)} into {tuple(target.shape)}")
        grown = torch.zeros_like(target)
        grown[tuple(slice(0, n) for n in src.shape)] = src
        out[name] = grown
    return out
