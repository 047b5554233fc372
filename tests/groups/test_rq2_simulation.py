"""Seeded simulations of the power analysis against fresh data (the calibration of RQ2's intervals and tests is in test_crossed_calibration.py)."""

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
from annalign.testing.panels import panel, population_cov

RHO, SIGMA, N_ITEMS, N_SETS = 0.6, 1.5, 350, 2000


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
