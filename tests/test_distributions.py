"""The scipy.special tail probabilities give exactly scipy.stats' floats, at the support's ends too."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from annalign.stats.distributions import chi2_sf, norm_cdf, norm_isf, norm_ppf, norm_sf, t_cdf

X = np.array([-np.inf, -40.0, -8.5, -3.0, -1.96, -0.5, -0.0, 0.0, 1e-300, 0.3, 1.0, 2.5, 7.9, 39.0, np.inf, np.nan])
Q = np.array([-0.1, 0.0, 1e-300, 1e-12, 0.001, 0.025, 0.05, 0.3, 0.5, 0.8, 0.975, 1 - 1e-12, 1.0, 1.1, np.nan])


def _same(a: object, b: object) -> None:
    """Equal floats, NaN where the other is NaN, the same shape and scalar-ness."""
    assert np.shape(a) == np.shape(b)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize(("ours", "theirs"), [(norm_cdf, stats.norm.cdf), (norm_sf, stats.norm.sf)])
def test_normal_probabilities_match_scipy_stats(ours, theirs):
    _same(ours(X), theirs(X))
    for x in X:
        _same(ours(x), theirs(x))


@pytest.mark.parametrize(("ours", "theirs"), [(norm_ppf, stats.norm.ppf), (norm_isf, stats.norm.isf)])
def test_normal_quantiles_match_scipy_stats(ours, theirs):
    _same(ours(Q), theirs(Q))
    for q in Q:
        _same(ours(q), theirs(q))


def test_normal_functions_on_random_values_match_exactly():
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.normal(0, 3, 2000), rng.uniform(-40, 40, 2000)])
    q = rng.uniform(0, 1, 2000)
    _same(norm_sf(np.abs(x)), stats.norm.sf(np.abs(x)))
    _same(norm_cdf(x), stats.norm.cdf(x))
    _same(norm_ppf(q), stats.norm.ppf(q))
    _same(norm_isf(q), stats.norm.isf(q))


@pytest.mark.parametrize("df", [0, -1, 0.5, 1, 2, 3, 7, 9, 44, 300, np.nan])
def test_chi2_sf_matches_scipy_stats(df):
    x = np.concatenate([X, np.random.default_rng(1).gamma(2.0, 4.0, 200)])
    _same(chi2_sf(x, df), stats.chi2.sf(x, df))
    for value in X:
        _same(chi2_sf(value, df), stats.chi2.sf(value, df))


@pytest.mark.parametrize("df", [0, -2, 0.5, 1, 2, 5, 29, 120, 1e6, np.inf, np.nan])
def test_t_cdf_matches_scipy_stats(df):
    x = np.concatenate([X, np.random.default_rng(2).standard_t(4, 300) * 3])
    _same(t_cdf(x, df), stats.t.cdf(x, df))
    for value in X:
        _same(t_cdf(value, df), stats.t.cdf(value, df))


def test_t_cdf_broadcasts_degrees_of_freedom_per_value_like_scipy():
    rng = np.random.default_rng(3)
    t = np.concatenate([rng.normal(0, 2, 50), [np.inf, -np.inf, 0.0]])
    df = np.concatenate([rng.integers(1, 40, 50), [3, 3, 1]]).astype(float)
    _same(t_cdf(t, df), stats.t.cdf(t, df=df))
