"""Faults on the report side (issue 17): colliding names, malformed baselines, symlinks out of the data
root, private cache files, corrupt databases. Each failed before its fix."""

from __future__ import annotations

import html
import json
import os
import re
import stat
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
import soundfile as sf

from _reports_support import FixtureMOS, build_results
from bench.cli import main
from bench.item import Item
from bench.store import ResultStore
from bench.system import SystemCard
from reports.listening import slug

TASKS = ("denoise",)


def _wav(path: Path, freq: float) -> Path:
    t = np.arange(4000) / 16000
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16000)
    return path


def _run(root: Path, items: dict[str, Path], labels: dict[str, dict[str, Path]], *, data: Path) -> Path:
    """A one-test-set run whose config names ``data`` as the data root; ``labels``: label -> item -> output."""
    run_dir = root / "runs" / "r"
    store = ResultStore(run_dir / "results.sqlite")
    run_id = store.start_run("r", {"seed": 0, "testsets": [{"name": "pairs", "root": str(data)}]}, {})
    for label in labels:
        store.record_system(run_id, label, SystemCard(label, "default", "1", TASKS, None))
    store.record_columns(run_id, FixtureMOS())
    for item_id, noisy in items.items():
        item = Item(id=item_id, task="denoise", subset="s", input=noisy)
        for label, outputs in labels.items():
            store.record_output(run_id, label, "pairs", item, "ok", None, str(outputs[item_id]), 0.1)
            store.record_scores(run_id, label, "pairs", item, {"DNSMOS_OVRL": 3.0})
    store.close()
    return run_dir


def _sources(page: Path) -> list[Path]:
    return [page.parent / unquote(src) for src in re.findall(r'<audio[^>]* src="([^"]+)"', page.read_text())]


# --- 17.4: listening-page names are injective --------------------------------------------------

@pytest.mark.parametrize("a, b", [("你好", "再见"), ("clip 1", "clip_1"), ("my sys", "my_sys"), ("A", "a"),
                                  ("x/y", "x_y")])
def test_slugs_do_not_collide(a: str, b: str) -> None:
    assert slug(a) != slug(b)
    for text in (a, b):
        assert slug(text) == slug(text) and "/" not in slug(text) and slug(text).isascii()


def test_non_ascii_ids_and_similar_labels_play_their_own_audio(tmp_path: Path) -> None:
    data = tmp_path / "data"
    items = {"你好": _wav(data / "a.wav", 200), "再见": _wav(data / "b.wav", 400),
             "clip 1": _wav(data / "c.wav", 600), "clip_1": _wav(data / "d.wav", 800)}
    outputs = {label: {i: _wav(data / "out" / f"{label}-{n}.wav", 1000 + 50 * n + 7 * k)
                       for n, i in enumerate(items)} for k, label in enumerate(["my sys", "my_sys"])}
    run_dir = _run(tmp_path, items, outputs, data=data)
    assert main(["report", str(run_dir), "--format", "html", "--quiet", "--max-items", "0"]) == 0
    page = run_dir / "report" / "listening" / "index.html"
    assert len(set(_sources(page))) == 4 * 3
    for section in page.read_text().split('<section class="item"')[1:]:
        item_id = html.unescape(re.search(r"<h3>(.+?) <span", section).group(1))
        played = [page.parent / unquote(src) for src in re.findall(r'<audio[^>]* src="([^"]+)"', section)]
        expected = [items[item_id], outputs["my sys"][item_id], outputs["my_sys"][item_id]]
        assert [p.read_bytes() for p in played] == [e.read_bytes() for e in expected], item_id


# --- 17.7: only regular files from inside the run's roots, copied with sane permissions --------

