"""sebench adapters for LLaSE (denoise) and LLaSE-G1 (denoise, PLC, TSE, AEC).

Both run at 16 kHz; ``load`` reads the three weight files once. The codec emits 320 samples per
token, so the raw output is about the input's length (LLaSE: (frames + 1) * 320 per chunk, G1:
frames * 320, frames = (N - 400) // 320 + 1) with its start already aligned; the adapters pad or
trim the end to the input length.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from bench.audio import fit_length
from bench.errors import MissingDependencyError
from bench.hashing import file_sha256
from bench.item import AEC, DENOISE, PLC, TSE, task_parts
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, SystemCard, register_system
from systems.llase.config import LLASE, LLASE_G1, SAMPLE_RATE, LLaSEConfig, parse_config


def _torch_stack() -> Any:
    """Import torch and transformers lazily so the harness runs without the ``torch`` extra."""
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "torch", "torch", "needed by the LLaSE adapters") from exc
    return torch


class _LLaSEBase(System):
    """Config, weight loading, hashing and the card, shared by both models."""

    model: ClassVar[str] = LLASE
    sample_rate = SAMPLE_RATE
    version = "1"
    license = "unknown: see the official LLaSE / LLaSE-G1 repositories and the Xcodec2 model card"

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.settings: LLaSEConfig = parse_config(self.model, config)
        self._nets: Any = None
        self._lm: Any = None
        self._hashes: dict[str, str] | None = None
        self._params: dict[str, int] | None = None

    def _device(self) -> Any:
        torch = _torch_stack()
        if self.settings.device:
            return torch.device(self.settings.device)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def load(self) -> None:
        if self._lm is not None:
            return
        self.settings.check_files()
        _torch_stack()
        from systems.llase.inference import Networks
        from systems.llase.loading import load_codec, load_lm, load_wavlm, parameter_count, prepare

        device = self._device()
        sizes = self.settings.sizes
        lm = prepare(load_lm(self.model, sizes, self.settings.lm.path), device)
        wavlm = prepare(load_wavlm(sizes, self.settings.wavlm.path), device)
        codec = prepare(load_codec(sizes, self.settings.codec.path), device)
        self._params = {"lm": parameter_count(lm), "wavlm": parameter_count(wavlm), "codec": parameter_count(codec)}
        self._nets = Networks(wavlm=wavlm, codec=codec, device=device)
        self._lm = lm

    def file_hashes(self) -> dict[str, str]:
        if self._hashes is None:
            self.settings.check_files()
            self._hashes = {f.role: file_sha256(f.path) for f in self.settings.files()}
        return self._hashes

    def checkpoint_sha256(self) -> str | None:
        """One digest over the three files' digests, so a change to any of them changes the identity."""
        joined = "\n".join(f"{role}:{h}" for role, h in sorted(self.file_hashes().items()))
        return hashlib.sha256(joined.encode()).hexdigest()

    def parameter_counts(self) -> dict[str, int]:
        """Counted on a ``meta``-device build when the weights are not loaded yet (no memory used)."""
        if self._params is None:
            _torch_stack()
            from systems.llase.loading import build_on_meta, parameter_count

            lm, wavlm, codec = build_on_meta(self.model, self.settings.sizes)
            self._params = {"lm": parameter_count(lm), "wavlm": parameter_count(wavlm), "codec": parameter_count(codec)}
        return self._params

    def card(self, variant: str = DEFAULT_VARIANT) -> SystemCard:
        params = self.parameter_counts()
        base = super().card(variant)
        return replace(
            base,
            config=self.settings.identity(),
            params=sum(params.values()),
            extra={"params_by_network": params, "weights_sha256": self.file_hashes(), "weights": self.settings.locations()},
        )

    def _output(self, audio: np.ndarray, inputs: EnhanceInput) -> np.ndarray:
        return fit_length(np.asarray(audio, dtype=np.float32), len(inputs.audio))


@register_system(LLASE)
class LLaSE(_LLaSEBase):
    """LLaSE (Kang et al. 2025): WavLM-Large layer 6 -> LLaMA LM -> Xcodec2 tokens, chunked 10 s + 2 s context."""

    model = LLASE
    tasks = frozenset({DENOISE})

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        from systems.llase.inference import llase_enhance

        self.load()
        try:
            audio = llase_enhance(self._nets, self._lm, inputs.audio)
        except ValueError as exc:
            raise ValueError(f"item {inputs.item_id} ({inputs.source}): {exc}") from exc
        return self._output(audio, inputs)


def g1_mode(task: str) -> str:
    """The G1 mode for an item's task: a prompt-driven mode (AEC/TSE) wins over denoise/PLC parts.

    G1 has no combined AEC+TSE mode; denoise and PLC share the same path (``nnet(feat)``, head x).
    """
    parts = task_parts(task)
    if {AEC, TSE} <= parts:
        raise ValueError(f"LLaSE-G1 has no combined AEC+TSE mode (task {task!r})")
    for mode in (AEC, TSE, PLC):
        if mode in parts:
            return mode
    return DENOISE


@register_system(LLASE_G1)
class LLaSEG1(_LLaSEBase):
    """LLaSE-G1: one LM for SE, PLC, TSE (enrollment prompt) and AEC (far-end prompt)."""

    model = LLASE_G1
    tasks = frozenset({DENOISE, PLC, TSE, AEC})

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        from systems.llase.inference import g1_enhance

        task = g1_mode(inputs.task)
        prompt = inputs.far_end if task == AEC else inputs.enrollment if task == TSE else None
        self.load()
        try:
            audio = g1_enhance(self._nets, self._lm, task, inputs.audio, prompt)
        except ValueError as exc:
            raise ValueError(f"item {inputs.item_id} ({inputs.source}): {exc}") from exc
        return self._output(audio, inputs)
