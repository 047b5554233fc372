"""Speed fast paths (complete data, fixed x and y, kept replicates) give the general path's numbers to 1e-12."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from annalign.analyses.delta_tests import (
    fixed_features,
    influence_cov,
    influence_cov_fixed,
    item_counts,
)
from annalign.analyses.group_alignment import permutation_group_r, permutation_pair_diffs
from annalign.core.operators import RaterMatrix, one_hot
from annalign.stats.bootstrap import _draw_chunks, count_chunks
from annalign.stats.correlation import pearson_fixed_x, pearson_fixed_xs


def _panel(seed: int = 2, items: int = 80, raters: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """A complete items x raters panel with ratings tied to a latent score, and two machine columns."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=items)
    ratings = np.clip(0.5 + 0.2 * latent[:, None] + rng.normal(0, 0.2, (items, raters)), 0, 1).round(2)
    x = np.column_stack([latent + rng.normal(0, 0.5, items), latent + rng.normal(0, 1.0, items)])
    return ratings, x


def _general(rm: RaterMatrix) -> RaterMatrix:
    """The same operator with the complete-data shortcut switched off."""
    out = rm.columns(np.arange(rm.shape[1]))
    out.complete = False
    return out


# ----- power: influence_cov_fixed ----------------------------------------------------------------
def test_fixed_influence_cov_equals_the_general_one():
    rng = np.random.default_rng(1)
    x = rng.random(120)
    y = rng.random((120, 5)) * 0.3 + x[:, None] * rng.random(5)
    counts = item_counts(rng, 120, 400, 50)
    r0, c0 = influence_cov(counts, x, y)
    r1, c1 = influence_cov_fixed(counts, fixed_features(x, y))
    np.testing.assert_allclose(r1, r0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(c1, c0, rtol=0, atol=1e-12 * np.abs(c0).max())
    assert np.abs(c0).max() > 1e-4  # the comparison is not between two near-zero arrays


def test_missing_or_constant_columns_take_the_general_path():
    rng = np.random.default_rng(3)
    x, y = rng.random(50), rng.random((50, 3))
    assert fixed_features(x, y) is not None
    y_nan = y.copy()
    y_nan[4, 1] = np.nan
    assert fixed_features(x, y_nan) is None
    y_const = y.copy()
    y_const[:, 2] = 0.5
    assert fixed_features(x, y_const) is None


def test_an_outlier_that_leaves_resamples_near_constant_takes_the_general_path():
    """One score of 1e300 among small ones: resamples without it are constant to rounding, so raw moments would lie."""
    rng = np.random.default_rng(7)
    x = rng.random(60)
    x[0] = 1e300
    y = rng.random((60, 3))
    counts = item_counts(rng, 60, 60, 40)
    assert (counts[:, 0] == 0).any()
    assert influence_cov_fixed(counts, fixed_features(x, y)) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        r, cov = influence_cov(counts, x, y)  # no overflow or invalid-value warning on the general path
    with_outlier = counts[:, 0] > 0
    assert r.shape == (40, 3) and cov.shape == (40, 3, 3) and np.isfinite(r[with_outlier]).all()


# ----- permutations: pearson_fixed_xs and complete RaterMatrix ------------------------------------
@pytest.mark.parametrize("case", ["complete", "y_nan", "x_nan", "huge"])
def test_pearson_fixed_xs_equals_pearson_fixed_x_per_column(case):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(70, 3))
    y = x[:, :1] + rng.normal(size=(70, 40))
    if case == "y_nan":
        y[rng.random(y.shape) < 0.05] = np.nan
    if case == "x_nan":
        x[[1, 5], 2] = np.nan
    if case == "huge":
        y = y * 1e150
    got = pearson_fixed_xs(x, y)
    want = np.stack([pearson_fixed_x(x[:, m], y) for m in range(3)])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert np.isfinite(got).all() and np.abs(got).max() > 0.3


def test_complete_rater_matrix_counts_and_means_equal_the_mask_product():
    ratings, _ = _panel()
    rm = RaterMatrix.from_dense(ratings)
    assert rm.complete
    rng = np.random.default_rng(0)
    weights = rng.integers(0, 3, size=(ratings.shape[1], 7)).astype(float)
    weights[:, 0] = 0.0  # a column with no rater: its means are NaN on both paths
    for fast, slow in zip(rm.sums(weights), _general(rm).sums(weights), strict=True):
        np.testing.assert_array_equal(fast, slow)
    for fast, slow in zip(rm.means(weights), _general(rm).means(weights), strict=True):
        np.testing.assert_array_equal(fast, slow)
    fractional = weights + 0.5
    np.testing.assert_array_equal(rm.sums(fractional)[1], rm.mask @ fractional)


def test_a_missing_rating_makes_the_matrix_incomplete():
    ratings, _ = _panel()
    ratings[3, 5] = np.nan
    assert not RaterMatrix.from_dense(ratings).complete
    assert not RaterMatrix.from_dense(ratings).columns(np.arange(4)).complete


def test_permutations_on_complete_data_equal_the_general_path():
    ratings, x = _panel()
    code = np.repeat(np.arange(3), 8)
    rm = RaterMatrix.from_dense(ratings)
    a, b = np.flatnonzero(code == 0), np.flatnonzero(code == 2)
    fast = permutation_pair_diffs(rm, x, a, b, 200, np.random.default_rng(1))
    slow = permutation_pair_diffs(_general(rm), x, a, b, 200, np.random.default_rng(1))
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    fast_r = permutation_group_r(rm, x, code, 3, 100, np.random.default_rng(2))
    slow_r = permutation_group_r(_general(rm), x, code, 3, 100, np.random.default_rng(2))
    np.testing.assert_allclose(fast_r, slow_r, rtol=0, atol=1e-12)
    assert np.std(fast) > 0.01


def test_permutations_with_missing_ratings_still_run_and_match_one_by_one():
    ratings, x = _panel()
    ratings[np.random.default_rng(5).random(ratings.shape) < 0.1] = np.nan
    code = np.repeat(np.arange(3), 8)
    rm = RaterMatrix.from_dense(ratings)
    got = permutation_group_r(rm, x, code, 3, 50, np.random.default_rng(2))
    rng = np.random.default_rng(2)
    labels = np.stack([rng.permutation(code) for _ in range(50)], axis=1)
    y0, _ = rm.means(one_hot(labels[:, 0], 3))
    np.testing.assert_allclose(got[0, 1], pearson_fixed_x(x[:, 1], y0), rtol=0, atol=1e-12)


# ----- bootstrap: kept replicates ---------------------------------------------------------------
def test_kept_replicates_are_the_drawn_ones_and_read_only():
    kept = list(count_chunks(90, 500, 11))
    drawn = list(_draw_chunks(90, 500, 11))
    assert [s for s, _ in kept] == [s for s, _ in drawn]
    for (_, k), (_, d) in zip(kept, drawn, strict=True):
        np.testing.assert_array_equal(k, d)
        assert not k.flags.writeable
    assert next(iter(count_chunks(90, 500, 11)))[1] is kept[0][1]  # the second call reuses them
    assert not np.array_equal(next(iter(count_chunks(90, 500, 12)))[1], kept[0][1])
