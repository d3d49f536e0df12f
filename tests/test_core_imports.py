"""A fully cached re-run loads no model and imports no heavy library: the cache answers every job in
the driver, so nothing that computes is ever imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "scipy.signal", "scipy.stats", "matplotlib", "onnxruntime", "pystoi", "pesq", "resemblyzer",
         "librosa", "pandas", "pyroomacoustics")

RUN = """
import json, sys
from pathlib import Path
from bench.config import RunConfig
from bench.runner import execute
from bench.spec import parse_spec
root = Path(sys.argv[1])
config = RunConfig(name=sys.argv[2], testsets=[parse_spec("synthetic:n_per_subset=1,subsets=no_reverb+plc")],
                   systems=[parse_spec("unprocessed"), parse_spec("oracle")],
                   metrics=[parse_spec(m) for m in ("sisdr", "stoi", "pesq", "dnsmos")],
                   runs_dir=root / "runs", cache_dir=root / "cache", executor=sys.argv[3])
summary = execute(config, progress=False)
print(json.dumps({"hits": summary.score_cache_hits, "scored": summary.scored, "ok": summary.ok,
                  "heavy": sorted(m for m in %r if m in sys.modules)}))
""" % (HEAVY,)


def run(root: Path, name: str, executor: str, env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, "-c", RUN, str(root), name, executor], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[1], timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_fully_cached_rerun_imports_nothing_heavy(tmp_path, sebench_home) -> None:
    import os

    env = dict(os.environ, SEBENCH_HOME=str(sebench_home))
    cold = run(tmp_path, "cold", "serial", env)  # computed in this process: the check can see the imports
    assert cold["scored"] > 0 and {"onnxruntime", "pesq", "pystoi"} <= set(cold["heavy"])
    cached = run(tmp_path, "cached", "local", env)  # the default executor
    assert cached["ok"] == cold["ok"] and cached["scored"] == 0 and cached["hits"] == cold["scored"]
    assert cached["heavy"] == []


def test_synthetic_subset_names_match_the_recipes() -> None:
    """Loading a built suite names its subsets without importing the recipes (scipy.signal, rooms)."""
    from testsets.synthetic.build import SUBSETS
    from testsets.synthetic.recipes import RECIPES

    assert SUBSETS == tuple(RECIPES)


CLI = """
import json, sys
from bench.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "heavy": sorted(m for m in %r if m in sys.modules)}))
""" % (tuple(m for m in HEAVY if m != "pandas"),)


def test_fully_cached_command_line_run_prints_its_table_without_heavy_imports(tmp_path, sebench_home) -> None:
    """``sebench run`` prints a summary table with notes; the notes once imported every registered
    metric module to describe the run's empty columns (SRMR alone brings scipy.signal: 1.4 s of a
    1.8 s cached re-run). Only pandas, which builds the table, may load."""
    import os

    env = dict(os.environ, SEBENCH_HOME=str(sebench_home))
    args = ["run", "--no-progress", "--testset", "synthetic:n_per_subset=1,subsets=no_reverb", "--system", "unprocessed",
            "--metric", "sisdr", "--metric", "dnsmos", "--runs-dir", str(tmp_path / "runs"),
            "--cache-dir", str(tmp_path / "cache")]
    for name in ("cold", "cached"):
        done = subprocess.run([sys.executable, "-c", CLI, *args, "--name", name], capture_output=True, text=True,
                              env=env, cwd=Path(__file__).resolve().parents[1], timeout=600)
        assert done.returncode == 0, done.stderr
    printed, result = done.stdout.rsplit("\n", 2)[0], json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0 and "DNSMOS_OVRL" in printed and "SISDR" in printed
    assert result["heavy"] == []
