"""Sanity rows that every table carries: they bound what any real system can score."""

from __future__ import annotations

import numpy as np

from bench.item import AEC, TASKS, task_parts
from bench.system import DEFAULT_VARIANT, EnhanceInput, System, register_system

ALL_TASKS = frozenset(TASKS)


@register_system("unprocessed")
class Unprocessed(System):
    """Passthrough: the degraded input scored as if it were an output (the 'Noisy' row). For
    separation, the mixture stands for every source (the baseline SI-SDR improvement is measured from)."""

    tasks = ALL_TASKS
    sample_rate = None
    version = "1"
    license = "Apache-2.0"
    options = {}

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        return np.tile(inputs.audio, (inputs.sources, 1)) if inputs.sources > 1 else inputs.audio.copy()


@register_system("oracle")
class Oracle(System):
    """Returns the clean reference (every source's, for separation): the ceiling of every intrusive metric."""

    tasks = ALL_TASKS
    sample_rate = None
    version = "1"
    license = "Apache-2.0"
    uses_reference = True
    options = {}

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        if inputs.reference is None and AEC in task_parts(inputs.task):
            return np.zeros_like(inputs.audio)  # far-end single talk: the ideal canceller is silent
        if inputs.reference is None:
            raise ValueError(f"item {inputs.item_id} has no clean reference, so the oracle has nothing to return")
        return inputs.reference.copy()


@register_system("silence")
class Silence(System):
    """All zeros: the floor, and a check that metrics survive silent output."""

    tasks = ALL_TASKS
    may_be_silent = True
    sample_rate = None
    version = "1"
    license = "Apache-2.0"
    options = {}

    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        return np.zeros((inputs.sources, len(inputs.audio)) if inputs.sources > 1 else len(inputs.audio), np.float32)
