"""The throughput benchmark runs end to end and its figures add up."""

from __future__ import annotations

import json

from bench.benchmarks.throughput import main


def test_throughput_benchmark_smoke(tmp_path, sebench_home, capsys):
    figures_path = tmp_path / "figures.json"
    assert main(["--n-per-subset", "2", "--subsets", "no_reverb", "--metric", "sisdr", "--workers", "2",
                 "--json", str(figures_path)]) == 0
    out = capsys.readouterr().out
    for line in ("harness overhead:", "parallel speedup:", "cached re-run:", "free cores (2 CPU-bound"):
        assert line in out
    figures = json.loads(figures_path.read_text())
    assert figures["items"] == 2 and figures["workers"] == 2
    for name in ("bare", "serial", "local"):  # every pass enhanced and scored both items
        assert figures["stages"][name]["items"] == {"enhance unprocessed": 2, "sisdr": 2}
    walls = figures["wall_seconds"]
    assert figures["speedup"] == walls["serial"] / walls["local"]
    assert figures["cpu_seconds"]["local"]["workers"] > 0  # the work ran in the worker processes
    assert figures["cpu_seconds"]["serial"]["workers"] < figures["cpu_seconds"]["local"]["workers"]
    assert 0 < figures["machine"]["free_cores"] <= 2.2
