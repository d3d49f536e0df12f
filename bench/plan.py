"""The plan: which (system variant, test-set item) jobs a run consists of, in a fixed order.

Every driver iterates the same plan: ``sebench run`` (``bench.runner``), the throughput benchmark's
plain loop, and any script that scores systems outside the store (SEFlow's grid evaluation)::

    systems = [build_system(spec) for spec in system_specs]
    plan = build_plan(system_specs, systems, load_items(testset_specs))
    for job in plan.jobs:                                   # supported jobs, in plan order
        output, rate = enhance_item(systems[job.system_index], job.variant, job.item)
        scores, errors = score_item(metrics, job.item, output, rate)

Plan order is config order of the systems (each expanded into its variants in order), then config
order of the test sets, then each loader's item order. ``Job.position`` is the item's index in
test-set-then-item order and ``Plan.positions`` the row's index in system order; the store keeps
both so reports list rows and items as configured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from bench.errors import ConfigError
from bench.item import Item, supports
from bench.spec import Spec
from bench.system import DEFAULT_VARIANT, System, SystemCard
from bench.testset import TESTSETS


@dataclass(frozen=True)
class Job:
    """One system variant on one item: the unit every executor schedules."""

    testset: str
    item: Item
    system_index: int
    """Index of the system in the run config (``RunConfig.systems``)."""
    label: str
    """The table row: the spec's label or name, with ``@variant`` unless it is the default."""
    variant: str
    position: int | None = None
    """Index of the item in plan order (test sets in config order, then items in loader order)."""

    @property
    def item_key(self) -> tuple[str, str]:
        """Jobs with the same key read the same input file."""
        return (self.testset, self.item.id)


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    """Jobs whose task the system supports, in plan order."""
    unsupported: list[Job] = field(default_factory=list)
    """Jobs the system cannot run: a task it does not support, or an item lacking a field it
    ``needs`` (recorded as ``unsupported``, shown as ``-``)."""
    cards: dict[str, SystemCard] = field(default_factory=dict)
    """Row label -> card, in row order."""

    @property
    def positions(self) -> dict[str, int]:
        """Row label -> row index in config order."""
        return {label: index for index, label in enumerate(self.cards)}


def row_label(spec_label: str | None, name: str, variant: str) -> str:
    base = spec_label or name
    return base if variant == DEFAULT_VARIANT else f"{base}@{variant}"


def load_items(testset_specs: Sequence[Spec], limit: int | None = None) -> list[tuple[str, list[Item]]]:
    """(test set label, items) per test set, in config order; at most ``limit`` items per subset."""
    loaded = []
    seen: set[str] = set()
    for spec in testset_specs:
        label = spec.label or spec.name
        if label in seen:
            raise ConfigError(f"test set {label!r} appears twice; give each a distinct 'label'")
        seen.add(label)
        items = list(TESTSETS.get(spec.name)(**spec.config).items())
        if limit is not None:
            items = _first_per_subset(items, limit)
        ids = [item.id for item in items]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"test set {label!r} yields duplicate item ids")
        loaded.append((label, items))
    return loaded


def _first_per_subset(items: Iterable[Item], limit: int) -> list[Item]:
    counts: dict[str, int] = {}
    kept = []
    for item in items:
        counts[item.subset] = counts.get(item.subset, 0) + 1
        if counts[item.subset] <= limit:
            kept.append(item)
    return kept


def build_plan(system_specs: Sequence[Spec], systems: Sequence[System],
               testsets: Sequence[tuple[str, list[Item]]]) -> Plan:
    """Every (variant, item) pair in plan order, split by whether the system supports the task."""
    plan = Plan()
    for index, (spec, system) in enumerate(zip(system_specs, systems)):
        for variant in system.resolve_variants(spec.variant):
            label = row_label(spec.label, spec.name, variant)
            if label in plan.cards:
                raise ConfigError(f"two systems would both be labelled {label!r}; give one a 'label'")
            plan.cards[label] = system.card(variant)
            position = 0
            for testset_label, items in testsets:
                for item in items:
                    job = Job(testset_label, item, index, label, variant, position)
                    runnable = supports(system.tasks, item.task) and not system.unmet_needs(item)
                    (plan.jobs if runnable else plan.unsupported).append(job)
                    position += 1
    return plan
