"""Tiny random checkpoints in the official file formats, through the real loader and the adapters.

The files are written the way the official ones are: LM ``{'model_state_dict': {'module.' + key}}``
(DDP), codec ``{'state_dict': {...}}`` (Lightning, with unrelated prefixes beside the decoder's), and
WavLM ``{'cfg': ..., 'model': ...}`` with unilm key names. The sizes come in through the config's
``size`` section, the same mechanism that carries the official sizes.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from bench.errors import ConfigError, MissingWeightsError
from bench.item import AEC, DENOISE, PLC, TSE
from bench.system import EnhanceInput
from systems.llase.adapter import LLaSE, LLaSEG1
from systems.llase.config import LLASE, LLASE_G1, parse_config
from systems.llase.inference import g1_enhance, llase_enhance
from systems.llase.loading import build_lm
from systems.llase.wavlm import WavLMFeatures
from systems.llase.xcodec2 import XCodec2Decoder

TINY = {
    "lm": {"d_model": 32, "nhead": 2, "num_layers": 1, "llama_vocab": 8},
    "wavlm": {"hidden_size": 32, "num_layers": 7, "num_heads": 2, "ffn_dim": 64, "conv_dim": 32, "conv_pos": 8, "conv_pos_groups": 2},
    "codec": {"vq_dim": 16, "hidden": 32, "depth": 1, "heads": 2, "levels": [4, 4]},
}

# HF -> unilm names, written independently of the loader's unilm -> HF rules so each checks the other.
HF_TO_UNILM = (
    (r"conv_layers\.(\d+)\.conv\.", r"conv_layers.\1.0."),
    (r"conv_layers\.(\d+)\.layer_norm\.", r"conv_layers.\1.2.1."),
    (r"^feature_projection\.layer_norm\.", "layer_norm."),
    (r"^feature_projection\.projection\.", "post_extract_proj."),
    (r"^masked_spec_embed$", "mask_emb"),
    (r"pos_conv_embed\.conv\.parametrizations\.weight\.original0", "pos_conv.0.weight_g"),
    (r"pos_conv_embed\.conv\.parametrizations\.weight\.original1", "pos_conv.0.weight_v"),
    (r"pos_conv_embed\.conv\.bias", "pos_conv.0.bias"),
    (r"\.attention\.gru_rel_pos_linear\.", ".self_attn.grep_linear."),
    (r"\.attention\.gru_rel_pos_const$", ".self_attn.grep_a"),
    (r"\.attention\.rel_attn_embed\.", ".self_attn.relative_attention_bias."),
    (r"\.attention\.", ".self_attn."),
    (r"(layers\.\d+)\.layer_norm\.", r"\1.self_attn_layer_norm."),
    (r"\.feed_forward\.intermediate_dense\.", ".fc1."),
    (r"\.feed_forward\.output_dense\.", ".fc2."),
)


class HyperParams:
    """Stands for the OmegaConf config a Lightning checkpoint pickles beside its tensors."""

    def __init__(self, **values: object) -> None:
        self.values = values


def to_unilm(key: str) -> str:
    for pattern, replacement in HF_TO_UNILM:
        key = re.sub(pattern, replacement, key)
    return key


def randomise(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Random values everywhere (norms and biases too), so a wrong mapping cannot hide behind defaults."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            scale = 1.0 if name.endswith(("norm.weight", "norm1.weight", "norm2.weight")) else 0.2
            p.copy_(torch.randn(p.shape, generator=gen) * scale * (0.5 if "weight" not in name else 1.0))
    return module.eval()


def write_checkpoints(root: Path, model: str) -> dict[str, Path]:
    sizes = parse_config(model, {"size": TINY}).sizes
    lm = randomise(build_lm(model, sizes), 1)
    wavlm = randomise(WavLMFeatures(sizes.wavlm).model, 2)
    codec = randomise(XCodec2Decoder(sizes.codec), 3)
    paths = {"lm": root / "model.pt.tar", "wavlm": root / "WavLM-Large.pt", "codec": root / "epoch=4-step=1400000.ckpt"}
    torch.save({"epoch": 7, "model_state_dict": {f"module.{k}": v for k, v in lm.state_dict().items()}}, paths["lm"])
    w = sizes.wavlm
    cfg = {
        "encoder_embed_dim": w.hidden_size, "encoder_layers": w.num_layers, "encoder_attention_heads": w.num_heads,
        "encoder_ffn_embed_dim": w.ffn_dim, "conv_pos": w.conv_pos, "conv_pos_groups": w.conv_pos_groups,
        "conv_feature_layers": f"[({w.conv_dim},10,5)] + [({w.conv_dim},3,2)] * 4 + [({w.conv_dim},2,2)] * 2",
        "layer_norm_first": True, "extractor_mode": "layer_norm", "relative_position_embedding": True,
        "gru_rel_pos": True, "num_buckets": 320, "max_distance": 800, "normalize": True, "dropout": 0.1,
    }
    torch.save({"cfg": cfg, "model": {to_unilm(k): v for k, v in wavlm.state_dict().items()}}, paths["wavlm"])
    lightning = {k: v for k, v in codec.state_dict().items()}
    lightning["CodecEnc.conv.weight"] = torch.zeros(4, 4)  # other codec parts, ignored by the decoder
    lightning["discriminator.disc.0.weight"] = torch.zeros(3)
    lightning["fc_post_s.weight"] = torch.zeros(2, 2)
    hyper = HyperParams(codec_decoder={"hidden_dim": 32}, lr=1e-4)
    torch.save({"epoch": 4, "global_step": 1400000, "state_dict": lightning, "hyper_parameters": hyper}, paths["codec"])
    return paths


def config(paths: dict[str, Path]) -> dict:
    return {**{k: str(v) for k, v in paths.items()}, "size": TINY, "device": "cpu"}


def speechlike(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(16000 * seconds)
    t = np.arange(n) / 16000
    return (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(n)).astype(np.float32)


def inputs(task: str, audio: np.ndarray, **extra) -> EnhanceInput:
    return EnhanceInput(audio=audio, sample_rate=16000, task=task, item_id=f"tiny-{task}", source=Path("tiny.wav"), **extra)


@pytest.fixture(scope="module")
def llase_files(tmp_path_factory) -> dict[str, Path]:
    return write_checkpoints(tmp_path_factory.mktemp("llase"), LLASE)


@pytest.fixture(scope="module")
def g1_files(tmp_path_factory) -> dict[str, Path]:
    return write_checkpoints(tmp_path_factory.mktemp("g1"), LLASE_G1)


@pytest.fixture(scope="module")
def g1_system(g1_files) -> LLaSEG1:
    system = LLaSEG1(**config(g1_files))
    system.load()
    return system


def test_llase_loads_official_formats_and_denoises(llase_files, sebench_home) -> None:
    system = LLaSE(**config(llase_files))
    system.load()
    for network in (system._lm, system._nets.wavlm, system._nets.codec):
        for tensor in [*network.state_dict().values(), *network.buffers()]:
            assert not tensor.is_meta
    audio = speechlike(1.0, 0)
    raw = llase_enhance(system._nets, system._lm, audio)
    assert len(raw) == 16000  # 49 WavLM frames + the appended zero frame = 50 tokens = 16000 samples
    out = system.enhance(inputs(DENOISE, audio[:15000]))
    assert out.shape == (15000,) and out.dtype == np.float32 and np.all(np.isfinite(out)) and np.abs(out).max() > 0


def test_llase_chunked_pass_covers_the_whole_input(llase_files) -> None:
    """12.5 s: feature windows 10 s + 2.5 s (each with 2 s context), token windows 600 + 225 frames."""
    system = LLaSE(**config(llase_files))
    system.load()
    audio = speechlike(12.5, 1)
    raw = llase_enhance(system._nets, system._lm, audio)
    assert len(raw) == len(audio) == 200000
    out = system.enhance(inputs(DENOISE, audio[:199999]))
    assert len(out) == 199999
    # 10.6 s: 530 frames; the first LM window has only 30 frames of right context, and the official
    # ``-right//50*16000`` cut removes a whole second (16000 samples, 6400 of them real audio).
    short = llase_enhance(system._nets, system._lm, audio[:169600])
    assert len(short) == 169600 - 6400
    assert len(system.enhance(inputs(DENOISE, audio[:169600]))) == 169600


def test_llase_output_is_scale_invariant(llase_files) -> None:
    """Peak normalisation first: the input's gain cannot change the output (no de-normalisation)."""
    system = LLaSE(**config(llase_files))
    audio = speechlike(1.0, 2)
    np.testing.assert_allclose(system.enhance(inputs(DENOISE, audio)), system.enhance(inputs(DENOISE, 0.1 * audio)), atol=1e-4)


