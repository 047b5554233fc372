"""The numpy ranks, percentile, Mann-Whitney U and FDR adjustment give exactly scipy.stats' floats."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from annalign.stats.multitest import benjamini_hochberg, false_discovery_control
from annalign.stats.ranks import mann_whitney_u, percentile_of_score, rankdata


def _tied(rng: np.random.Generator, shape: tuple[int, ...], levels: int = 5) -> np.ndarray:
    """Values with many ties (a Likert scale), as floats."""
    return rng.integers(0, levels, shape).astype(float)


@pytest.mark.parametrize("seed", range(4))
def test_rankdata_matches_scipy_on_ties_and_continuous_values(seed):
    rng = np.random.default_rng(seed)
    for a in (_tied(rng, (37,)), rng.normal(size=50), np.array([3.0]), np.array([2.0, 2.0, 2.0]), np.array([-np.inf, 1.0, np.inf, 1.0])):
        np.testing.assert_array_equal(rankdata(a), stats.rankdata(a))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_rankdata_along_an_axis_matches_scipy(axis):
    rng = np.random.default_rng(7)
    a = _tied(rng, (40, 9), levels=4)
    np.testing.assert_array_equal(rankdata(a, axis=axis), stats.rankdata(a, axis=axis))
    b = rng.normal(size=(6, 30)).round(1)
    np.testing.assert_array_equal(rankdata(b, axis=axis), stats.rankdata(b, axis=axis))


def test_rankdata_with_missing_values_matches_scipy_nan_omit():
    rng = np.random.default_rng(8)
    a = _tied(rng, (60, 5))
    a[rng.random(a.shape) < 0.3] = np.nan
    a[:, 4] = np.nan  # a column with nothing to rank
    np.testing.assert_array_equal(rankdata(a, axis=0), stats.rankdata(a, axis=0, nan_policy="omit"))
    ranked = rankdata(a, axis=0)
    assert np.isnan(ranked[np.isnan(a)]).all() and not np.isnan(ranked[~np.isnan(a)]).any()


def test_rankdata_of_nothing_is_empty():
    assert rankdata(np.array([])).shape == (0,)
    assert rankdata(np.empty((0, 3)), axis=0).shape == (0, 3)


@pytest.mark.parametrize("seed", range(3))
def test_percentile_of_score_matches_scipy_kind_mean(seed):
    rng = np.random.default_rng(seed)
    a = np.concatenate([_tied(rng, (120,)) / 4, [-np.inf, np.inf]])
    for score in (-1.0, 0.0, 0.25, 0.5, 0.6, 1.0, 2.0, np.inf, -np.inf):
        assert percentile_of_score(a, score) == stats.percentileofscore(a, score, kind="mean")
    assert np.isnan(percentile_of_score(np.array([]), 0.5))
    assert np.isnan(percentile_of_score(a, np.nan))


@pytest.mark.parametrize("seed", range(4))
def test_mann_whitney_u_matches_scipy_statistic(seed):
    rng = np.random.default_rng(seed)
    x, y = _tied(rng, (int(rng.integers(1, 40)),)), _tied(rng, (int(rng.integers(1, 40)),))
    assert mann_whitney_u(x, y) == stats.mannwhitneyu(x, y, alternative="two-sided").statistic
    u, v = rng.normal(size=25), rng.normal(0.5, 1, 31)
    assert mann_whitney_u(u, v) == stats.mannwhitneyu(u, v, alternative="two-sided").statistic
    assert mann_whitney_u(v, u) == stats.mannwhitneyu(v, u, alternative="two-sided").statistic


@pytest.mark.parametrize("method", ["bh", "by"])
@pytest.mark.parametrize("seed", range(4))
def test_false_discovery_control_matches_scipy(method, seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(0, 1, 60), rng.uniform(0, 0.01, 20), [0.0, 1.0, 0.5, 0.5, 0.5]])
    rng.shuffle(p)
    np.testing.assert_array_equal(false_discovery_control(p, method=method), stats.false_discovery_control(p, method=method))
    one = np.array([0.03])
    np.testing.assert_array_equal(false_discovery_control(one, method=method), stats.false_discovery_control(one, method=method))


def test_false_discovery_control_refuses_what_scipy_refuses():
    with pytest.raises(ValueError, match="between 0 and 1"):
        false_discovery_control(np.array([0.2, 1.5]))
    with pytest.raises(ValueError, match="unknown method"):
        false_discovery_control(np.array([0.2, 0.5]), method="holm")


def test_benjamini_hochberg_keeps_nan_out_of_the_family():
    p = np.array([0.01, np.nan, 0.04, 0.03, np.nan])
    out = benjamini_hochberg(p)
    np.testing.assert_array_equal(out[[0, 2, 3]], stats.false_discovery_control(p[[0, 2, 3]]))
    assert np.isnan(out[[1, 4]]).all()
