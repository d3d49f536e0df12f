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
