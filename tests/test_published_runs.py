"""Issue 18 end to end: runs over small real-like demo layouts (generated audio), checked in the
results store and the report: output-rate scoring, published-file provenance, distinct metric
columns, unsupported-up-front PLC rows, footnotes, separation scoring."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from _metrics_support import OTHER_SENTENCE, noisy, speech
from bench.audio import audio_info, file_sha256, resample
from bench.config import RunConfig
from bench.errors import ConfigError
from bench.runner import execute
from bench.spec import parse_spec
from reports.aggregate import load_run
from reports.notes import notes_markdown


def run(tmp_path: Path, testset: str, systems: list[str], metrics: list[str], name: str = "demo"):
    config = RunConfig(name=name, runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache", executor="serial",
                       testsets=[parse_spec(testset)], systems=[parse_spec(s) for s in systems],
                       metrics=[parse_spec(m) for m in metrics])
    return config, execute(config, progress=False)


def item_scores(config: RunConfig, system: str) -> dict[str, dict[str, float]]:
    with sqlite3.connect(config.store_path) as db:
        rows = db.execute("SELECT item_id, column_name, value FROM scores WHERE system = ?", (system,)).fetchall()
    out: dict[str, dict[str, float]] = {}
    for item_id, column, value in rows:
        out.setdefault(item_id, {})[column] = value
    return out


def outputs(config: RunConfig) -> dict[tuple[str, str], dict]:
    with sqlite3.connect(config.store_path) as db:
        db.row_factory = sqlite3.Row
        return {(r["system"], r["item_id"]): dict(r) for r in db.execute("SELECT * FROM outputs")}


@pytest.fixture(scope="module")
def page48(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 48 kHz demo page: noisy/clean pairs, and a model's outputs published at 16 kHz."""
    root = tmp_path_factory.mktemp("page48")
    clean = speech(rate=48000)
    for index, snr in enumerate((0.0, 10.0)):
        name = f"utt{index}"
        noisy48 = noisy(clean, snr, seed=index)
        (root / "noisy").mkdir(exist_ok=True)
        (root / "clean").mkdir(exist_ok=True)
        (root / "model16k").mkdir(exist_ok=True)
        sf.write(root / "noisy" / f"{name}.wav", noisy48, 48000, subtype="FLOAT")
        sf.write(root / "clean" / f"{name}.wav", clean, 48000, subtype="FLOAT")
        # the published output: a partial clean-up, saved at 16 kHz as the model ran
        out16 = resample(0.6 * clean + 0.4 * noisy48, 48000, 16000)
        sf.write(root / "model16k" / f"{name}.wav", out16, 16000, subtype="FLOAT")
    return root


def test_a_16k_output_of_a_48k_item_scores_as_the_reference_libraries_do(tmp_path: Path, page48: Path) -> None:
    from pesq import pesq
    from speechmos import dnsmos

    config, summary = run(tmp_path, f"pairs:root={page48},sample_rate=48000",
                          [f"folder:root={page48 / 'model16k'},label=model-16k"], ["dnsmos", "pesq", "stoi"])
    assert (summary.ok, summary.failed) == (2, 0)
    scores = item_scores(config, "model-16k")
    for name in ("utt0", "utt1"):
        out16, rate = sf.read(page48 / "model16k" / f"{name}.wav", dtype="float32")
        clean16 = resample(sf.read(page48 / "clean" / f"{name}.wav", dtype="float32")[0], 48000, 16000)
        expected = dnsmos.run(out16, 16000)
        got = scores[name]
        assert got["DNSMOS_OVRL"] == pytest.approx(expected["ovrl_mos"], abs=0.01)
        assert got["DNSMOS_SIG"] == pytest.approx(expected["sig_mos"], abs=0.01)
        assert got["PESQ_WB"] == pytest.approx(pesq(16000, clean16, out16[: len(clean16)], "wb"), abs=0.01)
        # the output is stored at the rate it was produced, not upsampled to the item's 48 kHz
        record = outputs(config)[("model-16k", name)]
        assert audio_info(record["output_path"])[0] == 16000


