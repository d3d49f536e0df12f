"""``sebench leaderboard`` on real runs (``_leaderboard_support``): the merged table and its ranks
against an independent computation, the flags and the refusal of incomparable runs, published
rows, every output format, and the HTML page in headless Chromium (sorting, tabs, links)."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from _leaderboard_support import build_runs
from bench.cli import main
from reports.leaderboard.board import SCHEMA_FILE, build_leaderboard, leaderboard_document
from reports.latex import grid_groups
from reports.leaderboard.render import board_grid, render_latex
from test_reports_latex import FILLER, assert_fits, compile_tables, needs_tex
from bench.metric import Column
from bench.metrics.sisdr import SISDR
from bench.errors import ConfigError
from reports.leaderboard.merge import REPRODUCED, Board, Row, build_boards, restrict_columns, version_difference
from reports.leaderboard.sources import load_sources
from reports.leaderboard.ranking import RankingConfig, dense_ranks, rank_board

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ALL_RUNS = ("base", "more", "fewer", "newmetric")
DECIMALS = {"SISDR": 2, "STOI": 3, "ESTOI": 3}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    with pytest.MonkeyPatch.context() as patch:
        return build_runs(tmp_path_factory.mktemp("leaderboard"), patch)


@pytest.fixture(scope="module")
def board_dir(runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("board")
    assert main(["leaderboard", *(str(runs[n]) for n in ALL_RUNS), "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def document(board_dir: Path) -> dict:
    return json.loads((board_dir / "leaderboard.json").read_text())


def rows_of(document: dict) -> dict[str, dict]:
    (board,) = document["boards"]
    return {row["label"]: row for row in board["rows"]}


def stored_means(run_dir: Path) -> pd.DataFrame:
    """Per-system column means straight from the SQLite store (no sebench code involved)."""
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        scores = pd.read_sql_query("SELECT system, column_name, value FROM scores", db)
    return scores.groupby(["system", "column_name"])["value"].mean().unstack()


def test_merged_table_and_ranks_match_an_independent_computation(runs: dict[str, Path], document: dict) -> None:
    means = pd.concat([stored_means(runs["base"]), stored_means(runs["more"]).drop(index="unprocessed")])
    ranked = means.drop(index="oracle")
    assert sorted(ranked.index) == ["dtln", "logmmse", "nsnet2", "speex-ns", "unprocessed"]
    column_ranks = {c: rankdata(-ranked[c].round(DECIMALS[c]), method="dense") for c in DECIMALS}
    mean_rank = np.mean([column_ranks[c] for c in DECIMALS], axis=0)
    overall = rankdata(mean_rank.round(9), method="dense")
    rows = rows_of(document)
    for index, label in enumerate(ranked.index):
        row = rows[label]
        assert row["kind"] == "reproduced" and not row["flags"]
        assert row["rank"] == overall[index], label
        assert row["mean_rank"] == pytest.approx(mean_rank[index])
        for column in DECIMALS:
            assert row["values"][column] == pytest.approx(ranked.loc[label, column])
            assert row["ranks"][column] == column_ranks[column][index]
        assert 0.0 <= row["stability"] <= 1.0
        low, high = row["rank_interval"]
        assert low <= row["rank"] <= high or row["stability"] < 0.5
    shown = [r["label"] for r in document["boards"][0]["rows"]]
    ranks = [rows[label]["rank"] for label in shown[:5]]
    assert ranks == sorted(ranks)  # ranked rows first, best first
    assert rows["oracle"]["kind"] == "bound" and rows["oracle"]["rank"] is None


def test_one_system_in_two_runs_is_one_row(runs: dict[str, Path], document: dict) -> None:
    (board,) = document["boards"]
    assert [r["label"] for r in board["rows"]].count("unprocessed") == 1
    unprocessed = rows_of(document)["unprocessed"]
    source = {s["name"]: s["run_id"] for s in document["sources"]}
    assert unprocessed["run_id"] == source["base"] and unprocessed["also_in"] == [source["more"]]


def test_other_items_and_other_metric_versions_are_flagged_and_unranked(document: dict) -> None:
    rows = rows_of(document)
    fewer = rows["noisereduce"]
    assert fewer["rank"] is None and fewer["ranks"] == {}
    assert [f["kind"] for f in fewer["flags"]] == ["items"]
    assert "scored on 3 items, 3 of them among the 5 items of the reference run base" in fewer["flags"][0]["detail"]
    newer = rows["wpe"]
    assert newer["rank"] is None
    (flag,) = newer["flags"]
    assert flag["kind"] == "metric-version" and flag["columns"] == ["SISDR"]
    assert flag["detail"] == f"sisdr: implementation {SISDR.implementation_version} -> 2-test"
    assert newer["values"]["STOI"] is not None  # shown, not hidden


def test_strict_refuses_the_incomparable_runs(runs: dict[str, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["leaderboard", *(str(runs[n]) for n in ALL_RUNS), "--out", str(tmp_path / "lb"), "--strict", "--quiet"])
    assert code == 2
    message = capsys.readouterr().err
    assert "not comparable" in message
    assert "noisereduce (fewer): scored on 3 items" in message
    assert f"wpe (newmetric): sisdr: implementation {SISDR.implementation_version} -> 2-test" in message
    assert not (tmp_path / "lb" / "leaderboard.json").exists()
    assert main(["leaderboard", str(runs["base"]), str(runs["more"]), "--out", str(tmp_path / "ok"), "--strict",
                 "--quiet", "--format", "json"]) == 0


def test_same_item_ids_from_a_differently_built_test_set_are_flagged(runs: dict[str, Path], tmp_path: Path) -> None:
    """Same ids, other options (here a declared sample rate; for the synthetic suite a seed, whose
    items share their ids across seeds): not the same experiment."""
    pairs = runs["base"].parents[1] / "pairs"
    assert main(["run", "--name", "declared", "--testset", f"pairs:root={pairs},sample_rate=16000", "--system", "nsnet2",
                 "--metric", "sisdr", "--metric", "stoi", "--runs-dir", str(tmp_path / "runs")]) == 0
    assert main(["leaderboard", str(runs["base"]), str(tmp_path / "runs" / "declared"), "--out", str(tmp_path / "lb"),
                 "--quiet", "--format", "json", "--resamples", "0"]) == 0
    row = rows_of(json.loads((tmp_path / "lb" / "leaderboard.json").read_text()))["nsnet2"]
    assert row["rank"] is None
    assert [f["detail"] for f in row["flags"]] == [
        "test set pairs built with other options than in the reference run base: sample_rate default -> 16000"]


def test_one_label_for_two_configurations_is_flagged_and_disambiguated(runs: dict[str, Path], tmp_path: Path) -> None:
    assert main(["leaderboard", str(runs["base"]), str(runs["tuned"]), "--out", str(tmp_path), "--quiet",
                 "--format", "json", "--resamples", "0"]) == 0
    rows = rows_of(json.loads((tmp_path / "leaderboard.json").read_text()))
    assert {"logmmse [base]", "logmmse [tuned]"} <= set(rows)
    for label in ("logmmse [base]", "logmmse [tuned]"):
        assert [f["kind"] for f in rows[label]["flags"]] == ["duplicate-label"]
        assert rows[label]["rank"] is not None  # two systems, both ranked
    assert rows["logmmse [tuned]"]["card"]["config"]["alpha"] == "0.9"
    assert rows["logmmse [base]"]["stability"] is None  # --resamples 0


def test_rank_columns_and_weights(runs: dict[str, Path], tmp_path: Path) -> None:
    assert main(["leaderboard", str(runs["base"]), str(runs["more"]), "--out", str(tmp_path / "a"), "--quiet",
                 "--format", "json", "--rank-columns", "SISDR"]) == 0
    rows = rows_of(json.loads((tmp_path / "a" / "leaderboard.json").read_text()))
    by_sisdr = sorted((r for r in rows.values() if r["rank"]), key=lambda r: -r["values"]["SISDR"])
    assert [r["rank"] for r in by_sisdr] == [1, 2, 3, 4, 5]
    assert all(set(r["ranks"]) == {"SISDR"} for r in by_sisdr)
    assert main(["leaderboard", str(runs["base"]), str(runs["more"]), "--out", str(tmp_path / "b"), "--quiet",
                 "--format", "json", "--weight", "STOI=3"]) == 0
    weighted = rows_of(json.loads((tmp_path / "b" / "leaderboard.json").read_text()))
    for row in weighted.values():
        if row["rank"]:
            expected = (row["ranks"]["SISDR"] + 3 * row["ranks"]["STOI"] + row["ranks"]["ESTOI"]) / 5
            assert row["mean_rank"] == pytest.approx(expected)


def test_published_rows_join_marked_reported(runs: dict[str, Path], tmp_path: Path) -> None:
    reference = tmp_path / "paper.yaml"
    reference.write_text(
        "id: test-paper\ntitle: A test table\ncitation: A. Author. A paper. 2020.\nurl: https://example.org/paper\n"
        "testset: pairs\nsubsets: {test: pairs}\ncolumns: {SI-SDR: SISDR}\n"
        "systems: {BigNet: {type: x, match: []}, SmallNet: {type: x, match: []}}\n"
        "rows:\n  - {system: BigNet, subset: test, SI-SDR: 30.0}\n  - {system: SmallNet, subset: test, SI-SDR: null}\n")
    base = ["leaderboard", str(runs["base"]), "--reference", str(reference), "--quiet", "--format", "json,md"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    rows = rows_of(json.loads((tmp_path / "a" / "leaderboard.json").read_text()))
    assert "SmallNet" not in rows  # nothing published for this board
    big = rows["BigNet"]
    assert big["kind"] == "reported" and big["rank"] is None and big["reference"] == "test-paper"
    assert big["values"] == {"SISDR": 30.0, "STOI": None, "ESTOI": None}
    assert "reported (test-paper)" in (tmp_path / "a" / "leaderboard.md").read_text()
    assert main([*base, "--out", str(tmp_path / "b"), "--rank-reported", "--rank-columns", "SISDR"]) == 0
    ranked = rows_of(json.loads((tmp_path / "b" / "leaderboard.json").read_text()))
    assert ranked["BigNet"]["rank"] == 1 and ranked["BigNet"]["stability"] is not None


def test_json_validates_and_every_format_is_written(board_dir: Path, document: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(document, json.loads(SCHEMA_FILE.read_text()))
    assert document["schema"] == "sebench.leaderboard" and document["schema_version"] == 1
    for source in document["sources"]:
        assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}", source["run_id"])
        assert len(source["config_hash"]) == 64 and source["date"].endswith("UTC")
        assert (board_dir / source["listening"]).is_file()
    frame = pd.read_csv(board_dir / "leaderboard.csv")
    assert len(frame) == len(document["boards"][0]["rows"]) * 3
    dtln = frame[(frame["label"] == "dtln") & (frame["column"] == "SISDR")].iloc[0]
    assert dtln["rank"] == rows_of(document)["dtln"]["rank"] and bool(dtln["higher_is_better"])
    markdown = (board_dir / "leaderboard.md").read_text()
    assert "### pairs (5 items; reference run base)" in markdown
    assert "≠ noisereduce (fewer): scored on 3 items" in markdown
    latex = (board_dir / "leaderboard.tex").read_text()
    assert r"\toprule" in latex and "$\\neq$" in latex and r"\label{tab:leaderboard-base-pairs}" in latex
    assert latex.count(r"\begin{tabular}{@{}r") > 1  # seven columns and a 20-character source: split to fit 229 pt


def test_dense_ranks_share_ties_and_put_missing_last() -> None:
    values = np.array([[3.0], [np.nan], [2.0], [3.0], [1.0]])
    np.testing.assert_array_equal(dense_ranks(values, higher_is_better=True)[:, 0], [1, 4, 2, 1, 3])
    np.testing.assert_array_equal(dense_ranks(values, higher_is_better=False)[:, 0], [3, 4, 2, 3, 1])


def _board(per_item: dict[str, list[float]]) -> Board:
    items = tuple(f"i{k}" for k in range(len(next(iter(per_item.values())))))
    rows = [Row(label=name, system=name, kind=REPRODUCED, values={"SISDR": float(np.mean(values))},
                status={"SISDR": "ok"}, per_item=pd.DataFrame({"SISDR": values}, index=list(items)))
            for name, values in per_item.items()]
    return Board("t", "t", items, "run", [Column("SISDR", True, unit="dB")], rows)


def test_stability_is_one_for_a_clear_winner_and_split_for_a_coin_toss() -> None:
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(40)
    board = _board({"clear": list(10 + noise), "close_a": list(noise + 0.01), "close_b": list(noise[::-1])})
    ranking = rank_board(board, RankingConfig(resamples=500, seed=3))
    clear, close_a, close_b = (ranking.of(row) for row in board.rows)
    assert clear.rank == 1 and clear.stability == 1.0 and clear.interval == (1, 1)
    assert 0.2 < close_a.stability < 0.95 and 0.2 < close_b.stability < 0.95
    assert close_a.interval == (2, 3) and close_b.interval == (2, 3)
    again = rank_board(board, RankingConfig(resamples=500, seed=3))
    assert [again.of(r).stability for r in board.rows] == [clear.stability, close_a.stability, close_b.stability]
    single = _board({"a": [1.0], "b": [2.0]})  # one item: nothing to resample, no stability shown
    assert all(rank_board(single, RankingConfig()).of(r).stability is None for r in single.rows)


def test_a_store_copied_from_another_machine_merges(runs: dict[str, Path], tmp_path: Path) -> None:
    """A results.sqlite file on its own, anywhere (as copied from a cluster), merges like a run folder."""
    copied = tmp_path / "from-the-cluster" / "more.sqlite"
    copied.parent.mkdir()
    shutil.copyfile(runs["more"] / "results.sqlite", copied)
    assert main(["leaderboard", str(runs["base"]), str(copied), "--out", str(tmp_path / "lb"), "--quiet",
                 "--format", "json,html", "--resamples", "0", "--listening-items", "1"]) == 0
    document = json.loads((tmp_path / "lb" / "leaderboard.json").read_text())
    assert rows_of(document)["dtln"]["rank"] is not None
    assert document["sources"][1]["path"] == str(copied.parent)
    assert (tmp_path / "lb" / document["sources"][1]["listening"]).is_file()


def test_a_run_is_picked_out_of_a_store_by_id(runs: dict[str, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(runs["more"] / "results.sqlite") as db:
        (run_id,) = db.execute("SELECT run_id FROM runs").fetchone()
    assert main(["leaderboard", str(runs["base"]), f"{runs['more']}#{run_id}", "--out", str(tmp_path), "--quiet",
                 "--format", "json", "--resamples", "0"]) == 0
    assert "nsnet2" in rows_of(json.loads((tmp_path / "leaderboard.json").read_text()))
    assert main(["leaderboard", f"{runs['more']}#nope", "--out", str(tmp_path)]) == 2
    assert "has no run 'nope'" in capsys.readouterr().err


def test_version_difference_names_the_asr_normaliser_and_model_file() -> None:
    old = "wer=1;model=tiny.en;normalizer=english;model/model.bin@sha256:aaaa1111bbbb2222"
    new = "wer=1;model=tiny.en;normalizer=basic;model/model.bin@sha256:cccc3333dddd4444"
    text = version_difference("wer", old, new)
    assert "ASR normalizer english -> basic" in text
    assert "ASR model file model/model.bin sha256 aaaa1111bbbb -> sha256 cccc3333dddd" in text
    assert version_difference("dnsmos", "dnsmos=1;x.onnx@sha256:aa", "dnsmos=1;x.onnx@sha256:bb") == \
        "dnsmos: model file x.onnx sha256 aa -> sha256 bb"


def test_unknown_columns_are_the_reports_error(runs: dict[str, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """``--columns`` as in ``sebench report`` (tests/test_reports_columns.py): same error, order kept."""
    boards = build_boards(load_sources([str(runs["base"])]))
    with pytest.raises(ConfigError, match=r"^unknown column\(s\) MOS in --columns; choose from SISDR, STOI, ESTOI$"):
        restrict_columns(boards, ["STOI", "MOS"])
    assert [c.name for c in restrict_columns(boards, ["STOI", "SISDR"])[0].columns] == ["STOI", "SISDR"]
    out = tmp_path / "lb"
    assert main(["leaderboard", str(runs["base"]), "--columns", "STOI,MOS", "--out", str(out)]) == 2
    assert "unknown column(s) MOS in --columns; choose from SISDR, STOI, ESTOI" in capsys.readouterr().err
    assert not out.exists()


def test_bad_input_is_one_clear_error(runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["leaderboard", str(runs["base"])]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["leaderboard", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    assert "no results store" in capsys.readouterr().err
    assert main(["leaderboard", str(runs["base"]), "--out", str(tmp_path), "--rank-columns", "PESQ_WB"]) == 2
    assert "unknown column(s) PESQ_WB" in capsys.readouterr().err
    assert main(["leaderboard", str(runs["base"]), str(runs["base"]), "--out", str(tmp_path)]) == 2
    assert "given twice" in capsys.readouterr().err


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if named.get("id"):
            self.ids.add(named["id"] or "")
        if tag == "a" and named.get("href"):
            self.hrefs.append(named["href"] or "")


def test_every_link_on_the_page_resolves(board_dir: Path, document: dict) -> None:
    page = board_dir / "index.html"
    parser = _Links()
    parser.feed(page.read_text())
    assert parser.hrefs
    listening = 0
    for href in parser.hrefs:
        url = urlparse(href)
        if url.scheme:
            pytest.fail(f"external link on a page without published rows: {href}")
        if url.path:
            target = (page.parent / unquote(url.path)).resolve()
            assert target.is_file() and board_dir.resolve() in target.parents, href
            listening += target.name == "index.html"
        if url.fragment and not url.path:
            assert url.fragment in parser.ids, href
    assert listening >= len(document["boards"][0]["rows"])  # every reproduced row links its listening page


SORT_PROBE = """
<script>
(function () {
  const panel = document.querySelector('section[role=tabpanel]');
  const heads = Array.from(panel.querySelectorAll('thead th'));
  const order = () => Array.from(panel.querySelectorAll('tbody tr')).map(r => r.dataset.label).join('|');
  const result = {initial: order(), hidden: panel.hidden};
  const stoi = heads.find(th => th.dataset.column === 'STOI');
  stoi.click(); result.stoiFirst = order(); result.stoiSort = stoi.getAttribute('aria-sort');
  stoi.click(); result.stoiSecond = order(); result.stoiSort2 = stoi.getAttribute('aria-sort');
  heads.find(th => th.textContent === 'System').click(); result.byName = order();
  document.body.dataset.probe = JSON.stringify(result);
})();
</script>
"""


def _chromium_dom(page: Path, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_chromium_sorts_columns_by_clicks(board_dir: Path, document: dict, tmp_path: Path) -> None:
    probe = board_dir / "probe.html"
    probe.write_text((board_dir / "index.html").read_text().replace("</body>", SORT_PROBE + "</body>"))
    result = _chromium_dom(probe, tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    match = re.search(r'data-probe="([^"]+)"', result.stdout)
    assert match, result.stdout[-2000:]
    seen = json.loads(match.group(1).replace("&quot;", '"'))
    rows = document["boards"][0]["rows"]
    assert seen["hidden"] is False and seen["initial"] == "|".join(r["label"] for r in rows)
    scored = sorted((r for r in rows if r["values"]["STOI"] is not None), key=lambda r: -r["values"]["STOI"])
    assert seen["stoiSort"] == "descending"  # the first click puts the best first
    assert seen["stoiFirst"].split("|") == [r["label"] for r in scored]
    assert seen["stoiSort2"] == "ascending" and seen["stoiSecond"].split("|") == [r["label"] for r in reversed(scored)]
    assert seen["byName"].split("|") == sorted((r["label"] for r in rows), key=str.lower)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_chromium_shows_one_tab_at_a_time_and_the_fragment_picks_it(document: dict, tmp_path: Path) -> None:
    from reports.leaderboard.page import write_page

    second = json.loads(json.dumps(document["boards"][0]))
    second["subset"] = "with_reverb"
    page = write_page(dict(document, boards=[document["boards"][0], second]), tmp_path / "index.html")
    for fragment, shown in (("", "panel-pairs-pairs"), ("#panel-pairs-with_reverb", "panel-pairs-with_reverb")):
        target = page.with_name(f"tabs{len(fragment)}.html")
        target.write_text(page.read_text())
        result = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000", "--dump-dom",
             target.as_uri() + fragment], capture_output=True, text=True, timeout=120)
        panels = re.findall(r'<section role="tabpanel" id="([^"]+)"([^>]*)>', result.stdout)
        assert [pid for pid, attrs in panels if "hidden" not in attrs] == [shown], panels
        selected = re.findall(r'<button role="tab"[^>]*aria-controls="([^"]+)" aria-selected="true"', result.stdout)
        assert selected == [shown]


# --- LaTeX: the report's machinery (minus signs, width and height fitting, labels) -----------------

WIDE_COLUMNS = (("DNSMOS_SIG", ""), ("DNSMOS_BAK", ""), ("DNSMOS_OVRL", ""), ("PESQ_WB", ""), ("PESQ_NB", ""),
                ("STOI", ""), ("SISDR", "dB"), ("ERLE", "dB"))


def _wide_document(systems: int) -> dict:
    """A DNS-like board of eight columns (SI-SDR and ERLE negative for the weaker systems), ranked
    and turned into the leaderboard document by the real code."""
    rng = np.random.default_rng(1)
    items = tuple(f"clip{k}" for k in range(4))
    columns = [Column(name, True, unit=unit, upper=1.0 if name == "STOI" else None) for name, unit in WIDE_COLUMNS]
    rows = []
    for k in range(systems):
        per_item = pd.DataFrame({c.name: (-5.2 + 1.7 * k if c.unit == "dB" else 2.0 + 0.05 * k) + 0.1 * rng.standard_normal(len(items))
                                 for c in columns}, index=list(items))
        rows.append(Row(label=f"enhancer-{k:02d}@variant-{k}", system=f"enhancer-{k:02d}", kind=REPRODUCED,
                        values={c: float(per_item[c].mean()) for c in per_item}, status={c: "ok" for c in per_item},
                        per_item=per_item))
    board = Board("dns", "no_reverb", items, "dns-baselines", columns, rows)
    return leaderboard_document(build_leaderboard([], [], [board], RankingConfig(resamples=50)))


def test_leaderboard_latex_uses_the_reports_minus_label_and_decimal_alignment() -> None:
    document = _wide_document(systems=4)
    worst = next(row for row in document["boards"][0]["rows"] if row["label"].startswith("enhancer-00"))
    assert worst["values"]["SISDR"] < -4
    tex = render_latex(document, layout="wide")
    shown = f"{abs(worst['values']['SISDR']):.2f}".split(".")
    assert rf"$-${shown[0]} & .{shown[1]} ({worst['ranks']['SISDR']})" in tex  # | integer | .decimals (rank) |
    assert not re.search(r"(?<![$\w{])-\d", tex), "a hyphen used as a minus sign"
    assert r"\label{tab:leaderboard-dns-baselines-dns-no-reverb}" in tex
    assert r"SISDR\\(dB) $\uparrow$" in tex and r"\bfseries\boldmath" in tex
    assert "Ranked on: DNSMOS\\_SIG" in tex and "dense rank per column" in tex


def test_leaderboard_latex_is_split_to_the_width_and_continued_past_the_height() -> None:
    document = _wide_document(systems=40)
    narrow = render_latex(document, width=229.0)
    assert narrow.count(r"\begin{tabular}") >= 3 * 2  # several column groups, each too tall for one float
    assert "continued from Table~\\ref{tab:leaderboard-dns-baselines-dns-no-reverb}" in narrow
    groups = grid_groups(board_grid(document["boards"][0], {}), 229.0)
    assert len(groups) >= 3 and len(re.findall(r"& enhancer-\d+@variant-\d+ &", narrow)) == 40 * len(groups)
    wide = render_latex(document, layout="wide", width=229.0)
    assert r"\begin{table*}" in wide and wide.count(r"\begin{tabular}") < narrow.count(r"\begin{tabular}")
    labels = re.findall(r"\\label\{([^}]+)\}", narrow)
    assert len(labels) == len(set(labels)) == narrow.count(r"\caption{")


@needs_tex
@pytest.mark.parametrize("layout", ["column", "wide"])
def test_leaderboard_latex_compiles_and_fits(tmp_path: Path, layout: str) -> None:
    tex = render_latex(_wide_document(systems=40), layout=layout)
    log, words, left, column = compile_tables(tex + FILLER, tmp_path)
    assert_fits(log, words, left, column, span=None if layout == "column" else 2 * column + 10 * 72 / 72.27)


def test_leaderboard_cli_takes_the_reports_latex_options(runs: dict[str, Path], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lb"
    assert main(["leaderboard", str(runs["base"]), "--format", "tex", "--latex-layout", "wide", "--latex-width", "120",
                 "--out", str(out), "--quiet"]) == 0
    tex = (out / "leaderboard.tex").read_text()
    assert r"\begin{table*}" in tex and r"\label{tab:leaderboard-base-pairs}" in tex
    assert main(["leaderboard", str(runs["base"]), "--latex-layout", "tiny", "--out", str(tmp_path / "x")]) == 2
    assert "unknown --latex-layout 'tiny'" in capsys.readouterr().err
