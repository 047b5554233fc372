"""The statistics RQ2 and RQ3 share (split halves, Spearman-Brown, permutation p-values, rescaling, ANOVA) against plain loops."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from annalign.core.machines import MachineRatings, linear_map, rescale
from annalign.errors import InputError
from annalign.stats.anova import anova_f
from annalign.stats.permutation import pearson_permutation_p, permutation_p
from annalign.stats.reliability import spearman_brown, split_halves

CODES = np.array([0, 0, 0, 1, 1, 1, 1, 1, -1, 2, 2, 0, 1])


def _halves_by_ranks(codes: np.ndarray, n_splits: int, seed: int) -> np.ndarray:
    """RQ3's draw, as a loop: one uniform key per rater and split; the lower floor(n/2) ranks of a group form half 0."""
    keys = np.random.default_rng(seed).random((n_splits, len(codes)))
    out = np.full((n_splits, len(codes)), -1)
    for s in range(n_splits):
        for g in sorted(set(codes[codes >= 0])):
            members = [j for j in range(len(codes)) if codes[j] == g]
            ranked = sorted(members, key=lambda j: keys[s, j])
            for position, j in enumerate(ranked):
                out[s, j] = 0 if position < len(members) // 2 else 1
    return out


def _halves_by_shuffle(codes: np.ndarray, n_splits: int, seed: int) -> np.ndarray:
    """RQ2's draw, as a loop: group by group, split by split, a permutation of the members; the first floor(n/2) form half 0."""
    rng = np.random.default_rng(seed)
    out = np.full((n_splits, len(codes)), -1)
    for g in sorted(set(codes[codes >= 0])):
        members = np.flatnonzero(codes == g)
        for s in range(n_splits):
            order = rng.permutation(members)
            out[s, order[: len(members) // 2]] = 0
            out[s, order[len(members) // 2 :]] = 1
    return out


@pytest.mark.parametrize("draw", ["ranks", "shuffle"])
def test_split_halves_match_plain_loops_and_halve_every_group(draw):
    reference = {"ranks": _halves_by_ranks, "shuffle": _halves_by_shuffle}[draw]
    half = split_halves(CODES, 40, np.random.default_rng(7), draw=draw)
    np.testing.assert_array_equal(half, reference(CODES, 40, 7))
    assert (half[:, CODES < 0] == -1).all() and ((half >= 0) == (CODES >= 0)).all()
    for g, n in ((0, 4), (1, 6), (2, 2)):
        assert ((half[:, CODES == g] == 0).sum(axis=1) == n // 2).all()
    # every member lands in either half over many splits (the halves are random, not fixed)
    many = split_halves(CODES, 400, np.random.default_rng(1), draw=draw)
    share = (many[:, CODES >= 0] == 0).mean(axis=0)
    assert np.all((share > 0.3) & (share < 0.7))


def test_spearman_brown_closed_forms():
    r = np.array([-0.5, 0.0, 0.2, 0.6, 0.99])
    np.testing.assert_allclose(spearman_brown(r), 2 * r / (1 + r), rtol=0, atol=0)  # RQ3's split-half step-up, exactly
    rho, k = 0.3, np.array([1.0, 2.0, 5.0, 20.0])
    np.testing.assert_allclose(spearman_brown(rho, k), k * rho / (1 + (k - 1) * rho))
    assert np.isnan(spearman_brown(-1.0)) and np.isnan(spearman_brown(-0.5, 3.0))
    assert spearman_brown(1.0, 7.0) == pytest.approx(1.0)


def test_permutation_p_counts_like_a_loop():
    rng = np.random.default_rng(0)
    permuted = rng.normal(size=(500, 3))
    permuted[::50, 2] = np.nan
    observed = np.array([1.5, -0.1, 2.0])
    centre = np.nanmean(permuted, axis=0)
    for column in range(3):
        values = [v for v in permuted[:, column] if not np.isnan(v)]
        two = sum(abs(v) >= abs(observed[column]) for v in values)
        centred = sum(abs(v - centre[column]) >= abs(observed[column] - centre[column]) for v in values)
        greater = sum(v >= observed[column] for v in values)
        assert permutation_p(observed, permuted)[column] == (1 + two) / (1 + len(values))
        assert permutation_p(observed, permuted, centre=True)[column] == (1 + centred) / (1 + len(values))
        assert permutation_p(observed, permuted, alternative="greater")[column] == (1 + greater) / (1 + len(values))
    assert np.isnan(permutation_p(np.array([np.nan]), permuted[:, :1]))[0]
    assert np.isnan(permutation_p(np.array([1.0]), np.zeros((0, 1))))[0]
    # the permuted statistic equal to the observed one (up to rounding) counts as extreme
    assert permutation_p(0.3, np.array([0.3 - 1e-15, 0.1]), alternative="greater") == pytest.approx(2 / 3)


def test_pearson_permutation_p_matches_a_loop_over_the_same_permutations():
    rng = np.random.default_rng(4)
    x = rng.normal(size=30)
    y = np.column_stack([0.4 * x + rng.normal(size=30), rng.normal(size=30)])
    n_perm, seed = 300, 11
    perms = np.random.default_rng(seed).permuted(np.tile(np.arange(30), (n_perm, 1)), axis=1)
    p = pearson_permutation_p(np.column_stack([x, x]), y, n_perm, seed)
    for k in range(2):
        r = abs(stats.pearsonr(x, y[:, k]).statistic)
        hits = sum(abs(stats.pearsonr(x[row], y[:, k]).statistic) >= r - 1e-12 for row in perms)
        assert p[k] == (1 + hits) / (1 + n_perm)


def test_int32_orders_are_the_int64_orders_of_the_same_stream():
    """The permutation tests shuffle int32 indices to halve memory: the orders must be the documented int64 ones."""
    for n in (2, 7, 350, 5000):
        wide = np.random.default_rng(3).permuted(np.tile(np.arange(n), (20, 1)), axis=1)
        narrow = np.random.default_rng(3).permuted(np.tile(np.arange(n, dtype=np.int32), (20, 1)), axis=1)
        np.testing.assert_array_equal(wide, narrow)


def test_columns_on_different_rows_match_a_loop_over_the_restricted_orders():
    """Columns on different rows share one shuffle of the union of their rows, restricted to each column's rows."""
    rng = np.random.default_rng(8)
    n, n_perm, seed = 40, 250, 5
    x = rng.normal(size=(n, 3))
    y = 0.3 * x + rng.normal(size=(n, 3))
    valid = np.ones((n, 3), dtype=bool)
    valid[:6, 0] = False  # column 0 leaves out rows 0-5, column 1 rows 30-39; column 2 uses every row
    valid[30:, 1] = False
    valid[39, :] = False  # row 39 is in no column: not in the union either
    p = pearson_permutation_p(x, y, n_perm, seed, valid)
    union = np.flatnonzero(valid.any(axis=1))
    orders = np.random.default_rng(seed).permuted(np.tile(np.arange(len(union)), (n_perm, 1)), axis=1)
    for k in range(3):
        rows = np.flatnonzero(valid[:, k])
        r = abs(stats.pearsonr(x[rows, k], y[rows, k]).statistic)
        hits = 0
        for order in orders:
            shuffled = [union[i] for i in order if valid[union[i], k]]  # the column's rows in the shuffled order
            hits += abs(stats.pearsonr(x[shuffled, k], y[rows, k]).statistic) >= r - 1e-12
        assert p[k] == (1 + hits) / (1 + n_perm)


def test_restricted_orders_give_uniform_p_values_under_independence():
    """Shared, restricted shuffles keep each column's test exact: about 5% of null sets reject at 0.05 in every column."""
    rng = np.random.default_rng(17)
    n_sets, n = 600, 30
    rejects = np.zeros(3)
    for s in range(n_sets):
        x, y = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
        valid = rng.random((n, 3)) > np.array([0.0, 0.3, 0.6])  # columns on 100%, 70%, 40% of the rows
        rejects += pearson_permutation_p(x, y, 199, s, valid) <= 0.05
    band = 3 * np.sqrt(0.05 * 0.95 / n_sets)  # Monte Carlo error of the share of 600 sets
    assert np.all(np.abs(rejects / n_sets - 0.05) < band), rejects / n_sets


def test_linear_map_is_the_one_rescaling():
    np.testing.assert_allclose(linear_map(np.array([1, 2, 3, 4, 5, np.nan]), (1, 5), (0, 1)), [0, 0.25, 0.5, 0.75, 1, np.nan])
    np.testing.assert_allclose(linear_map(np.array([0.0, 1.0]), (0, 1), (1, 5)), [1, 5])
    with pytest.raises(InputError, match="LO < HI"):
        linear_map(np.array([1.0]), (3, 3), (0, 1))
    machines = MachineRatings(names=["a", "b"], scores=np.array([[1.0, 2.0], [5.0, 4.0]]), sources=["f", "f"])
    out = rescale(machines, (1, 5), (0, 1), only=["a"])
    np.testing.assert_allclose(out.scores, [[0.0, 2.0], [1.0, 4.0]])


def test_anova_f_matches_scipy():
    rng = np.random.default_rng(2)
    groups = np.array([0] * 5 + [1] * 7 + [2] * 4)
    values = rng.normal(size=(3, len(groups))) + groups[None, :] * 0.3
    f, *_ = anova_f(values, np.broadcast_to(groups, values.shape), 3)
    for row in range(3):
        expected = stats.f_oneway(*(values[row, groups == g] for g in range(3))).statistic
        assert f[row] == pytest.approx(expected, rel=1e-12)
