"""Speaker similarity: cosine of ``resemblyzer`` (GE2E d-vector) embeddings.

``SpkSim`` compares the output with the clean reference, ``SpkSim_enroll`` with the enrollment
clip (target speaker extraction); either is absent when the item lacks that signal. Every clip
goes through ``resemblyzer.preprocess_wav`` at 16 kHz (volume normalisation, VAD trimming of long
silences) and ``embed_utterance``; embeddings are unit-norm, so the cosine is a dot product.
An all-zero output has no speaker and scores the floor, 0.0 (resemblyzer's embeddings are
non-negative, so 0 is also the lowest cosine two real clips can reach).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import numpy as np

from bench.errors import MissingDependencyError
from bench.item import Item
from bench.metric import Column, Metric, ScoringContext, register_metric
from bench.metrics._common import is_silent, model_sha256, one_torch_thread, package_dir

SAMPLE_RATE = 16000
SILENCE_SIMILARITY = 0.0


@lru_cache(maxsize=1)
def _encoder() -> Any:
    try:
        import torch
        from resemblyzer import VoiceEncoder
    except ImportError as exc:
        raise MissingDependencyError("resemblyzer", "spk") from exc
    torch.manual_seed(0)  # inference is deterministic; seeded anyway so init order never matters
    return VoiceEncoder(device="cpu", verbose=False)


def embed_fn(audio: np.ndarray) -> np.ndarray:
    """Unit-norm d-vector of a 16 kHz clip (the encoder loads once per process), computed on one
    torch thread so it never depends on the process's thread count (``one_torch_thread``)."""
    from resemblyzer import preprocess_wav

    encoder = _encoder()
    with one_torch_thread():
        return encoder.embed_utterance(preprocess_wav(np.asarray(audio, dtype=np.float32)))


def speaker_similarity_fn(audio: np.ndarray, other: np.ndarray) -> float:
    """Cosine of two 16 kHz clips' embeddings; the floor (0.0) when either is all zeros."""
    if is_silent(audio) or is_silent(other):
        return SILENCE_SIMILARITY
    return float(np.dot(embed_fn(audio), embed_fn(other)))


@register_metric("spksim")
class SpeakerSimilarity(Metric):
    columns = (
        Column("SpkSim", higher_is_better=True, lower=0.0, upper=1.0),
        Column("SpkSim_enroll", higher_is_better=True, lower=0.0, upper=1.0),
    )

    options = {}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._signal_embeddings: dict[tuple[str, str, int, int], np.ndarray | None] = {}

    def applies_to(self, item: Item) -> bool:
        return (item.has("reference") or item.has("enrollment")) and super().applies_to(item)

    def model_files(self) -> dict[str, str]:
        return {"resemblyzer/pretrained.pt": model_sha256(package_dir("resemblyzer", "spk") / "pretrained.pt")}

    def load(self) -> None:
        _encoder()

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        output = ctx.output(SAMPLE_RATE)
        targets = {"SpkSim": ctx.item.reference, "SpkSim_enroll": ctx.item.enrollment}
        wanted = {column: field for column, field in targets.items() if field is not None}
        if is_silent(output):
            return {column: SILENCE_SIMILARITY for column in wanted}
        embedding = embed_fn(output)
        scores = {}
        for column, path in wanted.items():
            other = self._signal_embedding(ctx, column, str(path))
            if other is not None:
                scores[column] = float(np.dot(embedding, other))
        return scores

    def _signal_embedding(self, ctx: ScoringContext, column: str, path: str) -> np.ndarray | None:
        """Embedding of the reference or enrollment, memoised per file version: every system's
        output of an item is compared with the same clip. None for a silent clip (no speaker)."""
        stat = os.stat(path)
        key = (column, path, stat.st_size, stat.st_mtime_ns)
        if key not in self._signal_embeddings:
            audio = ctx.reference(SAMPLE_RATE) if column == "SpkSim" else ctx.enrollment(SAMPLE_RATE)
            self._signal_embeddings[key] = None if is_silent(audio) else embed_fn(audio)
        return self._signal_embeddings[key]
