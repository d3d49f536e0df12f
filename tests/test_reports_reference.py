"""Published numbers load with their citation and line up with measured rows."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from _reports_support import build_results
from bench.errors import ConfigError
from reports.aggregate import load_run
from reports.compare import (reference_markdown, reported_vs_reproduced, reproduced_latex, reproduced_markdown,
                             reproduction_warnings)
from reports.reference import available, load_reference


def test_llase_table_as_published() -> None:
    ref = load_reference("llase-dns-dnsmos")
    assert "Kevin-naticl/LLaSE" in ref.url and "LLaSE" in ref.citation
    assert set(ref.systems) == {"Unprocessed", "Conv-TasNet", "DEMUCS", "FRCRN", "SELM", "MaskSR", "GenSE", "LLaSE"}
    assert len(ref.rows) == 24
    assert ref.value("LLaSE", "syn_no_reverb", "OVRL") == 3.43
    assert ref.value("Unprocessed", "syn_with_reverb", "SIG") == 1.76
    assert ref.value("GenSE", "real_recording", "SIG") is None  # printed as '-'
    assert ref.columns == {"SIG": "DNSMOS_SIG", "BAK": "DNSMOS_BAK", "OVRL": "DNSMOS_OVRL"}
    assert ref.subsets == {"syn_no_reverb": "no_reverb", "syn_with_reverb": "with_reverb",
                           "real_recording": "real_recordings"}
    assert "| LLaSE       | Generative     | syn_no_reverb   | 3.65 | 4.17 | 3.43 |" in reference_markdown(ref)


def test_dtln_table_as_published_with_stoi_in_our_unit() -> None:
    ref = load_reference("dtln-dns-no-reverb")
    assert "breizhn/DTLN" in ref.url and "Interspeech.2020-2631" in ref.citation
    assert len(ref.rows) == 9 and ref.subsets == {"no_reverb": "no_reverb"}
    assert ref.columns == {"PESQ": "PESQ_NB", "STOI": "STOI", "SI-SDR": "SISDR"}
    assert ref.value("DTLN (500h)", "no_reverb", "STOI") == 0.9476  # printed 94.76 (%)
    assert ref.value("DTLN (500h)", "no_reverb", "SI-SDR") == 16.34
    assert ref.value("NsNet (Baseline)", "no_reverb", "PESQ") == 2.70
    assert ref.systems["DTLN (500h)"].match == ("dtln",)
    assert ref.systems["NsNet (Baseline)"].match == ()  # NSNet, the 2020 baseline, is not our NSNet2


def test_column_names_match_the_dnsmos_metric() -> None:
    dnsmos = pytest.importorskip("bench.metrics.dnsmos")
    ours = {c.name for c in dnsmos.DNSMOS.columns}
    assert set(load_reference("llase-dns-dnsmos").columns.values()) <= ours


def test_reported_vs_reproduced_on_a_run(tmp_path: Path) -> None:
    run = load_run(build_results(tmp_path, with_audio=False))
    ref = load_reference("llase-dns-dnsmos")
    rows = reported_vs_reproduced(run, ref)
    # only 'unprocessed' matches a published system, and only real_recordings/no_reverb were measured
    assert [(r.published_system, r.subset, r.label) for r in rows] == [
        ("Unprocessed", "no_reverb", "unprocessed"), ("Unprocessed", "real_recordings", "unprocessed")]
    ovrl = {r.subset: dict((v[0], v[1:]) for v in r.values)["DNSMOS_OVRL"] for r in rows}
    assert ovrl["no_reverb"][0] == 2.48 and ovrl["no_reverb"][1] == pytest.approx(2.4833, abs=1e-4)
    text = reproduced_markdown(run, ref, rows)
    assert "| no_reverb       | Unprocessed | unprocessed |   3 |       2.48 |      2.48 |  +0.00 |" in text
    assert "SIG" not in text.split("Source:")[0]  # published columns we did not measure stay out
    assert ref.citation in text
    assert r"\toprule" in reproduced_latex(run, ref, rows)


def test_unknown_and_user_reference(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="llase-dns-dnsmos"):
        load_reference("nope")
    assert "llase-dns-dnsmos" in available()
    mine = tmp_path / "mine.yaml"
    mine.write_text("id: mine\ntitle: t\ncitation: c\nurl: u\ntestset: dns\nsubsets: {a: no_reverb}\n"
                    "columns: {OVRL: DNSMOS_OVRL}\nsystems: {X: {match: [seflow]}}\nrows:\n"
                    "  - {system: X, subset: a, OVRL: 3.0}\n")
    assert load_reference(mine).value("X", "a", "OVRL") == 3.0
    mine.write_text(mine.read_text().replace("subset: a", "subset: b"))
    with pytest.raises(ConfigError, match="undeclared"):
        load_reference(mine)


def _relabel(run_dir: Path, testsets: list[dict]) -> None:
    """Rewrite the stored run config's test sets (what a run of another loader would have stored)."""
    import json
    import sqlite3

    with sqlite3.connect(run_dir / "results.sqlite") as db:
        config = json.loads(db.execute("SELECT config FROM runs").fetchone()[0])
        config["testsets"] = testsets
        db.execute("UPDATE runs SET config = ?", (json.dumps(config),))