def test_symlink_out_of_the_data_root_is_not_copied(tmp_path: Path) -> None:
    data = tmp_path / "data"
    secret = tmp_path / "elsewhere" / "secret.wav"
    secret.parent.mkdir()
    secret.write_bytes(b"RIFF top secret, not audio")
    clean = _wav(data / "ok.wav", 300)
    (data / "evil.wav").symlink_to(secret)
    (data / "passwd.wav").symlink_to("/etc/passwd")
    (data / "inside.wav").symlink_to(clean)  # a link that stays inside the root is fine
    items = {"evil": data / "evil.wav", "passwd": data / "passwd.wav", "inside": data / "inside.wav"}
    run_dir = _run(tmp_path, items, {"sys": {i: clean for i in items}}, data=data)
    assert main(["report", str(run_dir), "--format", "html", "--quiet"]) == 0
    listening = run_dir / "report" / "listening"
    copied = [p.read_bytes() for p in listening.rglob("*") if p.is_file() and p.name != "index.html"]
    assert not any(b"top secret" in c or b"root:" in c for c in copied)
    assert not any(p.is_symlink() for p in listening.rglob("*"))
    text = (listening / "index.html").read_text()
    assert text.count("outside the run&#x27;s data and cache folders") == 2
    assert len(_sources(listening / "index.html")) == 1 + 3  # inside.wav + three outputs


def test_private_cache_files_are_copied_not_linked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cache = tmp_path / "cache" / "audio" / "ab"
    output = _wav(cache / ("ab" + "0" * 62 + ".wav"), 500)  # the cache's own layout, outside the data root
    os.chmod(output, 0o600)
    run_dir = _run(tmp_path, {"x": _wav(data / "x.wav", 200)}, {"sys": {"x": output}}, data=data)
    assert main(["report", str(run_dir), "--format", "html", "--quiet"]) == 0
    copies = [p for p in (run_dir / "report" / "listening" / "audio").rglob("out-*")]
    assert len(copies) == 1
    info = copies[0].stat()
    assert info.st_ino != output.stat().st_ino and info.st_nlink == 1
    assert stat.S_IMODE(info.st_mode) == 0o644
    assert copies[0].read_bytes() == output.read_bytes()


def test_failure_reasons_show_paths_relative_to_the_data_root(tmp_path: Path) -> None:
    data = tmp_path / "data"
    noisy = _wav(data / "noisy" / "x.wav", 200)
    run_dir = tmp_path / "runs" / "r"
    store = ResultStore(run_dir / "results.sqlite")
    run_id = store.start_run("r", {"seed": 0, "testsets": [{"name": "pairs", "root": str(data)}]}, {})
    store.record_system(run_id, "sys", SystemCard("sys", "default", "1", TASKS, None))
    store.record_columns(run_id, FixtureMOS())
    store.record_output(run_id, "sys", "pairs", Item(id="x", task="denoise", subset="s", input=noisy), "failed",
                        f"AudioError: cannot read {noisy}: truncated", None, 0.1)
    store.close()
    assert main(["report", str(run_dir), "--format", "html", "--quiet"]) == 0
    text = (run_dir / "report" / "listening" / "index.html").read_text()
    assert "cannot read &lt;pairs&gt;/noisy/x.wav: truncated" in text
    assert str(tmp_path) not in text


# --- 17.5: malformed baselines exit 2 with one line; scope differences are warned about --------

@pytest.fixture
def baseline(tmp_path: Path) -> Path:
    run_dir = build_results(tmp_path / "base", with_audio=False)
    assert main(["report", str(run_dir), "--format", "json", "--out", str(tmp_path / "baseline"), "--quiet"]) == 0
    return tmp_path / "baseline" / "results.json"


def _break(document: dict, how: str) -> dict:
    if how == "no cells":
        del document["cells"]
    elif how == "no columns":
        del document["columns"]
    elif how == "string mean":
        document["cells"][0]["mean"] = "3.1"
    elif how == "cells not a list":
        document["cells"] = {"a": 1}
    elif how == "cell without system":
        del document["cells"][2]["system"]
    elif how == "ok cell without mean":
        next(c for c in document["cells"] if c["status"] == "ok")["mean"] = None
    elif how == "bad status":
        document["cells"][0]["status"] = "great"
    elif how == "column without direction":
        del document["columns"][0]["higher_is_better"]
    return document


@pytest.mark.parametrize("how", ["no cells", "no columns", "string mean", "cells not a list", "cell without system",
                                 "ok cell without mean", "bad status", "column without direction"])
