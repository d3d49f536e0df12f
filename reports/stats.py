"""Confidence intervals and paired tests over per-item scores, honest at the sizes SE test sets have.

Intervals (95%): a Student t-interval below ``T_INTERVAL_BELOW`` items, a BCa bootstrap (Efron
1987) from there on. A percentile bootstrap at n = 3 is just the range of three numbers and is
too narrow by design (it ignores that the spread itself is estimated); the t-interval's t quantile
pays for that. At larger n the metrics' bounded, skewed distributions (MOS near the ceiling, WER
near zero) favour the BCa interval, which corrects the percentile interval for bias and skew, so an
interval may be asymmetric. Corpus ratios (WER = edits / words) get the same choice, with the
jackknife standard error of the ratio for the t-interval. One item gives no interval at all.

Paired tests: a sign-flip permutation test of the mean difference, exact (all 2^n sign patterns)
up to ``EXACT_UP_TO`` items and Monte Carlo beyond, so three items of one sign give p = 0.25,
not "< 0.001"; the Wilcoxon signed-rank p-value (exact for small n, scipy) as a rank-based check;
Holm's step-down correction across every test of one comparison table.

Every resampling is seeded from the run seed plus a stable hash of the cell, so the same stored
run renders the same intervals on any machine, and cells do not share random streams.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass
from statistics import NormalDist
from typing import Sequence

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 2000
"""Bootstrap resamples (BCa needs more than a percentile interval for stable tails)."""
T_INTERVAL_BELOW = 20
"""Below this many items the interval is a t-interval, from here on BCa."""
SMALL_N = 10
"""Cells with fewer items than this are flagged in every output: ranks and intervals are fragile."""
EXACT_UP_TO = 16
"""Sign-flip tests enumerate all 2^n patterns up to this n (65,536), Monte Carlo above."""
PERMUTATIONS = 20000

CI_METHOD = (f"Student t-interval for n < {T_INTERVAL_BELOW} items (jackknife standard error for corpus ratios), "
             f"BCa bootstrap over items ({RESAMPLES} resamples, seeded) for n ≥ {T_INTERVAL_BELOW}; none for n = 1")
CI_METHOD_SHORT = f"t-interval below {T_INTERVAL_BELOW} items, BCa bootstrap from {T_INTERVAL_BELOW}"
"""The interval method in a few words, for table legends (``CI_METHOD`` in full in JSON and docs)."""
TEST_METHOD = (f"sign-flip permutation test of the mean paired difference (exact up to n = {EXACT_UP_TO}, "
               f"{PERMUTATIONS} random sign patterns above), Holm-corrected across the table; Wilcoxon signed-rank "
               "p-value as a rank-based check")


def cell_rng(seed: int, *key: str) -> np.random.Generator:
    """A generator that depends only on the run seed and the cell's identity."""
    digest = zlib.crc32("\x1f".join(key).encode())
    return np.random.default_rng(np.random.SeedSequence([int(seed), digest]))


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> float:
    total = float(np.sum(denominator))
    return float(np.sum(numerator)) / total if total else float("nan")


NAN_PAIR = (float("nan"), float("nan"))


T_975 = (12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851, 2.364624252, 2.306004135,
         2.262157163, 2.228138852, 2.200985160, 2.178812830, 2.160368656, 2.144786688, 2.131449546, 2.119905299,
         2.109815578, 2.100922040, 2.093024054)
"""Student t 0.975 quantiles for 1..19 degrees of freedom: every table interval below
``T_INTERVAL_BELOW`` items, without importing scipy (a second per report) for them."""
_NORMAL = NormalDist()


def t_quantile(probability: float, df: int) -> float:
    if abs(probability - 0.975) < 1e-12 and 1 <= df <= len(T_975):
        return T_975[df - 1]
    from scipy import stats as sps  # other confidence levels only

    return float(sps.t.ppf(probability, df))


def _t_interval(estimate: float, standard_error: float, n: int, confidence: float) -> tuple[float, float]:
    half = t_quantile(0.5 + confidence / 2, n - 1) * standard_error
    return float(estimate - half), float(estimate + half)


def _bca(estimate: float, boot: np.ndarray, jackknife: np.ndarray, confidence: float) -> tuple[float, float]:
    """Bias-corrected and accelerated percentile interval from bootstrap and jackknife estimates."""
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return NAN_PAIR
    below = (np.sum(boot < estimate) + 0.5 * np.sum(boot == estimate)) / boot.size
    below = min(max(below, 0.5 / boot.size), 1 - 0.5 / boot.size)
    z0 = _NORMAL.inv_cdf(below)
    d = jackknife.mean() - jackknife
    spread = np.sum(d ** 2)
    accel = float(np.sum(d ** 3) / (6.0 * spread ** 1.5)) if spread > 0 else 0.0
    levels = [_NORMAL.cdf(z0 + (z0 + z) / (1 - accel * (z0 + z)))
              for z in (_NORMAL.inv_cdf((1 - confidence) / 2), _NORMAL.inv_cdf((1 + confidence) / 2))]
    low, high = np.quantile(boot, levels)
    return float(low), float(high)