def test_matched_by_loader_not_by_label(tmp_path: Path) -> None:
    """A synthetic set labelled 'dns' is not the DNS test set: nothing is set beside the paper."""
    run_dir = build_results(tmp_path, with_audio=False)
    _relabel(run_dir, [{"name": "synthetic", "label": "dns"}, {"name": "libri2mix"}])
    run = load_run(run_dir)
    ref = load_reference("llase-dns-dnsmos")
    assert reported_vs_reproduced(run, ref) == []
    text = reproduced_markdown(run, ref, [])
    assert "This run has no test set read by the 'dns' loader" in text
    assert "dns (loader synthetic)" in text and "No system" not in text


def test_scope_warnings_item_counts_and_subsets(tmp_path: Path) -> None:
    run = load_run(build_results(tmp_path, with_audio=False))
    ref = load_reference("llase-dns-dnsmos")
    rows = reported_vs_reproduced(run, ref)
    warnings = reproduction_warnings(run, ref, rows)
    assert "no_reverb: we scored 3 of the 150 items the published numbers average" in warnings
    assert "real_recordings: we scored 3 of the 300 items the published numbers average" in warnings
    assert "published subsets not in this run: syn_with_reverb (with_reverb)" in warnings
    assert "Warning: no_reverb: we scored 3 of the 150 items" in reproduced_markdown(run, ref, rows)


def test_columns_are_honoured_and_the_message_blames_the_right_thing(tmp_path: Path) -> None:
    run = load_run(build_results(tmp_path, with_audio=False))
    ref = load_reference("llase-dns-dnsmos")
    assert reported_vs_reproduced(run, ref, columns=["PESQ_WB"]) == []
    assert "None of the chosen columns is published in llase-dns-dnsmos" in reproduced_markdown(run, ref, [], ["PESQ_WB"])
    unmatched = dataclasses.replace(ref, systems={name: dataclasses.replace(s, match=()) for name, s in ref.systems.items()})
    unmatched = dataclasses.replace(unmatched, systems={k: v for k, v in unmatched.systems.items() if k != "Unprocessed"})
    assert "No system in this run reproduces a published row" in reproduced_markdown(run, unmatched, [])


def test_report_cli_columns_limit_the_reproduced_table(tmp_path: Path) -> None:
    from bench.cli import main

    run_dir = build_results(tmp_path, with_audio=False)
    out = tmp_path / "out"
    assert main(["report", str(run_dir), "--format", "md", "--reference", "llase-dns-dnsmos", "--columns",
                 "PESQ_WB,STOI", "--out", str(out), "--quiet"]) == 0
    assert "None of the chosen columns is published" in (out / "results.md").read_text()
