"""The SEFlow adapter: variant grid, selectors, cards counted from the network, enhance contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.errors import ConfigError, MissingWeightsError
from bench.system import SYSTEMS, EnhanceInput
from systems.seflow import checkpoint
from systems.seflow.adapter import SEFlow, _point_cost, run_rate
from systems.seflow.model import SEFlowNet


def test_registered_name_resolves_to_the_adapter():
    assert SYSTEMS.get("seflow") is SEFlow


def test_variants_cover_the_whole_grid_and_default_is_the_full_model():
    system = SEFlow()
    names = system.variants()
    assert len(names) == 48 and len(set(names)) == 48
    assert names[0] == "f-1-1" and names[-1] == "f-12-4" and "f-6-2" in names
    assert system.resolve_variants(None) == ["f-12-4"]
    assert system.resolve_variants("f-6-2") == ["f-6-2"]
    assert system.resolve_variants("f-1-1,f-9-3") == ["f-1-1", "f-9-3"]
    assert len(system.resolve_variants("all")) == 48


def test_unknown_variant_is_a_config_error():
    with pytest.raises(ConfigError, match="f-13-1"):
        SEFlow().resolve_variants("f-13-1")
    with pytest.raises(ConfigError, match="f-B-H"):
        SEFlow().card("f-0-2")


def test_variants_config_key_narrows_the_grid():
    assert SEFlow(variants="f-1-1, f-12-4").variants() == ["f-1-1", "f-12-4"]
    assert len(SEFlow(variants="all").variants()) == 48
    with pytest.raises(ConfigError):
        SEFlow(variants="f-2-9").variants()


def test_card_counts_params_and_macs():
    system = SEFlow()
    full = system.card("f-12-4")
    shipped = checkpoint.read_config(checkpoint.DEFAULT_CHECKPOINT)
    assert full.params == sum(p.numel() for p in SEFlowNet(shipped).parameters())
    small = system.card("f-1-1")
    assert small.params < system.card("f-6-2").params < full.params
    assert small.macs_per_second < system.card("f-6-2").macs_per_second < full.macs_per_second
    # Counting, not a formula: each extra block at a given width costs the same MACs.
    step = [_point_cost(shipped, b + 1, 2)[1] - _point_cost(shipped, b, 2)[1] for b in (3, 7)]
    assert step[0] == pytest.approx(step[1])
    assert full.sample_rate is None and full.extra["blocks"] == 12 and full.extra["heads"] == 4


def test_run_rate_keeps_supported_rates_and_rounds_others_up():
    assert [run_rate(r) for r in (8000, 16000, 44100, 48000)] == [8000, 16000, 44100, 48000]
    assert run_rate(22050) == 24000 and run_rate(11025) == 16000


def test_missing_checkpoint_names_the_file(tmp_path: Path):
    missing = tmp_path / "nope.safetensors"
    system = SEFlow(checkpoint=str(missing))
    x = np.zeros(1600, dtype=np.float32)
    with pytest.raises(MissingWeightsError, match="nope.safetensors"):
        system.enhance(EnhanceInput(x, 16000, "denoise", "i", Path("i.wav")), "f-1-1")


def test_enhance_keeps_length_at_odd_rates_and_takes_priors(tmp_path: Path):
    weights = tmp_path / "w.safetensors"
    checkpoint.save(SEFlowNet(), weights, {"steps": 0})
    system = SEFlow(checkpoint=str(weights))
    rng = np.random.default_rng(0)
    t = np.arange(22050 // 2 + 7) / 22050
    x = (0.05 * np.sin(2 * np.pi * 440 * t) + 0.03 * np.sin(2 * np.pi * 3100 * t)).astype(np.float32)
    out = system.enhance(EnhanceInput(x, 22050, "denoise", "i", Path("i.wav")), "f-3-1")
    assert out.shape == x.shape and out.dtype == np.float32
    # The untrained network is the identity, so the 22.05 -> 24 -> 22.05 kHz round trip shows.
    assert np.corrcoef(out[200:-200], x[200:-200])[0, 1] > 0.999
    far = (0.05 * rng.standard_normal(16000)).astype(np.float32)
    y = system.enhance(EnhanceInput(far[:8000], 16000, "aec", "j", Path("j.wav"), far_end=far, enrollment=far), "f-2-2")
    assert y.shape == (8000,) and np.isfinite(y).all()
    assert system.checkpoint_sha256() == checkpoint.load(weights)[1]["sha256"]


def test_cards_count_the_network_the_checkpoint_holds(tmp_path: Path):
    """A checkpoint without the complex filter has fewer parameters and MACs than the default
    network: the card counts the weights file's own shape, not the code's default."""
    from systems.seflow.complexity import count_params
    from systems.seflow.model import SEFlowConfig

    path = tmp_path / "old.safetensors"
    checkpoint.save(SEFlowNet(SEFlowConfig(df_order=0)), path, {})
    old = SEFlow(checkpoint=str(path)).card("f-12-4")
    assert old.params == count_params(SEFlowNet(SEFlowConfig(df_order=0)), 12, 4)
    assert old.params < count_params(SEFlowNet(), 12, 4)
