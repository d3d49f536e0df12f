"""Checkpoint files: safetensors weights plus a JSON sidecar with how they were made.

The sidecar records the model config, the training command, data, steps and the weights' sha256,
so a table row can always be traced back to the recipe that produced it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from bench.audio import file_sha256
from bench.errors import MissingWeightsError
from systems.seflow.model import LEGACY, SEFlowConfig, SEFlowNet

DEFAULT_CHECKPOINT = Path(__file__).parent / "checkpoints" / "seflow-small.safetensors"


def sidecar_path(weights: Path) -> Path:
    return weights.with_suffix(".json")


def save(net: SEFlowNet, path: Path, info: dict[str, Any]) -> str:
    """Write weights (fp32) and sidecar atomically; returns the weights' sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    state = {k: v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items()}
    save_file(state, str(tmp), metadata={"config": json.dumps(net.cfg.to_dict())})
    tmp.replace(path)
    digest = file_sha256(path)
    meta = {**info, "config": net.cfg.to_dict(), "sha256": digest, "bytes": path.stat().st_size}
    side = sidecar_path(path)
    side.with_suffix(".json.tmp").write_text(json.dumps(meta, indent=2) + "\n")
    side.with_suffix(".json.tmp").replace(side)
    return digest


def read_config(path: Path) -> SEFlowConfig:
    """The network shape a weights file was saved with (its metadata; no tensors are read).
    Fields its sidecar predates take their ``LEGACY`` values, so old files load as what they were."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return SEFlowConfig(**{**LEGACY, **json.loads(f.metadata()["config"])})


def load(path: Path = DEFAULT_CHECKPOINT) -> tuple[SEFlowNet, dict[str, Any]]:
    """The network and its sidecar; a missing file is an error saying where it belongs."""
    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(
            f"SEFlow checkpoint {path} not found; it ships with sebench at {DEFAULT_CHECKPOINT} "
            "or can be rebuilt with `python -m systems.seflow.training.train --out <path>`"
        )
    net = SEFlowNet(read_config(path))
    net.load_state_dict(load_file(str(path)))
    net.eval()
    side = sidecar_path(path)
    info = json.loads(side.read_text()) if side.is_file() else {}
    return net, info
