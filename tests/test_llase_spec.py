"""The official-size networks, built on the meta device, against the spec tables in ../shared/specs.

Every key and shape must equal what the official classes produce, because the official
checkpoints are strict-loaded into these modules.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from systems.llase.config import LLASE, LLASE_G1, official_sizes
from systems.llase.lm import sine_positions
from systems.llase.loading import build_on_meta, parameter_count
from systems.llase.wavlm import unilm_to_hf_key
from systems.llase.xcodec2 import fsq_codes


@pytest.fixture
def specs(shared_data: Path) -> Path:
    root = shared_data.parent / "specs"
    if not root.is_dir():
        pytest.skip(f"{root} is not present")
    return root


def read_table(path: Path) -> dict[str, str]:
    """key -> shape string, from the spec's ``key<TAB>shape<TAB>dtype`` (or map) rows."""
    rows = {}
    for line in path.read_text().splitlines():
        key, shape, *_ = line.split("\t")
        rows[key] = shape
    return rows


def shapes(module: torch.nn.Module, prefix: str = "") -> dict[str, str]:
    return {prefix + k: str(list(v.shape)) for k, v in module.state_dict().items()}


@pytest.fixture(scope="module")
def llase_nets():
    return build_on_meta(LLASE, official_sizes(LLASE))


@pytest.fixture(scope="module")
def g1_nets():
    return build_on_meta(LLASE_G1, official_sizes(LLASE_G1))


def test_llase_lm_matches_spec_table(specs: Path, llase_nets) -> None:
    lm = llase_nets[0]
    assert shapes(lm, "module.") == read_table(specs / "llase_lm.tsv")
    assert len(lm.state_dict()) == 120
    assert parameter_count(lm) == 337_214_464
    assert parameter_count(lm.audio_linear) == 1_049_600
    assert parameter_count(lm.adaLN) == 2_101_248
    assert parameter_count(lm.lm.model) == 234_120_192
    assert parameter_count(lm.predict_layer) == 67_174_400


def test_llase_g1_lm_matches_spec_table(specs: Path, g1_nets) -> None:
    lm = g1_nets[0]
    assert shapes(lm, "module.") == read_table(specs / "llase_g1_lm.tsv")
    assert len(lm.state_dict()) == 155
    assert parameter_count(lm) == 1_072_893_952
    assert parameter_count(lm.llama.model) == 736_692_224
    assert parameter_count(lm.llama.lm_head) == 65_536_000
    assert parameter_count(lm.predict_layer_x) == parameter_count(lm.predict_layer_y) == 134_283_264
    assert lm.llama.config.head_dim == 128


def test_xcodec2_decoder_matches_spec_table(specs: Path, llase_nets) -> None:
    codec = llase_nets[2]
    assert shapes(codec) == read_table(specs / "xcodec2_decoder.tsv")
    assert len(codec.state_dict()) == 117
    assert parameter_count(codec.generator) == 184_901_898
    assert parameter_count(codec.generator.quantizer) == 34_824
    assert parameter_count(codec.generator.backbone) == 183_553_024
    assert parameter_count(codec.generator.head) == 1_314_050
    assert parameter_count(codec) == 187_000_074
    assert sum(t.numel() for t in codec.state_dict().values()) == 187_001_354


def test_wavlm_large_matches_hf_table_and_unilm_mapping(specs: Path, llase_nets) -> None:
    wavlm = llase_nets[1].model
    hf = shapes(wavlm)
    assert hf == read_table(specs / "wavlm_large_hf.tsv")
    assert parameter_count(wavlm) == 315_453_120
    unilm = read_table(specs / "wavlm_large_unilm.tsv")
    assert len(unilm) == 488
    mapped = {unilm_to_hf_key(k): shape for k, shape in unilm.items()}
    assert mapped == hf  # every unilm key lands on an HF key of the same shape, bijectively
    mapping = read_table(specs / "wavlm_unilm_to_hf_map.tsv")  # unilm key -> HF key
    assert {k: unilm_to_hf_key(k) for k in mapping} == mapping


def test_sine_positional_encoding_spec_vector() -> None:
    row = sine_positions(2, 1024)[1, :6]
    expected = torch.tensor([0.841471, 0.547815, 0.831705, 0.562510, 0.821856, 0.576773])
    assert torch.allclose(row, expected, atol=1e-6)
    textbook_col1 = torch.cos(torch.tensor(1.0))  # 10000^0 for column 1 in the textbook formula
    assert abs(float(row[1]) - float(textbook_col1)) > 1e-3  # the quirk is kept


def test_fsq_index_spec_vector() -> None:
    codes = fsq_codes(torch.tensor([12345, 0, 65535]), (4,) * 8)
    assert codes[0].tolist() == [-0.5, 0.0, 0.5, -1.0, -1.0, -1.0, 0.5, -1.0]
    assert codes[1].tolist() == [-1.0] * 8
    assert codes[2].tolist() == [0.5] * 8
