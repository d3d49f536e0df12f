"""Comparisons: published numbers beside ours, and two systems on the same items.

"Reported vs reproduced" puts each published value next to the value measured here on the matching
test subset, with the difference, so a reader sees at a glance whether a reproduction holds up. A
published table is matched to the run's test sets by *loader* (a synthetic set labelled ``dns`` is
not the DNS test set), and differences in scope (we scored 3 of the 150 published items, or a
published subset we did not run) are stated beside the table.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from bench.errors import ConfigError
from reports.aggregate import OK, RunData, aggregate, display_decimals, small_n_sentence
from reports.latex import label_for, latex_escape, latex_number, latex_text, simple_latex_table
from reports.reference import Reference
from reports.stats import CI_METHOD, CI_METHOD_SHORT, TEST_METHOD, PairedResult, cell_rng, holm, paired_comparison
from reports.tables import pipe_table

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class ReproducedRow:
    published_system: str
    published_subset: str
    label: str
    subset: str
    values: tuple[tuple[str, float | None, float | None, int], ...]
    """(our column, published, reproduced, n items)."""


def reference_testsets(run: RunData, reference: Reference) -> list[str]:
    """Our test-set labels read by the loader the published table was measured on."""
    present = run.testsets()
    labels = [str(entry.get("label") or entry["name"]) for entry in run.config.get("testsets") or []
              if isinstance(entry, dict) and entry.get("name") == reference.testset]
    return [t for t in dict.fromkeys(labels) if t in present]


def _reference_columns(run: RunData, reference: Reference, columns: Sequence[str] | None) -> dict[str, str]:
    """Published column -> ours, limited to ``columns`` when the user chose some."""
    chosen = {c.name for c in run.shown_columns(columns)} if columns else None
    return {pub: ours for pub, ours in reference.columns.items() if chosen is None or ours in chosen}


def reported_vs_reproduced(run: RunData, reference: Reference, cells: pd.DataFrame | None = None,
                           columns: Sequence[str] | None = None) -> list[ReproducedRow]:
    """Every (published row, our row) pair on a matching subset where we measured something."""
    cells = aggregate(run) if cells is None else cells
    ok = cells[cells["status"] == OK].set_index(["system", "testset", "subset", "column"])
    wanted = _reference_columns(run, reference, columns)
    rows = []
    testsets = reference_testsets(run, reference)
    for published in reference.systems.values():
        for label in run.labels():
            if not published.matches(label, run.systems.get(label, {})):
                continue
            for pub_subset, our_subset in reference.subsets.items():
                for testset in testsets:
                    values = []
                    for pub_col, our_col in wanted.items():
                        key = (label, testset, our_subset, our_col)
                        ours = float(ok.loc[key, "mean"]) if key in ok.index else None
                        n = int(ok.loc[key, "n"]) if key in ok.index else 0
                        values.append((our_col, reference.value(published.name, pub_subset, pub_col), ours, n))
                    if any(v[2] is not None for v in values):
                        rows.append(ReproducedRow(published.name, pub_subset, label, our_subset, tuple(values)))
    return rows


def no_match_reason(run: RunData, reference: Reference, columns: Sequence[str] | None = None) -> str:
    """Why ``reported_vs_reproduced`` found nothing, naming what is actually missing."""
    loaders = ", ".join(f"{e.get('label') or e['name']} (loader {e['name']})" for e in run.config.get("testsets") or []
                        if isinstance(e, dict) and e.get("name")) or "none recorded"
    if not reference_testsets(run, reference):
        return (f"This run has no test set read by the {reference.testset!r} loader, which {reference.id} was measured "
                f"on (this run's test sets: {loaders}).")
    if not _reference_columns(run, reference, columns):
        return (f"None of the chosen columns is published in {reference.id} "
                f"(it publishes {', '.join(reference.columns.values())}).")
    matchers = sorted({m for s in reference.systems.values() for m in s.match})
    if not any(s.matches(label, run.systems.get(label, {})) for s in reference.systems.values() for label in run.labels()):
        return (f"No system in this run reproduces a published row of {reference.id} (rows are matched by system "
                f"name: {', '.join(matchers)}).")
    return (f"The matching systems have no scores in {', '.join(_reference_columns(run, reference, columns).values())} on "
            f"the published subsets ({', '.join(reference.subsets.values())}).")


def reproduction_warnings(run: RunData, reference: Reference, rows: Sequence[ReproducedRow]) -> list[str]:
    """Scope differences that make Δ incomparable: fewer items than published, subsets not run."""
    warnings = []
    scored = {}
    for row in rows:
        scored[row.published_subset] = max(scored.get(row.published_subset, 0), max(v[3] for v in row.values))
    for pub_subset, n in scored.items():
        published = reference.items.get(pub_subset)
        if published is not None and n != published:
            warnings.append(f"{reference.subsets[pub_subset]}: we scored {n} of the {published} items the published "
                            "numbers average")
    testsets = reference_testsets(run, reference)
    ours = {s for t in testsets for s in run.subsets(t)}
    missing = [f"{pub} ({our})" for pub, our in reference.subsets.items() if our not in ours]
    if testsets and missing:
        warnings.append(f"published subsets not in this run: {', '.join(missing)}")
    return warnings


def _num(value: float | None, decimals: int, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"


def _measured(rows: Sequence[ReproducedRow]) -> list[int]:
    """Positions of the published columns we measured for at least one row (a paper's extra columns stay out)."""
    return [i for i in range(len(rows[0].values)) if any(r.values[i][2] is not None for r in rows)] if rows else []


def _decimals(run: RunData, column: str) -> int:
    return display_decimals(run.columns[column]) if column in run.columns else 2


def _comparison_grid(run: RunData, reference: Reference, rows: Sequence[ReproducedRow],
                     number=_num) -> tuple[list[str], list[list[str]]]:
    names = {ours: pub for pub, ours in reference.columns.items()}
    measured = _measured(rows)
    header = ["Subset", "System", "Ours", "n"]
    for i in measured:
        name = names[rows[0].values[i][0]]
        header += [f"{name} paper", f"{name} ours", f"{name} Δ"]
    body = []
    for row in rows:
        n = max(v[3] for v in row.values)
        line = [row.subset, row.published_system, row.label, str(n)]
        for our_col, published, ours, _ in (row.values[i] for i in measured):
            decimals = _decimals(run, our_col)
            diff = None if published is None or ours is None else ours - published
            line += [number(published, decimals), number(ours, decimals), number(diff, decimals, signed=True)]
        body.append(line)
    return header, body


def reproduced_markdown(run: RunData, reference: Reference, rows: Sequence[ReproducedRow],
                        columns: Sequence[str] | None = None) -> str:
    lines = [f"### Reported vs reproduced: {reference.title}", ""]
    if not rows:
        lines += [no_match_reason(run, reference, columns), ""]
    else:
        header, body = _comparison_grid(run, reference, rows)
        lines += pipe_table(header, body, [False, False, False, True] + [True] * (len(header) - 4))
        lines += ["", "Δ = ours − paper; n = items we scored."]
        lines += [f"Warning: {w}." for w in reproduction_warnings(run, reference, rows)]
        small = small_n_sentence([max(v[3] for v in r.values) for r in rows])
        if small:
            lines.append(small)
    lines += ["", f"Source: {reference.citation}", ""]
    return "\n".join(lines)


def _tex_num(value: float | None, decimals: int, signed: bool = False) -> str:
    return "--" if value is None else latex_number(value, decimals, signed=signed)


def reproduced_latex(run: RunData, reference: Reference, rows: Sequence[ReproducedRow]) -> str:
    header, body = _comparison_grid(run, reference, rows, number=_tex_num)
    header = [latex_text(h) for h in header]
    body = [[latex_escape(v) for v in line[:4]] + line[4:] for line in body]
    notes = " ".join(latex_text(f"{w[0].upper()}{w[1:]}.") for w in reproduction_warnings(run, reference, rows))
    return simple_latex_table(f"Reported vs reproduced: {latex_text(reference.title)}",
                              f"$\\Delta$ = ours $-$ paper; n = items we scored. {notes}",
                              label_for(run.name, reference.id), header, body, "lllr" + "r" * (len(header) - 4))


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
    wide = scores.pivot_table(index="item_id", columns="column", values="value", aggfunc="first", sort=False)
    num, den = spec.ratio_of
    if num not in wide or den not in wide:
        return direct
    with np.errstate(divide="ignore", invalid="ignore"):
        return (wide[num] / wide[den]).replace([np.inf, -np.inf], np.nan).dropna()


def compare_systems(run: RunData, a: str, b: str, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Paired comparison of rows ``a`` and ``b`` on every (test set, subset, column) both scored.

    Each row carries the raw permutation p and ``p_holm``, Holm-adjusted over all rows returned,
    since a table of 50 tests at 0.05 would otherwise find two or three differences by chance.
    """
    if a == b:
        raise ConfigError(f"--compare needs two different rows, got {a!r} twice")
    results = []
    wanted = [c.name for c in run.shown_columns(columns)]
    for testset in run.testsets():
        for subset in run.subsets(testset):
            for column in wanted:
                va = item_values(run, a, testset, subset, column)
                vb = item_values(run, b, testset, subset, column)
                common = [i for i in run.items(testset, subset) if i in va.index and i in vb.index]
                if not common:
                    continue
                rng = cell_rng(run.seed, "paired", a, b, testset, subset, column)
                result: PairedResult = paired_comparison(va.loc[common].to_numpy(), vb.loc[common].to_numpy(), rng)
                results.append({"testset": testset, "subset": subset, "column": column,
                                "higher_is_better": run.columns[column].higher_is_better, **asdict(result)})
    for row, adjusted in zip(results, holm([r["p_permutation"] for r in results])):
        row["p_holm"] = adjusted
        significant = adjusted < SIGNIFICANCE and row["difference"] != 0
        row["better"] = ("A" if (row["difference"] > 0) == row["higher_is_better"] else "B") if significant else "n.s."
    return results


def _p(value: float) -> str:
    return "-" if not np.isfinite(value) else f"{value:.3g}"


def _paired_grid(a: str, b: str, results: Sequence[dict[str, Any]], number) -> tuple[list[str], list[list[str]]]:
    header = ["Test set", "Subset", "Column", "n", "A", "B", "Δ (A−B)", "95% CI", "p (perm.)", "p (Holm)",
              "p (Wilcoxon)", "better"]
    body = []
    for r in results:
        exact = "" if r["p_exact"] else "~"
        body.append([r["testset"], r["subset"], r["column"], str(r["n"]), number(r["mean_a"]), number(r["mean_b"]),
                     number(r["difference"], signed=True),
                     "-" if not np.isfinite(r["ci_low"]) else f"[{number(r['ci_low'], signed=True)}, {number(r['ci_high'], signed=True)}]",
                     exact + _p(r["p_permutation"]), _p(r["p_holm"]), _p(r["p_wilcoxon"]), r["better"]])
    return header, body


def _paired_notes(results: Sequence[dict[str, Any]]) -> list[str]:
    notes = [f"better: the side favoured at Holm-adjusted p < {SIGNIFICANCE:g} over all {len(results)} tests of this "
             f"table; n.s. otherwise. p (perm.): {TEST_METHOD}; ~ marks a Monte Carlo p. 95% CI of Δ: {CI_METHOD_SHORT}."]
    small = small_n_sentence([int(r["n"]) for r in results])
    if small:
        notes.append(small)
    return notes


def paired_markdown(a: str, b: str, results: Sequence[dict[str, Any]]) -> str:
    header, body = _paired_grid(a, b, results, lambda v, signed=False: f"{v:+.3f}" if signed else f"{v:.3f}")
    lines = [f"### Paired comparison: A = {a}, B = {b}", ""]
    lines += pipe_table(header, body, [False] * 3 + [True] * 8 + [False]) if body else ["No items scored for both."]
    lines += ["", *_paired_notes(results), ""]
    return "\n".join(lines)


def paired_latex(run: RunData, a: str, b: str, results: Sequence[dict[str, Any]]) -> str:
    header, body = _paired_grid(a, b, results, lambda v, signed=False: latex_number(v, 3, signed=signed))
    header = [latex_text(h) for h in header[2:]]
    groups = [latex_escape(line[0] if line[0] == line[1] else f"{line[0]} / {line[1]}") for line in body]
    body = [[latex_escape(v) for v in line[2:4]] + line[4:8] + [latex_text(v) for v in line[8:]] for line in body]
    return simple_latex_table(f"Paired comparison, A = {latex_escape(a)}, B = {latex_escape(b)}",
                              " ".join(latex_text(n) for n in _paired_notes(results)),
                              label_for(run.name, f"{a}-vs-{b}"), header, body, "lrrrrrrrrl", groups=groups)


def write_comparison_json(run: RunData, a: str, b: str, results: Sequence[dict[str, Any]], path: Path) -> Path:
    """The paired-comparison table as data (``sebench.comparison``), beside results.json."""
    document = {"schema": "sebench.comparison", "schema_version": 1, "run_id": run.run_id, "run": run.name,
                "a": a, "b": b, "test": TEST_METHOD, "interval": CI_METHOD, "significance": SIGNIFICANCE,
                "rows": [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
                         for r in results]}
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
