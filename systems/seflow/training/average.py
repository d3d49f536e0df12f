"""Checkpoint averaging: ``python -m systems.seflow.training.average OUT SNAPSHOT...``.

Small batches on a CPU budget make the last steps of training noisy (the validation SNR swings by
several dB between saves); the mean of the weights of the last snapshots is a cheap, standard
smoother (stochastic weight averaging). Every snapshot must come from the same run and config.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from bench.audio import file_sha256
from systems.seflow import checkpoint


def average(paths: list[Path]) -> dict[str, torch.Tensor]:
    if not paths:
        raise ValueError("nothing to average: give at least one snapshot")
    states = [load_file(str(p)) for p in paths]
    keys = set(states[0])
    for p, s in zip(paths, states):
        if set(s) != keys or any(s[k].shape != states[0][k].shape for k in keys):
            raise ValueError(f"snapshot {p} does not match {paths[0]}: not the same network")
    return {k: torch.stack([s[k].float() for s in states]).mean(0) for k in states[0]}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("snapshots", nargs="+")
    p.add_argument("--info", default=None, help="JSON sidecar of the run whose snapshots these are")
    args = p.parse_args(argv)
    paths = [Path(s) for s in args.snapshots]
    net, _ = checkpoint.load(paths[-1])
    net.load_state_dict(average(paths))
    info = json.loads(Path(args.info).read_text()) if args.info else {}
    info.pop("sha256", None)
    info["averaged"] = {
        "command": "python -m systems.seflow.training.average " + " ".join(sys.argv[1:] if argv is None else argv),
        "snapshots": [{"name": q.name, "sha256": file_sha256(q)} for q in paths],
    }
    print(checkpoint.save(net, Path(args.out), info))


if __name__ == "__main__":
    main()
