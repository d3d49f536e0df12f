"""The two token-predicting LMs: WavLM features in, Xcodec2 token logits out.

Attribute names follow the official ``LLM_AR`` classes so ``state_dict`` keys (after the DDP
``module.`` prefix is removed) equal the official checkpoints'. The LLaMA body is transformers'
``LlamaForCausalLM``, as in the official code; it is fed ``inputs_embeds`` so its token embedding
and ``lm_head`` are loaded but never used (we skip computing ``lm_head``, whose output the official
code discards).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

from systems.llase.config import LMSize


def llama_config(hidden_size: int, intermediate_size: int, size: LMSize) -> LlamaConfig:
    """LlamaConfig as the official code builds it; every other field is the library default.

    The official call also passes ``dropout_rate``/``attention_dropout`` 0.1 and ``is_decoder``:
    they only act in training, so they are left out.
    """
    return LlamaConfig(
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_attention_heads=size.nhead,
        num_key_value_heads=size.nhead,
        num_hidden_layers=size.num_layers,
        vocab_size=size.llama_vocab,
        rms_norm_eps=1e-6,
        max_position_embeddings=2048,
        tie_word_embeddings=False,
    )


def sine_positions(length: int, dim: int) -> torch.Tensor:
    """LLaSE's positional table, with its quirk kept: the exponent uses the column's own index.

    The official ``SinePositionalEmbedding`` divides by ``torch.div(dim, 2)`` (true division), so
    column i gets ``10000^(-i/d)`` rather than the textbook ``10000^(-2*floor(i/2)/d)``; sine on even
    columns, cosine on odd ones. Computed in float32 like the original.
    """
    t = torch.arange(length, dtype=torch.float32)[:, None]
    i = torch.arange(dim, dtype=torch.float32)[None, :]
    angle = t * torch.exp(-(i / dim) * torch.log(torch.tensor(10000.0)))
    return torch.where(i.long() % 2 == 0, torch.sin(angle), torch.cos(angle))


class TokenEmbedding(nn.Module):
    """Holds ``word_embeddings`` so the stage embedding's key is ``stage_embedding.word_embeddings.weight``."""

    def __init__(self, dim: int, vocab: int) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, dim)


class AdaptiveLayerNorm(nn.Module):
    """LayerNorm whose scale and shift are projected from a (stage) embedding."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.project_layer = nn.Linear(dim, 2 * dim)
        self.norm = nn.LayerNorm(dim, eps=1e-5)
        self.dim = dim

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        weight, bias = torch.split(self.project_layer(embedding), self.dim, dim=-1)
        return weight * self.norm(x) + bias


def _fresh_rotary(llama: LlamaForCausalLM, device: torch.device) -> None:
    """Recompute RoPE's non-persistent ``inv_freq`` after a meta-device build plus assign-load."""
    with torch.device(device):
        llama.model.rotary_emb = LlamaRotaryEmbedding(config=llama.config)


class LLaSELM(nn.Module):
    """LLaSE ``LLM_AR``: one feature stream -> logits [B, num_codes, T]."""

    def __init__(self, size: LMSize, feature_dim: int, num_codes: int) -> None:
        super().__init__()
        d = size.d_model
        self.audio_linear = nn.Linear(feature_dim, d)
        self.stage_embedding = TokenEmbedding(d, 1)
        self.adaLN = AdaptiveLayerNorm(d)
        self.lm = LlamaForCausalLM(llama_config(d, 4 * d, size))
        self.predict_layer = nn.Linear(d, num_codes)
        self.d_model = d

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        y = self.audio_linear(features)
        y = y + sine_positions(y.shape[1], self.d_model).to(y)
        y = self.adaLN(y, self.stage_embedding.word_embeddings.weight[0])
        hidden = self.lm.model(inputs_embeds=y).last_hidden_state
        return self.predict_layer(hidden).transpose(1, 2)

    def finish_loading(self, device: torch.device) -> None:
        _fresh_rotary(self.lm, device)


class LLaSEG1LM(nn.Module):
    """LLaSE-G1 ``LLM_AR``: two streams (y: main input, x: prompt or zeros) -> (logits_y, logits_x)."""

    def __init__(self, size: LMSize, feature_dim: int, num_codes: int) -> None:
        super().__init__()
        d = size.d_model
        self.audio_linear_y = nn.Linear(feature_dim, d)
        self.audio_linear_x = nn.Linear(feature_dim, d)
        self.llama = LlamaForCausalLM(llama_config(2 * d, 4 * d, size))
        self.predict_layer_x = nn.Linear(2 * d, num_codes)
        self.predict_layer_y = nn.Linear(2 * d, num_codes)

    def forward(self, y: torch.Tensor, x: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Without ``x`` the prompt stream is zeros, so it carries ``audio_linear_x.bias`` at every frame.

        Streams of different length: the shorter *projected* stream is zero-padded at the end.
        """
        if x is None:
            x = torch.zeros_like(y)
        y_emb = self.audio_linear_y(y)
        x_emb = self.audio_linear_x(x)
        length = max(y_emb.shape[1], x_emb.shape[1])
        y_emb = nn.functional.pad(y_emb, (0, 0, 0, length - y_emb.shape[1]))
        x_emb = nn.functional.pad(x_emb, (0, 0, 0, length - x_emb.shape[1]))
        hidden = self.llama.model(inputs_embeds=torch.cat([x_emb, y_emb], dim=-1)).last_hidden_state
        return self.predict_layer_y(hidden).transpose(1, 2), self.predict_layer_x(hidden).transpose(1, 2)

    def finish_loading(self, device: torch.device) -> None:
        _fresh_rotary(self.llama, device)
