"""Reading the official checkpoint files and strict-loading them into our modules.

All files are read with ``weights_only=True`` (no pickled code runs) and memory-mapped where the
format allows, so a 4 GB LLaSE-G1 checkpoint is not copied before it is assigned to the network.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from bench.errors import ConfigError

DDP_PREFIX = "module."
XCODEC_PREFIXES = ("generator.", "fc_post_a.")
"""The codec parts token2wav uses; the Lightning file also holds encoders and discriminators."""


def _placeholder(qualified_name: str) -> type:
    """An inert class standing in for a pickled object whose class we do not import.

    Lightning checkpoints pickle extras such as OmegaConf hyper-parameters beside the tensors;
    with these stand-ins they load under ``weights_only=True`` without importing or running
    anything from the file, and the tensors come out intact.
    """

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs

    def setstate(self: Any, state: Any) -> None:
        self.state = state

    name = qualified_name.rsplit(".", 1)[-1]
    return type(name, (), {"__init__": init, "__setstate__": setstate, "__qualname__": name, "stands_for": qualified_name})


def _load(path: Path, mmap: bool) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError:
        unknown = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        if not unknown:
            raise
    with torch.serialization.safe_globals([(_placeholder(name), name) for name in unknown]):
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)


def read_checkpoint(path: Path) -> Any:
    """``torch.load`` on CPU with ``weights_only=True``; a clear error names the unreadable file.

    Non-tensor objects of unknown classes become inert placeholders (see ``_placeholder``).
    """
    try:
        return _load(path, mmap=True)
    except RuntimeError as exc:
        if "mmap" not in str(exc):  # legacy (non-zip) files cannot be memory-mapped
            raise ConfigError(f"cannot read checkpoint {path}: {exc}") from exc
    except Exception as exc:  # unpickling errors, truncated files
        raise ConfigError(f"cannot read checkpoint {path} with weights_only=True: {exc}") from exc
    try:
        return _load(path, mmap=False)
    except Exception as exc:
        raise ConfigError(f"cannot read checkpoint {path} with weights_only=True: {exc}") from exc


def entry(checkpoint: Any, key: str, path: Path) -> Mapping[str, torch.Tensor]:
    """``checkpoint[key]`` as a state dict, with an error naming the file when it is not there."""
    if not isinstance(checkpoint, Mapping) or key not in checkpoint:
        found = sorted(checkpoint)[:10] if isinstance(checkpoint, Mapping) else type(checkpoint).__name__
        raise ConfigError(f"checkpoint {path} has no {key!r} entry (top-level entries: {found})")
    value = checkpoint[key]
    if not isinstance(value, Mapping):
        raise ConfigError(f"checkpoint {path}: {key!r} is a {type(value).__name__}, not a state dict")
    return value


def strip_ddp(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the ``module.`` prefix DistributedDataParallel adds (the official LM files carry it)."""
    if state and all(k.startswith(DDP_PREFIX) for k in state):
        return {k[len(DDP_PREFIX):]: v for k, v in state.items()}
    return dict(state)


def select_prefixes(state: Mapping[str, torch.Tensor], prefixes: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """Keep the keys under the given prefixes (the Lightning codec file also holds encoders, discriminators...)."""
    return {k: v for k, v in state.items() if k.startswith(prefixes)}


def load_strict(module: nn.Module, state: Mapping[str, torch.Tensor], path: Path, ignore_suffixes: tuple[str, ...] = ()) -> None:
    """Strict load that names the file and lists missing/unexpected keys and shape mismatches.

    The module may live on the ``meta`` device: tensors are then assigned rather than copied, which
    avoids allocating (and randomly initialising) a second copy of a multi-GB network.
    """
    state = {k: v for k, v in state.items() if not k.endswith(ignore_suffixes)}
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(
        f"{k}: file {list(state[k].shape)} vs model {list(expected[k].shape)}"
        for k in set(expected) & set(state)
        if tuple(state[k].shape) != tuple(expected[k].shape)
    )
    if missing or unexpected or wrong:
        parts = [f"checkpoint {path} does not match {type(module).__name__}:"]
        for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", wrong)):
            if keys:
                shown = ", ".join(keys[:8]) + (f" ... ({len(keys)} in all)" if len(keys) > 8 else "")
                parts.append(f"  {label}: {shown}")
        raise ConfigError("\n".join(parts))
    on_meta = any(t.is_meta for t in expected.values())
    module.load_state_dict(state, strict=True, assign=on_meta)
