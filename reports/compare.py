"""Comparisons: published numbers beside ours, and two systems on the same items.

"Reported vs reproduced" puts each published value next to the value measured here on the matching
test subset, with the difference, so a reader sees at a glance whether a reproduction holds up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from reports.aggregate import OK, RunData, aggregate, display_decimals
from reports.reference import Reference
from reports.stats import RESAMPLES, PairedResult, cell_rng, paired_comparison
from reports.tables import latex_escape, pipe_table


@dataclass(frozen=True)
class ReproducedRow:
    published_system: str
    published_subset: str
    label: str
    subset: str
    values: tuple[tuple[str, float | None, float | None, int], ...]
    """(our column, published, reproduced, n items)."""


def _reference_testsets(run: RunData, reference: Reference) -> list[str]:
    """Our test set labels that are instances of the reference's test set (by loader name or label)."""
    labels = []
    for entry in run.config.get("testsets", []):
        if isinstance(entry, dict) and entry.get("name") == reference.testset:
            labels.append(str(entry.get("label") or entry["name"]))
    present = run.testsets()
    return [t for t in dict.fromkeys(labels + [reference.testset]) if t in present]


def reported_vs_reproduced(run: RunData, reference: Reference, cells: pd.DataFrame | None = None) -> list[ReproducedRow]:
    """Every (published row, our row) pair on a matching subset where we measured something."""
    cells = aggregate(run) if cells is None else cells
    ok = cells[cells["status"] == OK].set_index(["system", "testset", "subset", "column"])
    rows = []
    testsets = _reference_testsets(run, reference)
    for published in reference.systems.values():
        for label in run.labels():
            if not published.matches(label, run.systems.get(label, {})):
                continue
            for pub_subset, our_subset in reference.subsets.items():
                for testset in testsets:
                    values = []
                    for pub_col, our_col in reference.columns.items():
                        key = (label, testset, our_subset, our_col)
                        ours = float(ok.loc[key, "mean"]) if key in ok.index else None
                        n = int(ok.loc[key, "n"]) if key in ok.index else 0
                        values.append((our_col, reference.value(published.name, pub_subset, pub_col), ours, n))
                    if any(v[2] is not None for v in values):
                        rows.append(ReproducedRow(published.name, pub_subset, label, our_subset, tuple(values)))
    return rows


