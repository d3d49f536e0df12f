"""Bootstrap intervals and paired tests: determinism, known values, agreement with scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from _reports_support import build_results
from reports.aggregate import aggregate, load_run
from reports.stats import bootstrap_mean_ci, bootstrap_ratio_ci, cell_rng, paired_comparison


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
    assert bootstrap_mean_ci(np.array([2.5]), cell_rng(0)) == (2.5, 2.5)
    assert bootstrap_mean_ci(np.full(10, 4.0), cell_rng(0)) == (4.0, 4.0)
    low, high = bootstrap_mean_ci(np.array([]), cell_rng(0))
    assert np.isnan(low) and np.isnan(high)


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
    assert result.ci_low > 0 and result.p_bootstrap < 0.01
    assert result.p_wilcoxon == pytest.approx(sps.wilcoxon(a, b).pvalue)


def test_paired_comparison_of_identical_systems_is_not_significant() -> None:
    a = np.linspace(1, 4, 12)
    result = paired_comparison(a, a.copy(), cell_rng(0))
    assert result.difference == 0 and result.p_wilcoxon == 1.0 and result.p_bootstrap == 1.0
    with pytest.raises(ValueError, match="same items"):
        paired_comparison(a, a[:5], cell_rng(0))


def test_stored_run_aggregates_deterministically(tmp_path) -> None:
    first = aggregate(load_run(build_results(tmp_path / "a", with_audio=False)))
    second = aggregate(load_run(build_results(tmp_path / "b", with_audio=False)))
    reseeded = aggregate(load_run(build_results(tmp_path / "c", with_audio=False, seed=5)))
    assert first.equals(second)
    ok = first["status"] == "ok"
    assert first.loc[ok, "mean"].equals(reseeded.loc[ok, "mean"])
    assert not first.loc[ok, "ci_low"].equals(reseeded.loc[ok, "ci_low"])
