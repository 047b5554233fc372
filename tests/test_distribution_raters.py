"""The rater part of the distributional intervals: half-sampled raters recomputed as a plain loop would, paired, scaled."""

from __future__ import annotations

import numpy as np
import pytest

from annalign.stats import distributional as D
from annalign.stats import distributional_raters as R
from annalign.stats.crossed import variance_spread


def _cells(seed: int = 0, n_items: int = 40, sizes: tuple[int, ...] = (5, 8), missing: float = 0.2):
    """Random ratings of 3 labels by two groups, with missing ratings; cells are group x n_items + item."""
    rng = np.random.default_rng(seed)
    item, rater, group, code = [], [], [], []
    start = 0
    for g, k in enumerate(sizes):
        lean = rng.normal(0, 1, k)
        for j in range(k):
            seen = np.flatnonzero(rng.random(n_items) >= missing)
            item.append(seen)
            rater.append(np.full(len(seen), start + j))
            group.append(np.full(len(seen), g))
            code.append(np.clip(np.round(rng.normal(1 + 0.5 * lean[j], 0.8, len(seen))), 0, 2).astype(int))
        start += k
    item, rater, group, code = (np.concatenate(a) for a in (item, rater, group, code))
    n_groups = len(sizes)
    cells = R.RatedCells(group * n_items + item, code, rater, n_groups * n_items, 3, np.tile(np.arange(n_items), n_groups),
                         np.repeat(np.arange(n_groups), n_items))  # fmt: skip
    models = rng.dirichlet(np.ones(3), size=(2, n_items))
    return cells, models, n_items


def _statistic(models: np.ndarray, n_items: int):
    def statistic(q: np.ndarray, cell: np.ndarray) -> np.ndarray:
        return np.stack([D.jensen_shannon(m[cell % n_items][None], q) for m in models], axis=-1)

    return statistic


def test_replicate_means_equal_a_loop_over_replicates_groups_and_halves():
    cells, models, n_items = _cells()
    n_boot, seed = 12, 3
    means, sizes = R.rater_bootstrap(cells, _statistic(models, n_items), n_boot, seed)
    weights, _ = R._rater_draws(cells, n_boot, seed)
    halves = np.argsort(np.random.default_rng([seed, 32]).random((R.N_SPLITS, n_items)), axis=1) < n_items // 2
    assert list(sizes) == [5, 8]
    for b in range(n_boot):
        kept = weights[b][cells.rater] > 0
        for g in range(2):
            ours = (cells.cell_group[cells.cell] == g) & kept
            members = np.unique(cells.rater[cells.cell_group[cells.cell] == g])
            assert weights[b][members].sum() == len(members) // 2  # half of the group, without replacement
            shares = D.human_distributions(cells.cell[ours] - g * n_items, cells.code[ours], n_items, 3)
            for s, model in enumerate(models):
                jsd = D.jensen_shannon(model, shares)
                assert means[b, g, 0, s] == pytest.approx(np.nanmean(jsd), abs=1e-12)
                for j in range(R.N_SPLITS):
                    first = np.where(halves[j], jsd, np.nan)
                    second = np.where(~halves[j], jsd, np.nan)
                    assert means[b, g, 1 + j, s] == pytest.approx(np.nanmean(first), abs=1e-12)
                    assert means[b, g, 1 + R.N_SPLITS + j, s] == pytest.approx(np.nanmean(second), abs=1e-12)


def test_chunked_replicates_equal_one_pass(monkeypatch):
    cells, models, n_items = _cells(seed=1)
    whole = R.rater_parts(cells, _statistic(models, n_items), 30, 5)
    monkeypatch.setattr(R, "CHUNK_ENTRIES", 3 * cells.n_cells * cells.n_labels)  # three replicates per chunk
    assert np.allclose(R.rater_parts(cells, _statistic(models, n_items), 30, 5), whole, equal_nan=True)


def test_the_rater_part_is_centred_scaled_and_paired_across_machines():
    cells, models, n_items = _cells(seed=2, n_items=200, sizes=(6, 12))
    statistic = _statistic(np.stack([models[0], models[0]]), n_items)  # the same machine twice
    parts = R.rater_parts(cells, statistic, 400, 0)
    assert parts.shape == (400, 2, 2)
    assert np.allclose(parts[:, :, 0], parts[:, :, 1])  # one draw of raters for every statistic: differences are paired
    means, sizes = R.rater_bootstrap(cells, statistic, 400, 0)
    tails = np.stack([np.sqrt(variance_spread(400, int(k), 0, 40 + g)) for g, k in enumerate(sizes)], axis=1)
    untailed = parts[:, :, 0] / tails  # t(k-1) tails: an independent sqrt((k-1)/chi2) per replicate and group
    assert np.allclose(untailed.mean(axis=0), 0, atol=1e-12)  # centred half-sample deviations
    raw = means[:, :, 0, 0].std(axis=0, ddof=1)
    got = untailed.std(axis=0, ddof=1)
    m = sizes // 2
    # the half-sample spread scaled to a k-rater crowd, then shrunk to the rater share (at most the whole)
    assert (got <= raw * np.sqrt(m / (sizes - m)) + 1e-12).all() and (got > 0).all()


def test_a_group_of_one_rater_has_no_rater_part():
    cells, models, n_items = _cells(seed=3, sizes=(1, 6))
    parts = R.rater_parts(cells, _statistic(models, n_items), 50, 0)
    assert np.all(parts[:, 0] == 0) and np.any(parts[:, 1] != 0)


def test_many_replicates_reuse_a_bounded_number_of_half_samples(monkeypatch):
    cells, models, n_items = _cells(seed=4)
    statistic = _statistic(models, n_items)
    assert R.n_draws(cells, 2, 10_000) == R.MAX_DRAWS and R.n_draws(cells, 2, 50) == 50
    monkeypatch.setattr(R, "WORK_ENTRIES", 250 * cells.n_cells * cells.n_labels * 2)  # a large data set's budget
    assert R.n_draws(cells, 2, 10_000) == 250
    parts = R.rater_parts(cells, statistic, 600, 1, n_statistics=2)
    assert np.array_equal(parts[:250], R.rater_parts(cells, statistic, 250, 1, n_statistics=2))
    assert np.array_equal(parts[250:500], parts[:250]) and np.array_equal(parts[500:], parts[:100])
