"""Checkpoint averaging: the mean of snapshots' weights, refusing snapshots of different networks."""

from __future__ import annotations

import json

import pytest
import torch

from systems.seflow import checkpoint
from systems.seflow.training.average import average, main
from systems.seflow.model import SEFlowConfig, SEFlowNet


def _snapshot(path, value, cfg=SEFlowConfig(blocks=2)):
    net = SEFlowNet(cfg)
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(value)
    checkpoint.save(net, path, {"steps": int(value)})
    return path


def test_average_is_the_mean_of_the_weights(tmp_path):
    a = _snapshot(tmp_path / "a.safetensors", 1.0)
    b = _snapshot(tmp_path / "b.safetensors", 4.0)
    mean = average([a, b])
    assert all(torch.all(t == 2.5) for t in mean.values())
    out = tmp_path / "avg.safetensors"
    main([str(out), str(a), str(b), "--info", str(checkpoint.sidecar_path(b))])
    net, info = checkpoint.load(out)
    assert torch.all(net.head.weight == 2.5)
    assert [s["name"] for s in info["averaged"]["snapshots"]] == ["a.safetensors", "b.safetensors"]
    assert info["sha256"] == json.loads(checkpoint.sidecar_path(out).read_text())["sha256"]


def test_average_refuses_different_networks(tmp_path):
    a = _snapshot(tmp_path / "a.safetensors", 1.0)
    b = _snapshot(tmp_path / "b.safetensors", 1.0, SEFlowConfig(blocks=3))
    with pytest.raises(ValueError, match="not the same network"):
        average([a, b])
