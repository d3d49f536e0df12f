"""Build the three networks on the ``meta`` device and assign the checkpoint tensors to them.

Building on ``meta`` costs no memory and no random initialisation, so the same builders serve
the spec tests (official sizes, no weights) and real loading (tensors assigned from the file).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from systems.llase.checkpoint import XCODEC_PREFIXES, entry, load_strict, read_checkpoint, select_prefixes, strip_ddp
from systems.llase.config import LLASE_G1, Sizes
from systems.llase.lm import LLaSEG1LM, LLaSELM
from systems.llase.wavlm import WavLMFeatures, wavlm_state
from systems.llase.xcodec2 import XCodec2Decoder

ROTARY_BUFFERS = ("rotary_emb.inv_freq",)
"""Non-persistent in transformers; some saved files carry them anyway, so they are ignored."""


def build_lm(model: str, sizes: Sizes) -> LLaSELM | LLaSEG1LM:
    cls = LLaSEG1LM if model == LLASE_G1 else LLaSELM
    return cls(sizes.lm, feature_dim=sizes.wavlm.hidden_size, num_codes=sizes.codec.num_codes)


def build_on_meta(model: str, sizes: Sizes) -> tuple[nn.Module, WavLMFeatures, XCodec2Decoder]:
    with torch.device("meta"):
        return build_lm(model, sizes), WavLMFeatures(sizes.wavlm), XCodec2Decoder(sizes.codec)


def load_lm(model: str, sizes: Sizes, path: Path) -> LLaSELM | LLaSEG1LM:
    """Official LM files: ``{'model_state_dict': {'module.' + key: tensor}}`` (DDP-wrapped at save time)."""
    with torch.device("meta"):
        lm = build_lm(model, sizes)
    state = strip_ddp(entry(read_checkpoint(path), "model_state_dict", path))
    load_strict(lm, state, path, ignore_suffixes=ROTARY_BUFFERS)
    lm.finish_loading(torch.device("cpu"))
    return lm


def load_wavlm(sizes: Sizes, path: Path) -> WavLMFeatures:
    with torch.device("meta"):
        features = WavLMFeatures(sizes.wavlm)
    load_strict(features.model, wavlm_state(read_checkpoint(path), sizes.wavlm, path), path)
    return features


def load_codec(sizes: Sizes, path: Path) -> XCodec2Decoder:
    """The Lightning file's ``state_dict``; only ``generator.`` and ``fc_post_a.`` are used for decoding."""
    with torch.device("meta"):
        codec = XCodec2Decoder(sizes.codec)
    state = select_prefixes(entry(read_checkpoint(path), "state_dict", path), XCODEC_PREFIXES)
    load_strict(codec, state, path)
    return codec


def prepare(module: nn.Module, device: torch.device) -> nn.Module:
    """float32 (the official inference dtype) on the target device, in eval mode (dropout off)."""
    return module.to(device=device, dtype=torch.float32).eval().requires_grad_(False)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