def bootstrap_mean_ci(values: np.ndarray, rng: np.random.Generator, *, resamples: int = RESAMPLES,
                      confidence: float = CONFIDENCE) -> tuple[float, float]:
    """BCa interval of the mean; a constant sample gives a zero-width interval, one item none."""
    values = np.asarray(values, dtype=np.float64)
    n = values.size
    if n < 2:
        return NAN_PAIR
    estimate = float(values.mean())
    if np.ptp(values) == 0:
        return estimate, estimate
    boot = values[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    jackknife = (values.sum() - values) / (n - 1)
    return _bca(estimate, boot, jackknife, confidence)


def bootstrap_ratio_ci(numerator: np.ndarray, denominator: np.ndarray, rng: np.random.Generator, *,
                       resamples: int = RESAMPLES, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """BCa interval of sum(num)/sum(den), resampling items jointly (corpus WER = edits / words)."""
    num, den = np.asarray(numerator, dtype=np.float64), np.asarray(denominator, dtype=np.float64)
    n = num.size
    if n < 2:
        return NAN_PAIR
    estimate = ratio(num, den)
    jackknife = _jackknife_ratios(num, den)
    jackknife = jackknife[np.isfinite(jackknife)]
    if jackknife.size == 0 or np.ptp(jackknife) == 0:
        return estimate, estimate
    idx = rng.integers(0, n, size=(resamples, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = num[idx].sum(axis=1) / den[idx].sum(axis=1)
    return _bca(estimate, boot, jackknife, confidence)


def _jackknife_ratios(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (num.sum() - num) / (den.sum() - den)


def mean_ci(values: np.ndarray, rng: np.random.Generator, *, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The interval a table prints for a mean: t below ``T_INTERVAL_BELOW`` items, BCa above."""
    values = np.asarray(values, dtype=np.float64)
    n = values.size
    if n < 2:
        return NAN_PAIR
    if n >= T_INTERVAL_BELOW:
        return bootstrap_mean_ci(values, rng, confidence=confidence)
    return _t_interval(float(values.mean()), float(values.std(ddof=1)) / np.sqrt(n), n, confidence)


def ratio_ci(numerator: np.ndarray, denominator: np.ndarray, rng: np.random.Generator, *,
             confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The interval a table prints for a corpus ratio: jackknife t below ``T_INTERVAL_BELOW``, BCa above."""
    num, den = np.asarray(numerator, dtype=np.float64), np.asarray(denominator, dtype=np.float64)
    n = num.size
    if n < 2:
        return NAN_PAIR
    if n >= T_INTERVAL_BELOW:
        return bootstrap_ratio_ci(num, den, rng, confidence=confidence)
    jackknife = _jackknife_ratios(num, den)
    if not np.isfinite(jackknife).all():
        return NAN_PAIR
    standard_error = float(np.sqrt((n - 1) / n * np.sum((jackknife - jackknife.mean()) ** 2)))
    return _t_interval(ratio(num, den), standard_error, n, confidence)


def sign_flip_p(differences: np.ndarray, rng: np.random.Generator, *, exact_up_to: int = EXACT_UP_TO,
                permutations: int = PERMUTATIONS) -> tuple[float, bool]:
    """(two-sided p of the mean difference under random signs, whether it was exact).

    Under the null of exchangeable A and B every paired difference is as likely negated; the p-value
    is the share of sign patterns whose mean is at least as far from zero as the observed one. The
    Monte Carlo version counts the observed pattern too ((k + 1) / (m + 1)), so p is never 0.
    """
    d = np.asarray(differences, dtype=np.float64)
    n = d.size
    if n == 0:
        return float("nan"), True
    observed = abs(d.mean())
    tolerance = 1e-12 * max(1.0, float(np.abs(d).max()))
    if n <= exact_up_to:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        means = np.abs(signs @ d) / n
        return float(np.mean(means >= observed - tolerance)), True
    signs = rng.choice((1.0, -1.0), size=(permutations, n))
    extreme = int(np.sum(np.abs(signs @ d) / n >= observed - tolerance))
    return (extreme + 1) / (permutations + 1), False


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control); NaN stays NaN."""
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full(p.size, np.nan)
    valid = np.flatnonzero(np.isfinite(p))
    m = valid.size
    running = 0.0
    for rank, index in enumerate(valid[np.argsort(p[valid], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()


@dataclass(frozen=True)
class PairedResult:
    """A minus B on the items both systems were scored on."""

    n: int
    mean_a: float
    mean_b: float
    difference: float
    ci_low: float
    ci_high: float
    p_permutation: float
    p_exact: bool
    p_wilcoxon: float


def paired_comparison(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, *,
                      confidence: float = CONFIDENCE) -> PairedResult:
    """Mean difference with its interval (``mean_ci`` of the differences), the sign-flip permutation
    p-value and the Wilcoxon signed-rank p-value (which does not lean on the mean: SI-SDR outliers)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired comparison needs the same items on both sides ({a.size} vs {b.size})")
    diff = a - b
    n = diff.size
    if n == 0:
        nan = float("nan")
        return PairedResult(0, nan, nan, nan, nan, nan, nan, True, nan)
    low, high = mean_ci(diff, rng, confidence=confidence)
    p_perm, exact = sign_flip_p(diff, rng)
    if np.all(diff == 0.0):
        p_wil = 1.0
    else:
        from scipy import stats as sps  # 1 s to import: only paired comparisons pay it

        p_wil = float(sps.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided").pvalue)
    return PairedResult(n=n, mean_a=float(a.mean()), mean_b=float(b.mean()), difference=float(diff.mean()),
                        ci_low=low, ci_high=high, p_permutation=p_perm, p_exact=exact, p_wilcoxon=p_wil)

