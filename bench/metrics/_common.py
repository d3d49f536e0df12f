"""Small helpers every metric module shares: model-file hashing, config parsing, silence checks."""

from __future__ import annotations

import importlib.util
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from bench.audio import align
from bench.errors import ConfigError, MissingDependencyError
from bench.hashing import file_sha256
from bench.metric import ScoringContext


def model_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a model file, memoised (``bench.hashing``): ``version`` is asked for on every
    cache lookup and the Whisper model alone is 75 MB."""
    return file_sha256(path)


def package_dir(package: str, extra: str, distribution: str | None = None) -> Path:
    """Directory of an installed package without importing it (imports can cost seconds);
    ``distribution`` is its pip name where that differs from the import name."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(distribution or package, extra)
    return Path(next(iter(spec.submodule_search_locations)))


def as_bool(value: Any, key: str) -> bool:
    """Config values arrive as strings from CLI spec strings (``dnsmos:personalized=true``)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"config key {key!r} must be true or false, got {value!r}")


def is_silent(audio: np.ndarray) -> bool:
    """Digital silence: every sample exactly zero (what a muted or failed system writes)."""
    return not np.any(audio)


def reference_pairs(ctx: ScoringContext, sample_rate: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(reference, output) pairs at ``sample_rate`` (default: the item's own rate), each truncated to
    the shorter: one pair, or for a separation item one per source in the best assignment
    (``ScoringContext.assignment``), so every intrusive metric scores the same pairing.

    A pair whose reference is digital silence is left out: an intrusive score against nothing is
    undefined (PESQ raises, SI-SDR divides by zero), so the column is absent for that item rather
    than a made-up number.
    """
    rate = sample_rate or ctx.item_rate
    if len(ctx.item.references) > 1:
        outputs = ctx.sources(rate)
        pairs = [align(reference, outputs[j]) for reference, j in zip(ctx.references(rate), ctx.assignment())]
    else:
        pairs = [align(ctx.reference(rate), ctx.output(rate))]
    return [(reference, output) for reference, output in pairs if not is_silent(reference)]


def mean_columns(per_pair: list[dict[str, float]]) -> dict[str, float]:
    """Per-source scores averaged per column (a separation item's columns are source means)."""
    columns = {name for scores in per_pair for name in scores}
    return {name: float(np.mean([s[name] for s in per_pair if name in s])) for name in sorted(columns)}


def onnx_session(model: str | os.PathLike[str] | bytes) -> Any:
    """One single-threaded ONNX Runtime session, from a model file or its serialised bytes: the
    runner parallelises across workers, and per-session thread pools on top of that only
    oversubscribe the cores."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run a torch model on one intra-op thread, as every other metric engine here runs (ONNX
    sessions, ctranslate2, BLAS): a threaded reduction sums in another order, so a score would
    depend on how many threads the process had, and so on the executor and worker count
    (resemblyzer embeddings moved by 3e-8 between 1 and 2 threads). It also keeps a serial run
    from oversubscribing a busy machine. The process's setting is restored for the systems."""
    import torch

    before = torch.get_num_threads()
    if before != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if before != 1:
            torch.set_num_threads(before)
