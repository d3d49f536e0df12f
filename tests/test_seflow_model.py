"""SEFlow backbone and front end: sub-networks, causality, rate agnosticism, streaming."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from systems.seflow import frontend
from systems.seflow.model import SEFlowConfig, SEFlowNet, enhance_tensor, extract_subnetwork
from systems.seflow.stream import StreamingSEFlow

RATES = (8000, 16000, 24000, 48000)


def _random_net(cfg: SEFlowConfig = SEFlowConfig(blocks=4, window=8)) -> SEFlowNet:
    """Untrained nets are the identity (zero-initialised output layers); randomise so tests see a
    network that actually mixes time and frequency."""
    torch.manual_seed(0)
    net = SEFlowNet(cfg)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 0.3)
    return net.eval()


def test_fresh_network_is_the_identity_at_every_rate():
    net = SEFlowNet(SEFlowConfig(blocks=2)).eval()
    for rate in RATES:
        x = torch.randn(1, rate // 3) * 0.1
        with torch.no_grad():
            y = enhance_tensor(net, x, rate, 2, 4)[2]
        torch.testing.assert_close(y, x, atol=1e-5, rtol=0)


@pytest.mark.parametrize("blocks,heads", [(1, 1), (2, 3), (4, 2)])
def test_subnetwork_equals_dense_network_from_weight_prefix(blocks, heads):
    net = _random_net()
    feats = torch.randn(2, 15, frontend.N_FEATURES)
    far = torch.randn(2, 15, frontend.N_FEATURES)
    enroll = torch.randn(2, frontend.N_FEATURES)
    with torch.no_grad():
        sliced = net(feats, blocks, heads, far, enroll)[blocks]
        small = extract_subnetwork(net, blocks, heads)
        dense = small(feats, blocks, heads, far, enroll)[blocks]
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in net.parameters())
    torch.testing.assert_close(sliced, dense, atol=1e-5, rtol=1e-4)


def test_early_exits_share_the_output_head():
    net = _random_net()
    feats = torch.randn(1, 10, frontend.N_FEATURES)
    with torch.no_grad():
        exits = net(feats, 4, 2, exits=(1, 3, 4))
        assert set(exits) == {1, 3, 4}
        torch.testing.assert_close(exits[3], net(feats, 3, 2)[3])


@pytest.mark.parametrize("rate", [16000, 48000])
def test_output_depends_on_at_most_one_hop_of_future_input(rate):
    net = _random_net()
    n = rate // 4
    x = torch.randn(1, n) * 0.1
    cut = n // 2 + 37
    y = torch.rand(1, n - cut) - 0.5
    x2 = x.clone()
    x2[0, cut:] = y
    with torch.no_grad():
        a = enhance_tensor(net, x, rate, 4, 4)[4][0]
        b = enhance_tensor(net, x2, rate, 4, 4)[4][0]
    look = frontend.lookahead_samples(rate)
    assert look < frontend.frame_sizes(rate)[1]
    # Every output sample more than `look` samples before the change is untouched...
    torch.testing.assert_close(a[: cut - look], b[: cut - look], atol=0, rtol=0)
    # ...and the change does reach the output within its hop (the bound is not vacuous).
    assert not torch.equal(a[cut - look : cut + 1], b[cut - look : cut + 1])


def test_rejects_rates_that_do_not_give_whole_hops():
    with pytest.raises(ValueError, match="22050 Hz"):
        frontend.frame_sizes(22050)


def test_features_of_a_tone_do_not_depend_on_the_rate():
    """A 1 kHz tone gives the same band and fine features at every rate: the network sees the same
    input whatever the rate, which is what lets one checkpoint serve all of them."""
    got = []
    for rate in RATES:
        t = np.arange(rate // 2) / rate
        x = torch.from_numpy((0.1 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32))[None]
        f = frontend.features(frontend.stft(x, rate), rate)[0, 10:-2]
        got.append(f.mean(0))
    # Compare wherever the tone's energy is within 40 dB of its peak (features are log10 / 3):
    # far below that lies window leakage, whose floor depends on aliasing near each Nyquist.
    strong = got[0] > got[0].max() - 4.0 / 3.0
    assert strong[: frontend.N_BANDS].sum() >= 2 and strong[frontend.N_BANDS :].sum() >= 5
    for f in got[1:]:
        torch.testing.assert_close(f[strong], got[0][strong], atol=0.1 / 3, rtol=0)  # within 1 dB


@pytest.mark.parametrize("rate", RATES)
def test_one_network_runs_every_rate_natively(rate):
    net = _random_net()
    x = torch.randn(1, rate // 5) * 0.1
    with torch.no_grad():
        y = enhance_tensor(net, x, rate, 4, 2)[4]
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert frontend.stft(x, rate).shape[-1] == rate // 100 + 1


@pytest.mark.parametrize("engine", ["onnx", "torch"])
@pytest.mark.parametrize("rate,df_order", [(16000, 3), (48000, 3), (16000, 0)])
def test_streaming_equals_offline(engine, rate, df_order):
    """Hop by hop, with either engine (the fused onnxruntime step or the eager one), the output is the
    offline model's, lost packets and the complex filter included."""
    net = _random_net(SEFlowConfig(blocks=4, window=8, df_order=df_order))
    hop = rate // 100
    x = torch.randn(1, 37 * hop) * 0.1
    x[:, 10 * hop : 13 * hop] = 0.0  # lost packets: the concealment taps run in both paths
    with torch.no_grad():
        offline = enhance_tensor(net, x, rate, 3, 2)[3][0].numpy()
    stream = StreamingSEFlow(net, rate, 3, 2, engine=engine)
    for _ in range(2):  # and again after reset: no state leaks between streams
        online = np.concatenate([stream.push(h) for h in x[0].numpy().reshape(-1, hop)])
        np.testing.assert_allclose(online, offline, atol=1e-5)
        stream.reset()


