"""Simulation checks of RQ3: interval coverage, permutation-test size, and the noise ceiling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from annalign.analyses.group_disagreement import analyze_disagreement, correlation_tests

N_SETS = 2000


def _rater_level_differences(rng: np.random.Generator, n_items: int, n_sets: int, n_a: int, n_b: int, sd_true: float):
    """Per data set (column): true difference D and observed d from simulated raters (rating noise sd 1)."""
    true_d = rng.normal(0, sd_true, (n_items, n_sets))
    level = rng.normal(0, 1, (n_items, n_sets))
    mean_a = ((level + true_d / 2)[..., None] + rng.normal(0, 1, (n_items, n_sets, n_a))).mean(-1)
    mean_b = ((level - true_d / 2)[..., None] + rng.normal(0, 1, (n_items, n_sets, n_b))).mean(-1)
    return true_d, mean_a - mean_b


def test_interval_covers_true_correlation():
    """Predictor = true difference + noise at corr 0.7 with it; truth r(pred, d) = 0.7 * sqrt(reliability)."""
    rng = np.random.default_rng(2024)
    n_items, n_a, n_b, sd_true, rho = 350, 12, 12, 0.3, 0.7
    true_d, d = _rater_level_differences(rng, n_items, N_SETS, n_a, n_b, sd_true)
    pred = rho * true_d / sd_true + np.sqrt(1 - rho**2) * rng.normal(size=(n_items, N_SETS))
    reliability = sd_true**2 / (sd_true**2 + 1 / n_a + 1 / n_b)
    truth = rho * np.sqrt(reliability)
    out = correlation_tests(pred, d, n_boot=1000, n_perm=0, seed=7)
    covered = (out["ci_low"] <= truth) & (truth <= out["ci_high"])
    coverage = covered.mean()
    print(f"\ncoverage of r = {truth:.3f} by the 95% bootstrap interval: {coverage:.4f} over {N_SETS} data sets; mean r {out['r'].mean():.4f}")
    assert 0.93 <= coverage <= 0.97
    assert out["r"].mean() == pytest.approx(truth, abs=0.01)


def test_permutation_test_size_for_unrelated_predictor():
    """A discrete predictor (persona-like differences in steps of 0.5) unrelated to d: rejects at about 5%."""
    rng = np.random.default_rng(99)
    n_items = 200
    _, d = _rater_level_differences(rng, n_items, N_SETS, 10, 14, 0.3)
    pred = rng.integers(-2, 3, size=(n_items, N_SETS)) / 2
    out = correlation_tests(pred, d, n_boot=10, n_perm=1000, seed=3)
    rate = np.mean(out["p_value"] <= 0.05)
    print(f"\npermutation test rejection rate at alpha 0.05: {rate:.4f} over {N_SETS} null data sets")
    assert 0.04 <= rate <= 0.06
    assert stats.kstest(out["p_value"], "uniform").pvalue > 0.001


def _simulate_group_data(build, rng, n_items, n_a, n_b, sd_true, p_rated, discrete):
    """Rater-level data for two groups with known true group means per item; returns (data, true difference)."""
    true_d = rng.normal(0, sd_true, n_items)
    level = rng.normal(0, 0.7, n_items)
    mu = np.column_stack([level + true_d / 2, level - true_d / 2])
    group = np.r_[np.zeros(n_a, int), np.ones(n_b, int)]
    latent = mu[:, group] + rng.normal(0, 1, (n_items, n_a + n_b))
    if discrete:  # DICES-like No / Unsure / Yes = 0 / 0.5 / 1 from a latent scale
        ratings = np.where(latent < -0.5, 0.0, np.where(latent < 0.5, 0.5, 1.0))
        expected = 0.5 * (stats.norm.cdf(mu + 0.5) + stats.norm.cdf(mu - 0.5))
        true_d = expected[:, 0] - expected[:, 1]
    else:
        ratings = latent
    ratings[rng.random(ratings.shape) > p_rated] = np.nan
    attrs = {"team": np.where(group == 0, "A", "B").tolist()}
    return build(ratings, attrs), true_d


@pytest.mark.parametrize(
    ("n_a", "n_b", "sd_true", "p_rated", "discrete"),
    [(8, 12, 0.3, 1.0, False), (6, 6, 0.6, 0.7, True), (20, 10, 0.15, 0.5, False)],
)
def test_noise_ceiling_matches_correlation_with_truth(make_annotations, n_a, n_b, sd_true, p_rated, discrete):
    """sqrt(reliability) equals corr(observed d, true difference) within simulation error (20,000 items)."""
    rng = np.random.default_rng(n_a * 100 + n_b)
    data, true_d = _simulate_group_data(make_annotations, rng, 20_000, n_a, n_b, sd_true, p_rated, discrete)
    res = analyze_disagreement(data, by=("team",), pairs=[("A", "B")], n_boot=10, n_perm=0, n_splits=20, seed=1)
    pr = res.pairs[0]
    ok = np.isfinite(pr.difference)
    r_truth = stats.pearsonr(pr.difference[ok], true_d[ok]).statistic
    print(f"\nn_a={n_a} n_b={n_b} sd={sd_true} rated={p_rated} discrete={discrete}: ceiling {pr.noise_ceiling:.4f}, corr(d, truth) {r_truth:.4f}")
    # corr(d, truth) has a standard error of about (1 - r^2) / sqrt(n) < 0.007 here. The ceiling's own is
    # larger where the reliability is low: at 0.06 (20 + 10 raters, half missing) sqrt amplifies it to
    # 0.022 (SD of ceiling - corr over 8 seeds, mean -0.005; issue 11's variance-component estimator).
    assert pr.noise_ceiling == pytest.approx(r_truth, abs=0.02 if r_truth > 0.4 else 0.07)


def test_noise_ceiling_unbiased_at_dices_size(make_annotations):
    """Over 200 data sets of 350 items and 12 + 12 raters: mean ceiling vs mean corr(d, truth) and the analytic value."""
    rng = np.random.default_rng(11)
    ceilings, truths = [], []
    for _ in range(200):
        data, true_d = _simulate_group_data(make_annotations, rng, 350, 12, 12, 0.3, 1.0, False)
        pr = analyze_disagreement(data, by=("team",), pairs=[("A", "B")], n_boot=10, n_perm=0, n_splits=20, seed=1).pairs[0]
        ceilings.append(pr.noise_ceiling)
        truths.append(stats.pearsonr(pr.difference, true_d).statistic)
    analytic = np.sqrt(0.09 / (0.09 + 2 / 12))
    print(f"\nmean ceiling {np.mean(ceilings):.4f}, mean corr(d, truth) {np.mean(truths):.4f}, analytic {analytic:.4f}")
    assert np.mean(ceilings) == pytest.approx(np.mean(truths), abs=0.01)
    assert np.mean(truths) == pytest.approx(analytic, abs=0.01)
