"""Intervals, ranking and paired tests: determinism, known values, agreement with scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from _reports_support import build_results
from bench.metric import Column
from reports.aggregate import aggregate, load_run, rank_cells
from reports.stats import (bootstrap_mean_ci, bootstrap_ratio_ci, cell_rng, holm, mean_ci, paired_comparison,
                           sign_flip_p)


def test_same_seed_same_interval_different_seed_different() -> None:
    values = np.random.default_rng(7).normal(3.0, 0.5, size=40)
    a = bootstrap_mean_ci(values, cell_rng(0, "sys", "dns", "no_reverb", "PESQ_WB"))
    b = bootstrap_mean_ci(values, cell_rng(0, "sys", "dns", "no_reverb", "PESQ_WB"))
    c = bootstrap_mean_ci(values, cell_rng(1, "sys", "dns", "no_reverb", "PESQ_WB"))
    assert a == b
    assert a != c
    assert a[0] < values.mean() < a[1]


def test_interval_width_matches_the_standard_error() -> None:
    """For n=400 normal values the percentile interval is close to mean +- 1.96 sd/sqrt(n)."""
    values = np.random.default_rng(3).normal(0.0, 1.0, size=400)
    low, high = bootstrap_mean_ci(values, cell_rng(0, "x"))
    expected = 2 * 1.96 * values.std(ddof=1) / np.sqrt(values.size)
    assert (high - low) == pytest.approx(expected, rel=0.15)


def test_degenerate_samples() -> None:
    """One item has no interval (a table must not print "± 0.00"); a constant sample a zero-width one."""
    for function in (bootstrap_mean_ci, mean_ci):
        assert all(np.isnan(function(np.array([2.5]), cell_rng(0))))
        assert function(np.full(25, 4.0), cell_rng(0)) == (4.0, 4.0)
        assert all(np.isnan(function(np.array([]), cell_rng(0))))


def test_ratio_interval_brackets_the_corpus_ratio() -> None:
    edits = np.array([1, 0, 3, 2, 5, 0, 1, 2])
    words = np.array([10, 8, 12, 9, 20, 7, 11, 10])
    low, high = bootstrap_ratio_ci(edits, words, cell_rng(0, "wer"))
    assert low < edits.sum() / words.sum() < high


def test_paired_comparison_against_scipy_wilcoxon() -> None:
    rng = np.random.default_rng(11)
    a = rng.normal(3.0, 0.3, size=30)
    b = a - 0.2 + rng.normal(0, 0.05, size=30)
    result = paired_comparison(a, b, cell_rng(0, "pair"))
    assert result.n == 30
    assert result.difference == pytest.approx(0.2, abs=0.03)
    assert result.ci_low > 0 and result.p_permutation < 0.01 and not result.p_exact
    assert result.p_wilcoxon == pytest.approx(sps.wilcoxon(a, b).pvalue)


def test_paired_comparison_of_identical_systems_is_not_significant() -> None:
    a = np.linspace(1, 4, 12)
    result = paired_comparison(a, a.copy(), cell_rng(0))
    assert result.difference == 0 and result.p_wilcoxon == 1.0 and result.p_permutation == 1.0
    with pytest.raises(ValueError, match="same items"):
        paired_comparison(a, a[:5], cell_rng(0))


def test_stored_run_aggregates_deterministically(tmp_path) -> None:
    first = aggregate(load_run(build_results(tmp_path / "a", with_audio=False)))
    second = aggregate(load_run(build_results(tmp_path / "b", with_audio=False)))
    reseeded = aggregate(load_run(build_results(tmp_path / "c", with_audio=False, seed=5)))
    assert first.equals(second)
    ok = first["status"] == "ok"
    assert first.loc[ok, "mean"].equals(reseeded.loc[ok, "mean"])
    assert first.loc[ok, "ci_low"].equals(reseeded.loc[ok, "ci_low"])  # n = 3: t-intervals, nothing resampled


def test_small_n_interval_is_a_t_interval_wider_than_the_data() -> None:
    """At n = 3 a percentile bootstrap is just the range of the data; the t-interval is what n = 3 supports."""
    values = np.array([2.40, 2.50, 2.55])
    low, high = mean_ci(values, cell_rng(0))
    half = sps.t.ppf(0.975, 2) * values.std(ddof=1) / np.sqrt(3)
    assert (low, high) == pytest.approx((values.mean() - half, values.mean() + half))
    assert low < values.min() and high > values.max()


def test_large_n_interval_is_bca_and_may_be_asymmetric() -> None:
    """Skewed scores near a ceiling: BCa leans away from the ceiling, as scipy's BCa does."""
    values = 4.5 - np.random.default_rng(5).exponential(0.4, size=60)
    low, high = mean_ci(values, cell_rng(0, "skew"))
    reference = sps.bootstrap((values,), np.mean, method="BCa", n_resamples=20000, random_state=1).confidence_interval
    width = reference.high - reference.low
    assert low == pytest.approx(reference.low, abs=0.1 * width) and high == pytest.approx(reference.high, abs=0.1 * width)
    assert (values.mean() - low) > (high - values.mean())  # the long tail is below the mean


