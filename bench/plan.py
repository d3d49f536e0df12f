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
from typing import Callable, Iterable, Sequence

from bench.errors import ConfigError
from bench.item import TASKS, Item, supports
from bench.spec import Spec
from bench.system import DEFAULT_VARIANT, SYSTEMS, System, SystemCard, build_system, system_code
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
    not_started: list[tuple[Job, Exception]] = field(default_factory=list)
    """Jobs of systems that could not start (their constructor, ``variants`` or ``card`` raised),
    with the cause: recorded as failed, never run, while every other system runs."""

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


def start_systems(system_specs: Sequence[Spec]) -> list[System | Exception]:
    """Build each system; one whose constructor raises is kept as its exception (``build_plan``
    fails its rows), so the others still run. A config error (an unknown system or option) stops
    the run before anything is computed."""
    systems: list[System | Exception] = []
    for spec in system_specs:
        try:
            with system_code():
                systems.append(build_system(spec))
        except ConfigError:
            raise
        except Exception as exc:
            systems.append(exc)
    return systems


def _stand_in_card(spec: Spec, variant: str) -> SystemCard:
    """The card of a system that could not give its own: what its class declares (every task, if
    even its module cannot be imported, so none of its rows hides as 'unsupported')."""
    try:
        cls = SYSTEMS.get(spec.name)
    except Exception:
        return SystemCard(name=spec.name, variant=variant, version="unknown", tasks=TASKS, sample_rate=None,
                          config=dict(spec.config))
    return SystemCard(name=spec.name, variant=variant, version=cls.version, tasks=tuple(sorted(cls.tasks)),
                      sample_rate=cls.sample_rate, license=cls.license, config=dict(spec.config))


def _variants_and_cards(spec: Spec, system: System) -> dict[str, SystemCard]:
    with system_code():
        return {variant: system.card(variant) for variant in system.resolve_variants(spec.variant)}


def build_plan(system_specs: Sequence[Spec], systems: Sequence[System | Exception],
               testsets: Sequence[tuple[str, list[Item]]]) -> Plan:
    """Every (variant, item) pair in plan order, split by whether the system supports the task.

    A system given as an exception (it could not be built), or whose ``variants`` or ``card``
    raises, gets rows for the variants its spec names, all in ``not_started``."""
    plan = Plan()
    for index, (spec, system) in enumerate(zip(system_specs, systems)):
        failure = system if isinstance(system, Exception) else None
        if failure is None:
            try:
                cards = _variants_and_cards(spec, system)
            except ConfigError:
                raise
            except Exception as exc:
                failure = exc
        if failure is None:
            def place(job: Job) -> None:  # used within this iteration only
                runnable = supports(system.tasks, job.item.task) and not system.unmet_needs(job.item)
                (plan.jobs if runnable else plan.unsupported).append(job)
        else:
            cards = {variant: _stand_in_card(spec, variant)
                     for variant in (spec.variant.split(",") if spec.variant else [DEFAULT_VARIANT])}
            tasks = frozenset(next(iter(cards.values())).tasks)

            def place(job: Job) -> None:
                if supports(tasks, job.item.task):
                    plan.not_started.append((job, failure))
                else:
                    plan.unsupported.append(job)
        _add_rows(plan, spec, index, cards, testsets, place)
    return plan


def _add_rows(plan: Plan, spec: Spec, index: int, cards: dict[str, SystemCard],
              testsets: Sequence[tuple[str, list[Item]]], place: Callable[[Job], None]) -> None:
    """One row per variant (its card in ``plan.cards``), one job per item handed to ``place``."""
    for variant, card in cards.items():
        label = row_label(spec.label, spec.name, variant)
        if label in plan.cards:
            raise ConfigError(f"two systems would both be labelled {label!r}; give one a 'label'")
        plan.cards[label] = card
        position = 0
        for testset_label, items in testsets:
            for item in items:
                place(Job(testset_label, item, index, label, variant, position))
                position += 1
