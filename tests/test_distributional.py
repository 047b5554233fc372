"""Distributional statistics (issue 13): divergences against scipy and plain loops, the noise ceiling, k*, CI coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from annalign.core.annotations import Annotations
from annalign.core.labelcodes import crowd_of, label_codes
from annalign.core.ratingmap import RatingMap
from annalign.errors import InputError
from annalign.stats import distributional as D
from annalign.stats.bootstrap import resample_indices
from annalign.stats.multitest import holm


# ----- random distributions with zero-probability labels -----------------------------------------
def _random_distributions(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """n random distributions over k labels; about a third of the entries are exactly 0, some rows one-hot."""
    p = rng.dirichlet(np.full(k, 0.7), size=n)
    p[rng.random((n, k)) < 0.35] = 0.0
    empty = p.sum(axis=1) == 0
    p[empty, rng.integers(0, k, empty.sum())] = 1.0
    return p / p.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def pairs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(13)
    p, q = _random_distributions(rng, 400, 5), _random_distributions(rng, 400, 5)
    q[:20] = p[:20]  # identical rows
    q[20:40] = np.roll(np.eye(5)[rng.integers(0, 5, 20)], 1, axis=1)  # disjoint supports with a one-hot p below
    p[20:40] = np.eye(5)[np.argmax(np.roll(q[20:40], -1, axis=1), axis=1)]
    return p, q


def test_random_rows_have_zero_probability_labels(pairs):
    p, q = pairs
    assert (p == 0).mean() > 0.2 and (q == 0).mean() > 0.2
    assert np.isclose(D.jensen_shannon(p[20:40], q[20:40]), 1.0).all()  # disjoint: 1 bit


def test_jensen_shannon_equals_scipy_squared_base_2(pairs):
    p, q = pairs
    ours = D.jensen_shannon(p, q)
    theirs = np.array([jensenshannon(a, b, base=2) ** 2 for a, b in zip(p, q, strict=True)])
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_total_variation_equals_a_loop(pairs):
    p, q = pairs
    loop = [0.5 * sum(abs(a - b) for a, b in zip(pr, qr, strict=True)) for pr, qr in zip(p, q, strict=True)]
    np.testing.assert_allclose(D.total_variation(p, q), loop, rtol=0, atol=1e-12)


@pytest.mark.parametrize("positions", [None, np.array([1.0, 0.5, 0.0, -0.5, -2.0]), np.array([3.0, 0.0, 4.5, 1.0, 2.0])])
def test_wasserstein_equals_scipy(pairs, positions):
    p, q = pairs
    x = np.arange(5.0) if positions is None else positions
    theirs = [stats.wasserstein_distance(x, x, a, b) for a, b in zip(p, q, strict=True)]
    np.testing.assert_allclose(D.wasserstein(p, q, positions), theirs, rtol=0, atol=1e-12)


def test_entropy_equals_scipy(pairs):
    p, _ = pairs
    np.testing.assert_allclose(D.entropy(p), [stats.entropy(a, base=2) for a in p], rtol=0, atol=1e-12)
    np.testing.assert_allclose(D.entropy(p, base=np.e), [stats.entropy(a) for a in p], rtol=0, atol=1e-12)


def test_log_loss_equals_a_loop_with_the_floor(pairs):
    p, q = pairs
    eps = D.LOG_LOSS_FLOOR
    loop = [-sum(a * np.log2(max(b, eps)) for a, b in zip(pr, qr, strict=True) if a > 0) for pr, qr in zip(p, q, strict=True)]
    np.testing.assert_allclose(D.log_loss(p, q), loop, rtol=0, atol=1e-12)
    # where the model never gives 0 to a human label, log loss = entropy + KL (scipy)
    ok = ((q > 0) | (p == 0)).all(axis=1)
    kl = np.array([stats.entropy(a, b, base=2) for a, b in zip(p[ok], q[ok], strict=True)])
    np.testing.assert_allclose(D.log_loss(p[ok], q[ok]), D.entropy(p[ok]) + kl, rtol=0, atol=1e-12)
    assert D.log_loss(np.array([0.5, 0.5, 0.0]), np.array([1.0, 0.0, 0.0])) == pytest.approx(-0.5 * np.log2(eps))


def test_metric_dispatches_and_refuses_unknown_names(pairs):
    p, q = pairs
    np.testing.assert_array_equal(D.Metric("tv")(p, q), D.total_variation(p, q))
    np.testing.assert_array_equal(D.Metric("wasserstein", np.arange(5.0) * 2)(p, q), D.wasserstein(p, q, np.arange(5.0) * 2))
    with pytest.raises(ValueError, match="unknown divergence"):
        D.Metric("kl")


_rows = st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 1.0)), min_size=4, max_size=4).filter(lambda r: sum(r) > 0)


@settings(max_examples=200, deadline=None)
@given(_rows, _rows)
def test_divergences_match_scipy_on_any_distribution(a, b):
    p, q = np.array(a) / sum(a), np.array(b) / sum(b)
    with np.errstate(invalid="ignore"):
        theirs = jensenshannon(p, q, base=2) ** 2  # NaN where rounding leaves its sum 1 ulp below 0
    assert D.jensen_shannon(p, q) == pytest.approx(0.0 if np.isnan(theirs) else theirs, abs=1e-12)
    assert D.wasserstein(p, q) == pytest.approx(stats.wasserstein_distance(np.arange(4), np.arange(4), p, q), abs=1e-12)
    assert D.entropy(p) == pytest.approx(stats.entropy(p, base=2), abs=1e-12)
    assert 0.0 <= D.jensen_shannon(p, q) <= 1.0 and 0.0 <= D.total_variation(p, q) <= 1.0


# ----- human distributions --------------------------------------------------------------------
def test_human_distributions_equal_a_loop_with_missing_ratings_and_weights():
    rng = np.random.default_rng(1)
    n_items, n_labels = 30, 4
    items = rng.integers(0, n_items - 3, 500)  # the last three items are unrated
    codes = rng.integers(-1, n_labels, 500)  # -1: missing rating
    weights = rng.random(500)
    ours = D.human_distributions(items, codes, n_items, n_labels, weights)
    for i in range(n_items):
        tally = np.zeros(n_labels)
        for it, c, w in zip(items, codes, weights, strict=True):
            if it == i and c >= 0:
                tally[c] += w
        if tally.sum() == 0:
            assert np.isnan(ours[i]).all()
        else:
            np.testing.assert_allclose(ours[i], tally / tally.sum(), rtol=0, atol=1e-12)
    plain = D.human_distributions(items, codes, n_items, n_labels)
    crowd = D.Crowd(items, codes, n_items, n_labels)
    np.testing.assert_array_equal(crowd.distributions, plain)
    assert crowd.sizes.sum() == (codes >= 0).sum()


def test_group_distributions_equal_each_groups_own_distribution():
    rng = np.random.default_rng(2)
    items, codes, groups = rng.integers(0, 20, 400), rng.integers(0, 3, 400), rng.integers(-1, 3, 400)
    crowd = D.Crowd(items, codes, 20, 3)
    out = D.group_distributions(crowd, groups, 3)
    for g in range(3):
        np.testing.assert_array_equal(out[g], D.human_distributions(items[groups == g], codes[groups == g], 20, 3))


def _annotations(values: list[float], rmap: RatingMap) -> Annotations:
    """Three items, two raters, ratings given in item-major order (NaN = missing)."""
    items = pd.DataFrame(index=pd.Index(["a", "b", "c"], name="item_id"))
    raters = pd.DataFrame(index=pd.Index(["r1", "r2"], name="rater_id"))
    item_index, rater_index = np.repeat(np.arange(3), 2), np.tile(np.arange(2), 3)
    return Annotations("toy", items, raters, item_index, rater_index, np.array(values, dtype=float), rmap)


def test_label_codes_follow_the_rating_map_order():
    data = _annotations([1.0, 0.0, 0.5, np.nan, 0.0, 0.0], RatingMap.dices())
    coded = label_codes(data)
    assert coded.labels == ("Yes", "Unsure", "No")
    np.testing.assert_array_equal(coded.positions, [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(coded.codes, [0, 2, 1, -1, 2, 2])
    crowd, _ = crowd_of(data)
    np.testing.assert_array_equal(crowd.distributions, [[0.5, 0, 0.5], [0, 1, 0], [0, 0, 1]])


def test_label_codes_refuse_a_rating_no_label_maps_to():
    with pytest.raises(InputError, match="rating 0.25 is no value of rating map dices"):
        label_codes(_annotations([1.0, 0.25, 0.5, 0.5, 0.0, 0.0], RatingMap.dices()))


def test_label_codes_of_a_numeric_set_are_its_sorted_values():
    coded = label_codes(_annotations([5, 1, 3, 3, np.nan, 1], RatingMap.numeric_scale()))
    assert coded.labels == ("1", "3", "5")
    np.testing.assert_array_equal(coded.codes, [2, 0, 1, 1, -1, 0])


# ----- aggregates --------------------------------------------------------------------------------
def test_bootstrap_means_equal_means_of_resampled_items():
    rng = np.random.default_rng(3)
    values = rng.random((50, 2))
    values[rng.random((50, 2)) < 0.1] = np.nan
    reps = D.bootstrap_means(values, 200, 7)
    idx = resample_indices(50, 200, 7)
    np.testing.assert_allclose(reps, np.nanmean(values[idx], axis=1), rtol=1e-12)
    est = D.mean_ci(values, 200, 7)
    np.testing.assert_allclose(est.estimate, np.nanmean(values, axis=0), rtol=1e-12)
    assert (est.low < est.estimate).all() and (est.estimate < est.high).all()


def test_paired_difference_is_paired_and_tests_zero():
    rng = np.random.default_rng(4)
    a = rng.random(200)
    b = a - 0.05 + 0.01 * rng.standard_normal(200)
    diff = D.paired_difference(a, b, 1000, 0)
    np.testing.assert_allclose(diff.replicates, D.bootstrap_means(a, 1000, 0) - D.bootstrap_means(b, 1000, 0), atol=1e-12)
    assert diff.low[0] > 0.04 and diff.high[0] < 0.06 and diff.p[0] < 0.01
    assert D.paired_difference(a, a + 0.01 * rng.standard_normal(200), 1000, 0).p[0] > 0.01


def test_entropy_tracking_is_scipy_spearman_of_the_entropies():
    rng = np.random.default_rng(5)
    human = _random_distributions(rng, 120, 3)
    model = 0.7 * human + 0.3 * _random_distributions(rng, 120, 3)
    est = D.entropy_tracking(model, human, 500, 0)
    rho = stats.spearmanr(D.entropy(model), D.entropy(human)).statistic
    assert est.estimate[0] == pytest.approx(rho, abs=1e-12)
    assert est.low[0] < rho < est.high[0] and est.low[0] > 0.3


# ----- split halves and the k curve against plain loops -----------------------------------------
@pytest.fixture(scope="module")
def small_crowd() -> D.Crowd:
    rng = np.random.default_rng(6)
    sizes = rng.integers(1, 9, 12)
    items = np.repeat(np.arange(12), sizes)
    return D.Crowd(items, rng.integers(0, 3, len(items)), 13, 3)  # item 12 unrated, some items with one rating


def _pool(codes: np.ndarray, n_labels: int) -> np.ndarray:
    """Label shares of a list of codes."""
    return np.bincount(codes, minlength=n_labels) / len(codes)


def test_split_half_equals_a_loop_over_splits_and_items(small_crowd):
    crowd, n_splits = small_crowd, 7
    keys = np.random.default_rng([3, D.SPLIT_STREAM]).random((n_splits, len(crowd.codes)))
    expected = np.full(crowd.n_items, np.nan)
    for i in range(crowd.n_items):
        members = np.flatnonzero(crowd.item_index == i)
        if len(members) < 2:
            continue
        total = 0.0
        for s in range(n_splits):
            order = members[np.argsort(keys[s, members])]
            half = len(members) // 2
            total += jensenshannon(_pool(crowd.codes[order[:half]], 3), _pool(crowd.codes[order[half:]], 3), base=2) ** 2
        expected[i] = total / n_splits
    out = D.split_half(crowd, n_splits, 3)
    np.testing.assert_allclose(out.split, expected, rtol=0, atol=1e-12)
    n = crowd.sizes
    np.testing.assert_allclose(out.ceiling, expected * (n // 2) * (n - n // 2) / n**2, rtol=1e-12)


def test_k_curve_equals_a_loop_over_draws_items_and_k(small_crowd):
    crowd, n_draws = small_crowd, 5
    model = _random_distributions(np.random.default_rng(7), crowd.n_items, 3)
    keys = np.random.default_rng([4, D.CURVE_STREAM]).random((n_draws, len(crowd.codes)))
    k_max = int(crowd.sizes.max()) - 1
    human, mine = np.full((crowd.n_items, k_max), np.nan), np.full((crowd.n_items, k_max), np.nan)
    for i in range(crowd.n_items):
        members = np.flatnonzero(crowd.item_index == i)
        for k in range(1, len(members)):
            h = m = 0.0
            for s in range(n_draws):
                order = members[np.argsort(keys[s, members])]
                rest = _pool(crowd.codes[order[k:]], 3)
                h += D.wasserstein(_pool(crowd.codes[order[:k]], 3), rest)
                m += D.wasserstein(model[i], rest)
            human[i, k - 1], mine[i, k - 1] = h / n_draws, m / n_draws
    out = D.k_curve(crowd, model[None], n_draws=n_draws, seed=4, metric=D.Metric("wasserstein"))
    np.testing.assert_array_equal(out.ks, np.arange(1, k_max + 1))
    np.testing.assert_allclose(out.human, human, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out.model[0], mine, rtol=0, atol=1e-12)


def test_human_equivalence_interpolates_in_one_over_k():
    ks = np.arange(1, 31)
    curve = 0.2 / ks + 0.01  # the c/k + noise shape of a k curve
    for k0 in (1.0, 2.5, 7.0, 19.3):
        assert D.human_equivalence(0.2 / k0 + 0.01, curve) == pytest.approx(k0, rel=1e-12)
    assert D.human_equivalence(0.2 / 0.5 + 0.01, curve) == pytest.approx(0.5, rel=1e-12)  # worse than one human
    assert D.human_equivalence(0.01, curve) == np.inf  # closer than all 30 humans
    both = D.human_equivalence(np.array([[0.2 / 4 + 0.01], [0.2 / 9 + 0.01]]), np.stack([curve, curve]))
    np.testing.assert_allclose(both, [4.0, 9.0], rtol=1e-12)
    assert np.isnan(D.human_equivalence(0.1, np.full(5, np.nan)))


# ----- synthetic crowds ----------------------------------------------------------------------------
def simulate_crowd(rng: np.random.Generator, n_items: int = 300, pool: int = 200, sizes: tuple[int, int] = (20, 60), held: int = 0):
    """A crossed crowd: item locations, per-rater biases on a cumulative-logit scale, a random 20-60 of the pool per item.

    Returns the true label distribution per item (the mean over the pool), the crowd, and the
    distributions of ``held`` further raters per item, drawn like the crowd's but kept out of it.
    """
    mu, bias = rng.normal(0, 1.5, n_items), rng.normal(0, 0.6, pool)
    cum = 1 / (1 + np.exp(-(np.array([-0.8, 0.8])[None, None, :] - mu[:, None, None] - bias[None, :, None])))
    probs = np.diff(np.concatenate([np.zeros((n_items, pool, 1)), cum, np.ones((n_items, pool, 1))], axis=2), axis=2)
    n_i = rng.integers(sizes[0], sizes[1] + 1, n_items)
    take = np.arange(pool)[None, :] < (n_i + held)[:, None]
    items = np.broadcast_to(np.arange(n_items)[:, None], take.shape)[take]
    raters = np.argsort(rng.random((n_items, pool)), axis=1)[take]
    codes = (rng.random(len(items))[:, None] > np.cumsum(probs[items, raters], axis=1)[:, :-1]).sum(axis=1)
    is_held = (np.cumsum(take, axis=1) - 1)[take] < held
    crowd = D.Crowd(items[~is_held], codes[~is_held], n_items, 3)
    return probs.mean(axis=1), crowd, D.human_distributions(items[is_held], codes[is_held], n_items, 3)


@pytest.mark.parametrize("name", ["jsd", "tv", "wasserstein"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_true_distribution_scores_at_the_noise_ceiling_and_global_shares_worse(name, seed):
    truth, crowd, _ = simulate_crowd(np.random.default_rng(seed))
    metric = D.Metric(name, np.array([0.0, 1.0, 2.0]))
    ceiling = D.split_half(crowd, 50, seed, metric).ceiling
    human = crowd.distributions
    true_model = metric(truth, human)
    global_model = metric(np.nanmean(human, axis=0), human)
    at_ceiling = D.paired_difference(true_model, ceiling, 1000, seed)
    assert at_ceiling.low[0] < 0 < at_ceiling.high[0], (at_ceiling.estimate, at_ceiling.low, at_ceiling.high)
    ci = D.mean_ci(np.stack([ceiling, true_model], axis=1), 1000, seed)
    assert ci.low[1] < ci.estimate[0] < ci.high[1]  # the ceiling lies in the true model's interval
    worse = D.paired_difference(global_model, ceiling, 1000, seed)
    assert worse.low[0] > 0
    versus = D.paired_difference(global_model, true_model, 1000, seed)  # two models, paired
    assert versus.low[0] > 0 and versus.p[0] < 0.01


@pytest.mark.parametrize("k", [1, 5, 20])
@pytest.mark.parametrize("seed", [0, 1])
def test_k_star_recovers_k_held_back_raters(k, seed):
    _, crowd, model = simulate_crowd(np.random.default_rng([seed, k]), sizes=(40, 80), held=k)
    curve = D.k_curve(crowd, model[None], k_max=39, n_draws=20, seed=seed)
    est = D.k_star(curve, 0, 1000, seed)
    assert est.low[0] <= k <= est.high[0], (est.estimate, est.low, est.high)
    assert est.high[0] - est.low[0] < 0.5 * k + 0.3  # and the interval says something


def test_k_star_of_the_true_distribution_exceeds_the_crowd():
    truth, crowd, _ = simulate_crowd(np.random.default_rng(9), sizes=(40, 80))
    est = D.k_star(D.k_curve(crowd, truth[None], k_max=39, n_draws=20, seed=0), 0, 500, 0)
    assert est.estimate[0] > 39 and est.low[0] > 20


def test_k_star_needs_models():
    _, crowd, _ = simulate_crowd(np.random.default_rng(0), n_items=20)
    with pytest.raises(ValueError, match="needs a k curve computed with models"):
        D.k_star(D.k_curve(crowd, n_draws=2), 0, 10, 0)


# ----- groups ---------------------------------------------------------------------------------------
def test_compare_groups_finds_the_group_the_model_copies_and_adjusts_by_holm():
    rng = np.random.default_rng(10)
    n_items, per = 200, 30
    base = rng.dirichlet(np.ones(3), n_items)
    shifted = [np.roll(base, s, axis=1) * 0.5 + base * 0.5 for s in range(3)]  # group 0 is base itself
    items = np.repeat(np.arange(n_items), 3 * per)
    groups = np.tile(np.repeat(np.arange(3), per), n_items)
    p = np.stack(shifted)[groups, items]
    codes = (rng.random(len(items))[:, None] > np.cumsum(p, axis=1)[:, :-1]).sum(axis=1)
    crowd = D.Crowd(items, codes, n_items, 3)
    per_item = D.group_divergences(crowd, groups, 3, base)
    np.testing.assert_allclose(per_item[:, 1], D.jensen_shannon(base, D.group_distributions(crowd, groups, 3)[1]), atol=1e-15)
    out = D.compare_groups(per_item, 1000, 0)
    assert out.closest == 0 and out.pairs == [(0, 1), (0, 2), (1, 2)]
    assert (out.differences.high[:2] < 0).all()
    np.testing.assert_array_equal(out.p_holm, holm(out.differences.p))
    assert (out.p_holm >= out.differences.p).all()


# ----- coverage ------------------------------------------------------------------------------------
def _iid_items(rng: np.random.Generator, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-item JSD of a miscalibrated model to crowds of 5-15 raters, each rater with its own bias (items independent)."""
    mu = rng.normal(0, 1.5, n_items)
    sizes = rng.integers(5, 16, n_items)
    items = np.repeat(np.arange(n_items), sizes)
    latent = mu[items] + rng.normal(0, 0.6, len(items)) + rng.logistic(0, 1, len(items))
    codes = np.searchsorted(np.array([-0.8, 0.8]), latent)
    human = D.human_distributions(items, codes, n_items, 3)
    cum = 1 / (1 + np.exp(-(np.array([-0.4, 1.2])[None, :] - 0.8 * mu[:, None])))
    model = np.diff(np.concatenate([np.zeros((n_items, 1)), cum, np.ones((n_items, 1))], axis=1), axis=1)
    return D.jensen_shannon(model, human), human


