"""Seeded simulations: CI coverage, null calibration of the pairwise tests, power against fresh data."""

from __future__ import annotations

import numpy as np
import pytest

from annalign.analyses.group_power import (
    RaterDraw,
    influence_cov,
    simulate_power,
    steiger_power,
    wald_pairs,
)
from annalign.core.operators import RaterMatrix, one_hot
from annalign.testing.panels import panel, population_cov, true_group_r

from .simtools import simulate_pair_tests

RHO, SIGMA, N_ITEMS, N_SETS = 0.6, 1.5, 350, 2000


@pytest.fixture(scope="module")
def equal_sizes():
    return simulate_pair_tests((10, 10), N_SETS, n_items=N_ITEMS, n_boot=1000, n_perm=100, rho=RHO, sigma=SIGMA, seed=11, adjusted=False)


@pytest.fixture(scope="module")
def unequal_sizes():
    return simulate_pair_tests((4, 19), N_SETS, n_items=N_ITEMS, n_boot=500, n_perm=100, rho=RHO, sigma=SIGMA, seed=12)


def test_bootstrap_ci_covers_group_r(equal_sizes):
    truth = true_group_r(RHO, SIGMA, 10)
    coverage = np.mean((equal_sizes["lo"] <= truth) & (truth <= equal_sizes["hi"]))
    print(f"coverage of the 95% CI of a group r: {coverage:.4f} over {N_SETS} data sets")
    assert 0.93 <= coverage <= 0.97


def test_null_equal_sizes_raw_tests_calibrated(equal_sizes):
    boot = np.mean(equal_sizes["p_boot"] <= 0.05)
    perm = np.mean(equal_sizes["p_perm"] <= 0.05)
    print(f"equal sizes, null: bootstrap rejects {boot:.4f}, permutation rejects {perm:.4f}")
    assert 0.04 <= boot <= 0.06
    assert 0.04 <= perm <= 0.06


def test_null_unequal_sizes_adjusted_calibrated_raw_not(unequal_sizes):
    raw = np.mean(unequal_sizes["p_boot"] <= 0.05)
    adjusted = np.mean(unequal_sizes["p_adjusted"] <= 0.05)
    perm = np.mean(unequal_sizes["p_perm"] <= 0.05)
    print(f"sizes 4 vs 19, null: raw bootstrap {raw:.4f}, adjusted bootstrap {adjusted:.4f}, permutation {perm:.4f}")
    assert raw > 0.5  # the raw r of the 19-rater group is truly higher: attenuation, not alignment
    assert 0.04 <= adjusted <= 0.06
    assert 0.04 <= perm <= 0.06  # label permutation keeps sizes, so it reproduces the attenuation


def fresh_rejection_rate(rng, n_items, sizes, alignment, n_sets):
    """Rejection rate of the Wald test in fresh data sets drawn from the model (vectorised)."""
    xs, ys = [], []
    for _ in range(n_sets):
        p = panel(rng, n_items, sizes, rho=RHO, sigma=SIGMA, alignment=alignment)
        y, _ = RaterMatrix.from_dense(p.ratings).means(one_hot(p.code, len(sizes)))
        xs.append(p.x)
        ys.append(y)
    r, cov = influence_cov(np.ones((n_sets, n_items)), np.stack(xs), np.stack(ys))
    return float(np.mean(np.abs(wald_pairs(r, cov, [(0, 1)])[:, 0]) > 1.959964))


@pytest.mark.parametrize("raters", [None, 5])
def test_power_matches_fresh_data_and_closed_form(raters):
    alignment, sizes, n_target = (0.6, 0.5), (10, 10), 550
    rng = np.random.default_rng(21)
    pilot = panel(rng, 50_000, sizes, rho=RHO, sigma=SIGMA, alignment=alignment)
    rm = RaterMatrix.from_dense(pilot.ratings)
    y, _ = rm.means(one_hot(pilot.code, 2))
    estimate = simulate_power(pilot.x, y, [(0, 1)], n_target, 1000, rng, draw=None if raters is None else RaterDraw(rm, pilot.code, raters))[0]
    k = raters or sizes[0]
    fresh = fresh_rejection_rate(rng, n_target, (k, k), alignment, 1000)
    cov = population_cov(RHO, SIGMA, (k, k), alignment)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    closed = float(steiger_power(corr[0, 1], corr[0, 2], corr[1, 2], n_target))
    print(f"raters {k}: power by resampling {estimate:.3f}, fresh data {fresh:.3f}, Steiger closed form {closed:.3f}")
    assert abs(estimate - fresh) <= 0.05
    assert abs(estimate - closed) <= 0.05
