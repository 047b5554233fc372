"""RQ2's power model, fast checks: monotone in items and raters, its pieces against brute force (slow checks against fresh data: test_power_model.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import special, stats

from annalign.analyses.group_alignment import analyze_groups
from annalign.analyses.group_power import item_influences
from annalign.stats.crossed import item_terms, rater_block, stats_from_terms
from annalign.stats.power import detectable, shifted_t_power, t_quantile
from annalign.testing.panels import CrossedModel, crossed_data


def _run(model: CrossedModel, seed: int, **settings):
    data, machine = crossed_data(model, np.random.default_rng(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze_groups(data, machine, by="rater_group", n_boot=200, n_perm=0, noise_boot=0, seed=seed, **settings)


def _monotone(frame, along: str, column: str, rising: bool = True) -> bool:
    keys = [k for k in ("machine", "group_a", "group_b", "raters_per_group", "n_items") if k != along]
    table = frame.pivot_table(index=keys, columns=along, values=column).sort_index(axis=1)
    steps = np.diff(table.to_numpy(), axis=1)
    return bool((steps >= -1e-12).all() if rising else (steps <= 1e-12).all())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_power_rises_with_items_and_raters_and_the_detectable_difference_falls(seed):
    """Property over random panels (3 groups, one of 4 raters, shares drawn at random): every power column is monotone."""
    rng = np.random.default_rng(seed)
    shares = tuple(rng.uniform(0.3, 1.0, 3))
    model = CrossedModel(sizes=(4, 9, 15), group_shares=shares, loading_sd=float(rng.uniform(0.1, 0.6)))
    res = _run(model, seed, power_items=(60, 350, 1000, 5000, 100_000), power_raters=(4, 6, 12, 30, 200), power_diffs=(0.05, 0.2))
    power = res.power
    columns = ["power", "power_per_pair", "power_diff_0.05", "power_per_pair_diff_0.2"]
    for column in columns:
        assert _monotone(power, "n_items", column), column
    levels = power[power["raters_per_group"].astype(str) != "observed"].assign(raters_per_group=lambda f: f["raters_per_group"].astype(int))
    for column in columns:
        assert _monotone(levels, "raters_per_group", column), column
    assert _monotone(power, "n_items", "mde", rising=False) and _monotone(levels, "raters_per_group", "mde", rising=False)
    far = levels[(levels["raters_per_group"] == 200) & (levels["n_items"] == 100_000)]
    assert (far["power_diff_0.2"] > 0.99).all()  # enough data detects a large difference
    assert (power["power_diff_0.05"] < power["power_diff_0.2"] + 1e-12).all()


def test_raters_beyond_a_group_come_from_the_model_not_from_duplicates():
    """A 4-rater group at 8 raters per group: the rater part halves (V x 4 / 8) and power lies strictly between 4 and 40 raters."""
    res = _run(CrossedModel(sizes=(4, 12)), 5, power_items=(350,), power_raters=(4, 8, 40), power_diffs=(0.15,))
    rows = res.power.set_index(res.power["raters_per_group"].astype(str))
    assert rows.loc["4", "power_diff_0.15"] < rows.loc["8", "power_diff_0.15"] < rows.loc["40", "power_diff_0.15"]
    assert rows.loc["8", "se"] < rows.loc["4", "se"]
    # the old artefact: 8 raters drawn with replacement from 4 gave about 3 distinct raters, so less power than 4
    assert rows.loc["8", "mde"] < rows.loc["observed", "mde"] * 1.0 + 1e-12 or rows.loc["observed", "raters_per_group"] == "observed"


def test_item_influences_give_the_item_bootstrap_variance():
    """The delta-method variance of adjusted r from item influences equals the variance over 4,000 item-bootstrap draws (within 10%)."""
    model = CrossedModel(sizes=(8,))
    data, machine = crossed_data(model, np.random.default_rng(4))
    vals = np.full((data.n_items, data.n_raters), np.nan)
    vals[data.item_index, data.rater_index] = data.values
    mask = np.isfinite(vals).astype(float)
    block = rater_block(np.nan_to_num(vals), mask)
    terms = item_terms(block, np.ones((1, data.n_raters)))
    x = machine.scores
    xz, xv = np.nan_to_num((x - x.mean()) / x.std()), np.isfinite(x).astype(float)
    g = item_influences(terms, xz, xv)[:, 0, 0]
    delta_var = (g * g).sum() - g.sum() ** 2 / len(g)
    u = np.random.default_rng(5).multinomial(data.n_items, np.full(data.n_items, 1 / data.n_items), size=4000).astype(float)
    boot = stats_from_terms(terms, xz, xv, u)[:, 0, 2]  # adjusted r of the one machine
    assert abs(delta_var / np.nanvar(boot) - 1) < 0.1


def test_t_quantile_and_shifted_t_power_against_scipy():
    df = np.geomspace(1, 1e7, 400)
    for p in (0.8, 0.975, 1 - 0.05 / 270):
        exact = np.where(df < 1e6, special.stdtrit(df, p), special.ndtri(p))
        assert np.max(np.abs(t_quantile(p, df) / exact - 1)) < 1e-3
    for nu in (3.0, 9.0, 12.0, 40.0):
        ncp = np.linspace(0, 5, 21)
        crit = stats.t.ppf(0.975, nu)
        exact = stats.nct.sf(crit, nu, ncp) + stats.nct.cdf(-crit, nu, ncp)
        assert np.max(np.abs(shifted_t_power(ncp, np.ones_like(ncp), np.full_like(ncp, nu), 0.05) - exact)) < 0.008
    at = detectable(np.array(1.0), np.array(20.0), t_quantile(0.975, np.array(20.0)))
    assert abs(float(shifted_t_power(at, np.array(1.0), np.array(20.0), 0.05)) - 0.8) < 0.005
    small = detectable(np.array(1.0), np.array(4.0), t_quantile(1 - 0.025 / 45, np.array(4.0)))
    assert abs(float(shifted_t_power(small, np.array(1.0), np.array(4.0), 0.05 / 45)) - 0.8) < 0.04


def test_the_critical_value_follows_the_replicates_quantile():
    """The test's critical value (normal item part plus t(k - 1) rater parts) is within 2% of that mixture's quantile by brute force."""
    from annalign.analyses.group_power import Design

    rng = np.random.default_rng(0)
    for v_item, v_a, v_b, k in [(0.3, 0.35, 0.35, 10), (0.1, 0.45, 0.45, 10), (0.5, 0.4, 0.1, 4), (0.3, 0.35, 0.35, 20)]:
        draws = np.sqrt(v_item) * rng.standard_normal(1_000_000)
        draws += np.sqrt(v_a) * rng.standard_t(k - 1, 1_000_000) + np.sqrt(v_b) * rng.standard_t(k - 1, 1_000_000)
        total = v_item + v_a + v_b
        design = Design(np.array(total), np.array(np.inf), np.array(0.0), np.array(v_a + v_b), np.array([v_a, v_b]), np.array([k - 1.0, k - 1.0]))
        want = np.quantile(np.abs(draws), 0.95) / np.sqrt(total)
        assert abs(float(design.crit(0.05)) / want - 1) < 0.02, (v_item, v_a, k)
