"""Items through a system and through metrics, with the harness's checks around each call.

The one enhance path and the one scoring path: the worker (``bench.worker``) adds the cache, seeds
and timing around these functions; a test, a notebook or a script with no store calls them directly
(``enhance_item``, ``score_item``). Nothing here knows of caches, stores or executors.
"""

from __future__ import annotations

import random
import signal
import sys
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np

from bench.audio import PEAK_LIMIT, fit_length, load_audio, peak_of, resample
from bench.errors import BadOutputError
from bench.item import AEC, FAREND_SINGLE_TALK, Item, task_parts
from bench.metric import Metric, ScoringContext, rename_scores
from bench.system import EnhanceInput, EnhanceOutput, System, system_code

SILENCE_PEAK = 1e-6
"""Peak below which an output counts as silent (-120 dBFS)."""


class ItemTimeout(Exception):
    """The system spent longer on one item than the run's per-item limit."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (SIGALRM; main thread only, otherwise no limit).

    Code stuck inside a C call is interrupted when it returns to Python, which is the best a
    process can do without killing itself; the parallel executors run items in worker processes.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise ItemTimeout(f"timed out after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def expects_silence(item: Item) -> bool:
    """Far-end single talk in AEC: a perfect canceller outputs silence."""
    return AEC in task_parts(item.task) and item.talk_type == FAREND_SINGLE_TALK


def validate_output(output: object, expected_length: int, *, allow_silence: bool, sources: int = 1) -> np.ndarray:
    """Reject what no metric should ever see, with a reason that goes into the failure record.

    Samples must be real floating point: integer PCM (``int16`` counts), booleans, objects and
    complex values are refused rather than cast, since a cast would hand the metrics numbers
    thousands of times too loud (or a dropped imaginary part) that still look like scores. Peaks
    beyond ``PEAK_LIMIT`` (+20 dBFS) are refused for the same reason. ``sources`` > 1 (a separation
    item) expects a ``(sources, samples)`` array, one row per source.
    """
    if output is None or isinstance(output, (str, bytes)):
        raise BadOutputError(f"output is a {type(output).__name__}, expected an array of float samples")
    try:
        raw = np.asarray(output)
    except Exception as exc:  # a torch tensor that needs grad, a ragged list, ...
        raise BadOutputError(f"output of type {type(output).__name__} is not an array of samples: {exc}") from exc
    if np.iscomplexobj(raw):
        raise BadOutputError(f"output is complex ({raw.dtype}); return the real waveform")
    if raw.dtype.kind != "f":
        raise BadOutputError(f"output has dtype {raw.dtype}; systems must return floating-point samples in [-1, 1] "
                             "(integer PCM: divide by its full scale, e.g. 32768)")
    audio = raw.astype(np.float32, copy=False)
    if sources > 1:
        if audio.ndim != 2 or audio.shape[0] != sources:
            raise BadOutputError(f"output has shape {audio.shape}, expected ({sources}, samples): one row per source")
    elif audio.ndim == 2 and 1 in audio.shape:
        audio = audio.reshape(-1)
    elif audio.ndim != 1:
        raise BadOutputError(f"output has shape {audio.shape}, expected a mono waveform")
    if not np.all(np.isfinite(audio)):
        raise BadOutputError("output contains NaN or infinite samples")
    if audio.shape[-1] != expected_length:
        raise BadOutputError(f"output has {audio.shape[-1]} samples, expected {expected_length} (the input's duration)")
    peak = peak_of(audio)
    if peak > PEAK_LIMIT:
        raise BadOutputError(f"output peaks at {peak:.6g}, beyond +/-{PEAK_LIMIT:g} (+20 dBFS): a scaling bug "
                             "(integer PCM values as float?)")
    if not allow_silence and peak < SILENCE_PEAK:
        raise BadOutputError("output is silent")
    return audio


def seed_everything(run_seed: int, key: str) -> None:
    """Seed every global RNG from (run seed, key), so a result never depends on the order or the
    worker that computed it. Keys are ``label/item id`` for systems, ``metric/item id`` for metrics."""
    seed = zlib.crc32(f"{run_seed}:{key}".encode())
    random.seed(seed)
    np.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


@dataclass(frozen=True)
class PreparedInput:
    """An item's signals at the system's rate, plus the item's own rate and length."""

    inputs: EnhanceInput
    item_rate: int
    length: int
    """The input's length in samples at ``item_rate``."""


def prepare_input(system: System, item: Item) -> PreparedInput:
    """Read and resample the item's signals to the system's rate (the reference only for systems
    that declare ``uses_reference``)."""
    audio, item_rate = load_audio(item.input, expected_rate=item.sample_rate)
    rate = system.sample_rate or item_rate
    native = resample(audio, item_rate, rate)

    def side(path: object) -> np.ndarray | None:
        return None if path is None else load_audio(path, rate, expected_rate=item.sample_rate)[0]

    reference = None
    if system.uses_reference and item.reference is not None:
        references = [fit_length(side(path), len(native)) for path in item.references]
        reference = np.stack(references) if item.sources > 1 else references[0]
    inputs = EnhanceInput(
        audio=native, sample_rate=rate, task=item.task, item_id=item.id, source=item.input, subset=item.subset,
        enrollment=side(item.enrollment), far_end=side(item.far_end), loss_trace=item.loss_trace,
        reference=reference, meta=dict(item.meta), sources=item.sources,
        item_files=dict(item.files()) if system.reads_item_files else {},
    )
    return PreparedInput(inputs, item_rate, len(audio))


