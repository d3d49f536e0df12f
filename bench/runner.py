"""Plan (system variant x test set item), execute, and record: the driver side of a run.

Resume rules (explicit, as in MTEB): a run is identified by its name and content hash. Running the
same config again resumes it: items already recorded as finished are skipped, failed ones are
retried, and everything else is looked up in the content-addressed cache before being computed.
``overwrite`` discards the stored run (the cache is kept); a different config under an existing
name is refused rather than mixed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import yaml
from tqdm import tqdm

from bench.config import RunConfig
from bench.errors import ConfigError
from bench.executors import get_executor
from bench.item import Item, supports
from bench.provenance import collect, device_description
from bench.store import ResultStore
from bench.system import DEFAULT_VARIANT, System, SystemCard
from bench.testset import TESTSETS
from bench.worker import Job, JobResult, build_metric, build_system


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
    failures: list[str] = field(default_factory=list)

    def add(self, result: JobResult) -> None:
        self.enhanced += result.enhanced
        self.enhance_cache_hits += result.enhance_cache_hits
        self.scored += result.scored
        self.score_cache_hits += result.score_cache_hits
        if result.status == "ok":
            self.ok += 1
        else:
            self.failed += 1
        if result.reason:
            self.failures.append(f"{result.job.label} / {result.job.item.id}: {result.reason}")

    def describe(self) -> str:
        return (f"run {self.run_id}: {self.planned} jobs ({self.already_done} already done, {self.unsupported} unsupported); "
                f"{self.ok} ok, {self.failed} failed; enhanced {self.enhanced} (cache hits {self.enhance_cache_hits}), "
                f"scored {self.scored} (cache hits {self.score_cache_hits})")


def row_label(spec_label: str | None, name: str, variant: str) -> str:
    base = spec_label or name
    return base if variant == DEFAULT_VARIANT else f"{base}@{variant}"


def load_items(config: RunConfig) -> list[tuple[str, list[Item]]]:
    """(test set label, items) per configured test set, in config order."""
    loaded = []
    seen: set[str] = set()
    for spec in config.testsets:
        label = spec.label or spec.name
        if label in seen:
            raise ConfigError(f"test set {label!r} appears twice; give each a distinct 'label'")
        seen.add(label)
        testset = TESTSETS.get(spec.name)(**spec.config)
        items = list(testset.items())
        if config.limit is not None:
            per_subset: dict[str, int] = {}
            kept = []
            for item in items:
                per_subset[item.subset] = per_subset.get(item.subset, 0) + 1
                if per_subset[item.subset] <= config.limit:
                    kept.append(item)
            items = kept
        ids = [item.id for item in items]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"test set {label!r} yields duplicate item ids")
        loaded.append((label, items))
    return loaded


def plan(config: RunConfig, systems: list[System], testsets: list[tuple[str, list[Item]]]) -> tuple[list[Job], list[Job], dict[str, SystemCard]]:
    """Every (variant, item) pair: (supported jobs, unsupported jobs, label -> card)."""
    jobs: list[Job] = []
    unsupported: list[Job] = []
    cards: dict[str, SystemCard] = {}
    for index, (spec, system) in enumerate(zip(config.systems, systems)):
        for variant in system.resolve_variants(spec.variant):
            label = row_label(spec.label, spec.name, variant)
            if label in cards:
                raise ConfigError(f"two systems would both be labelled {label!r}; give one a 'label'")
            cards[label] = system.card(variant)
            for testset_label, items in testsets:
                for item in items:
                    job = Job(testset=testset_label, item=item, system_index=index, label=label, variant=variant)
                    (jobs if supports(system.tasks, item.task) else unsupported).append(job)
    return jobs, unsupported, cards


def _resolve_run(config: RunConfig, store: ResultStore, provenance: dict) -> str:
    content_hash = config.content_hash()
    existing = store.runs()
    same_name = existing[existing["name"] == config.name]
    if config.overwrite:
        for run_id in same_name["run_id"]:
            store.delete_run(str(run_id))
    else:
        resumed = store.find_run(config.name, content_hash)
        if resumed is not None:
            store.update_provenance(resumed, provenance)
            return resumed
        if not same_name.empty:
            raise ConfigError(
                f"run {config.name!r} in {config.run_dir} was made with a different config; "
                "use --overwrite to replace it or --name to start another"
            )
    return store.start_run(config.name, config.to_dict(), provenance, config_hash=content_hash)


def _finished(store: ResultStore, run_id: str) -> set[tuple[str, str, str]]:
    outputs = store.outputs_frame(run_id)
    done = outputs[outputs["status"] == "ok"]
    return set(zip(done["system"], done["testset"], done["item_id"]))


def execute(config: RunConfig, *, progress: bool = True) -> RunSummary:
    systems = [build_system(spec) for spec in config.systems]
    metrics = [build_metric(spec) for spec in config.metrics]
    testsets = load_items(config)
    jobs, unsupported, cards = plan(config, systems, testsets)

    config.run_dir.mkdir(parents=True, exist_ok=True)
    (config.run_dir / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    store = ResultStore(config.store_path)
    provenance = collect(config.seed)
    provenance["metric_versions"] = {metric.name: metric.version for metric in metrics}
    run_id = _resolve_run(config, store, provenance)
    for label, card in cards.items():
        store.record_system(run_id, label, card)
    for metric in metrics:
        store.record_columns(run_id, metric)
    for job in unsupported:
        store.record_output(run_id, job.label, job.testset, job.item, "unsupported")

    done = _finished(store, run_id)
    todo = [job for job in jobs if (job.label, job.testset, job.item.id) not in done]
    summary = RunSummary(run_id=run_id, store=store, planned=len(jobs) + len(unsupported),
                         already_done=len(jobs) - len(todo), unsupported=len(unsupported))
    results: Iterable[JobResult] = get_executor(config.executor)(config, todo)
    for result in tqdm(results, total=len(todo), desc=f"sebench {config.name}", unit="item", disable=not progress):
        job = result.job
        store.record_result(run_id, job.label, job.testset, job.item, result.status, result.reason,
                            result.output_path, result.seconds, result.scores)
        summary.add(result)
    provenance["device"] = device_description()  # now that the systems have loaded their frameworks
    store.update_provenance(run_id, provenance)
    return summary
