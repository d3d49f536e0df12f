"""The results store: statuses as an enum, plan positions of rows and items, in-place migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench.config import RunConfig
from bench.item import DENOISE, Item
from bench.runner import execute
from bench.spec import parse_spec
from bench.status import Status
from bench.store import ResultStore
from bench.system import SystemCard

CARD = SystemCard(name="x", variant="default", version="1", tasks=("denoise",), sample_rate=16000)


def item(index: int) -> Item:
    return Item(id=f"i{index}", task=DENOISE, subset="s", input=Path(f"/data/{index}.wav"))


def test_status_round_trips_as_enum(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    run = store.start_run("r", {}, {})
    for index, status in enumerate(Status):
        store.record_output(run, "x", "t", item(index), status, position=index)
    frame = store.outputs_frame(run)
    assert list(frame["status"]) == list(Status)
    assert all(isinstance(value, Status) for value in frame["status"])
    assert (frame["status"] == "ok").sum() == 1  # still compares equal to the stored text
    with pytest.raises(ValueError):
        store.record_output(run, "x", "t", item(9), "done")
    assert store.finished(run) == {("x", "t", "i0")}


def test_runs_record_plan_positions(tmp_path, toy_plugin):
    config = RunConfig(name="p", testsets=[parse_spec(f"toy:root={tmp_path / 'b'},n=3,label=second"),
                                           parse_spec(f"toy:root={tmp_path / 'a'},n=12,label=first")],
                       systems=[parse_spec("toy-gain"), parse_spec("unprocessed"), parse_spec("oracle")],
                       metrics=[parse_spec("toy-rms")], runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache")
    summary = execute(config, progress=False)  # local executor: results arrive in any order
    store = summary.store
    systems = store.systems(summary.run_id)
    assert {label: card["position"] for label, card in systems.items()} == {"toy-gain": 0, "unprocessed": 1, "oracle": 2}
    assert systems["oracle"]["name"] == "oracle"
    frame = store.outputs_frame(summary.run_id)
    ordered = frame[frame["system"] == "oracle"].sort_values("position")
    # config order of the test sets, then loader order (toy/10 after toy/9: not a string sort)
    expected = [("second", f"toy/{i}") for i in range(3)] + [("first", f"toy/{i}") for i in range(12)]
    assert list(zip(ordered["testset"], ordered["item_id"])) == expected
    assert list(ordered["position"]) == list(range(15))


def test_old_database_gains_position_columns_in_place(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE runs (run_id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL,
            config TEXT NOT NULL, config_hash TEXT NOT NULL, provenance TEXT NOT NULL);
        CREATE TABLE systems (run_id TEXT NOT NULL, label TEXT NOT NULL, card TEXT NOT NULL, PRIMARY KEY (run_id, label));
        CREATE TABLE outputs (run_id TEXT NOT NULL, system TEXT NOT NULL, testset TEXT NOT NULL, subset TEXT NOT NULL,
            item_id TEXT NOT NULL, task TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, output_path TEXT,
            input_path TEXT, reference_path TEXT, enrollment_path TEXT, far_end_path TEXT, seconds REAL,
            PRIMARY KEY (run_id, system, testset, item_id));
        INSERT INTO runs VALUES ('old', 'r', 0, '{}', '', '{}');
        INSERT INTO systems VALUES ('old', 'x', '{"name": "x"}');
        INSERT INTO outputs VALUES ('old', 'x', 't', 's', 'i0', 'denoise', 'ok', NULL, NULL, '/in.wav', NULL, NULL,
            NULL, 0.5);
    """)
    db.commit()
    db.close()

    store = ResultStore(path)
    assert store.systems("old") == {"x": {"name": "x", "position": None}}
    frame = store.outputs_frame("old")
    assert frame["position"].isna().all() and list(frame["status"]) == [Status.OK]
    store.record_system("old", "y", CARD, position=1)
    store.record_output("old", "y", "t", item(0), Status.OK, position=0)
    assert [card["position"] for card in store.systems("old").values()] == [None, 1]
    assert list(store.outputs_frame("old")["position"].fillna(-1)) == [-1, 0]
    assert dict(sqlite3.connect(path).execute("SELECT key, value FROM meta").fetchall())["schema_version"] == "2"
    ResultStore(path)  # opening again changes nothing


def test_items_lacking_what_a_system_needs_are_unsupported_up_front(tmp_path, toy_plugin):
    """plc-zero needs a loss trace; toy items have none: planned as unsupported, never run."""
    from bench.item import PLC

    items = [item.with_(task=PLC) for item in toy_plugin.ToyTestSet(root=tmp_path / "d", n=2).items()]
    from bench.plan import build_plan
    from bench.system import build_system

    specs = [parse_spec("plc-zero"), parse_spec("unprocessed")]
    plan = build_plan(specs, [build_system(spec) for spec in specs], [("toy", items)])
    assert [job.label for job in plan.unsupported] == ["plc-zero", "plc-zero"]
    assert [job.label for job in plan.jobs] == ["unprocessed", "unprocessed"]


def test_store_file_alone_holds_the_run_once_sebench_run_returns(tmp_path, toy_plugin, monkeypatch):
    """results.sqlite copied on its own right after `sebench run` (to a cluster's head node, into a
    leaderboard) holds the run: the command closes its connection, folding the write-ahead log into
    the file, instead of leaving that to garbage collection (disabled here, as a busy process may)."""
    import gc
    import shutil

    from bench.cli import main

    monkeypatch.setenv("SEBENCH_HOME", str(tmp_path / "home"))
    gc.disable()
    try:
        assert main(["run", "--testset", f"toy:root={tmp_path / 'toy'},n=2", "--system", "unprocessed",
                     "--metric", "toy-rms", "--runs-dir", str(tmp_path / "runs"), "--executor", "serial",
                     "--no-progress"]) == 0
        shutil.copyfile(tmp_path / "runs" / "default" / "results.sqlite", tmp_path / "copied.sqlite")
    finally:
        gc.enable()
    with sqlite3.connect(tmp_path / "copied.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM outputs WHERE status = 'ok'").fetchone() == (2,)