def test_the_mean_jsd_interval_covers_93_to_97_percent():
    truth = _iid_items(np.random.default_rng(12345), 400_000)[0].mean()
    covered = []
    for sim in range(1000):
        values, _ = _iid_items(np.random.default_rng([77, sim]), 150)
        est = D.mean_ci(values, 1000, sim)
        covered.append(est.low[0] <= truth <= est.high[0])
    assert 0.93 <= np.mean(covered) <= 0.97, np.mean(covered)


@pytest.mark.parametrize("sizes", [[5, 7, 6, 5], [3, 2, 400, 4, 3]])  # similar sizes (padded sort) and one huge item (one sort)
def test_within_item_ranks_equal_a_plain_loop_on_both_paths(sizes):
    rng = np.random.default_rng(len(sizes))
    item = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    crowd = D.Crowd(item, rng.integers(0, 3, len(item)), len(sizes), 3)
    keys = rng.random((4, len(item)))
    got = D._within_item_ranks(crowd, keys)
    for r in range(4):
        for i in range(len(sizes)):
            where = np.flatnonzero(crowd.item_index == i)
            assert got[r, where].tolist() == np.argsort(np.argsort(keys[r, where])).tolist()


def test_entropy_tracking_on_many_items_keeps_ranks_and_agrees_with_reranking():
    """Beyond RERANK_MAX_ITEMS the bootstrap keeps the items' ranks; its interval matches re-ranking each resample."""
    from annalign.stats.bootstrap import bootstrap_spearman

    rng = np.random.default_rng(5)
    n = D.RERANK_MAX_ITEMS + 5000
    human = rng.dirichlet([1, 1, 1], n)
    model = 0.6 * human + 0.4 * rng.dirichlet([1, 1, 1], n)
    fast = D.entropy_tracking(model, human, 200, 3)
    slow = bootstrap_spearman(D.entropy(model), D.entropy(human), 200, 3)
    assert fast.estimate[0] == pytest.approx(stats.spearmanr(D.entropy(model), D.entropy(human)).statistic, abs=1e-12)
    assert fast.low[0] == pytest.approx(np.quantile(slow, 0.025), abs=0.005)
    assert fast.high[0] == pytest.approx(np.quantile(slow, 0.975), abs=0.005)
