"""Flex modules: a sliced module must equal a dense module built from the weight prefix."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from systems.seflow.flex import FlexAttention, FlexLinear, FlexRMSNorm


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_flex_linear_equals_dense_prefix():
    flex = FlexLinear(16, 24)
    x = torch.randn(3, 5, 10)
    dense = nn.Linear(10, 7)
    with torch.no_grad():
        dense.weight.copy_(flex.weight[:7, :10])
        dense.bias.copy_(flex.bias[:7])
    torch.testing.assert_close(flex(x, 7), dense(x))
    assert flex(torch.randn(2, 16)).shape == (2, 24)


def test_flex_linear_rejects_widths_beyond_its_weights():
    with pytest.raises(ValueError, match="cannot run 17->4"):
        FlexLinear(16, 24)(torch.randn(2, 17), 4)


def test_flex_rmsnorm_normalises_over_active_width_only():
    norm = FlexRMSNorm(32)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
    x = torch.randn(4, 12)
    dense = nn.RMSNorm(12, eps=1e-6)
    with torch.no_grad():
        dense.weight.copy_(norm.weight[:12])
    torch.testing.assert_close(norm(x), dense(x))
    # The statistic ignores inactive channels: padding with zeros would change it.
    padded = torch.cat([x, torch.zeros(4, 20)], dim=-1)
    assert not torch.allclose(norm(padded)[:, :12], norm(x))


def _dense_attention(flex: FlexAttention, heads: int, x: torch.Tensor) -> torch.Tensor:
    """Textbook causal windowed attention with the prefix weights, written independently."""
    d, full = flex.head_dim, flex.max_heads * flex.head_dim
    w = heads * d
    wq, wk, wv = (flex.qkv.weight[i * full : i * full + w, :w] for i in range(3))
    bq, bk, bv = (flex.qkv.bias[i * full : i * full + w] for i in range(3))
    q, k, v = (F.linear(x, wt, bt) for wt, bt in ((wq, bq), (wk, bk), (wv, bv)))
    t = x.shape[1]
    out = torch.zeros_like(q)
    for h in range(heads):
        sl = slice(h * d, (h + 1) * d)
        for i in range(t):
            lo = max(0, i - flex.window + 1)
            scores = (q[:, i, sl][:, None, :] * k[:, lo : i + 1, sl]).sum(-1) / math.sqrt(d)
            scores = scores + flex.lag_bias[h, (i - torch.arange(lo, i + 1))]
            out[:, i, sl] = (scores.softmax(-1)[..., None] * v[:, lo : i + 1, sl]).sum(1)
    return F.linear(out, flex.out.weight[:w, :w], flex.out.bias[:w])


@pytest.mark.parametrize("heads", [1, 2, 4])
def test_flex_attention_equals_dense_prefix(heads):
    flex = FlexAttention(max_heads=4, head_dim=8, window=5)
    with torch.no_grad():
        flex.lag_bias.normal_()
    x = torch.randn(2, 12, heads * 8)
    y, _ = flex(x, heads)
    torch.testing.assert_close(y, _dense_attention(flex, heads, x), atol=1e-5, rtol=1e-4)


def test_flex_attention_chunked_with_cache_equals_whole_sequence():
    flex = FlexAttention(max_heads=4, head_dim=8, window=6)
    with torch.no_grad():
        flex.lag_bias.normal_()
    x = torch.randn(1, 20, 16)
    whole, _ = flex(x, 2)
    cache, parts = None, []
    for s in range(0, 20, 3):
        y, cache = flex(x[:, s : s + 3], 2, cache)
        parts.append(y)
    torch.testing.assert_close(torch.cat(parts, dim=1), whole, atol=1e-5, rtol=1e-4)
