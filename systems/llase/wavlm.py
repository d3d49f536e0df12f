"""WavLM-Large feature extraction as LLaSE does it: layer-6 output, no final layer norm.

The network is transformers' ``WavLMModel``. The official code loads the unilm file format
(``{'cfg': ..., 'model': ...}`` with fairseq-style key names); those keys are renamed to the HF
names here (the mapping is a bijection with equal shapes). The HF hub format is accepted too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn
from transformers import WavLMConfig, WavLMModel

from bench.errors import ConfigError
from systems.llase.config import WavLMSize

CONV_KERNELS = (10, 3, 3, 3, 3, 2, 2)
CONV_STRIDES = (5, 2, 2, 2, 2, 2, 2)
"""The conv feature extractor of every WavLM: 400-sample receptive field, 320-sample (20 ms) hop."""


def hf_config(size: WavLMSize) -> WavLMConfig:
    return WavLMConfig(
        hidden_size=size.hidden_size,
        num_hidden_layers=size.num_layers,
        num_attention_heads=size.num_heads,
        intermediate_size=size.ffn_dim,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        conv_bias=False,
        conv_dim=(size.conv_dim,) * len(CONV_KERNELS),
        conv_kernel=CONV_KERNELS,
        conv_stride=CONV_STRIDES,
        num_conv_pos_embeddings=size.conv_pos,
        num_conv_pos_embedding_groups=size.conv_pos_groups,
        num_buckets=size.num_buckets,
        max_bucket_distance=size.max_distance,
        hidden_act="gelu",
        layer_norm_eps=1e-5,
    )


def build_wavlm(size: WavLMSize) -> WavLMModel:
    return WavLMModel(hf_config(size))


_UNILM_RULES: tuple[tuple[str, str], ...] = (
    (r"^feature_extractor\.conv_layers\.(\d+)\.0\.weight$", r"feature_extractor.conv_layers.\1.conv.weight"),
    (r"^feature_extractor\.conv_layers\.(\d+)\.2\.1\.(weight|bias)$", r"feature_extractor.conv_layers.\1.layer_norm.\2"),
    (r"^layer_norm\.(weight|bias)$", r"feature_projection.layer_norm.\1"),
    (r"^post_extract_proj\.(weight|bias)$", r"feature_projection.projection.\1"),
    (r"^mask_emb$", r"masked_spec_embed"),
    (r"^encoder\.pos_conv\.0\.weight_g$", r"encoder.pos_conv_embed.conv.parametrizations.weight.original0"),
    (r"^encoder\.pos_conv\.0\.weight_v$", r"encoder.pos_conv_embed.conv.parametrizations.weight.original1"),
    (r"^encoder\.pos_conv\.0\.bias$", r"encoder.pos_conv_embed.conv.bias"),
    (r"^encoder\.layer_norm\.(weight|bias)$", r"encoder.layer_norm.\1"),
    (r"^(encoder\.layers\.\d+)\.self_attn\.(q|k|v|out)_proj\.(weight|bias)$", r"\1.attention.\2_proj.\3"),
    (r"^(encoder\.layers\.\d+)\.self_attn\.grep_linear\.(weight|bias)$", r"\1.attention.gru_rel_pos_linear.\2"),
    (r"^(encoder\.layers\.\d+)\.self_attn\.grep_a$", r"\1.attention.gru_rel_pos_const"),
    (r"^(encoder\.layers\.\d+)\.self_attn\.relative_attention_bias\.weight$", r"\1.attention.rel_attn_embed.weight"),
    (r"^(encoder\.layers\.\d+)\.self_attn_layer_norm\.(weight|bias)$", r"\1.layer_norm.\2"),
    (r"^(encoder\.layers\.\d+)\.fc1\.(weight|bias)$", r"\1.feed_forward.intermediate_dense.\2"),
    (r"^(encoder\.layers\.\d+)\.fc2\.(weight|bias)$", r"\1.feed_forward.output_dense.\2"),
    (r"^(encoder\.layers\.\d+)\.final_layer_norm\.(weight|bias)$", r"\1.final_layer_norm.\2"),
)
_COMPILED = tuple((re.compile(p), r) for p, r in _UNILM_RULES)


def unilm_to_hf_key(key: str) -> str:
    """The HF name of a unilm WavLM key; unknown keys are returned unchanged (the strict load reports them)."""
    for pattern, replacement in _COMPILED:
        if pattern.match(key):
            return pattern.sub(replacement, key)
    return key


def _hf_legacy(key: str) -> str:
    """HF files saved before parametrized weight norm name the pos-conv weight ``weight_g``/``weight_v``."""
    key = key.removeprefix("wavlm.")
    key = key.replace("pos_conv_embed.conv.weight_g", "pos_conv_embed.conv.parametrizations.weight.original0")
    return key.replace("pos_conv_embed.conv.weight_v", "pos_conv_embed.conv.parametrizations.weight.original1")


def _conv_layers(text: str) -> list[tuple[int, int, int]]:
    """Evaluate a unilm ``conv_feature_layers`` string (lists, tuples, ints, + and *) without ``eval``."""

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [ev(e) for e in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
            left, right = ev(node.left), ev(node.right)
            return left + right if isinstance(node.op, ast.Add) else left * right
        raise ValueError(f"unsupported expression {ast.dump(node)}")

    return [tuple(layer) for layer in ev(ast.parse(text, mode="eval"))]


def check_unilm_cfg(cfg: Mapping[str, Any], size: WavLMSize, path: Path) -> None:
    """The file's own architecture fields must describe the network we build (fields absent are not checked)."""
    expected: dict[str, Any] = {
        "encoder_embed_dim": size.hidden_size,
        "encoder_layers": size.num_layers,
        "encoder_attention_heads": size.num_heads,
        "encoder_ffn_embed_dim": size.ffn_dim,
        "conv_pos": size.conv_pos,
        "conv_pos_groups": size.conv_pos_groups,
        "num_buckets": size.num_buckets,
        "max_distance": size.max_distance,
        "layer_norm_first": True,
        "extractor_mode": "layer_norm",
        "conv_bias": False,
        "relative_position_embedding": True,
        "gru_rel_pos": True,
        "activation_fn": "gelu",
    }
    wrong = [f"{k}={cfg[k]!r} (expected {v!r})" for k, v in expected.items() if k in cfg and cfg[k] != v]
    if "conv_feature_layers" in cfg:
        try:
            layers = _conv_layers(str(cfg["conv_feature_layers"]))
        except (SyntaxError, ValueError, TypeError) as exc:
            raise ConfigError(f"WavLM checkpoint {path}: cannot parse cfg conv_feature_layers: {exc}") from exc
        want = [(size.conv_dim, k, s) for k, s in zip(CONV_KERNELS, CONV_STRIDES)]
        if layers != want:
            wrong.append(f"conv_feature_layers={layers} (expected {want})")
    if wrong:
        raise ConfigError(f"WavLM checkpoint {path} describes a different network: {'; '.join(wrong)}")


