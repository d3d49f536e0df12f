"""Regression gate: compare a run to a stored baseline results JSON, cell by cell.

A cell regresses when it got worse (in its column's direction) by more than its tolerance, when it
lost its value (the system now fails or no longer runs), or when more of its items failed. With
``require_outside_ci`` a drop only counts when the baseline mean also falls outside the current
run's 95% bootstrap interval, for small or noisy test sets where a tolerance alone would flap.
Both sides are results documents (``reports.export``), so a baseline is just a committed
``results.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from bench.errors import ConfigError
from reports.stats import SMALL_N

DEFAULT_TOLERANCE = 1e-4
"""Absolute; absorbs float noise across machines, nothing more. Loosen per column in CI."""


@dataclass(frozen=True)
class Tolerance:
    value: float
    relative: bool = False

    def allowed(self, baseline: float) -> float:
        return abs(baseline) * self.value if self.relative else self.value

    def describe(self) -> str:
        return f"{self.value * 100:g}%" if self.relative else f"{self.value:g}"


def parse_tolerances(specs: Iterable[str]) -> tuple[Tolerance, dict[str, Tolerance]]:
    """``0.05`` sets the default, ``PESQ_WB=0.1`` or ``DNSMOS_OVRL=2%`` one column."""
    default = Tolerance(DEFAULT_TOLERANCE)
    per_column: dict[str, Tolerance] = {}
    for spec in specs:
        column, eq, value = spec.rpartition("=")
        try:
            tol = Tolerance(float(value[:-1]) / 100, True) if value.endswith("%") else Tolerance(float(value))
        except ValueError:
            raise ConfigError(f"bad tolerance {spec!r}: expected VALUE, VALUE%, COLUMN=VALUE or COLUMN=VALUE%") from None
        if tol.value < 0:
            raise ConfigError(f"bad tolerance {spec!r}: must not be negative")
        if eq:
            per_column[column] = tol
        else:
            default = tol
    return default, per_column


@dataclass(frozen=True)
class Finding:
    system: str
    testset: str
    subset: str
    column: str
    kind: str
    """``worse``, ``missing``, ``more failures`` (regressions) or ``better`` (reported only)."""
    baseline: float | None
    current: float | None
    detail: str

    @property
    def regression(self) -> bool:
        return self.kind != "better"

    def describe(self) -> str:
        where = f"{self.system} | {self.testset}/{self.subset} | {self.column}"
        return f"{'REGRESSION' if self.regression else 'improved  '} {where}: {self.detail}"


def _index(document: Mapping[str, Any]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    return {(c["system"], c["testset"], c["subset"], c["column"]): c for c in document["cells"]}


def check(current: Mapping[str, Any], baseline: Mapping[str, Any], *, default: Tolerance,
          per_column: Mapping[str, Tolerance] | None = None, require_outside_ci: bool = False) -> tuple[list[Finding], int]:
    """(findings, number of baseline cells compared)."""
    per_column = per_column or {}
    higher = {c["name"]: bool(c["higher_is_better"]) for c in current.get("columns", [])}
    higher.update({c["name"]: bool(c["higher_is_better"]) for c in baseline["columns"]})
    now = _index(current)
    findings: list[Finding] = []
    compared = 0
    for key, base in _index(baseline).items():
        if base["status"] != "ok" or base["mean"] is None:
            continue
        compared += 1
        system, testset, subset, column = key
        cur = now.get(key)
        b = float(base["mean"])
        if cur is None or cur["status"] != "ok" or cur["mean"] is None:
            state = "absent from this run" if cur is None else f"status {cur['status']}"
            findings.append(Finding(system, testset, subset, column, "missing", b, None, f"{b:.4g} -> {state}"))
            continue
        c = float(cur["mean"])
        if int(cur.get("n_failed") or 0) > int(base.get("n_failed") or 0):
            findings.append(Finding(system, testset, subset, column, "more failures", b, c,
                                    f"failed items {base.get('n_failed') or 0} -> {cur['n_failed']}"))
        tol = per_column.get(column, default)
        worse_by = (b - c) if higher.get(column, True) else (c - b)
        ci = (cur.get("ci_low"), cur.get("ci_high"))
        ci_text = f"current 95% CI [{ci[0]:.4g}, {ci[1]:.4g}]" if None not in ci else "no CI"
        if worse_by > tol.allowed(b):
            inside = None not in ci and ci[0] <= b <= ci[1]
            if require_outside_ci and inside:
                continue
            findings.append(Finding(system, testset, subset, column, "worse", b, c,
                                    f"{b:.4g} -> {c:.4g} (worse by {worse_by:.4g} > tolerance {tol.describe()}; {ci_text})"))
        elif -worse_by > tol.allowed(b):
            findings.append(Finding(system, testset, subset, column, "better", b, c, f"{b:.4g} -> {c:.4g}"))
    return findings, compared


def _testset_sources(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Test-set label -> its spec options (root, subset, ...) as the run's config stored them."""
    sources = {}
    for entry in (document.get("run", {}).get("config") or {}).get("testsets") or []:
        if isinstance(entry, Mapping) and entry.get("name"):
            options = {k: v for k, v in entry.items() if k not in ("label",)}
            sources[str(entry.get("label") or entry["name"])] = options
    return sources


