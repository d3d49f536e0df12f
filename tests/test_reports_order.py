"""Report order is the plan's order, never the order workers finished in: same run, same bytes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from _reports_support import build_results
from bench.cli import main
from reports.aggregate import load_run
from reports.order import item_ranks, natural_key, natural_sorted, system_order

FORMATS = "md,tex,csv,json,html,plots"


def _report(run_dir: Path, out: Path, *extra: str) -> dict[str, bytes]:
    assert main(["report", str(run_dir), "--format", FORMATS, "--plot-format", "png", "--out", str(out), "--quiet",
                 "--max-items", "0", *extra]) == 0
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _without_run_id(files: dict[str, bytes], run_id: str) -> dict[str, bytes]:
    return {name: data.replace(run_id.encode(), b"RUN") for name, data in files.items()}


def test_natural_sort() -> None:
    assert natural_sorted(["fileid_10", "fileid_2", "fileid_1", "Fileid_3"]) == ["fileid_1", "fileid_2", "Fileid_3", "fileid_10"]
    assert natural_key("a2") < natural_key("a10") and natural_key("10") < natural_key("a")


def test_same_run_gives_byte_identical_reports(tmp_path: Path) -> None:
    run_dir = build_results(tmp_path)
    first = _report(run_dir, tmp_path / "one", "--ci")
    second = _report(run_dir, tmp_path / "two", "--ci")
    assert first.keys() == second.keys() and len(first) > 20
    assert [n for n in first if first[n] != second[n]] == []


@pytest.mark.parametrize("positions", [True, False], ids=["plan-positions", "older-store"])
def test_recording_order_does_not_change_the_report(tmp_path: Path, positions: bool) -> None:
    """Results recorded in a shuffled order (as parallel workers finish) render the same bytes."""
    ordered_dir = build_results(tmp_path / "a", positions=positions)
    shuffled_dir = build_results(tmp_path / "b", shuffle=3, positions=positions)
    ordered = _without_run_id(_report(ordered_dir, tmp_path / "ra"), load_run(ordered_dir).run_id)
    shuffled = _without_run_id(_report(shuffled_dir, tmp_path / "rb"), load_run(shuffled_dir).run_id)
    assert ordered.keys() == shuffled.keys()
    differ = [n for n in ordered if ordered[n] != shuffled[n]]
    assert differ == ["results.json"]  # only the run's own paths (its data root) differ there
    documents = [json.loads(files["results.json"]) for files in (ordered, shuffled)]
    for key in ("cells", "columns", "systems", "confidence"):
        assert documents[0][key] == documents[1][key]
    page = ordered["listening/index.html"].decode()
    assert re.findall(r"<h3>([^ <]+)", page) == ["fileid_0", "fileid_6", "fileid_80", "car_1", "office_2", "street_3", "mix_a", "mix_b", "mix_c"]


def test_max_items_takes_the_first_items_in_loader_order(tmp_path: Path) -> None:
    run_dir = build_results(tmp_path, shuffle=5, with_audio=False)
    out = tmp_path / "page"
    assert main(["report", str(run_dir), "--format", "html", "--out", str(out), "--quiet", "--max-items", "1"]) == 0
    assert re.findall(r"<h3>([^ <]+)", (out / "listening" / "index.html").read_text()) == ["fileid_0", "car_1", "mix_a"]


@pytest.mark.parametrize("positions", [True, False], ids=["plan-positions", "older-store"])
def test_config_order_of_test_sets(tmp_path: Path, positions: bool) -> None:
    run = load_run(build_results(tmp_path, with_audio=False, shuffle=1, testsets=("libri2mix", "dns"),
                                 positions=positions))
    assert run.testsets() == ["libri2mix", "dns"]
    assert run.subsets("dns") == ["no_reverb", "real_recordings"]
    assert run.items("dns", "no_reverb") == ["fileid_0", "fileid_6", "fileid_80"]
    assert run.labels() == ["unprocessed", "oracle", "seflow@f-1-1", "seflow@f-12-4", "tse-net"]
    assert main(["report", str(run.run_dir), "--format", "md", "--out", str(tmp_path / "md"), "--quiet"]) == 0
    text = (tmp_path / "md" / "results.md").read_text()
    assert text.index("### libri2mix") < text.index("### dns")


def test_recorded_positions_win_over_natural_order() -> None:
    """Where the runner recorded plan positions, the loader's order is kept even when it is not sorted."""
    outputs = pd.DataFrame({
        "testset": ["b", "b", "b", "a", "a"], "subset": ["z", "z", "y", "x", "x"],
        "item_id": ["item10", "item2", "q", "k", "j"], "position": [3, 4, 5, 1, 0],
    })
    ranks = item_ranks(outputs, outputs.iloc[0:0], {"testsets": [{"name": "b"}, {"name": "a"}]})
    assert list(zip(ranks["testset"], ranks["subset"], ranks["item_id"])) == [
        ("a", "x", "j"), ("a", "x", "k"), ("b", "z", "item10"), ("b", "z", "item2"), ("b", "y", "q")]
    fallback = item_ranks(outputs.drop(columns="position"), outputs.iloc[0:0], {"testsets": [{"name": "b"}, {"name": "a"}]})
    assert list(zip(fallback["testset"], fallback["subset"], fallback["item_id"])) == [
        ("b", "y", "q"), ("b", "z", "item2"), ("b", "z", "item10"), ("a", "x", "j"), ("a", "x", "k")]


def test_system_positions() -> None:
    cards = {"b": {"position": 1}, "a": {"position": 0}}
    assert system_order(cards, ["zz", "a"]) == ["a", "b", "zz"]
    assert system_order({"b": {}, "a": {}}, []) == ["b", "a"]  # no positions: the stored (config) order


def test_json_cells_in_report_order(tmp_path: Path) -> None:
    shuffled = build_results(tmp_path / "s", shuffle=9, with_audio=False)
    plain = build_results(tmp_path / "p", with_audio=False)
    for run_dir in (shuffled, plain):
        assert main(["report", str(run_dir), "--format", "json", "--quiet"]) == 0
    cells = [json.loads((d / "report" / "results.json").read_text())["cells"] for d in (shuffled, plain)]
    assert cells[0] == cells[1]