def test_malformed_baseline_exits_2_with_one_line(tmp_path: Path, baseline: Path, how: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(_break(json.loads(baseline.read_text()), how)))
    current = build_results(tmp_path / "cur", with_audio=False)
    assert main(["check", str(current), "--baseline", str(broken)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"{broken} is a malformed results file" in err


def test_nan_baseline_mean_is_an_error(tmp_path: Path, baseline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = baseline.read_text()
    document = json.loads(text)
    cell = next(i for i, c in enumerate(document["cells"]) if c["status"] == "ok")
    document["cells"][cell]["mean"] = float("nan")
    broken = tmp_path / "nan.json"
    broken.write_text(json.dumps(document))  # json writes the bare NaN literal Python reads back
    current = build_results(tmp_path / "cur", with_audio=False)
    assert main(["check", str(current), "--baseline", str(broken)]) == 2
    assert f"cells[{cell}].mean: nan is not a finite number" in capsys.readouterr().err


def test_check_warns_about_what_it_cannot_compare(tmp_path: Path, baseline: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(baseline.read_text())
    document["systems"].pop("tse-net")
    document["cells"] = [c for c in document["cells"] if c["system"] != "tse-net" and c["column"] != "STOI"]
    document["columns"] = [c for c in document["columns"] if c["name"] != "STOI"]
    for cell in document["cells"]:
        if (cell["system"], cell["subset"], cell["column"]) == ("unprocessed", "no_reverb", "PESQ_WB"):
            cell["n_items"] = 150
    for entry in document["run"]["config"]["testsets"]:
        if entry["name"] == "dns":
            entry["root"] = "/data/DNS/test_set/synthetic"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    current = build_results(tmp_path / "cur", with_audio=False)
    assert main(["check", str(current), "--baseline", str(edited)]) == 0
    err = capsys.readouterr().err
    assert "warning: systems not in the baseline (not checked): tse-net" in err
    assert "warning: columns not in the baseline (not checked): STOI" in err
    assert "1 cells were scored on a different number of items than the baseline (e.g. unprocessed | dns/no_reverb | PESQ_WB: 150 -> 3)" in err
    assert "warning: test set 'dns' is not configured as in the baseline (root: '/data/DNS/test_set/synthetic' -> " in err


def test_matching_baseline_gives_no_warning(tmp_path: Path, baseline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    current = build_results(tmp_path / "cur", with_audio=False)
    assert main(["check", str(current), "--baseline", str(baseline)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning")]
    assert warnings == ["warning: 25 cells of this run rest on fewer than 10 items: their means move with every item; "
                        "consider --require-outside-ci or a per-column --tolerance"]  # the small-n warning only


# --- a corrupt database is one line naming the file, exit 2 ---------------------------------------

@pytest.mark.parametrize("damage", ["garbage", "truncated"])
@pytest.mark.parametrize("command", ["report", "check"])
def test_corrupt_database_is_one_line(tmp_path: Path, baseline: Path, damage: str, command: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = build_results(tmp_path / "run", with_audio=False)
    store = run_dir / "results.sqlite"
    data = store.read_bytes()
    store.write_bytes(b"this is not sqlite at all" * 100 if damage == "garbage" else data[: len(data) // 3])
    for leftover in run_dir.glob("results.sqlite-*"):
        leftover.unlink()
    argv = [command, str(run_dir)] + (["--baseline", str(baseline)] if command == "check" else ["--quiet"])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"{store} is not a readable sebench results database" in err


def test_a_report_closes_the_store_so_a_copied_sqlite_holds_the_run(tmp_path: Path) -> None:
    """SQLite in WAL mode moves committed rows into results.sqlite only when the last connection
    closes. A report that left its connection to the garbage collector (kept alive here, as by any
    traceback that references it) made the writer's close a non-last one, and a results.sqlite copied
    on its own (from a cluster, into a leaderboard) held no runs."""
    from bench.errors import ConfigError
    from reports.aggregate import load_run

    path = tmp_path / "runs" / "r" / "results.sqlite"
    writer = ResultStore(path)
    run_id = writer.start_run("r", {"seed": 0, "testsets": []}, {})
    with pytest.raises(ConfigError) as failed:
        load_run(path, "no-such-run")
    assert load_run(path).run_id == run_id
    writer.close()
    copied = tmp_path / "copied.sqlite"
    copied.write_bytes(path.read_bytes())
    assert load_run(copied).run_id == run_id
    assert failed.value.__traceback__ is not None
