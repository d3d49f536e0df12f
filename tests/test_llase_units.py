"""Component behaviour the official flow depends on: read-out layer, ISTFT, causality, config rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bench.errors import ConfigError
from bench.item import AEC, DENOISE, PLC, TSE
from systems.llase.adapter import g1_mode
from systems.llase.config import LLASE, LLASE_G1, WavLMSize, parse_config
from systems.llase.lm import LLaSELM
from systems.llase.loading import build_lm, load_wavlm
from systems.llase.wavlm import WavLMFeatures, check_unilm_cfg, num_frames
from systems.llase.xcodec2 import ISTFT

TINY_WAVLM = WavLMSize(hidden_size=32, num_layers=8, num_heads=2, ffn_dim=64, conv_dim=32, conv_pos=8, conv_pos_groups=2)


def tiny_wavlm(seed: int = 0) -> WavLMFeatures:
    torch.manual_seed(seed)
    features = WavLMFeatures(TINY_WAVLM).eval()
    with torch.no_grad():
        for p in features.parameters():
            p.add_(0.1 * torch.randn_like(p))  # move LayerNorm/bias off their identity defaults
    return features


def test_wavlm_reads_layer_6_without_final_norm() -> None:
    features = tiny_wavlm()
    wav = torch.randn(1, 16000)
    ours = features(wav)
    with torch.no_grad():
        hf = features.model(wav, output_hidden_states=True)
    assert ours.shape == (1, 49, 32) and num_frames(16000) == 49
    assert torch.allclose(ours, hf.hidden_states[6], atol=1e-5)
    assert not torch.allclose(ours, hf.hidden_states[5], atol=1e-2)
    assert not torch.allclose(ours, hf.hidden_states[7], atol=1e-2)


def test_wavlm_hf_format_with_legacy_weight_norm_names(tmp_path: Path) -> None:
    source = tiny_wavlm(1)
    state = {}
    for key, value in source.model.state_dict().items():
        key = key.replace("parametrizations.weight.original0", "weight_g").replace("parametrizations.weight.original1", "weight_v")
        state[key] = value
    path = tmp_path / "pytorch_model.bin"
    torch.save(state, path)
    sizes = parse_config(LLASE, {"size": {"wavlm": vars(TINY_WAVLM)}}).sizes
    loaded = load_wavlm(sizes, path).eval()
    wav = torch.randn(1, 8000)
    assert torch.allclose(loaded(wav), source(wav), atol=1e-6)


def test_unilm_cfg_for_another_network_is_rejected() -> None:
    with pytest.raises(ConfigError, match="encoder_layers=12"):
        check_unilm_cfg({"encoder_layers": 12, "layer_norm_first": True}, WavLMSize(), Path("WavLM-Base.pt"))
    with pytest.raises(ConfigError, match="conv_feature_layers"):
        check_unilm_cfg({"conv_feature_layers": "[(512,10,5)] * 7"}, WavLMSize(), Path("x.pt"))
    check_unilm_cfg({"conv_feature_layers": "[(512,10,5)] + [(512,3,2)] * 4 + [(512,2,2)] * 2"}, WavLMSize(), Path("ok.pt"))


def test_istft_head_inverts_a_same_padded_stft() -> None:
    """frames*hop samples out, and perfect reconstruction of the signal the frames came from."""
    istft = ISTFT(1280, 320)
    x = torch.randn(1, 40 * 320)
    padded = torch.nn.functional.pad(x, (480, 480))
    spec = torch.stft(padded, 1280, 320, window=torch.hann_window(1280), center=False, return_complex=True)
    assert spec.shape[-1] == 40
    y = istft(spec)
    assert y.shape == (1, 40 * 320)
    assert torch.allclose(y, x, atol=1e-4)


def test_llase_lm_is_causal() -> None:
    sizes = parse_config(LLASE, {"size": {"lm": {"d_model": 32, "nhead": 2, "num_layers": 2, "llama_vocab": 8}, "wavlm": {"hidden_size": 24}, "codec": {"levels": [4, 4]}}}).sizes
    torch.manual_seed(0)
    lm = build_lm(LLASE, sizes).eval()
    assert isinstance(lm, LLaSELM)
    feats = torch.randn(1, 20, 24)
    changed = feats.clone()
    changed[:, -1] += 5.0
    with torch.no_grad():
        a, b = lm(feats), lm(changed)
    assert a.shape == (1, 16, 20)
    assert torch.allclose(a[..., :-1], b[..., :-1], atol=1e-5)
    assert not torch.allclose(a[..., -1], b[..., -1], atol=1e-3)


def test_g1_mode_per_task() -> None:
    assert g1_mode(DENOISE) == DENOISE
    assert g1_mode(PLC) == PLC
    assert g1_mode("denoise+plc") == PLC
    assert g1_mode(f"{TSE}+{DENOISE}") == TSE
    assert g1_mode(f"{AEC}+{DENOISE}") == AEC
    with pytest.raises(ValueError, match="AEC\\+TSE"):
        g1_mode(f"{AEC}+{TSE}")


def test_config_defaults_and_errors(sebench_home: Path) -> None:
    cfg = parse_config(LLASE_G1, {"label": "row"})
    assert cfg.lm.path == sebench_home / "weights" / "llase-g1" / "model.pt.tar"
    assert cfg.codec.path == sebench_home / "weights" / "xcodec2" / "epoch=4-step=1400000.ckpt"
    assert cfg.sizes.lm.num_layers == 16 and parse_config(LLASE, {}).sizes.lm.num_layers == 12
    assert cfg.sizes.codec.num_codes == 65536
    with pytest.raises(ConfigError, match="unknown config keys"):
        parse_config(LLASE, {"checkpoint": "x"})
    with pytest.raises(ConfigError, match="unknown size.lm keys"):
        parse_config(LLASE, {"size": {"lm": {"width": 3}}})
    with pytest.raises(ConfigError, match="does not exist"):
        parse_config(LLASE, {"config": "/nonexistent/llase.yaml"})


def test_unreadable_checkpoint_names_the_file(tmp_path: Path) -> None:
    from systems.llase.checkpoint import read_checkpoint

    bad = tmp_path / "best.pt.tar"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="best.pt.tar"):
        read_checkpoint(bad)
    np.testing.assert_equal(num_frames(399), 0)
