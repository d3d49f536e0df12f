"""One deterministic order for everything a report prints: test sets, subsets, items, systems.

Workers finish in any order, so the order rows reach the results store says nothing; a report
sorted by it changes from run to run. The order here depends only on what was planned: test sets
in the config's order, each test set's subsets in its loader's order, items in the loader's order,
systems in the config's order. The runner records that plan order as ``position`` (items on the
``outputs`` table, systems on ``systems``); a database written before positions existed falls
back to the config's test-set order and a natural sort (``fileid_2`` before ``fileid_10``) of
subset names and item ids, which is what a loader reading a folder yields in nearly every layout.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

import pandas as pd

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key treating digit runs as numbers: ``clip2 < clip10``; case-insensitive, then exact.

    ``re.split`` with a capturing group alternates text and digits, so position i always holds
    the same type in every key and tuples compare without type errors.
    """
    parts = _DIGITS.split(str(text))
    key: list[Any] = [int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)]
    return (tuple(key), str(text))


def natural_sorted(values: Iterable[str]) -> list[str]:
    return sorted({str(v) for v in values}, key=natural_key)


def config_testset_order(config: Mapping[str, Any]) -> list[str]:
    """Test-set labels in the order the run's config lists them (``label`` or ``name``)."""
    labels = [str(entry.get("label") or entry["name"]) for entry in config.get("testsets") or []
              if isinstance(entry, Mapping) and entry.get("name")]
    return list(dict.fromkeys(labels))


def _has_positions(frame: pd.DataFrame) -> bool:
    return "position" in frame and not frame.empty and bool(frame["position"].notna().all())


def item_ranks(outputs: pd.DataFrame, scores: pd.DataFrame, config: Mapping[str, Any]) -> pd.DataFrame:
    """One row per (testset, subset, item_id) with its rank; row order is the report's item order.

    Columns: testset, subset, item_id, testset_rank, subset_rank, item_rank. Items only the score
    rows name (a store written by hand) follow the recorded ones.
    """
    keys = ["testset", "subset", "item_id"]
    if _has_positions(outputs):
        items = outputs.groupby(keys, sort=False, as_index=False)["position"].min()
        items["item_rank"] = items["position"].astype(float)
        items["subset_rank"] = items.groupby(["testset", "subset"])["item_rank"].transform("min")
        items["testset_rank"] = items.groupby("testset")["item_rank"].transform("min")
    else:
        items = outputs[keys].drop_duplicates().copy()
        configured = config_testset_order(config)
        extra = natural_sorted(t for t in items["testset"] if t not in configured)
        testset_rank = {t: i for i, t in enumerate(configured + extra)}
        items["testset_rank"] = items["testset"].map(testset_rank).astype(float)
        subset_rank = {s: i for i, s in enumerate(natural_sorted(items["subset"]))}
        items["subset_rank"] = items["subset"].map(subset_rank).astype(float)
        item_rank = {s: i for i, s in enumerate(natural_sorted(items["item_id"]))}
        items["item_rank"] = items["item_id"].map(item_rank).astype(float)
    items = items.sort_values(["testset_rank", "subset_rank", "item_rank"], kind="stable")[
        keys + ["testset_rank", "subset_rank", "item_rank"]]
    orphans = scores[keys].drop_duplicates().merge(items[keys], on=keys, how="left", indicator=True)
    orphans = orphans[orphans["_merge"] == "left_only"][keys]
    if not orphans.empty:
        orphans = orphans.assign(_key=[natural_key("\x1f".join(map(str, row))) for row in orphans.itertuples(index=False)])
        orphans = orphans.sort_values("_key").drop(columns="_key")
        start = float(len(items))
        orphans = orphans.assign(testset_rank=start, subset_rank=start, item_rank=start + pd.RangeIndex(len(orphans)))
        items = pd.concat([items, orphans])
    return items.reset_index(drop=True)


def system_order(systems: Mapping[str, Mapping[str, Any]], seen: Iterable[str]) -> list[str]:
    """Row labels: the stored systems in plan order (by ``position`` where recorded, else as stored,
    which the runner writes in config order), then any label only the result rows name."""
    labels = list(systems)
    positions = [systems[label].get("position") for label in labels]
    if labels and all(p is not None for p in positions):
        labels = [label for _, label in sorted(zip(positions, labels), key=lambda pair: pair[0])]
    return labels + natural_sorted(s for s in seen if s not in systems)


def sort_rows(frame: pd.DataFrame, ranks: pd.DataFrame, systems: list[str], *extra: str) -> pd.DataFrame:
    """``frame`` (outputs or scores rows) in report order: item rank, then system, then ``extra``."""
    if frame.empty:
        return frame.reset_index(drop=True)
    ranks = ranks.drop_duplicates(["testset", "subset", "item_id"])
    system_rank = {s: i for i, s in enumerate(systems)}
    keyed = frame.merge(ranks, on=["testset", "subset", "item_id"], how="left")
    keyed["system_rank"] = keyed["system"].map(system_rank).astype(float)
    by = ["testset_rank", "subset_rank", "item_rank", "testset", "subset", "item_id", "system_rank", "system", *extra]
    keyed = keyed.sort_values(by, kind="stable", na_position="last")
    return keyed[list(frame.columns)].reset_index(drop=True)