def test_g1_every_task_returns_input_length(g1_system) -> None:
    mix = speechlike(1.3, 3)
    prompt = speechlike(2.0, 4)
    outs = {
        DENOISE: g1_system.enhance(inputs(DENOISE, mix)),
        PLC: g1_system.enhance(inputs(PLC, mix, loss_trace=(0, 1) * 32)),
        TSE: g1_system.enhance(inputs(TSE, mix, enrollment=prompt)),
        AEC: g1_system.enhance(inputs(AEC, mix, far_end=prompt[: len(mix)])),
    }
    for task, out in outs.items():
        assert out.shape == mix.shape, task
        assert np.all(np.isfinite(out)) and np.abs(out).max() > 0, task
    np.testing.assert_array_equal(outs[DENOISE], outs[PLC])  # same path: nnet(feat), head x
    assert not np.allclose(outs[DENOISE], outs[TSE])


def test_g1_heads_and_lengths(g1_system) -> None:
    nets, lm = g1_system._nets, g1_system._lm
    mix = speechlike(1.0, 5)
    assert len(g1_enhance(nets, lm, DENOISE, mix, None)) == 49 * 320  # no appended zero frame in G1
    longer = speechlike(2.0, 6)
    # TSE with an enrollment longer than the mixture: the LM runs over the longer stream's frames.
    assert len(g1_enhance(nets, lm, TSE, mix, longer)) == 99 * 320
    feats = nets.features(mix / np.abs(mix).max())
    y_logits, x_logits = lm(feats)
    zeros = lm(feats, torch.zeros_like(feats))
    assert torch.equal(x_logits, zeros[1]) and torch.equal(y_logits, zeros[0])
    with pytest.raises(ValueError, match="enrollment"):
        g1_enhance(nets, lm, TSE, mix, None)