def test_exact_sign_flip_p_values() -> None:
    """Three items of one sign: 2 of the 8 sign patterns are as extreme, p = 0.25 (a bootstrap said < 0.001)."""
    p, exact = sign_flip_p(np.array([0.1, 0.2, 0.3]), cell_rng(0))
    assert (p, exact) == (0.25, True)
    d = np.random.default_rng(2).normal(0.2, 0.5, size=9)
    reference = sps.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=np.inf,
                                     alternative="two-sided").pvalue
    assert sign_flip_p(d, cell_rng(0))[0] == pytest.approx(reference)


def test_holm_correction() -> None:
    adjusted = holm([0.01, 0.04, 0.03, 0.005, float("nan")])
    assert adjusted[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02]) and np.isnan(adjusted[4])
    assert holm([0.5, 0.9]) == [1.0, 1.0] and holm([0.02, 0.9]) == pytest.approx([0.04, 0.9])


def _cells(*entries: tuple[str, float, float, float]) -> pd.DataFrame:
    return pd.DataFrame([{"system": s, "testset": "t", "subset": "s", "column": "PESQ_WB", "status": "ok", "mean": m,
                          "ci_low": lo, "ci_high": hi, "n": 30, "n_failed": 0, "n_items": 30} for s, m, lo, hi in entries])


class _Run:
    columns = {"PESQ_WB": Column("PESQ_WB", True)}

    @staticmethod
    def is_bound(label: str) -> bool:
        return label == "oracle"


def test_bold_needs_a_clear_interval_else_ties() -> None:
    decimals = {"PESQ_WB": 2}
    clear = rank_cells(_Run(), _cells(("a", 3.0, 2.9, 3.1), ("b", 2.5, 2.4, 2.6), ("oracle", 4.6, 4.6, 4.6)), decimals)
    assert clear["best"].tolist() == [True, False, False] and not clear["tie"].any()
    overlap = rank_cells(_Run(), _cells(("a", 3.0, 2.7, 3.3), ("b", 2.9, 2.8, 3.0), ("c", 2.0, 1.9, 2.1)), decimals)
    assert not overlap["best"].any() and overlap["tie"].tolist() == [True, True, False]
    one_item = rank_cells(_Run(), _cells(("a", 3.0, None, None), ("b", 2.0, 1.9, 2.1)), decimals)
    assert not one_item["best"].any() and one_item["tie"].all()  # no interval: cannot be told apart


def test_t_table_matches_scipy() -> None:
    from reports.stats import T_975, t_quantile

    assert T_975 == pytest.approx([sps.t.ppf(0.975, df) for df in range(1, 20)], abs=1e-8)
    assert t_quantile(0.95, 4) == pytest.approx(sps.t.ppf(0.95, 4))
