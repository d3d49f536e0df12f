"""Per-point quality table and Pareto plot on the synthetic suite or any test set:
``python -m systems.seflow.training.evaluate [--points demo|all|f-1-1,...] [--n 10] [--testset SPEC] [--out DIR]``.

A thin driver over the harness's plan loop (``bench.plan`` + ``bench.pipeline``) with no cache or
results store, so it can score a checkpoint while it trains. ``sebench run`` is the way to put
SEFlow rows into the project's own tables; this tool exists for the grid sweep and its plot.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.metric import METRICS
from bench.pipeline import enhance_item, score_item
from bench.plan import build_plan, load_items
from bench.spec import Spec, parse_spec
from bench.system import build_system
from systems.seflow.adapter import grid
from systems.seflow.benchmark import DEMO_POINTS

DEFAULT_SUBSETS = "no_reverb,with_reverb,declip,plc"
COLUMNS = {"DNSMOS_OVRL": "OVRL", "PESQ_WB": "PESQ", "SISDR": "SI-SDR", "PLCMOS": "PLCMOS"}


def evaluate(rows: list[tuple[str, str]], subsets: list[str], n: int, metric_names: list[str],
             checkpoint: str | None = None, seed: int = 0, testset: str | None = None) -> dict:
    """{row label: {subset: {column: mean}}} plus the card of each SEFlow row.

    Runs the harness's one plan loop (``bench.plan``: the jobs ``sebench run`` would run, without
    its cache and store) with ``rows`` as (system, variant) pairs; a SEFlow row is labelled by its
    point. ``seed`` other than 0 builds a validation suite (same recipes, other draws) for choosing
    training settings without looking at the scored items. ``testset`` (a spec such as
    ``pairs:root=DIR``, e.g. the real-speech validation build of ``validset.py``) replaces the
    synthetic suite; ``subsets`` then keeps only the named subsets (all when empty)."""
    if testset:
        testsets = load_items([parse_spec(testset)])
        testsets = [(label, [i for i in items if not subsets or i.subset in subsets]) for label, items in testsets]
    else:
        config = {"n_per_subset": n, "subsets": "+".join(subsets), "seed": seed}
        testsets = load_items([Spec("synthetic", config=config)])
    items = [item for _, group in testsets for item in group]
    subsets = list(dict.fromkeys(item.subset for item in items))
    specs = [Spec(name, variant=variant, config={"checkpoint": checkpoint} if name == "seflow" and checkpoint else {})
             for name, variant in rows]
    systems = [build_system(spec) for spec in specs]
    plan = build_plan(specs, systems, testsets)
    metrics = [METRICS.get(m)() for m in metric_names]
    sums: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for job in plan.jobs:
        system = systems[job.system_index]
        system.load()
        out, rate = enhance_item(system, job.variant, job.item)
        scores, errors = score_item(metrics, job.item, out, rate)
        if errors:
            print(f"{job.label} {job.item.id}: {errors}")
        for col, value in scores.items():
            sums[job.label][job.item.subset][col].append(value)
    shown = {label: label.removeprefix("seflow@") for label in plan.cards}  # a SEFlow row is its point
    results = {shown[label]: {s: {c: float(np.mean(v)) for c, v in cols.items()} for s, cols in sums[label].items()}
               for label in plan.cards}
    cards = {shown[label]: {"params": card.params, "macs_per_second": card.macs_per_second}
             for label, card in plan.cards.items() if label.startswith("seflow@")}
    for label in results:
        print(label, json.dumps(results[label]), flush=True)
    return {"results": results, "cards": cards, "subsets": subsets, "n_per_subset": n, "seed": seed}


def markdown(report: dict) -> str:
    subsets = report["subsets"]
    header = ["row", "params", "MMACs/s"]
    keys = []
    for s in subsets:
        for col, short in COLUMNS.items():
            if any(col in r.get(s, {}) for r in report["results"].values()):
                header.append(f"{s} {short}")
                keys.append((s, col))
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, res in report["results"].items():
        card = report["cards"].get(label)
        cells = [label, f"{card['params'] / 1e3:.0f}k" if card else "-", f"{card['macs_per_second'] / 1e6:.1f}" if card else "-"]
        cells += [f"{res[s][c]:.2f}" if c in res.get(s, {}) else "-" for s, c in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def pareto_plot(report: dict, path: Path, subset: str = "no_reverb") -> None:
    """MACs/s against OVRL and PESQ for every evaluated point, baselines as horizontal lines."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, col in zip(axes, ("DNSMOS_OVRL", "PESQ_WB")):
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        for heads, marker in zip(range(1, 5), "os^D"):
            pts = [(report["cards"][k]["macs_per_second"], v[subset][col]) for k, v in report["results"].items()
                   if k in report["cards"] and k.endswith(f"-{heads}") and col in v.get(subset, {})]
            pts.sort()
            if pts:
                ax.plot([p[0] / 1e6 for p in pts], [p[1] for p in pts], marker=marker, label=f"H={heads} (B=1..12)")
        for label, res in report["results"].items():
            if label not in report["cards"] and col in res.get(subset, {}):
                ax.axhline(res[subset][col], linestyle="--", color="gray")
                ax.annotate(label, (ax.get_xlim()[0], res[subset][col]), fontsize=8, va="bottom")
        ax.set_xlabel("MMACs per second of audio")
        ax.set_ylabel(f"{col} ({subset})")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", default="demo", help="'demo' (the 5 published points), 'all', or a comma list")
    p.add_argument("--baselines", default="unprocessed,noisereduce")
    p.add_argument("--subsets", default=DEFAULT_SUBSETS)
    p.add_argument("--metrics", default="dnsmos,pesq,sisdr,plcmos")
    p.add_argument("--n", type=int, default=10, help="items per subset")
    p.add_argument("--out", default="seflow-eval")
    p.add_argument("--checkpoint", default=None, help="weights to score (default: the shipped checkpoint)")
    p.add_argument("--seed", type=int, default=0, help="synthetic suite seed; not 0 = a validation build")
    p.add_argument("--testset", default=None, help="score this test set (spec, e.g. pairs:root=DIR) instead of the synthetic suite")
    args = p.parse_args(argv)
    points = list(DEMO_POINTS) if args.points == "demo" else grid() if args.points == "all" else args.points.split(",")
    rows = [(b, "default") for b in args.baselines.split(",") if b] + [("seflow", v) for v in points]
    subsets = [] if args.testset and args.subsets == DEFAULT_SUBSETS else args.subsets.split(",")
    report = evaluate(rows, subsets, args.n, args.metrics.split(","), args.checkpoint, args.seed, args.testset)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    table = markdown(report)
    (out / "table.md").write_text(table)
    pareto_plot(report, out / "pareto.png", report["subsets"][0])
    print(table)


if __name__ == "__main__":
    main()
