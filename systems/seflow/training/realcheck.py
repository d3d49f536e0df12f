"""Issue #16's claims on the real items in ``../shared/data`` (evaluation only, never for choosing
settings): ``python -m systems.seflow.training.realcheck [--checkpoint W] [--only demo,tse,dns]``.

* SEFlow demo page (5 distortions x 5 VCTK items, 48 kHz): ours against the published outputs of
  the same points, ratio ours / published f-12-4 per distortion for DNSMOS OVRL and PESQ-wb;
* the TSE demo items (Libri2Mix, WSJ0-2mix, with enrollment): SI-SDR and speaker similarity against
  the unprocessed mixture;
* the DNS 2020 sample: against RNNoise on no_reverb, against unprocessed on with_reverb.

``tests/test_seflow_real.py`` asserts these with the functions here; this command prints them.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.item import TSE, Item
from bench.metric import METRICS
from bench.paths import shared_data_root
from bench.pipeline import enhance_item, score_item
from bench.system import SYSTEMS
from bench.testset import TESTSETS

DEMO = Path("seflow-demo") / "vctk@079d445"
TSE_DEMO = Path("seflow-demo") / "tse@06d9b74" / "demo"
DNS = Path("dns2020-sample")
POINTS = ("f-1-1", "f-3-1", "f-6-2", "f-9-3", "f-12-4")
CELLS = ("DNSMOS_OVRL", "PESQ_WB")


def _means(system, variant: str, items: list[Item], metrics) -> dict[str, dict[str, float]]:
    """{subset: {column: mean}}; a metric error is an error, not a missing cell."""
    columns: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for item in items:
        scores, errors = score_item(metrics, item, *enhance_item(system, variant, item))
        if errors:
            raise RuntimeError(f"{system.name}@{variant} on {item.id}: {errors}")
        for column, value in scores.items():
            columns[item.subset][column].append(value)
    return {s: {c: float(np.mean(v)) for c, v in cols.items()} for s, cols in columns.items()}


def _seflow(checkpoint: str | None):
    system = SYSTEMS.get("seflow")(**({"checkpoint": checkpoint} if checkpoint else {}))
    system.load()
    return system


def demo(root: Path, checkpoint: str | None = None, points=POINTS, metric_names=("dnsmos", "pesq", "stoi")) -> dict:
    """{"published": {point: {distortion: {column: mean}}}, "ours": ..., "unprocessed": {distortion: ...}}."""
    items = list(TESTSETS.get("pairs")(root=str(root)).items())
    metrics = [METRICS.get(m)() for m in metric_names]
    out: dict = {"published": {}, "ours": {}}
    out["unprocessed"] = _means(SYSTEMS.get("unprocessed")(), "default", items, metrics)
    ours = _seflow(checkpoint)
    for point in points:
        folder = SYSTEMS.get("folder")(root=str(root), layout=f"{{subset}}/{point}/{{stem}}")
        out["published"][point] = _means(folder, "default", items, metrics)
        out["ours"][point] = _means(ours, point, items, metrics)
    return out


def demo_claims(table: dict) -> dict:
    """The Done-when numbers: ratio ours / published f-12-4 per (distortion, column), their median
    and minimum, and per distortion whether our PESQ grows f-1-1 < f-6-2 < f-12-4."""
    ratios = {f"{d} {c}": table["ours"]["f-12-4"][d][c] / table["published"]["f-12-4"][d][c]
              for d in table["ours"]["f-12-4"] for c in CELLS}
    growth = {d: table["ours"]["f-1-1"][d]["PESQ_WB"] < table["ours"]["f-6-2"][d]["PESQ_WB"] < table["ours"]["f-12-4"][d]["PESQ_WB"]
              for d in table["ours"]["f-12-4"]}
    return {"ratios": ratios, "median": statistics.median(ratios.values()), "min": min(ratios.values()), "pesq_grows": growth}


def tse_items(root: Path) -> list[Item]:
    """The TSE demo's Libri2Mix mixtures (enrollment: the query clip of the target's speaker) and
    WSJ0-2mix mixtures (enrollment: the query clip of the same name), subset by corpus."""
    items = []
    libri = root / "librimix"
    for target in sorted((libri / "target").glob("*.wav")):
        mixture, k = target.stem.rsplit("_s", 1)
        speaker = mixture.split("_")[int(k) - 1].split("-")[0]
        items.append(Item(id=target.stem, task=TSE, subset="libri2mix", input=libri / "mixture" / f"{mixture}.wav",
                          reference=target, enrollment=libri / "query" / f"{speaker}.wav"))
    wsj = root / "wsj"
    for target in sorted((wsj / "target").glob("*.wav")):
        items.append(Item(id=target.stem, task=TSE, subset="wsj0-2mix", input=wsj / "mixture" / target.name,
                          reference=target, enrollment=wsj / "query" / target.name))
    return items


def tse(root: Path, checkpoint: str | None = None) -> dict:
    items = tse_items(root)
    metrics = [METRICS.get(m)() for m in ("sisdr", "spksim")]
    return {"unprocessed": _means(SYSTEMS.get("unprocessed")(), "default", items, metrics),
            "f-12-4": _means(_seflow(checkpoint), "f-12-4", items, metrics)}


def dns(root: Path, checkpoint: str | None = None) -> dict:
    items = list(TESTSETS.get("dns")(root=str(root), subset="no_reverb+with_reverb").items())
    metrics = [METRICS.get(m)() for m in ("dnsmos", "pesq")]
    rnnoise = SYSTEMS.get("rnnoise")()
    rnnoise.load()
    return {"unprocessed": _means(SYSTEMS.get("unprocessed")(), "default", items, metrics),
            "rnnoise": _means(rnnoise, "default", items, metrics),
            "f-12-4": _means(_seflow(checkpoint), "f-12-4", items, metrics)}


def demo_markdown(table: dict) -> str:
    """The README's demo table: published / ours per point, per distortion and metric."""
    points = list(table["ours"])
    lines = ["| distortion | unprocessed | " + " | ".join(f"{p} published / ours" for p in points) + " |",
             "|---|---:|" + "---:|" * len(points)]
    for d in table["unprocessed"]:
        for col in ("PESQ_WB", "STOI", "DNSMOS_OVRL"):
            if col not in table["unprocessed"][d]:
                continue
            fmt = "{:.3f}" if col == "STOI" else "{:.2f}"
            cells = [fmt.format(table["published"][p][d][col]) + " / " + fmt.format(table["ours"][p][d][col]) for p in points]
            lines.append(f"| {d} {col} | {fmt.format(table['unprocessed'][d][col])} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--only", default="demo,tse,dns")
    p.add_argument("--out", default=None, help="also write the numbers as JSON here")
    args = p.parse_args(argv)
    shared = shared_data_root()
    if shared is None:
        raise SystemExit("../shared/data is not present: nothing to check")
    report: dict = {}
    parts = args.only.split(",")
    if "demo" in parts:
        report["demo"] = demo(shared / DEMO, args.checkpoint)
        report["demo_claims"] = demo_claims(report["demo"])
        print(demo_markdown(report["demo"]))
        print(json.dumps(report["demo_claims"], indent=1))
    if "tse" in parts:
        report["tse"] = tse(shared / TSE_DEMO, args.checkpoint)
        print(json.dumps(report["tse"], indent=1))
    if "dns" in parts:
        report["dns"] = dns(shared / DNS, args.checkpoint)
        print(json.dumps(report["dns"], indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