def wavlm_state(checkpoint: Any, size: WavLMSize, path: Path) -> dict[str, torch.Tensor]:
    """HF-named state dict from either file format (unilm ``{'cfg','model'}`` or a plain HF state dict)."""
    if not isinstance(checkpoint, Mapping):
        raise ConfigError(f"WavLM checkpoint {path} is a {type(checkpoint).__name__}, expected a dict")
    if "model" in checkpoint and isinstance(checkpoint["model"], Mapping):
        cfg = checkpoint.get("cfg")
        if isinstance(cfg, Mapping):
            check_unilm_cfg(cfg, size, path)
        return {unilm_to_hf_key(k): v for k, v in checkpoint["model"].items()}
    return {_hf_legacy(k): v for k, v in checkpoint.items()}


class WavLMFeatures(nn.Module):
    """The network plus the official read-out point (``extract_features(wav, output_layer=6)``)."""

    def __init__(self, size: WavLMSize) -> None:
        super().__init__()
        if not 1 <= size.output_layer <= size.num_layers:
            raise ConfigError(f"WavLM output_layer {size.output_layer} outside 1..{size.num_layers}")
        self.model = build_wavlm(size)
        self.output_layer = size.output_layer

    @torch.inference_mode()
    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """[B, N] raw waveform (no layer-norm of the waveform, no padding mask) -> [B, F, hidden].

        Runs only the first ``output_layer`` transformer layers and skips ``encoder.layer_norm``,
        which is exactly where unilm's ``extract_features`` stops (equal to HF ``hidden_states[6]``).
        """
        m = self.model
        feats = m.feature_extractor(wav).transpose(1, 2)
        hidden, _ = m.feature_projection(feats)
        hidden = hidden + m.encoder.pos_conv_embed(hidden)
        position_bias = None
        for layer in m.encoder.layers[: self.output_layer]:
            hidden, position_bias = layer(hidden, position_bias=position_bias)[:2]
        return hidden


def num_frames(samples: int) -> int:
    """WavLM frames for a waveform: 400-sample receptive field, 320-sample hop, no padding."""
    return 0 if samples < 400 else (samples - 400) // 320 + 1
