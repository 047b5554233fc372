"""The crossed-inference kernels against independent computations (plain loops, closed forms, brute force)."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from annalign.stats.crossed import (
    crossfit_rater_variances,
    item_terms,
    on_fisher_scale,
    pooled_signal_share,
    rater_block,
    rater_gradients,
    reliability_design,
    reliability_from_sums,
    stats_from_terms,
)
from annalign.testing.panels import CUTS


def _ratings(rng: np.random.Generator, n: int, k: int, missing: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(ratings with 0 where missing, mask): a shared truth, rater leniency, noise."""
    truth = rng.standard_normal(n)
    y = truth[:, None] + 0.5 * rng.standard_normal(k) + rng.standard_normal((n, k))
    mask = (rng.random((n, k)) >= missing).astype(float)
    return y * mask, mask


def _reliability(y: np.ndarray, mask: np.ndarray, weights: np.ndarray | None = None) -> float:
    block = rater_block(y, mask)
    w = np.ones((1, y.shape[1])) if weights is None else weights[None, :]
    return float(reliability_from_sums(reliability_design(item_terms(block, w)).sum(axis=0)))


def test_reliability_with_every_rating_is_cronbachs_alpha() -> None:
    """alpha = k/(k-1) (1 - sum of rater variances / variance of the sum), and 1 - MS_residual / MS_items (two-way ANOVA)."""
    y, mask = _ratings(np.random.default_rng(1), 200, 7)
    n, k = y.shape
    alpha = k / (k - 1) * (1 - y.var(axis=0, ddof=1).sum() / y.sum(axis=1).var(ddof=1))
    resid = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    ms_items = k * ((y.mean(axis=1) - y.mean()) ** 2).sum() / (n - 1)
    ms_resid = (resid**2).sum() / ((n - 1) * (k - 1))
    assert _reliability(y, mask) == pytest.approx(alpha, abs=1e-12)
    assert _reliability(y, mask) == pytest.approx(1 - ms_resid / ms_items, abs=1e-12)


def test_reliability_with_missing_ratings_and_a_rater_counted_twice_matches_a_plain_loop() -> None:
    """Within-item variance over pairs of *distinct* raters; the mean's error share sum w^2 / (sum w)^2, item by item."""
    y, mask = _ratings(np.random.default_rng(2), 60, 5, missing=0.3)
    w = np.array([2.0, 1.0, 1.0, 0.5, 1.0])
    centred = np.where(mask > 0, y - (y.sum(0) / mask.sum(0))[None, :], 0.0)
    means, within, shares = [], [], []
    for i in range(y.shape[0]):
        raters = np.flatnonzero(mask[i])
        if len(raters) == 0:
            continue
        wi = w[raters]
        means.append((wi * y[i, raters]).sum() / wi.sum())
        shares.append((wi**2).sum() / wi.sum() ** 2)
        if len(raters) >= 2:
            pairs = list(combinations(range(len(raters)), 2))
            num = sum(wi[a] * wi[b] * (centred[i, raters[a]] - centred[i, raters[b]]) ** 2 for a, b in pairs)
            within.append(num / sum(wi[a] * wi[b] for a, b in pairs) / 2)
    expected = 1 - np.mean(within) * np.mean(shares) / np.var(means)
    assert _reliability(y, mask, w) == pytest.approx(expected, abs=1e-12)


def test_r_and_gradients_match_numpy_and_a_finite_difference_of_an_explicit_weighted_mean() -> None:
    rng = np.random.default_rng(3)
    y, mask = _ratings(rng, 80, 4, missing=0.2)
    x = rng.standard_normal((80, 2))
    x[5, 0] = np.nan
    xvalid, xz = np.isfinite(x).astype(float), np.nan_to_num(x)
    block = rater_block(y, mask)

    def r_with_weights(w: np.ndarray, m: int) -> float:
        with np.errstate(invalid="ignore"):
            mean = (y * w).sum(1) / (mask * w).sum(1)
        ok = np.isfinite(x[:, m]) & ((mask * w).sum(1) > 0)
        return float(np.corrcoef(x[ok, m], mean[ok])[0, 1])

    out = stats_from_terms(item_terms(block, np.ones((1, 4))), xz, xvalid, np.ones((1, 80)))[0, 0]
    assert out[:2] == pytest.approx([r_with_weights(np.ones(4), 0), r_with_weights(np.ones(4), 1)], abs=1e-12)
    grads = rater_gradients(block, xz, xvalid, np.ones(80))[0]
    for j in range(4):
        step = np.ones(4)
        step[j] += 1e-6
        assert grads[j, 1] == pytest.approx((r_with_weights(step, 1) - r_with_weights(np.ones(4), 1)) / 1e-6, rel=1e-4)
    assert abs(grads[:, 1].sum()) < 1e-8  # the same weight on every rater changes nothing


def _cut_panel(rng: np.random.Generator, n: int, loadings: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, ...]:
    c, z = rng.standard_normal((2, n))
    x = c + 0.5 * z + rng.standard_normal(n)
    latent = c[:, None] * loadings + z[:, None] * second + 0.8 * rng.standard_normal((n, len(loadings)))
    y = np.digitize(latent, CUTS) / 2.0
    return x[:, None], y, np.ones_like(y)


