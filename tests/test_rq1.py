"""RQ1 estimators against independent computations (scipy, plain loops) on real and random data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tests.conftest import make_annotations, random_sparse

from annalign.analyses.alignment import analyze_rq1, grouped_ranks, leave_one_out
from annalign.analyses.alt_test import AltTestConfig
from annalign.core.machines import MachineRatings
from annalign.stats.bootstrap import (
    bootstrap_kendall,
    bootstrap_pearson,
    bootstrap_spearman,
    count_chunks,
    percentile_interval,
    resample_indices,
)


def loo_reference(dense: np.ndarray, method: str = "pearson") -> np.ndarray:
    """Plain loop: each rater vs the mean of the others over the items both exist, via scipy."""
    out = []
    for j in range(dense.shape[1]):
        others = np.delete(dense, j, axis=1)
        with np.errstate(all="ignore"):
            other_mean = np.array([np.nan if np.isnan(row).all() else np.nanmean(row) for row in others])
        keep = np.isfinite(dense[:, j]) & np.isfinite(other_mean)
        x, y = dense[keep, j], other_mean[keep]
        if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
            out.append(np.nan)
            continue
        fn = {"pearson": stats.pearsonr, "spearman": stats.spearmanr, "kendall": stats.kendalltau}[method]
        out.append(fn(x, y).statistic)
    return np.array(out)


def test_published_medians(dices350):
    """Median human leave-one-out r: 0.513 with all 123 raters, 0.506 with the 104 kept (paper: 0.51)."""
    assert round(float(np.nanmedian(leave_one_out(dices350)[0])), 3) == 0.513
    assert round(float(np.nanmedian(leave_one_out(dices350.filter_raters("dices-kept"))[0])), 3) == 0.506


def test_loo_matches_scipy_on_dices(dices350):
    ours, n = leave_one_out(dices350)
    ref = loo_reference(dices350.dense())
    np.testing.assert_allclose(ours, ref, atol=1e-9, equal_nan=True)
    assert np.isnan(ours).sum() == 1  # the one constant rater
    assert (n == 350).all()


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_loo_matches_scipy_on_sparse_random(method, seed):
    dense = random_sparse(seed, levels=5 if method != "pearson" else None)
    data = make_annotations(dense)
    ours, _ = leave_one_out(data, method)
    np.testing.assert_allclose(ours, loo_reference(dense, method), atol=1e-9, equal_nan=True)


def test_grouped_ranks_match_rankdata():
    rng = np.random.default_rng(0)
    group = rng.integers(0, 5, 200)
    x = rng.integers(0, 4, 200).astype(float)
    ranks = grouped_ranks(group, x)
    for g in range(5):
        np.testing.assert_allclose(ranks[group == g], stats.rankdata(x[group == g]))


def _machines(data, scores: dict[str, np.ndarray]) -> MachineRatings:
    return MachineRatings(list(scores), np.column_stack(list(scores.values())), ["test"] * len(scores))


def test_machine_r_and_percentile_match_scipy(dices350):
    rng = np.random.default_rng(5)
    score = dices350.item_mean + rng.normal(0, 0.3, dices350.n_items)
    score[:7] = np.nan  # unrated items are left out, not filled in
    result = analyze_rq1(dices350, _machines(dices350, {"m": score}), n_boot=200, seed=1)
    m = result.machines[0]
    keep = np.isfinite(score)
    assert m.r == pytest.approx(stats.pearsonr(score[keep], dices350.item_mean[keep]).statistic, abs=1e-12)
    assert m.n_items == 343 and m.n_unrated == 7
    human = result.human_r[np.isfinite(result.human_r)]
    assert m.percentile == pytest.approx(stats.percentileofscore(human, m.r, kind="mean"))
    assert result.to_dict()["human_loo_median"] == pytest.approx(0.5128874857, abs=1e-9)


def test_bootstrap_replicates_match_a_plain_loop():
    rng = np.random.default_rng(3)
    n, b = 60, 50
    x = rng.normal(size=n)
    y = x + rng.normal(size=n)
    x[[3, 10]] = np.nan
    reps = bootstrap_pearson(x, y, b, seed=9)[:, 0]
    idx = resample_indices(n, b, seed=9)
    for k in range(b):
        xs, ys = x[idx[k]], y[idx[k]]
        keep = np.isfinite(xs)
        assert reps[k] == pytest.approx(stats.pearsonr(xs[keep], ys[keep]).statistic, abs=1e-9)
    xf = np.where(np.isfinite(x), x, 0.0)
    sp = bootstrap_spearman(xf, y, b, seed=9)
    kt = bootstrap_kendall(np.round(xf), np.round(y), b, seed=9)
    idx = resample_indices(n, b, seed=9)
    for k in range(b):
        assert sp[k] == pytest.approx(stats.spearmanr(xf[idx[k]], y[idx[k]]).statistic, abs=1e-9)
        assert kt[k] == pytest.approx(stats.kendalltau(np.round(xf)[idx[k]], np.round(y)[idx[k]]).statistic, abs=1e-9)


def test_bootstrap_is_seeded_and_chunk_independent_of_callers():
    a = np.concatenate([c for _, c in count_chunks(100, 300, seed=4)])
    b = np.concatenate([c for _, c in count_chunks(100, 300, seed=4)])
    np.testing.assert_array_equal(a, b)
    assert (a.sum(axis=1) == 100).all()
    c = np.concatenate([c for _, c in count_chunks(100, 300, seed=5)])
    assert not np.array_equal(a, c)


def test_paired_difference_of_two_machines(dices350):
    rng = np.random.default_rng(8)
    good = dices350.item_mean + rng.normal(0, 0.1, 350)
    bad = dices350.item_mean + rng.normal(0, 0.5, 350)
    bad[:20] = np.nan
    result = analyze_rq1(dices350, _machines(dices350, {"good": good, "bad": bad}), n_boot=500, seed=2)
    diff = result.differences[0]
    common = np.isfinite(bad)
    expected = stats.pearsonr(good[common], dices350.item_mean[common]).statistic - stats.pearsonr(
        bad[common], dices350.item_mean[common]
    ).statistic
    assert diff.difference == pytest.approx(expected, abs=1e-12)
    assert diff.n_items == 330 and diff.ci_low > 0 and diff.p_value < 0.01


@pytest.mark.slow
def test_bootstrap_ci_coverage_1000_datasets():
    """95% percentile CI of r covers the true correlation in 93-97% of 1,000 simulated data sets."""
    rho, n, n_sets, n_boot = 0.5, 350, 1000, 1000
    rng = np.random.default_rng(2024)
    covered = 0
    for block in range(20):  # 20 blocks of 50 data sets, each block with its own replicates
        z1 = rng.normal(size=(n, 50))
        z2 = rho * z1 + np.sqrt(1 - rho**2) * rng.normal(size=(n, 50))
        reps = bootstrap_pearson(z1, z2, n_boot, seed=block)
        lo, hi = np.quantile(reps, [0.025, 0.975], axis=0)
        covered += int(((lo <= rho) & (rho <= hi)).sum())
    rate = covered / n_sets
    assert 0.93 <= rate <= 0.97, rate


def test_percentile_interval_ignores_undefined_replicates():
    reps = np.r_[np.linspace(0, 1, 101), [np.nan] * 5]
    assert percentile_interval(reps) == pytest.approx((0.025, 0.975))


def test_rq1_tables_and_json(dices350):
    score = dices350.item_mean.copy()
    score[0] = np.nan
    result = analyze_rq1(dices350, _machines(dices350, {"m": score + 0.01 * np.arange(350)}), n_boot=100)
    tables = result.tables()
    assert set(tables) >= {"rq1_humans", "rq1_machines", "rq1_alt_test"}
    assert isinstance(tables["rq1_humans"], pd.DataFrame) and len(tables["rq1_humans"]) == 123
    as_json = result.to_dict()
    m = as_json["machines"]["m"]
    assert {"r", "ci_low", "ci_high", "percentile_among_humans", "n_items", "alt_winning_rate", "alt_rho"} <= set(m)
    assert len(as_json["human"]["leave_one_out_r"]) == 123


def test_alt_test_is_checked_against_a_constant_answer(dices350):
    """A hedged, item-blind machine can pass the neg-RMSE alt-test; RQ1 says so instead of reporting a bare pass."""
    rng = np.random.default_rng(0)
    hedged = np.full(350, 0.18) + rng.normal(0, 0.02, 350)  # like SmolLM2's near-constant expected ratings
    with pytest.warns(Warning, match="a constant answer"):
        result = analyze_rq1(dices350, _machines(dices350, {"hedge": hedged}), n_boot=50)
    alt = result.machines[0].alt
    assert alt.scoring == "neg_rmse" and alt.passed
    assert alt.trivial_winning_rate >= 0.5 and "constant answer" in alt.note
    assert abs(result.machines[0].r) < 0.2
    # Label machines are compared with the modal answer ("No" on DICES), which on these skewed data
    # beats most individual raters on accuracy: the flag follows the constant's own result.
    labels = np.where(dices350.item_mean > 0.5, 1.0, np.where(dices350.item_mean > 0.3, 0.5, 0.0))
    alt = analyze_rq1(dices350, _machines(dices350, {"labels": labels}), n_boot=50, alt=AltTestConfig(scoring="accuracy")).machines[0].alt
    assert alt.scoring == "accuracy"
    assert ("constant answer" in alt.note) == (alt.trivial_winning_rate >= 0.5)


def test_an_inverted_judge_is_warned_about_and_a_sound_one_is_not(dices350):
    """A judge scoring "is it safe?" where the humans' Yes means unsafe: r is negative, and the warning says so, with r and its CI."""
    import warnings

    from annalign.errors import AnalysisWarning

    rng = np.random.default_rng(12)
    sound = dices350.item_mean + rng.normal(0, 0.3, dices350.n_items)
    inverted = 1.0 - sound
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = analyze_rq1(dices350, _machines(dices350, {"sound": sound, "inverted": inverted}), n_boot=200, seed=1)
    messages = [str(w.message) for w in caught if issubclass(w.category, AnalysisWarning) and "may be inverted" in str(w.message)]
    assert len(messages) == 1 and messages[0].startswith("machine rater 'inverted': pearson r with the mean human is -")
    r = {m.name: m for m in result.machines}["inverted"]
    assert f"{r.r:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}] (95% CI, below 0)" in messages[0]
