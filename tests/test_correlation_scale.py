"""Correlation kernels (issue 14): no overflow at any magnitude; the same r as at scale 1 and as scipy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from annalign.stats.bootstrap import bootstrap_pearson
from annalign.stats.correlation import grouped_pearson, pearson_fixed_x, pearson_masked


@pytest.fixture()
def xy():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(60, 3))
    y = x + rng.normal(size=(60, 3))
    x[[2, 7], 0] = np.nan
    y[[4], 1] = np.nan
    return x, y


@pytest.mark.parametrize("scale", [1e-300, 1.0, 1e150, 1e298])
def test_every_kernel_is_scale_free_up_to_the_float_limit(xy, scale):
    x, y = xy
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value RuntimeWarning
        r = pearson_masked(x * scale, y)
        fixed = pearson_fixed_x(x[:, 0] * scale, y)
        grouped, _ = grouped_pearson(np.repeat([0, 1], 30), x[:, 1] * scale, y[:, 1], 2)
        boot = bootstrap_pearson(x * scale, y, 50, 3)
    expected = [stats.pearsonr(x[ok, k], y[ok, k]).statistic for k in range(3) for ok in [np.isfinite(x[:, k]) & np.isfinite(y[:, k])]]
    np.testing.assert_allclose(r, expected, atol=1e-12)
    ok0 = np.isfinite(x[:, 0])
    np.testing.assert_allclose(fixed, pearson_masked(np.where(ok0, x[:, 0], np.nan)[:, None], y), atol=1e-12)
    halves = [np.arange(60) < 30, np.arange(60) >= 30]
    ok1 = np.isfinite(x[:, 1]) & np.isfinite(y[:, 1])
    np.testing.assert_allclose(grouped, [stats.pearsonr(x[h & ok1, 1], y[h & ok1, 1]).statistic for h in halves], atol=1e-12)
    np.testing.assert_allclose(boot, bootstrap_pearson(x, y, 50, 3), atol=1e-12)


def test_one_huge_outlier_gives_the_r_of_the_rescaled_data(xy):
    x, y = xy[0][:, 1].copy(), xy[1][:, 1].copy()
    x[0] = 1e300
    ok = np.isfinite(y)
    expected = stats.pearsonr(x[ok] * 1e-300, y[ok]).statistic  # computed where nothing overflows
    assert float(pearson_masked(x, y)) == pytest.approx(expected, abs=1e-12)
    reps = bootstrap_pearson(x, y, 40, 1)
    # Resamples that hold the outlier are right; those without it span 1e300 and cannot be squared: NaN, never inf or a wrong number.
    assert not np.isinf(reps).any() and np.isfinite(reps).any()
