"""Flex modules: layers whose active width is chosen at call time, as nested prefixes of the weights.

Every sub-network of SEFlow uses the *first* rows/columns of each weight matrix, so a narrower
network is literally a slice of the wider one and all widths train jointly (sandwich rule) with
no copy of the weights. The unit tests check each module against a plain dense module built from
the weight prefix.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class FlexLinear(nn.Linear):
    """Linear layer that uses only ``weight[:out_active, :in_active]``.

    The input width is read from the input itself (it is whatever the previous flex layer produced);
    the output width is the runtime choice ``out_active`` (``None`` = all neurons).
    """

    def forward(self, x: torch.Tensor, out_active: int | None = None) -> torch.Tensor:  # type: ignore[override]
        n_in = x.shape[-1]
        n_out = self.out_features if out_active is None else out_active
        if n_in > self.in_features or n_out > self.out_features or n_out < 1:
            raise ValueError(f"FlexLinear({self.in_features}->{self.out_features}) cannot run {n_in}->{n_out}")
        bias = None if self.bias is None else self.bias[:n_out]
        return F.linear(x, self.weight[:n_out, :n_in], bias)


class FlexRMSNorm(nn.Module):
    """RMSNorm whose statistic is taken over the active width only, so a narrow sub-network is
    normalised by its own channels and not by zeros standing in for the inactive ones."""

    def __init__(self, max_width: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(max_width))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        width = x.shape[-1]
        if width > self.weight.shape[0]:
            raise ValueError(f"FlexRMSNorm({self.weight.shape[0]}) got width {width}")
        scale = torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return x * scale * self.weight[:width]


class FlexAttention(nn.Module):
    """Causal multi-head self-attention over time with a runtime-selectable number of heads.

    Head ``h`` owns columns ``[h*head_dim, (h+1)*head_dim)`` of q/k/v, so the first ``H`` heads are
    a prefix and the model width equals ``H * head_dim``. Attention is limited to the last
    ``window`` frames (streaming needs a bounded cache) and positions are encoded by a learned
    per-head bias on the relative lag, which needs no absolute time index and so works mid-stream.
    """

    def __init__(self, max_heads: int, head_dim: int, window: int) -> None:
        super().__init__()
        self.max_heads = max_heads
        self.head_dim = head_dim
        self.window = window
        width = max_heads * head_dim
        self.qkv = FlexLinear(width, 3 * width)
        self.out = FlexLinear(width, width)
        self.lag_bias = nn.Parameter(torch.zeros(max_heads, window))
        self._masks: dict[tuple, torch.Tensor] = {}

    def _project(self, x: torch.Tensor, heads: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q, k, v for the active heads, each (batch, heads, time, head_dim)."""
        width = self.max_heads * self.head_dim
        active = heads * self.head_dim
        if heads == self.max_heads:
            qkv = self.qkv(x)
        else:
            # The fused qkv weight is laid out [q | k | v], each max-width long: take each block's prefix.
            w = self.qkv.weight.view(3, width, width)[:, :active, : x.shape[-1]].reshape(3 * active, -1)
            b = self.qkv.bias.view(3, width)[:, :active].reshape(-1)
            qkv = F.linear(x, w, b)
        batch, time = x.shape[0], x.shape[1]
        qkv = qkv.view(batch, time, 3, heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return qkv[0], qkv[1], qkv[2]

    def bias_matrix(self, heads: int, q_len: int, k_len: int, device: torch.device) -> torch.Tensor:
        """(heads, q_len, k_len) additive mask: lag bias inside the causal window, -inf outside.

        Queries are the last ``q_len`` of the ``k_len`` key positions."""
        q_pos = torch.arange(k_len - q_len, k_len, device=device)[:, None]
        k_pos = torch.arange(k_len, device=device)[None, :]
        lag = q_pos - k_pos
        valid = (lag >= 0) & (lag < self.window)
        bias = self.lag_bias[:heads][:, lag.clamp(0, self.window - 1)]
        return bias.masked_fill(~valid, float("-inf"))

    def _mask(self, heads: int, q_len: int, k_len: int, device: torch.device) -> torch.Tensor:
        """``bias_matrix``, memoised outside training: a streaming step reuses the same few shapes
        every hop. The key includes the parameter's version counter, so an update invalidates it."""
        if torch.is_grad_enabled() and self.lag_bias.requires_grad:
            return self.bias_matrix(heads, q_len, k_len, device)
        key = (heads, q_len, k_len, str(device), self.lag_bias._version)
        cached = self._masks.get(key)
        if cached is None:
            if len(self._masks) > 64:
                self._masks.clear()
            cached = self._masks[key] = self.bias_matrix(heads, q_len, k_len, device)
        return cached

    def forward(
        self, x: torch.Tensor, heads: int, cache: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Attend over ``x`` (batch, time, heads*head_dim), after ``cache`` (past k, v) if given.

        Returns the output and the new cache (the last ``window - 1`` keys/values)."""
        if not 1 <= heads <= self.max_heads:
            raise ValueError(f"FlexAttention has {self.max_heads} heads; asked for {heads}")
        q, k, v = self._project(x, heads)
        if cache is not None:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
        mask = self._mask(heads, q.shape[2], k.shape[2], x.device)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0 / math.sqrt(self.head_dim))
        y = y.transpose(1, 2).reshape(x.shape[0], x.shape[1], heads * self.head_dim)
        keep = self.window - 1
        new_cache = (k[:, :, -keep:], v[:, :, -keep:])
        return self.out(y, heads * self.head_dim), new_cache
