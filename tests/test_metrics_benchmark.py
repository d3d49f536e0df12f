"""The metric cost benchmark runs end to end and reports a positive cost per metric."""

from __future__ import annotations

from bench.benchmarks.metric_cost import main, measure


def test_measure_reports_cost_per_metric() -> None:
    rows = measure(["sisdr", "erle", "pesq"], seconds=2.0, rate=16000, repeats=1)
    assert [row["metric"] for row in rows] == ["sisdr", "erle", "pesq"]
    assert all(float(row["wall ms per s"]) > 0 and float(row["CPU ms per s"]) >= 0 for row in rows)
    assert rows[2]["columns"] == "PESQ_WB, PESQ_NB"


def test_cli_prints_a_table(capsys) -> None:
    main(["--seconds", "1", "--repeats", "1", "--metrics", "sisdr"])
    out = capsys.readouterr().out
    assert "1 s clip at 16000 Hz" in out and "| sisdr" in out


def test_wer_models_benchmark_scores_each_group(tmp_path) -> None:
    import soundfile as sf

    from _metrics_support import SENTENCE, speech
    from bench.benchmarks.wer_models import librispeech_utterances
    from bench.benchmarks.wer_models import measure as measure_wer

    folder = tmp_path / "LibriSpeech" / "test-clean" / "1" / "2"
    folder.mkdir(parents=True)
    sf.write(folder / "1-2-0000.flac", speech(), 16000)
    (folder / "1-2.trans.txt").write_text(f"1-2-0000 {SENTENCE.upper()}\n")
    found = librispeech_utterances(tmp_path)
    assert [(u.group, u.path.name) for u in found] == [("LibriSpeech test-clean", "1-2-0000.flac")]
    (row,) = measure_wer("tiny.en", found)
    assert row["WER"] == 0.0 and row["utterances"] == 1 and float(row["CPU ms per s"]) > 0
