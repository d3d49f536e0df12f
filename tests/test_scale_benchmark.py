"""The throughput benchmark runs end to end and its figures add up."""

from __future__ import annotations

import json

from bench.benchmarks.throughput import main


def test_throughput_benchmark_smoke(tmp_path, sebench_home, capsys):
    figures_path = tmp_path / "figures.json"
    assert main(["--items", "2", "--metric", "sisdr", "--metric", "pesq", "--workers", "2",
                 "--json", str(figures_path)]) == 0
    out = capsys.readouterr().out
    for line in ("cold run / loop:", "cached re-run / loop:", "parallel speedup:", "free cores (2 CPU-bound",
                 "harness vs loop, largest difference per column:", "workers can reach at most"):
        assert line in out
    figures = json.loads(figures_path.read_text())
    assert figures["items"] == 2 and figures["workers"] == 2
    for name in ("serial", "local"):  # every pass enhanced and scored both items
        assert figures["stages"][name]["items"] == {"enhance unprocessed": 2, "sisdr": 2, "pesq": 2}
    walls = figures["wall_seconds"]
    assert figures["speedup"] == walls["serial"] / walls["local"]
    assert figures["cold_vs_loop"] == walls["local"] / walls["loop"]
    assert 1 < figures["speedup_ceiling"] < 2  # start-up outside the computing is paid on both runs' paths
    assert figures["cpu_seconds"]["local"]["workers"] > 0  # the work ran in the worker processes
    assert figures["cpu_seconds"]["serial"]["workers"] < figures["cpu_seconds"]["local"]["workers"]
    # the harness and the plain loop compute the same numbers from the same files
    assert set(figures["score_differences"]) == {"SISDR", "PESQ_WB", "PESQ_NB"}
    assert max(figures["score_differences"].values()) < 1e-4
    assert 0 < figures["machine"]["free_cores"] <= 2.2