def test_g1_prompt_missing_and_silent_input_errors(g1_system) -> None:
    with pytest.raises(ValueError, match="far-end"):
        g1_system.enhance(inputs(AEC, speechlike(1.0, 7)))
    with pytest.raises(ValueError, match="silent"):
        g1_system.enhance(inputs(DENOISE, np.zeros(16000, np.float32)))


def test_yaml_config_with_relative_paths(g1_files, tmp_path) -> None:
    folder = g1_files["lm"].parent
    cfg = folder / "llase-g1.yaml"
    cfg.write_text(yaml.safe_dump({"lm": "model.pt.tar", "wavlm": "WavLM-Large.pt", "codec": g1_files["codec"].name, "size": TINY}))
    system = LLaSEG1(config=str(cfg), device="cpu")
    assert system.settings.lm.path == g1_files["lm"]
    system.load()
    assert len(system.enhance(inputs(DENOISE, speechlike(0.5, 8)))) == 8000


def test_card_hashes_the_three_files(g1_files, sebench_home) -> None:
    import hashlib

    system = LLaSEG1(**config(g1_files))
    card = system.card()
    expected = {role: hashlib.sha256(p.read_bytes()).hexdigest() for role, p in g1_files.items()}
    assert card.extra["weights_sha256"] == expected
    assert card.checkpoint_sha256 == hashlib.sha256(
        "\n".join(f"{r}:{h}" for r, h in sorted(expected.items())).encode()
    ).hexdigest()
    assert card.params == sum(card.extra["params_by_network"].values()) > 0
    assert card.sample_rate == 16000 and card.tasks == ("aec", "denoise", "plc", "tse")
    assert card.config["sizes"]["lm"]["d_model"] == 32 and "lm" not in card.config  # moving files keeps the identity


def test_missing_files_named_with_their_official_source(tmp_path, sebench_home) -> None:
    system = LLaSE(lm=str(tmp_path / "nope.pt.tar"))
    with pytest.raises(MissingWeightsError) as err:
        system.load()
    message = str(err.value)
    assert str(tmp_path / "nope.pt.tar") in message and "BeauKang01/LLaSE" in message
    assert str(sebench_home / "weights" / "wavlm" / "WavLM-Large.pt") in message
    assert "HKUSTAudio/xcodec2" in message and "epoch=4-step=1400000.ckpt" in message
    g1 = LLaSEG1()
    with pytest.raises(MissingWeightsError, match="ASLP-lab/LLaSE-G1"):
        g1.checkpoint_sha256()


def test_strict_loading_lists_missing_and_unexpected_keys(g1_files, tmp_path) -> None:
    state = torch.load(g1_files["lm"], weights_only=True)["model_state_dict"]
    state.pop("module.predict_layer_y.bias")
    state["module.extra.weight"] = torch.zeros(1)
    broken = tmp_path / "broken.pt.tar"
    torch.save({"model_state_dict": state}, broken)
    system = LLaSEG1(**{**config(g1_files), "lm": str(broken)})
    with pytest.raises(ConfigError) as err:
        system.load()
    message = str(err.value)
    assert str(broken) in message and "predict_layer_y.bias" in message and "extra.weight" in message


def test_wrong_size_is_a_shape_error(g1_files) -> None:
    wrong = {**TINY, "lm": {**TINY["lm"], "d_model": 16}}
    system = LLaSEG1(**{**config(g1_files), "size": wrong})
    with pytest.raises(ConfigError, match="shape mismatches"):
        system.load()


def test_through_the_harness_pipeline_at_48k(g1_system, tmp_path) -> None:
    """An item at 48 kHz with an enrollment file: resampled to 16 kHz, enhanced, kept at 16 kHz
    (each metric resamples from there once)."""
    from bench.audio import write_audio
    from bench.item import Item
    from bench.pipeline import enhance_item

    mix, enrol = speechlike(1.2, 9), speechlike(1.5, 10)
    write_audio(tmp_path / "mix.wav", np.repeat(mix, 3), 48000)
    write_audio(tmp_path / "enrol.wav", np.repeat(enrol, 3), 48000)
    item = Item(id="tse-1", task=TSE, subset="tiny", input=tmp_path / "mix.wav", enrollment=tmp_path / "enrol.wav", sample_rate=48000)
    output, rate = enhance_item(g1_system, "default", item)
    assert rate == 16000 and output.shape == (len(mix),) and np.all(np.isfinite(output))