@dataclass
class Enhanced:
    """One item's outcome: the checked output at the rate it was produced, or what went wrong."""

    output: np.ndarray | None
    error: BaseException | None
    seconds: float
    rate: int = 0
    provenance: dict[str, str] = field(default_factory=dict)
    """Where the output came from (``published_file``, ``published_sha256``), if the system says."""


def finish_output(system: System, item: Item, prepared: PreparedInput, raw: object) -> Enhanced:
    """Check a system's raw output, kept at the rate it was produced at.

    A bare array is at the system's rate with the input's length there; an ``EnhanceOutput`` names
    its own rate and must last as long as the input at that rate. Nothing is resampled here: each
    metric resamples once, from this rate to its own, so a 16 kHz output of a 48 kHz item is never
    taken to 48 kHz and back before a 16 kHz metric sees it.
    """
    inputs = prepared.inputs
    audio, rate, provenance = raw, inputs.sample_rate, {}
    if isinstance(raw, EnhanceOutput):
        audio, rate, provenance = raw.audio, int(raw.sample_rate), dict(raw.provenance)
    expected = len(inputs.audio) if rate == inputs.sample_rate else round(len(inputs.audio) * rate / inputs.sample_rate)
    allow_silence = system.may_be_silent or expects_silence(item)
    output = validate_output(audio, expected, allow_silence=allow_silence, sources=item.sources)
    return Enhanced(output, None, 0.0, rate, provenance)


def enhance_prepared(system: System, variant: str, batch: Sequence[tuple[Item, PreparedInput]], *,
                     timeout: float | None = None, seed: Callable[[Item], None] | None = None) -> list[Enhanced]:
    """Enhance prepared items with one variant, each failure confined to its item.

    A system that overrides ``enhance_batch`` gets one call for the whole batch (seeded once for
    its first item: its contract is that results never depend on the batch); a batch call that
    raises or returns the wrong count is retried item by item, so one bad item fails alone. Other
    systems run item by item, each seeded for its own item. ``timeout`` is per item.
    """
    batched = len(batch) > 1 and type(system).enhance_batch is not System.enhance_batch
    raws, share = (_call_batch(system, variant, batch, timeout, seed) if batched else None) or (None, 0.0)
    results = []
    for index, (item, prepared) in enumerate(batch):
        start = time.perf_counter()
        try:
            if raws is None:
                if seed is not None:
                    seed(item)
                with time_limit(timeout), system_code():
                    raw = system.enhance_batch([prepared.inputs], variant)[0]
            else:
                raw = raws[index]
            finished = finish_output(system, item, prepared, raw)
            finished.seconds = share + time.perf_counter() - start
            results.append(finished)
        except Exception as exc:
            results.append(Enhanced(None, exc, share + time.perf_counter() - start))
    return results


def _call_batch(system: System, variant: str, batch: Sequence[tuple[Item, PreparedInput]], timeout: float | None,
                seed: Callable[[Item], None] | None) -> tuple[list[object], float] | None:
    """(raw outputs, seconds per item) of one ``enhance_batch`` call; None to retry item by item."""
    start = time.perf_counter()
    if seed is not None:
        seed(batch[0][0])
    try:
        with time_limit(timeout * len(batch) if timeout else None), system_code():
            raws = system.enhance_batch([prepared.inputs for _, prepared in batch], variant)
    except Exception:
        return None
    if len(raws) != len(batch):
        return None
    return list(raws), (time.perf_counter() - start) / len(batch)


def enhance_item(system: System, variant: str, item: Item, *, timeout: float | None = None) -> tuple[np.ndarray, int]:
    """Enhance one item; returns (output, the rate it was produced at: the system's, or the one
    an ``EnhanceOutput`` names).

    Raises BadOutputError for unusable output, AudioError for unreadable input, ItemTimeout, or
    whatever the system raised; callers record these per item.
    """
    prepared = prepare_input(system, item)
    (result,) = enhance_prepared(system, variant, [(item, prepared)], timeout=timeout)
    if result.error is not None:
        raise result.error
    return result.output, result.rate


def score_metric(metric: Metric, ctx: ScoringContext) -> tuple[dict[str, float], BaseException | None]:
    """One metric on one output: (its columns, None) or ({}, the exception): a metric bug or a model
    failure is recorded, never fatal, and never hides the other metrics' columns."""
    try:
        return rename_scores(metric, metric.score(ctx)), None
    except Exception as exc:
        return {}, exc


def score_item(metrics: Sequence[Metric], item: Item, output: np.ndarray, rate: int) -> tuple[dict[str, float], dict[str, str]]:
    """Every applicable metric on one output, sharing one ScoringContext (each reference signal is
    read and resampled once). Returns (scores, {metric name: error})."""
    ctx = ScoringContext(item, output, rate)
    scores: dict[str, float] = {}
    errors: dict[str, str] = {}
    for metric in metrics:
        if metric.applies_to(item):
            columns, error = score_metric(metric, ctx)
            scores.update(columns)
            if error is not None:
                errors[metric.name] = f"{type(error).__name__}: {error}"
    return scores, errors
