"""The System interface: one ``enhance`` call per item, at the system's own sample rate.

The harness does everything around the call (reading, resampling in and out, delay-free length
checks, caching, failure isolation), so an adapter only turns one waveform into another. Like
lm-evaluation-harness's model interface it is deliberately narrow.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping, Sequence

import numpy as np

from bench.errors import ConfigError
from bench.hashing import digest
from bench.options import Configurable
from bench.registry import Registry
from bench.spec import Spec

DEFAULT_VARIANT = "default"


class SystemFault(Exception):
    """Something a system's code raised that is not an ``Exception``: ``SystemExit`` (a library
    calling ``sys.exit``), ``GeneratorExit``, a C extension's own ``BaseException``. Carried as an
    ordinary exception so every per-item and per-system handler records it like any other failure;
    ``original`` is what was raised."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


@contextmanager
def system_code() -> Iterator[None]:
    """Wrap every call into a system's code (building it, ``variants``, ``card``, ``load``,
    ``enhance``): whatever it raises becomes an ``Exception`` the caller records for that item or
    system, never something that ends the run. ``KeyboardInterrupt`` alone passes: Ctrl-C, or a
    system that raises it, stops the run (cleanly, see the CLI)."""
    try:
        yield
    except (Exception, KeyboardInterrupt):
        raise
    except BaseException as exc:
        raise SystemFault(exc) from exc


@dataclass(frozen=True)
class EnhanceInput:
    """What a system receives, every waveform already at the system's rate (mono float32).

    ``reference`` is filled only for systems that declare ``uses_reference`` (the oracle), so a
    real system can never peek at the answer.
    """

    audio: np.ndarray
    sample_rate: int
    task: str
    item_id: str
    source: Path
    subset: str = ""
    enrollment: np.ndarray | None = None
    far_end: np.ndarray | None = None
    loss_trace: tuple[int, ...] | None = None
    reference: np.ndarray | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    sources: int = 1
    """How many signals to return: one per source for a separation item (a ``(sources, samples)``
    array), otherwise one."""
    item_files: Mapping[str, Path] = field(default_factory=dict)
    """Paths of the item's own files by role (``Item.files``: input, every reference, enrollment,
    far_end), given only to systems that declare ``reads_item_files`` (the ``folder`` system, which
    must never return one of them)."""


@dataclass(frozen=True)
class EnhanceOutput:
    """What ``enhance`` may return instead of a bare array: audio at a rate of its own choosing
    (its length must then be the input's duration at that rate), plus where it came from.

    The ``folder`` system returns published files this way, at the rate they were saved at, so no
    resampling happens before each metric resamples once to its own rate.
    """

    audio: np.ndarray
    sample_rate: int
    provenance: Mapping[str, str] = field(default_factory=dict)
    """Stored with the output (``published_file``, ``published_sha256``)."""


@dataclass(frozen=True)
class SystemCard:
    """Typed metadata for one system variant, stored with every run.

    ``identity`` (name, version, variant, config, checkpoint hash) is what the enhanced-audio cache
    is keyed on; measured fields such as params and MACs are informative only.
    """

    name: str
    variant: str
    version: str
    tasks: tuple[str, ...]
    sample_rate: int | None
    license: str = "unknown"
    config: Mapping[str, Any] = field(default_factory=dict)
    checkpoint_sha256: str | None = None
    params: int | None = None
    macs_per_second: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def identity(self) -> str:
        return digest({"name": self.name, "variant": self.variant, "version": self.version, "config": self.config,
                       "checkpoint_sha256": self.checkpoint_sha256})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class System(Configurable, ABC):
    """Base class for adapters. Subclasses set the class attributes and implement ``enhance``.

    Instances are built once per worker with the user's config (``**config``) and may hold loaded
    weights; ``load`` is called once before the first ``enhance`` so weight loading never happens
    per item.
    """

    kind = "system"
    tasks: ClassVar[frozenset[str]] = frozenset()
    sample_rate: ClassVar[int | None] = 16000
    """Native rate; ``None`` means rate-agnostic (the item's own rate is passed through)."""
    version: ClassVar[str] = "0"
    license: ClassVar[str] = "unknown"
    uses_reference: ClassVar[bool] = False
    cache_outputs: ClassVar[bool] = True
    """False for systems whose output is cheaper to recompute than to cache (folders of outputs)."""
    may_be_silent: ClassVar[bool] = False
    """Silent output is a failure unless the system declares it (the ``silence`` sanity row)."""
    reads_item_files: ClassVar[bool] = False
    """True for systems that look outputs up on disk and must refuse the item's own files."""
    needs: ClassVar[frozenset[str]] = frozenset()
    """Item fields the system cannot work without (``loss_trace`` for trace-driven concealment):
    an item lacking one is unsupported up front, shown as ``-`` like a task the system does not do."""
    batch_size: ClassVar[int] = 8
    """Items of one variant the parallel executors hand over together, if ``enhance_batch`` is
    overridden (otherwise every item is scheduled on its own)."""

    def variants(self) -> list[str]:
        """Every configuration this adapter yields as a table row."""
        return [DEFAULT_VARIANT]

    def default_variant(self) -> str:
        """The variant a bare name selects (``seflow`` means its full model, not all 48 points)."""
        return self.variants()[0]

    def resolve_variants(self, selector: str | None) -> list[str]:
        """``None`` -> the default; ``all`` -> every variant; ``a,b`` -> those, checked."""
        known = self.variants()
        if selector is None:
            return [self.default_variant()]
        if selector == "all":
            return known
        chosen = [v.strip() for v in selector.split(",") if v.strip()]
        unknown = [v for v in chosen if v not in known]
        if unknown or not chosen:
            shown = ", ".join(known[:12]) + (" ..." if len(known) > 12 else "")
            raise ConfigError(f"system {self.name!r} has no variant {', '.join(unknown) or selector!r}; variants: {shown}")
        return chosen

    def unmet_needs(self, item: Any) -> list[str]:
        """The declared ``needs`` this item (a ``bench.item.Item``) lacks, in sorted order."""
        return sorted(need for need in self.needs if getattr(item, need, None) is None)

    def load(self) -> None:
        """Load weights. Called once per worker before the first item."""

    def checkpoint_sha256(self) -> str | None:
        return None

    def card(self, variant: str = DEFAULT_VARIANT) -> SystemCard:
        return SystemCard(
            name=self.name,
            variant=variant,
            version=self.version,
            tasks=tuple(sorted(self.tasks)),
            sample_rate=self.sample_rate,
            license=self.license,
            config=self.config,
            checkpoint_sha256=self.checkpoint_sha256(),
        )

    @abstractmethod
    def enhance(self, inputs: EnhanceInput, variant: str = DEFAULT_VARIANT) -> np.ndarray | EnhanceOutput:
        """Return the enhanced waveform at ``inputs.sample_rate``, same length as ``inputs.audio``
        (``(sources, samples)`` for a separation item), or an ``EnhanceOutput`` at another rate."""

    def enhance_batch(self, batch: Sequence[EnhanceInput], variant: str = DEFAULT_VARIANT) -> list[np.ndarray]:
        """Override where a model gains from batching; results must equal per-item ``enhance``."""
        return [self.enhance(inputs, variant) for inputs in batch]


SYSTEMS: Registry[System] = Registry("system", "sebench.systems")
register_system = SYSTEMS.register


def build_system(spec: Spec) -> System:
    return SYSTEMS.get(spec.name)(**spec.config)
