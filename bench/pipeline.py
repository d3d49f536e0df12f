"""One item through one system and a list of metrics, with the harness's checks around each call.

This is the unit every executor runs; it knows nothing of caches or stores, so a test or a notebook
can call it directly.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np

from bench.audio import fit_length, load_audio, resample
from bench.errors import BadOutputError
from bench.item import AEC, FAREND_SINGLE_TALK, Item, task_parts
from bench.metric import Metric, ScoringContext
from bench.system import EnhanceInput, System

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


def validate_output(output: object, expected_length: int, *, allow_silence: bool) -> np.ndarray:
    """Reject what no metric should ever see, with a reason that goes into the failure record."""
    audio = np.asarray(output, dtype=np.float32)
    if audio.ndim == 2 and 1 in audio.shape:
        audio = audio.reshape(-1)
    if audio.ndim != 1:
        raise BadOutputError(f"output has shape {audio.shape}, expected a mono waveform")
    if not np.all(np.isfinite(audio)):
        raise BadOutputError("output contains NaN or infinite samples")
    if len(audio) != expected_length:
        raise BadOutputError(f"output has {len(audio)} samples, expected {expected_length} (same as the input)")
    if not allow_silence and float(np.max(np.abs(audio), initial=0.0)) < SILENCE_PEAK:
        raise BadOutputError("output is silent")
    return audio


def build_input(system: System, item: Item) -> tuple[EnhanceInput, int, int]:
    """Read and resample the item's signals to the system's rate.

    Returns the input record, the item's own rate and its input length, which the output is
    mapped back to.
    """
    audio, item_rate = load_audio(item.input, expected_rate=item.sample_rate)
    rate = system.sample_rate or item_rate
    native = resample(audio, item_rate, rate)

    def side(path: object) -> np.ndarray | None:
        return None if path is None else load_audio(path, rate, expected_rate=item.sample_rate)[0]

    reference = None
    if system.uses_reference and item.reference is not None:
        reference = fit_length(side(item.reference), len(native))
    inputs = EnhanceInput(
        audio=native, sample_rate=rate, task=item.task, item_id=item.id, source=item.input, subset=item.subset,
        enrollment=side(item.enrollment), far_end=side(item.far_end), loss_trace=item.loss_trace,
        reference=reference, meta=dict(item.meta),
    )
    return inputs, item_rate, len(audio)


def enhance_item(system: System, variant: str, item: Item, *, timeout: float | None = None) -> tuple[np.ndarray, int]:
    """Enhance one item; returns (output at the item's rate and input length, that rate).

    Raises BadOutputError for unusable output, AudioError for unreadable input, ItemTimeout, or
    whatever the system raised; callers record these per item.
    """
    inputs, item_rate, length = build_input(system, item)
    with time_limit(timeout):
        raw = system.enhance(inputs, variant)
    return finish_output(system, item, inputs, item_rate, length, raw), item_rate


def finish_output(system: System, item: Item, inputs: EnhanceInput, item_rate: int, length: int, raw: object) -> np.ndarray:
    """Check a system's raw output and map it back to the item's rate and input length."""
    allow_silence = system.may_be_silent or expects_silence(item)
    output = validate_output(raw, len(inputs.audio), allow_silence=allow_silence)
    if inputs.sample_rate != item_rate:
        output = fit_length(resample(output, inputs.sample_rate, item_rate), length)
    return output


def score_item(metrics: Sequence[Metric], item: Item, output: np.ndarray, rate: int) -> tuple[dict[str, float], dict[str, str]]:
    """Run every applicable metric. Returns (scores, {metric name: error}) so one metric's
    failure never hides the others' columns."""
    ctx = ScoringContext(item, output, rate)
    scores: dict[str, float] = {}
    errors: dict[str, str] = {}
    for metric in metrics:
        if not metric.applies_to(item):
            continue
        try:
            scores.update(metric.score(ctx))
        except Exception as exc:  # a metric bug or a model failure is recorded, never fatal
            errors[metric.name] = f"{type(exc).__name__}: {exc}"
    return scores, errors