def test_streaming_rejects_an_unknown_engine_and_a_wrong_hop():
    net = _random_net()
    with pytest.raises(ValueError, match="unknown streaming engine"):
        StreamingSEFlow(net, 16000, 1, 1, engine="tflite")
    with pytest.raises(ValueError, match="exactly one hop"):
        StreamingSEFlow(net, 16000, 1, 1).push(np.zeros(100, np.float32))


def test_onnx_export_writes_a_graph_onnxruntime_runs(tmp_path):
    import onnxruntime as ort

    from systems.seflow.onnx_step import INPUTS, OUTPUTS, example_inputs, export

    net = _random_net()
    path = tmp_path / "f-2-1.onnx"
    export(net, 2, 1, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(INPUTS)
    cfg = extract_subnetwork(net, 2, 1).cfg
    outs = session.run(list(OUTPUTS), dict(zip(INPUTS, (t.numpy() for t in example_inputs(cfg)))))
    assert outs[0].shape == (1, frontend.n_outputs(cfg.df_order)) and np.isfinite(outs[0]).all()


def _fill_only_logits(frames: int, tap: int) -> torch.Tensor:
    """Logits that mute the current frame and open one concealment tap fully."""
    logits = torch.zeros(1, frames, frontend.GAIN_OUTPUTS)
    logits[..., : frontend.N_FEATURES] = -30.0
    first = frontend.N_FEATURES + frontend.FILL_TAPS.index(tap) * frontend.N_BANDS
    logits[..., first : first + frontend.N_BANDS] = 30.0
    return logits


@pytest.mark.parametrize("rate", [16000, 48000])
def test_concealment_tap_continues_a_bin_centre_partial_in_phase(rate):
    """Two hops are a whole number of periods of every bin centre, so a tap copies a stationary
    partial forward without a phase jump: what fills a lost packet continues what came before."""
    hop = frontend.frame_sizes(rate)[1]
    n = np.arange(40 * hop)
    x = torch.from_numpy((0.1 * np.sin(2 * np.pi * 1000.0 * n / rate + 0.3)).astype(np.float32))[None]
    spec = frontend.stft(x, rate)
    every_frame = torch.ones(1, spec.shape[1], dtype=torch.bool)
    filled = frontend.istft(frontend.apply_gains(spec, _fill_only_logits(spec.shape[1], 2), rate, every_frame), rate, x.shape[-1])
    settled = slice(4 * hop, None)
    torch.testing.assert_close(filled[:, settled], x[:, settled], atol=2e-3, rtol=0)


def test_concealment_tap_fills_a_lost_packet_from_the_past():
    rate, hop = 16000, 160
    x = torch.randn(1, 30 * hop) * 0.1
    lost = x.clone()
    lost[:, 10 * hop : 12 * hop] = 0.0  # one 20 ms packet
    spec = frontend.stft(lost, rate)
    logits = _fill_only_logits(spec.shape[1], 2)
    out = frontend.istft(frontend.apply_gains(spec, logits, rate, frontend.lost_hops(lost, rate)), rate, x.shape[-1])
    torch.testing.assert_close(out[:, 10 * hop : 12 * hop], lost[:, 8 * hop : 10 * hop], atol=1e-4, rtol=5e-3)


def test_concealment_taps_leave_received_hops_alone():
    """Taps wide open change only the lost hops: a received hop is never mixed with a stale copy."""
    rate, hop = 16000, 160
    x = torch.randn(1, 30 * hop) * 0.1
    x[:, 10 * hop : 12 * hop] = 0.0
    x[:, 20 * hop : 21 * hop] = 0.0
    spec = frontend.stft(x, rate)
    logits = torch.zeros(1, spec.shape[1], frontend.GAIN_OUTPUTS)
    logits[..., frontend.N_FEATURES :] = 30.0
    lost = frontend.lost_hops(x, rate)
    assert lost[0].nonzero().flatten().tolist() == [10, 11, 20]
    out = frontend.istft(frontend.apply_gains(spec, logits, rate, lost), rate, x.shape[-1])
    received = torch.ones(x.shape[-1], dtype=torch.bool)
    received[10 * hop : 12 * hop] = False
    received[20 * hop : 21 * hop] = False
    torch.testing.assert_close(out[:, received], x[:, received], atol=1e-5, rtol=0)
    assert out[:, 10 * hop : 12 * hop].abs().max() > 0.05


def test_a_checkpoint_without_the_complex_filter_grows_into_one_computing_the_same():
    """Old checkpoints (gains only, no phase inputs) load as they were, and ``grown_state`` lays them
    into the new head with zeros, which computes exactly the old function: training continues from
    them rather than from scratch."""
    from systems.seflow.model import grown_state

    old = _random_net(SEFlowConfig(blocks=2, window=8, df_order=0))
    new = SEFlowNet(SEFlowConfig(blocks=2, window=8, df_order=3)).eval()
    new.load_state_dict(grown_state(old.state_dict(), new))
    x = torch.randn(1, 4800) * 0.1
    x[:, 1600:1920] = 0.0
    with torch.no_grad():
        torch.testing.assert_close(enhance_tensor(new, x, 16000, 2, 3)[2], enhance_tensor(old, x, 16000, 2, 3)[2])
    with pytest.raises(ValueError, match="cannot grow"):
        grown_state(new.state_dict(), old)


def test_complex_filter_taps_reach_back_in_time_on_the_low_bins_only():
    """A filter tap k with coefficient 1 adds the spectrum k frames back to bins under 4 kHz; with
    zero filter logits the gain stage alone acts (the identity here)."""
    rate = 16000
    x = torch.randn(1, 20 * 160) * 0.1
    spec = frontend.stft(x, rate)
    frames = spec.shape[1]
    lost = torch.zeros(1, frames, dtype=torch.bool)
    logits = torch.zeros(1, frames, frontend.n_outputs(3))
    torch.testing.assert_close(frontend.apply_gains(spec, logits, rate, lost), spec)
    first = frontend.GAIN_OUTPUTS + 2 * frontend.DF_BINS  # tap 1, real parts
    logits[..., first : first + frontend.DF_BINS] = 1.0
    out = frontend.apply_gains(spec, logits, rate, lost)
    low = frontend.DF_BINS
    torch.testing.assert_close(out[:, 1:, :low], spec[:, 1:, :low] + spec[:, :-1, :low])
    torch.testing.assert_close(out[..., low:], spec[..., low:])


def test_phase_inputs_see_a_stationary_partial_as_steady():
    """A tone at a bin centre turns by pi*k per hop, which the sign removes: its phase input is the
    same in every frame; a tone between bin centres turns by another, also steady, angle."""
    rate = 16000
    t = torch.arange(rate // 2) / rate
    for hz in (1000.0, 1010.0):
        spec = frontend.stft((0.1 * torch.sin(2 * torch.pi * hz * t))[None], rate)
        phase = frontend.phase_features(spec)[0, 5:-2]
        k = int(round(hz / frontend.BIN_HZ))
        z = torch.complex(phase[:, k], phase[:, frontend.DF_BINS + k])
        assert float((z - z.mean()).abs().max()) < 1e-2 and abs(float(z.abs().mean()) - 1.0) < 1e-3
        turn = 2 * math.pi * (hz - k * frontend.BIN_HZ) * frontend.HOP_SECONDS  # the in-bin frequency
        assert abs(float(torch.angle(z.mean())) - turn) < 1e-2
