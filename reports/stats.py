"""Confidence intervals and paired tests over per-item scores.

Percentile bootstrap (Efron & Tibshirani) because metric distributions are bounded and skewed
(MOS near the ceiling, WER near zero) so a normal interval would leave the metric's range. Every
resampling is seeded from the run seed plus a stable hash of the cell, so the same stored run
renders the same intervals on any machine, and cells do not share random streams.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 1000


def cell_rng(seed: int, *key: str) -> np.random.Generator:
    """A generator that depends only on the run seed and the cell's identity."""
    digest = zlib.crc32("\x1f".join(key).encode())
    return np.random.default_rng(np.random.SeedSequence([int(seed), digest]))


def _resample_indices(n: int, rng: np.random.Generator, resamples: int) -> np.ndarray:
    return rng.integers(0, n, size=(resamples, n))


def _percentiles(estimates: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(estimates, [alpha, 1.0 - alpha])
    return float(low), float(high)


def bootstrap_mean_ci(values: np.ndarray, rng: np.random.Generator, *, resamples: int = RESAMPLES,
                      confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile interval of the mean; a single item gives a zero-width interval."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return float("nan"), float("nan")
    if values.size == 1:
        return float(values[0]), float(values[0])
    idx = _resample_indices(values.size, rng, resamples)
    return _percentiles(values[idx].mean(axis=1), confidence)


def bootstrap_ratio_ci(numerator: np.ndarray, denominator: np.ndarray, rng: np.random.Generator, *,
                       resamples: int = RESAMPLES, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Interval of sum(num)/sum(den) resampling items jointly (corpus WER = edits / words)."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    if num.size == 0:
        return float("nan"), float("nan")
    if num.size == 1:
        value = ratio(num, den)
        return value, value
    idx = _resample_indices(num.size, rng, resamples)
    with np.errstate(divide="ignore", invalid="ignore"):
        estimates = num[idx].sum(axis=1) / den[idx].sum(axis=1)
    estimates = estimates[np.isfinite(estimates)]
    if estimates.size == 0:
        return float("nan"), float("nan")
    return _percentiles(estimates, confidence)


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> float:
    total = float(np.sum(denominator))
    return float(np.sum(numerator)) / total if total else float("nan")


@dataclass(frozen=True)
class PairedResult:
    """A minus B on the items both systems were scored on."""

    n: int
    mean_a: float
    mean_b: float
    difference: float
    ci_low: float
    ci_high: float
    p_bootstrap: float
    p_wilcoxon: float


def paired_comparison(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, *, resamples: int = RESAMPLES,
                      confidence: float = CONFIDENCE) -> PairedResult:
    """Paired bootstrap of the mean difference plus a Wilcoxon signed-rank p-value.

    The bootstrap p-value is the two-sided fraction of resampled mean differences on the far side
    of zero (Koehn 2004's paired bootstrap); Wilcoxon is the rank-based check that does not lean on
    the mean, which matters for skewed metrics such as SI-SDR with outliers.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired comparison needs the same items on both sides ({a.size} vs {b.size})")
    diff = a - b
    n = diff.size
    if n == 0:
        nan = float("nan")
        return PairedResult(0, nan, nan, nan, nan, nan, nan, nan)
    low, high = bootstrap_mean_ci(diff, rng, resamples=resamples, confidence=confidence)
    if n > 1:
        idx = _resample_indices(n, rng, resamples)
        means = diff[idx].mean(axis=1)
        p_boot = min(1.0, 2.0 * min(np.mean(means <= 0.0), np.mean(means >= 0.0)))
    else:
        p_boot = 1.0
    if np.all(diff == 0.0):
        p_wil = 1.0
    else:
        from scipy import stats as sps  # 1 s to import: only paired comparisons pay it

        p_wil = float(sps.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided").pvalue)
    return PairedResult(n=n, mean_a=float(a.mean()), mean_b=float(b.mean()), difference=float(diff.mean()),
                        ci_low=low, ci_high=high, p_bootstrap=float(p_boot), p_wilcoxon=p_wil)