def scope_warnings(current: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[str]:
    """What the cell comparison cannot see: rows and columns the baseline lacks (never checked),
    cells scored on a different number of items, test sets read from a different place."""
    warnings = []
    new_systems = [s for s in current.get("systems", {}) if s not in baseline.get("systems", {})]
    if new_systems:
        warnings.append(f"systems not in the baseline (not checked): {', '.join(new_systems)}")
    base_columns = {c["name"] for c in baseline["columns"]}
    new_columns = [c["name"] for c in current.get("columns", []) if c["name"] not in base_columns]
    if new_columns:
        warnings.append(f"columns not in the baseline (not checked): {', '.join(new_columns)}")
    now = _index(current)
    changed = [(key, base["n_items"], now[key]["n_items"]) for key, base in _index(baseline).items()
               if key in now and base["status"] == "ok" and now[key].get("n_items") != base["n_items"]]
    if changed:
        (system, testset, subset, column), before, after = changed[0]
        warnings.append(f"{len(changed)} cells were scored on a different number of items than the baseline "
                        f"(e.g. {system} | {testset}/{subset} | {column}: {before} -> {after}); "
                        "a changed test set or --limit makes the means incomparable")
    small = [c for c in current.get("cells", []) if c.get("status") == "ok" and int(c.get("n") or 0) < SMALL_N]
    if small:
        warnings.append(f"{len(small)} cells of this run rest on fewer than {SMALL_N} items: their means move with "
                        "every item; consider --require-outside-ci or a per-column --tolerance")
    base_sources, now_sources = _testset_sources(baseline), _testset_sources(current)
    for label, options in now_sources.items():
        before = base_sources.get(label)
        if before is not None and before != options:
            differ = sorted(k for k in set(before) | set(options) if before.get(k) != options.get(k))
            detail = "; ".join(f"{k}: {before.get(k)!r} -> {options.get(k)!r}" for k in differ)
            warnings.append(f"test set {label!r} is not configured as in the baseline ({detail})")
    return warnings


def format_report(findings: list[Finding], compared: int, *, show_improvements: bool = True) -> str:
    regressions = [f for f in findings if f.regression]
    better = [f for f in findings if not f.regression]
    lines = [f.describe() for f in regressions]
    if show_improvements:
        lines += [f.describe() for f in better]
    lines.append(f"checked {compared} baseline cells: {len(regressions)} regressed, {len(better)} improved"
                 + ("" if regressions else " -- OK"))
    return "\n".join(lines)
