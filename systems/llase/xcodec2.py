"""Xcodec2's token -> waveform path: FSQ index -> project_out -> fc_post_a -> Vocos backbone -> ISTFT.

Only the decoding half of the codec is needed, so it is implemented here rather than pulling in
the training code. Module names mirror the Lightning checkpoint (``generator.*``, ``fc_post_a.*``)
so its ``state_dict`` strict-loads after the other prefixes (encoders, discriminators) are dropped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from systems.llase.config import CodecSize


def fsq_codes(indices: torch.Tensor, levels: tuple[int, ...]) -> torch.Tensor:
    """Integer code -> FSQ vector: mixed-radix digits (least significant first), each mapped to [-1, 1).

    With levels 4: digit d -> (d - 2) / 2, i.e. one of -1, -0.5, 0, 0.5 (FSQ's scale-and-shift inverse).
    """
    digits = []
    rest = indices.long()
    for level in levels:
        digits.append(rest % level)
        rest = rest // level
    digit = torch.stack(digits, dim=-1).float()
    half = torch.tensor([level // 2 for level in levels], dtype=torch.float32, device=indices.device)
    return (digit - half) / half


class ResidualFSQ(nn.Module):
    """Single-quantizer residual FSQ: only its projections hold weights (``project_in`` is encode-only)."""

    def __init__(self, dim: int, levels: tuple[int, ...]) -> None:
        super().__init__()
        self.levels = tuple(levels)
        self.project_in = nn.Linear(dim, len(levels))
        self.project_out = nn.Linear(len(levels), dim)

    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        return self.project_out(fsq_codes(indices, self.levels))


class ResnetBlock(nn.Module):
    """GroupNorm(32) -> swish -> conv3 -> GroupNorm -> swish -> conv3, plus the input (no channel change)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(32, channels, eps=1e-6)
        self.conv1 = nn.Conv1d(channels, channels, 3, padding=1)
        self.norm2 = nn.GroupNorm(32, channels, eps=1e-6)
        self.conv2 = nn.Conv1d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))  # dropout(0.1) sits before conv2 in training only
        return x + h


class Attention(nn.Module):
    """Bidirectional attention with a fused qkv projection laid out as (3, heads, head_dim).

    The official block applies torchtune RoPE to tensors shaped (b, h, t, d), which torchtune reads
    as (b, seq, heads, d): the rotation then depends on the head, not on time, and is the same for
    q and k of a head, so every attention score is unchanged. RoPE is therefore omitted here
    (the spec measured 2.1e-6 max difference, i.e. float rounding).
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(dim, 3 * dim, bias=False)
        self.c_proj = nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.c_attn(x).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=False)
        return self.c_proj(out.transpose(1, 2).reshape(b, t, c))


class MLP(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, 4 * dim, bias=False)
        self.fc2 = nn.Linear(4 * dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.silu(self.fc1(x)))


class TransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.att_norm = nn.RMSNorm(dim, eps=1e-6)
        self.att = Attention(dim, heads)
        self.ffn_norm = nn.RMSNorm(dim, eps=1e-6)
        self.mlp = MLP(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.att(self.att_norm(x))
        return x + self.mlp(self.ffn_norm(x))


class VocosBackbone(nn.Module):
    def __init__(self, size: CodecSize) -> None:
        super().__init__()
        dim = size.hidden
        self.embed = nn.Conv1d(dim, dim, 7, padding=3)
        self.prior_net = nn.Sequential(ResnetBlock(dim), ResnetBlock(dim))
        self.transformers = nn.Sequential(*(TransformerBlock(dim, size.heads) for _ in range(size.depth)))
        self.post_net = nn.Sequential(ResnetBlock(dim), ResnetBlock(dim))
        self.final_layer_norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, C] -> [B, T, C]; convolutions run channels-first, the transformer channels-last."""
        h = self.prior_net(self.embed(x.transpose(1, 2)))
        h = self.transformers(h.transpose(1, 2))
        h = self.post_net(h.transpose(1, 2))
        return self.final_layer_norm(h.transpose(1, 2))


class ISTFT(nn.Module):
    """Inverse STFT with "same" padding: output length is exactly frames * hop.

    ``torch.istft`` cannot be used: with centre=False it rejects the zero window sum at the edges.
    The Hann window is a persistent buffer because the official module saves it (``head.istft.window``).
    """

    def __init__(self, n_fft: int, hop: int) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop = hop
        self.register_buffer("window", torch.hann_window(n_fft))

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """[B, n_fft//2+1, T] complex -> [B, T*hop]."""
        frames = torch.fft.irfft(spec, n=self.n_fft, dim=1, norm="backward") * self.window[None, :, None]
        count = frames.shape[-1]
        total = (count - 1) * self.hop + self.n_fft
        fold = dict(output_size=(1, total), kernel_size=(1, self.n_fft), stride=(1, self.hop))
        audio = F.fold(frames, **fold)[:, 0, 0, :]
        envelope = F.fold(self.window.square()[None, :, None].expand(1, -1, count), **fold)[0, 0, 0, :]
        pad = (self.n_fft - self.hop) // 2
        return audio[:, pad:-pad] / envelope[pad:-pad]


class ISTFTHead(nn.Module):
    """Linear -> (log-magnitude, phase) -> complex spectrum -> ISTFT."""

    def __init__(self, dim: int, n_fft: int, hop: int) -> None:
        super().__init__()
        self.out = nn.Linear(dim, n_fft + 2)
        self.istft = ISTFT(n_fft, hop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        log_mag, phase = self.out(x).transpose(1, 2).chunk(2, dim=1)
        mag = torch.exp(log_mag).clamp(max=1e2)
        return self.istft(torch.polar(mag, phase))


class CodecDecoderVocos(nn.Module):
    """The checkpoint's ``generator``: quantizer + backbone + head."""

    def __init__(self, size: CodecSize) -> None:
        super().__init__()
        self.quantizer = ResidualFSQ(size.vq_dim, size.levels)
        self.backbone = VocosBackbone(size)
        self.head = ISTFTHead(size.hidden, size.n_fft, size.hop)


class XCodec2Decoder(nn.Module):
    """tokens [B, T] -> waveform [B, T * hop], as LLaSE's ``token2wav``."""

    def __init__(self, size: CodecSize) -> None:
        super().__init__()
        self.generator = CodecDecoderVocos(size)
        self.fc_post_a = nn.Linear(size.vq_dim, size.hidden)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.fc_post_a(self.generator.quantizer.decode(tokens))
        return self.generator.head(self.generator.backbone(x))