def test_a_16k_aec_output_of_a_48k_item_scores_aecmos_as_speechmos_does(tmp_path: Path) -> None:
    """The metric of issue 18's case 4. On this item, taking the output to 48 kHz and back (the old
    path) moves speechmos's AECMOS_other from 2.17 to 2.74: the round trip cuts the residual's 7.5-8 kHz."""
    from speechmos import aecmos

    root, published = tmp_path / "aec48", tmp_path / "published16"
    root.mkdir()
    published.mkdir()
    far, near = speech(OTHER_SENTENCE, "en-us+f2", rate=48000), speech(rate=48000)
    n = min(len(far), len(near))
    far, near = far[:n], near[:n]
    echo = 0.4 * np.concatenate([np.zeros(480, np.float32), far[:-480]])
    residual = 0.02 * np.random.default_rng(4).standard_normal(n).astype(np.float32)  # broadband, up to 8 kHz
    sf.write(root / "x_doubletalk_lpb.wav", far, 48000, subtype="FLOAT")
    sf.write(root / "x_doubletalk_mic.wav", near + echo, 48000, subtype="FLOAT")
    out16 = resample(near + 0.1 * echo, 48000, 16000)
    out16 = out16 + residual[: len(out16)]
    sf.write(published / "x_doubletalk_mic.wav", out16, 16000, subtype="FLOAT")

    config, summary = run(tmp_path, f"aec-challenge:root={root},sample_rate=48000",
                          [f"folder:root={published},label=aec-16k"], ["aecmos"])
    assert (summary.ok, summary.failed) == (1, 0)
    got = item_scores(config, "aec-16k")["real/x_doubletalk"]
    signals = {"lpb": resample(far, 48000, 16000), "mic": resample(near + echo, 48000, 16000), "enh": out16}
    expected = aecmos.run(signals, 16000, talk_type="dt")
    assert got["AECMOS_echo"] == pytest.approx(expected["echo_mos"], abs=0.01)
    assert got["AECMOS_other"] == pytest.approx(expected["deg_mos"], abs=0.01)


def test_the_store_and_report_name_the_published_file(tmp_path: Path, page48: Path) -> None:
    config, _ = run(tmp_path, f"pairs:root={page48},sample_rate=48000",
                    [f"folder:root={page48 / 'model16k'},label=model-16k", "unprocessed"], ["sisdr"])
    records = outputs(config)
    record = records[("model-16k", "utt1")]
    assert record["published_file"] == "utt1.wav"
    assert record["published_sha256"] == file_sha256(page48 / "model16k" / "utt1.wav")
    assert records[("unprocessed", "utt1")]["published_file"] is None
    notes = notes_markdown(load_run(config.run_dir))
    assert "### Published outputs scored" in notes
    assert f"| utt1 | utt1.wav | {file_sha256(page48 / 'model16k' / 'utt1.wav')[:12]} |" in notes


def test_a_folder_at_the_data_root_never_scores_the_input(tmp_path: Path, page48: Path) -> None:
    config, summary = run(tmp_path, f"pairs:root={page48}", [f"folder:root={page48 / 'noisy'},label=oops"], ["sisdr"])
    assert summary.ok == 0 and summary.failed == 2
    record = outputs(config)[("oops", "utt0")]
    assert record["status"] == "failed" and "which is the item's own input file" in record["reason"]


def test_plc_baselines_are_unsupported_up_front_without_a_trace(tmp_path: Path) -> None:
    root = tmp_path / "plc"
    rng = np.random.default_rng(0)
    for name, lost in (("a", [0, 1, 0, 0, 1, 0]), ("b", [1, 0, 0, 0, 0, 0])):
        audio = (0.1 * rng.standard_normal(320 * len(lost))).astype(np.float32)
        for index, flag in enumerate(lost):
            audio[index * 320:(index + 1) * 320] *= 1 - flag
        (root / "lossy").mkdir(parents=True, exist_ok=True)
        sf.write(root / "lossy" / f"{name}.wav", audio, 16000)
    (root / "m.csv").write_text("id,input,task\na,lossy/a.wav,PLC\nb,lossy/b.wav,plc\n")
    config, summary = run(tmp_path, f"manifest:path={root / 'm.csv'}", ["plc-zero", "unprocessed"], ["dnsmos"])
    assert (summary.ok, summary.failed, summary.unsupported) == (2, 0, 2)
    record = outputs(config)[("plc-zero", "a")]
    assert record["status"] == "unsupported" and "loss_trace" in record["reason"]
    config, summary = run(tmp_path, f"manifest:path={root / 'm.csv'},derive_trace=zeros", ["plc-zero"], ["dnsmos"],
                          name="derived")
    assert (summary.ok, summary.failed, summary.unsupported) == (2, 0, 0)