def _num(value: float | None, decimals: int, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"


def _comparison_grid(run: RunData, reference: Reference, rows: Sequence[ReproducedRow]) -> tuple[list[str], list[list[str]]]:
    """Only the published columns we measured for at least one row (a paper's extra columns stay out)."""
    measured = [i for i, _ in enumerate(reference.columns) if any(r.values[i][2] is not None for r in rows)]
    names = list(reference.columns)
    header = ["Subset", "System", "Ours", "n"]
    for i in measured:
        header += [f"{names[i]} paper", f"{names[i]} ours", f"{names[i]} Δ"]
    body = []
    for row in rows:
        n = max(v[3] for v in row.values)
        line = [row.subset, row.published_system, row.label, str(n)]
        for our_col, published, ours, _ in (row.values[i] for i in measured):
            decimals = display_decimals(run.columns[our_col]) if our_col in run.columns else 2
            diff = None if published is None or ours is None else ours - published
            line += [_num(published, decimals), _num(ours, decimals), _num(diff, decimals, signed=True)]
        body.append(line)
    return header, body


def reproduced_markdown(run: RunData, reference: Reference, rows: Sequence[ReproducedRow]) -> str:
    lines = [f"### Reported vs reproduced: {reference.title}", ""]
    if not rows:
        lines += [f"No system in this run matches a published row of {reference.id} on test set "
                  f"{reference.testset!r}.", ""]
    else:
        header, body = _comparison_grid(run, reference, rows)
        lines += pipe_table(header, body, [False, False, False, True] + [True] * (len(header) - 4))
        lines += ["", "Δ = ours − paper; n = items we scored."]
    lines += ["", f"Source: {reference.citation}", ""]
    return "\n".join(lines)


def reproduced_latex(run: RunData, reference: Reference, rows: Sequence[ReproducedRow]) -> str:
    header, body = _comparison_grid(run, reference, rows)
    align = "lllr" + "r" * (len(header) - 4)
    out = [r"\begin{table}[t]", r"  \centering",
           rf"  \caption{{Reported vs reproduced: {latex_escape(reference.title)}. $\Delta$ = ours $-$ paper.}}",
           rf"  \begin{{tabular}}{{{align}}}", r"    \toprule",
           "    " + " & ".join(latex_escape(h).replace("Δ", r"$\Delta$") for h in header) + r" \\", r"    \midrule"]
    out += ["    " + " & ".join(latex_escape(v) for v in line) + r" \\" for line in body]
    out += [r"    \bottomrule", r"  \end{tabular}", r"\end{table}", ""]
    return "\n".join(out)


def reference_markdown(reference: Reference) -> str:
    """The published table itself, as printed by its source."""
    header = ["System", "Type", "Subset", *reference.columns]
    body = []
    for row in reference.rows:
        kind = reference.systems[row["system"]].kind
        body.append([row["system"], kind, row["subset"]] + [_num(row.get(c), 2) for c in reference.columns])
    lines = [f"### {reference.title}", "", *pipe_table(header, body, [False] * 3 + [True] * len(reference.columns)),
             "", f"Source: {reference.citation}", ""]
    return "\n".join(lines)


# --- paired comparison of two systems ------------------------------------------------------------

def item_values(run: RunData, label: str, testset: str, subset: str, column: str) -> pd.Series:
    """Per-item values of one column, indexed by item id (a ratio column's per-item ratio)."""
    scores = run.scores[(run.scores["system"] == label) & (run.scores["testset"] == testset)
                        & (run.scores["subset"] == subset)]
    spec = run.columns[column]
    direct = scores[scores["column"] == column].set_index("item_id")["value"].dropna()
    if not direct.empty or not spec.ratio_of:
        return direct
    wide = scores.pivot_table(index="item_id", columns="column", values="value", aggfunc="first")
    num, den = spec.ratio_of
    if num not in wide or den not in wide:
        return direct
    with np.errstate(divide="ignore", invalid="ignore"):
        return (wide[num] / wide[den]).replace([np.inf, -np.inf], np.nan).dropna()


def compare_systems(run: RunData, a: str, b: str, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Paired comparison of rows ``a`` and ``b`` on every (test set, subset, column) both scored."""
    results = []
    wanted = [c.name for c in run.visible_columns if columns is None or c.name in columns]
    for testset in run.testsets():
        for subset in run.subsets(testset):
            for column in wanted:
                va = item_values(run, a, testset, subset, column)
                vb = item_values(run, b, testset, subset, column)
                common = va.index.intersection(vb.index)
                if common.empty:
                    continue
                rng = cell_rng(run.seed, "paired", a, b, testset, subset, column)
                result: PairedResult = paired_comparison(va.loc[common].to_numpy(), vb.loc[common].to_numpy(), rng)
                results.append({"testset": testset, "subset": subset, "column": column,
                                "higher_is_better": run.columns[column].higher_is_better, **result.__dict__})
    return results


def _p_value(p: float) -> str:
    """A bootstrap p of 0 only means no resample crossed zero: report the resolution instead."""
    return f"<{1 / RESAMPLES:g}" if p == 0 else f"{p:.3g}"


def paired_markdown(a: str, b: str, results: Sequence[dict[str, Any]]) -> str:
    header = ["Test set", "Subset", "Column", "n", a, b, "Δ (A−B)", "95% CI", "p (bootstrap)", "p (Wilcoxon)", "better"]
    body = []
    for r in results:
        significant = max(r["p_bootstrap"], r["p_wilcoxon"]) < 0.05 and r["difference"] != 0
        better = ("A" if (r["difference"] > 0) == r["higher_is_better"] else "B") if significant else "n.s."
        body.append([r["testset"], r["subset"], r["column"], str(r["n"]), f"{r['mean_a']:.3f}", f"{r['mean_b']:.3f}",
                     f"{r['difference']:+.3f}", f"[{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]",
                     _p_value(r["p_bootstrap"]), f"{r['p_wilcoxon']:.3g}", better])
    lines = [f"### Paired comparison: A = {a}, B = {b}", ""]
    lines += pipe_table(header, body, [False] * 3 + [True] * 7 + [False]) if body else ["No items scored for both."]
    lines += ["", "better: the side favoured at p < 0.05 by both tests; n.s. otherwise.", ""]
    return "\n".join(lines)
