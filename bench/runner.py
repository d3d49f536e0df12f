"""Plan (system variant x test set item), execute, and record: the driver side of a run.

Resume rules (explicit, as in MTEB): a run is identified by its name and content hash. Running the
same config again resumes it: items already recorded as finished are skipped, failed ones are
retried, and everything else is looked up in the content-addressed cache before being computed.
``overwrite`` discards the stored run (the cache is kept); a different config under an existing
name is refused rather than mixed in.

A metric whose optional dependency is missing is left out of the run with one line naming the
extra (``RunSummary.skipped``), instead of stopping it; failures are summarised per system and
error type (``RunSummary.failure_lines``), their full text is in the store.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterable

import yaml
from tqdm import tqdm

from bench.columns import check_distinct_columns
from bench.config import RunConfig
from bench.crashwatch import CRASHED_PREFIX, crash_reason, take_crashed
from bench.errors import ConfigError, MissingDependencyError
from bench.executors import get_executor
from bench.item import task_parts
from bench.metric import Metric, build_metric
from bench.plan import Job, build_plan, load_items, start_systems
from bench.provenance import collect, device_description
from bench.spec import Spec
from bench.status import Status
from bench.store import ResultStore
from bench.system import System
from bench.worker import JobResult, starting_failed

MISSING_DEPENDENCY = MissingDependencyError.__name__


@dataclass(frozen=True)
class Failure:
    """One item's failure (or one metric's failure on an item), as the summary groups them."""

    label: str
    item_id: str
    kind: str
    """The exception class; for a metric, ``ErrorType in metric``."""
    reason: str


@dataclass
class RunSummary:
    run_id: str
    store: ResultStore
    planned: int = 0
    already_done: int = 0
    unsupported: int = 0
    ok: int = 0
    failed: int = 0
    enhanced: int = 0
    enhance_cache_hits: int = 0
    scored: int = 0
    score_cache_hits: int = 0
    failures: list[Failure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """One line per metric left out because an optional dependency is missing."""
    notes: list[str] = field(default_factory=list)
    """One line per metric that no planned item can be scored with (ERLE without far-end single talk)."""

    def add(self, result: JobResult) -> None:
        self.enhanced += result.enhanced
        self.enhance_cache_hits += result.enhance_cache_hits
        self.scored += result.scored
        self.score_cache_hits += result.score_cache_hits
        job = result.job
        if result.status == Status.OK:
            self.ok += 1
            for metric, (error_type, text) in sorted(result.metric_errors.items()):
                self.failures.append(Failure(job.label, job.item.id, f"{error_type} in {metric}", text))
        else:
            self.failed += 1
            self.failures.append(Failure(job.label, job.item.id, result.error_type or "Error", result.reason or ""))

    def failure_lines(self) -> list[str]:
        """One line per (system, error type) with a count and one example, in order of first
        appearance; a metric that could not load for want of a package is one line for all systems."""
        lines: dict[tuple[str, str], list[Failure]] = {}
        for failure in self.failures:
            missing = failure.kind.startswith(f"{MISSING_DEPENDENCY} in ")
            lines.setdefault(("*" if missing else failure.label, failure.kind), []).append(failure)
        out = []
        for (label, kind), members in lines.items():
            first = members[0]
            count = f"{len(members)} item{'s' if len(members) != 1 else ''}"
            if label == "*":
                metric = kind.split(" in ", 1)[1]
                out.append(f"metric {metric} not scored on {count}: {_short(first.reason)}")
            else:
                out.append(f"{label}: {count} {kind}, e.g. {first.item_id}: {_short(first.reason)}")
        return out

    def describe(self) -> str:
        return (f"run {self.run_id}: {self.planned} jobs ({self.already_done} already done, {self.unsupported} unsupported); "
                f"{self.ok} ok, {self.failed} failed; enhanced {self.enhanced} (cache hits {self.enhance_cache_hits}), "
                f"scored {self.scored} (cache hits {self.score_cache_hits})")


def _short(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[:limit - 3] + "..."


def usable_metrics(specs: Iterable[Spec]) -> tuple[list[Spec], list[Metric], list[str]]:
    """(specs, built metrics, skip lines): a metric whose optional dependency is missing when it is
    built or versioned (its model files are hashed) is left out with one line naming the extra."""
    kept_specs, kept, skipped = [], [], []
    for spec in specs:
        try:
            metric = build_metric(spec)
            metric.version  # noqa: B018  (hashes the model files: fails here if the package is absent)
        except MissingDependencyError as exc:
            skipped.append(f"metric {spec.name} skipped: {exc}")
            continue
        kept_specs.append(spec)
        kept.append(metric)
    return kept_specs, kept, skipped


def unscorable_metrics(metrics: Iterable[Metric], jobs: Iterable[Job]) -> list[str]:
    """Metrics whose tasks the run has but which no planned item satisfies: their columns would
    otherwise just be missing from the table, without a word (ERLE needs far-end single talk)."""
    items = {job.item_key: job.item for job in jobs}.values()
    tasks = set().union(*(task_parts(item.task) for item in items)) if items else set()
    lines = []
    for metric in metrics:
        relevant = metric.tasks is None or bool(metric.tasks & tasks)
        if relevant and items and not any(metric.applies_to(item) for item in items):
            why = metric.scope or f"no item has the {', '.join(sorted(metric.needs))} it needs"
            lines.append(f"{', '.join(c.name for c in metric.columns if not c.hidden)}: no item in this run can be "
                         f"scored ({why})")
    return lines


def _resolve_run(config: RunConfig, store: ResultStore, provenance: dict) -> str:
    content_hash = config.content_hash()
    same_name = store.run_ids(config.name)
    if config.overwrite:
        for run_id in same_name:
            store.delete_run(run_id)
    else:
        resumed = store.find_run(config.name, content_hash)
        if resumed is not None:
            store.update_provenance(resumed, provenance)
            return resumed
        if same_name:
            raise ConfigError(
                f"run {config.name!r} in {config.run_dir} was made with a different config; "
                "use --overwrite to replace it or --name to start another"
            )
    return store.start_run(config.name, config.to_dict(), provenance, config_hash=content_hash)


def not_started_result(job: Job, error: Exception) -> JobResult:
    result = JobResult(job=job, status=Status.FAILED)
    result.fail(error, by_system=True, prefix=starting_failed(job.label))
    return result


def _crashed_before(store: ResultStore, run_id: str, executor: str) -> set[tuple[str, str, str]]:
    """Jobs that crashed an earlier serial run: a serial run does not retry them (it would crash
    again, and stop there every time); a parallel executor, where a crash costs one item, does."""
    if executor != "serial":
        return set()
    return {key for key, reason in store.failure_reasons(run_id).items() if reason.startswith(CRASHED_PREFIX)}


def execute(config: RunConfig, *, progress: bool = True) -> RunSummary:
    """Run ``config`` and record every result; the run's identity is the config as given, even when
    a metric is skipped for a missing dependency (installing it and re-running fills the column)."""
    systems = start_systems(config.systems)
    metric_specs, metrics, skipped = usable_metrics(config.metrics)
    check_distinct_columns(metrics, metric_specs)
    plan = build_plan(config.systems, systems, load_items(config.testsets, config.limit))

    config.run_dir.mkdir(parents=True, exist_ok=True)
    (config.run_dir / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    store = ResultStore(config.store_path)
    provenance = collect(config.seed)
    provenance["metric_versions"] = {metric.name: metric.version for metric in metrics}
    run_id = _resolve_run(config, store, provenance)
    for label, card in plan.cards.items():
        store.record_system(run_id, label, card, plan.positions[label])
    for metric in metrics:
        store.record_columns(run_id, metric)
    for job in plan.unsupported:
        system = systems[job.system_index]
        lacking = system.unmet_needs(job.item) if isinstance(system, System) else []
        reason = f"needs {', '.join(lacking)}, which this item lacks" if lacking else None
        store.record_output(run_id, job.label, job.testset, job.item, Status.UNSUPPORTED, reason, position=job.position)

    summary = RunSummary(run_id=run_id, store=store, planned=len(plan.jobs) + len(plan.not_started) + len(plan.unsupported),
                         unsupported=len(plan.unsupported), skipped=skipped, notes=unscorable_metrics(metrics, plan.jobs))

    def record(result: JobResult) -> None:
        job = result.job
        store.record_result(run_id, job.label, job.testset, job.item, result.status, result.reason,
                            result.output_path, result.seconds, result.scores, job.position, result.provenance)
        summary.add(result)

    for job, error in plan.not_started:
        record(not_started_result(job, error))
    crashed = take_crashed(config.run_dir)
    skip = store.finished(run_id) | _crashed_before(store, run_id, config.executor)
    todo = []
    for job in plan.jobs:
        key = (job.label, job.testset, job.item.id)
        if crashed is not None and key == (crashed["label"], crashed["testset"], crashed["item"]):
            record(JobResult(job=job, status=Status.FAILED, reason=crash_reason(crashed), error_type="Crashed"))
        elif key in skip:
            summary.already_done += 1
        else:
            todo.append(job)
    run_config = dataclasses.replace(config, metrics=metric_specs)
    results: Iterable[JobResult] = get_executor(config.executor)(run_config, todo)
    for result in tqdm(results, total=len(todo), desc=f"sebench {config.name}", unit="item", disable=not progress):
        record(result)
    provenance["device"] = device_description()  # now that the systems have loaded their frameworks
    store.update_provenance(run_id, provenance)
    return summary