def test_erle_absence_is_explained(tmp_path: Path) -> None:
    root = tmp_path / "aec"
    rng = np.random.default_rng(1)
    far = (0.1 * rng.standard_normal(32000)).astype(np.float32)
    (root).mkdir()
    sf.write(root / "x_doubletalk_lpb.wav", far, 16000)
    sf.write(root / "x_doubletalk_mic.wav", 0.5 * far + 0.05 * rng.standard_normal(32000).astype(np.float32), 16000)
    config, summary = run(tmp_path, f"aec-challenge:root={root}", ["unprocessed"], ["erle", "aecmos"])
    assert summary.ok == 1
    assert any("ERLE" in line and "far-end single talk" in line for line in summary.notes)
    notes = notes_markdown(load_run(config.run_dir))
    assert "- ERLE: no value in this run: ERLE is defined on far-end single talk only" in notes


def test_aecmos_truncation_and_both_models_in_one_run(tmp_path: Path) -> None:
    root = tmp_path / "aec"
    rng = np.random.default_rng(2)
    far = (0.1 * rng.standard_normal(25 * 48000)).astype(np.float32)
    root.mkdir()
    sf.write(root / "long_doubletalk_lpb.wav", far, 48000)
    sf.write(root / "long_doubletalk_mic.wav", 0.3 * far + 0.05 * rng.standard_normal(len(far)).astype(np.float32), 48000)
    config, summary = run(tmp_path, f"aec-challenge:root={root}", ["unprocessed"], ["aecmos", "aecmos:rate=48000"])
    scores = item_scores(config, "unprocessed")["real/long_doubletalk"]
    assert {"AECMOS_echo", "AECMOS_echo@48k", "AECMOS_other", "AECMOS_other@48k"} <= set(scores)
    assert scores["AECMOS_echo"] != scores["AECMOS_echo@48k"]
    assert scores["AECMOS_scored_s"] == 20.0 and scores["AECMOS_clip_s"] == 25.0
    notes = notes_markdown(load_run(config.run_dir))
    assert "- AECMOS: 1 of 1 outputs scored in part only (20.00-20.00 s of clips of 25.00-25.00 s)" in notes
    assert "AECMOS_echo@48k, AECMOS_other@48k: `aecmos` (rate=48000), model speechmos/aecmos_models/Run_1668423760" in notes


def test_separation_scores_the_best_assignment(tmp_path: Path) -> None:
    from bench.metrics.sisdr import si_sdr

    root = tmp_path / "wsj"
    rng = np.random.default_rng(3)
    s1, s2 = speech(rate=8000), speech("Please call Stella.", "en-us+f2", rate=8000)
    n = min(len(s1), len(s2))
    s1, s2 = s1[:n], s2[:n]
    for folder, audio in (("mix", s1 + s2), ("s1", s1), ("s2", s2)):
        (root / folder).mkdir(parents=True)
        sf.write(root / folder / "x.wav", audio, 8000, subtype="FLOAT")
    out_1, out_2 = s2 + 0.1 * s1, s1 + 0.2 * s2  # the separator's sources come out swapped
    (root / "out").mkdir()
    sf.write(root / "out" / "x_s1.wav", out_1, 8000, subtype="FLOAT")
    sf.write(root / "out" / "x_s2.wav", out_2, 8000, subtype="FLOAT")
    (root / "m.csv").write_text("input,reference,task\nmix/x.wav,s1/x.wav|s2/x.wav,separation\n")
    config, summary = run(tmp_path, f"manifest:path={root / 'm.csv'}",
                          [f"folder:root={root / 'out'},layout={{stem}}_s{{source}},label=sep", "unprocessed"],
                          ["sisdr", "stoi", "pesq", "dnsmos"])
    assert (summary.ok, summary.failed) == (2, 0)
    scores = item_scores(config, "sep")["mix/x"]
    assert scores["SISDR"] == pytest.approx((si_sdr(s1, out_2) + si_sdr(s2, out_1)) / 2, abs=1e-4)
    assert "STOI" in scores and "PESQ_NB" in scores and "DNSMOS_OVRL" not in scores
    mixture = item_scores(config, "unprocessed")["mix/x"]["SISDR"]
    assert mixture == pytest.approx((si_sdr(s1, s1 + s2) + si_sdr(s2, s1 + s2)) / 2, abs=1e-4)
    assert outputs(config)[("sep", "mix/x")]["published_file"] == "x_s1.wav|x_s2.wav"