def test_crossfitted_rater_variance_targets_the_rater_component_not_the_noise() -> None:
    """Brute force: the variance over draws of 10 raters of the adjusted r on 50,000 items (no item noise left).

    The full-data jackknife also carries the item x rater noise; the cross-fitted estimate on 350
    items removes it and must land near the target on average (the brute-force variance itself has
    a Monte Carlo error of about 10% with 200 draws; measured: target 0.00176, cross-fitted 0.00214,
    jackknife 0.00239).
    """
    rng = np.random.default_rng(4)
    big, crossfit, jackknife = [], [], []
    for _ in range(200):
        loadings, second = 1 + 0.4 * rng.standard_normal(10), 0.4 * rng.standard_normal(10)
        x, y, mask = _cut_panel(rng, 50_000, loadings, second)
        terms = item_terms(rater_block(y, mask), np.ones((1, 10)))
        big.append(stats_from_terms(terms, x, np.ones_like(x), np.ones((1, len(x))))[0, 0, 2])
        x, y, mask = _cut_panel(rng, 350, loadings, second)
        _, clean, total = crossfit_rater_variances(rater_block(y, mask), x, np.ones_like(x), 10, rng)
        crossfit.append(clean[2])
        jackknife.append(total[2])
    target = np.var(big, ddof=1)
    print(f"rater variance of adjusted r: brute force {target:.6f}, cross-fitted {np.mean(crossfit):.6f}, jackknife {np.mean(jackknife):.6f}")
    assert np.mean(jackknife) > 1.05 * np.mean(crossfit)  # the noise the item bootstrap already counts
    assert 0.75 * target < np.mean(crossfit) < 1.45 * target


def test_pooled_signal_share_is_a_ratio_of_per_rater_sums_and_stays_in_0_1() -> None:
    clean = np.array([[0.2, -1.0, 0.5], [0.01, 0.0, 0.1], [5.0, 5.0, 5.0]])
    total = np.array([[1.0, 1.0, 0.5], [0.02, 0.0, 0.1], [9.0, 9.0, 9.0]])
    share = pooled_signal_share(clean, total, np.array([4, 19, 1]))  # the 1-rater group has no rater variance to pool
    assert share[0] == pytest.approx((4 * 0.2 + 19 * 0.01) / (4 * 1.0 + 19 * 0.02))
    assert share[1] == 0.0  # a negative estimate is clipped
    assert share[2] == 1.0  # and one above the jackknife variance too


def test_fisher_scale_perturbation_is_exact_where_defined_and_plain_beyond_one() -> None:
    reps = np.array([[0.3, 1.2], [0.5, 0.9]])
    delta = np.array([[0.05, 0.1], [-0.02, 0.1]])
    out = on_fisher_scale(reps, delta, np.array([0.4, 1.05]))
    assert out[:, 0] == pytest.approx(np.tanh(np.arctanh(reps[:, 0]) + delta[:, 0] / (1 - 0.4**2)))
    assert out[:, 1] == pytest.approx(reps[:, 1] + delta[:, 1])
    assert np.array_equal(on_fisher_scale(reps[:, :1], np.zeros((2, 1)), np.array([0.4])), reps[:, :1])


def test_bootstrap_p_is_never_below_two_over_b_plus_one() -> None:
    from annalign.stats.bootstrap import bootstrap_p

    reps = np.column_stack([np.linspace(0.1, 1.0, 99), np.linspace(-1.0, 1.0, 99)])
    p = bootstrap_p(reps)
    assert p[0] == pytest.approx(2 / 100)
    assert p[1] == pytest.approx(min(1.0, 2 * (50 + 1) / 100))


def test_no_interval_from_too_few_defined_replicates() -> None:
    from annalign.analyses.group_alignment import intervals, undefined_share

    reps = np.random.default_rng(0).standard_normal((100, 3))
    reps[:60, 0] = np.nan  # 40 defined of 100: withheld
    reps[:40, 1] = np.nan  # 60 defined: kept
    lo, hi = intervals(reps, 0.95)
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and np.isfinite(lo[1:]).all()
    assert undefined_share(reps) == pytest.approx([0.6, 0.4, 0.0])


@pytest.mark.parametrize("dense_cells", [0, 10**9], ids=["sparse-scatter", "dense-scatter"])
def test_gradients_from_each_raters_ratings_equal_recomputing_every_item_dense_and_sparse(
    dense_cells: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-rating update against the plain way: all items' terms recomputed with weights 1 +- step for each rater
    (both ways of summing per rater: the BLAS product of a dense scatter and the scipy.sparse one)."""
    from scipy import sparse

    from annalign.stats import crossed
    from annalign.stats.crossed import STEP

    monkeypatch.setattr(crossed, "DENSE_CELLS", dense_cells)
    y, mask = _ratings(np.random.default_rng(7), 300, 12, missing=0.4)
    y = np.digitize(y, CUTS) / 2.0 * mask  # 0 / 0.5 / 1 like DICES: many ratings are exactly 0
    x = np.random.default_rng(8).standard_normal((300, 2)) + y[:, :2]
    item, rater = np.nonzero(mask)
    u = np.vstack([np.ones(300), (np.arange(300) % 2).astype(float)])
    eye = np.eye(12) * STEP
    plain = stats_from_terms(item_terms(rater_block(y, mask), np.vstack([1 + eye, 1 - eye])), x, np.ones_like(x), u)
    expected = (plain[:, :12] - plain[:, 12:]) / (2 * STEP)
    stored = sparse.csr_matrix((y[item, rater], (item, rater)), shape=y.shape)  # explicit zeros, as RaterMatrix stores them
    for block in (rater_block(y, mask), rater_block(stored, sparse.csr_matrix(mask))):
        got = rater_gradients(block, x, np.ones_like(x), u)
        assert np.isfinite(got).all()
        assert np.allclose(got, expected, rtol=1e-6, atol=1e-9)
