"""The rater part of crossed intervals for distributional means: the humans are a sample of raters too.

A machine's mean divergence from the crowd's label shares depends on which raters the crowd holds:
a rater who calls more items unsafe than others moves every item's shares the same way, so the
item bootstrap (raters fixed) understates the uncertainty of a claim about the population of raters,
the more so the fewer raters a crowd or a group has. The scheme follows the crossed scheme of
RQ1/RQ2 (annalign.stats.crossed, which cites the literature): item-bootstrap replicates plus a
rater part whose variance is cross-fitted so that the item x rater noise is counted once. Unlike
RQ2's correlations, a divergence is at a minimum where the machine matches the crowd, so a rater's
effect on it is mostly of second order (a lenient panel moves every item away from the machine,
whichever way it leans): the first-order influence of the infinitesimal jackknife misses it (in
simulations it gave intervals of about 90% coverage). So the rater part resamples the raters, by
half-sampling rather than the ordinary bootstrap: a divergence grows as a crowd shrinks (its
sampling noise), and a bootstrap draw of k raters holds a varying number of distinct ones, which
moves every item's divergence together and reads as rater variance (in simulations about 1.5 times
the true spread for groups of 10). A half-sample always holds the same number of distinct raters.

- each replicate keeps a random half (m = floor(k/2), without replacement) of every group's raters,
  one draw shared by every machine and statistic, so differences stay paired, and recomputes every
  item's label shares from the kept ratings and each item's statistic;
- the same replicates give the statistic's mean on random halves of the items; a rater's real
  effect is shared by two disjoint halves while the item x rater noise is not, so the covariance of
  the halves' replicates over the variance of the full mean is the share of the rater replicates'
  variance that the item bootstrap does not already hold, pooled over groups
  (annalign.stats.crossed.pooled_signal_share);
- the rater part of a replicate is its centred deviation times sqrt(share x m / (k - m)) and an
  independent sqrt((k - 1) / chi2(k - 1)) for t(k - 1) tails (a variance from 4 raters has 3
  degrees of freedom; annalign.stats.crossed.variance_spread): a half
  sample's mean of k values varies by s2 (1/m - 1/k), the rater part of a k-rater crowd by s2 / k
  (the classic half-sampling variance, McCarthy 1969, "Pseudoreplication: half samples", Rev. Int.
  Stat. Inst. 37(3)).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from annalign.stats.crossed import pooled_signal_share, variance_spread

#: Random item halves for the cross-fitted rater share.
N_SPLITS = 10
#: Replicate x cell x label entries per chunk of the rater bootstrap (memory bound, about 8 bytes each).
CHUNK_ENTRIES = 4_000_000
#: Distinct rater half-samples: at most MAX_DRAWS, fewer (down to MIN_DRAWS) where draws x cells x labels x
#: statistics would pass WORK_ENTRIES; replicate b of the item bootstrap takes half-sample b mod draws (the two
#: parts are independent, so reusing rater draws across item draws only coarsens the rater part's distribution).
MAX_DRAWS, MIN_DRAWS, WORK_ENTRIES = 1000, 200, 300_000_000
#: A per-cell statistic of label shares: (replicates, cells, labels) and the cells' indices -> (replicates, cells, statistics).
CellStatistic = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class RatedCells:
    """Ratings as (cell, label code, rater); a cell is an item, or a group's view of an item (group x n_items + item)."""

    cell: np.ndarray
    code: np.ndarray
    rater: np.ndarray
    n_cells: int
    n_labels: int
    #: per cell, its item (for the item halves) and its group (0..n_groups-1)
    cell_item: np.ndarray
    cell_group: np.ndarray


def group_cells(item_index: np.ndarray, codes: np.ndarray, rater: np.ndarray, group: np.ndarray, n_groups: int, n_items: int,
                n_labels: int) -> RatedCells:
    """Ratings as cells of each group's view of each item (cell g x n_items + item); ratings of no group (-1) are left out."""
    keep = group >= 0
    return RatedCells(group[keep] * n_items + item_index[keep], codes[keep], rater[keep], n_groups * n_items, n_labels,
                      np.tile(np.arange(n_items), n_groups), np.repeat(np.arange(n_groups), n_items))  # fmt: skip


def _rater_draws(cells: RatedCells, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """((n_boot, n_raters) 0/1 weights, raters per group): each replicate keeps a random half of every group's raters."""
    n_raters = int(cells.rater.max()) + 1 if len(cells.rater) else 0
    group_of_rater = np.full(n_raters, -1, dtype=np.int64)
    group_of_rater[cells.rater] = cells.cell_group[cells.cell]
    rng = np.random.default_rng([seed, 31])
    weights = np.zeros((n_boot, n_raters))
    n_groups = int(cells.cell_group.max()) + 1 if len(cells.cell_group) else 0
    sizes = np.zeros(n_groups, dtype=np.int64)
    for g in range(n_groups):  # groups are few; each is one vectorised draw for all replicates
        members = np.flatnonzero(group_of_rater == g)
        sizes[g] = len(members)
        weights[:, members] = np.argsort(rng.random((n_boot, len(members))), axis=1) < len(members) // 2
    return weights, sizes


def _half_design(cells: RatedCells, seed: int) -> sparse.csc_matrix:
    """(cells, groups x (1 + 2 N_SPLITS)): column g (1 + 2 N_SPLITS) + j is group g's cells in item weighting j (all, halves)."""
    n_items = int(cells.cell_item.max()) + 1 if len(cells.cell_item) else 0
    rng = np.random.default_rng([seed, 32])
    halves = (np.argsort(rng.random((N_SPLITS, n_items)), axis=1) < n_items // 2).astype(float)
    u = np.vstack([np.ones(n_items), halves, 1.0 - halves])  # (1 + 2 N_SPLITS, items)
    width = u.shape[0]
    rows = np.repeat(np.arange(cells.n_cells), width)
    cols = (cells.cell_group[:, None] * width + np.arange(width)[None, :]).ravel()
    values = u[:, cells.cell_item].T.ravel()
    n_groups = int(cells.cell_group.max()) + 1
    return sparse.csc_matrix((values, (rows, cols)), shape=(cells.n_cells, n_groups * width))


def rater_bootstrap(cells: RatedCells, statistic: CellStatistic, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(means (n_boot, groups, 1 + 2 N_SPLITS, statistics), raters per group) of the raters-resampled statistic.

    Axis 2 holds the mean over all the group's cells, then over each first half, then each second half.
    """
    weights, sizes = _rater_draws(cells, n_boot, seed)
    # ratings -> (cell, label) incidence per rater: counts of a replicate are weights @ incidence
    incidence = sparse.csr_matrix(
        (np.ones(len(cells.rater)), (cells.rater, cells.cell * cells.n_labels + cells.code)),
        shape=(weights.shape[1], cells.n_cells * cells.n_labels),
    )
    design = _half_design(cells, seed)
    n_groups, width = len(sizes), design.shape[1] // max(len(sizes), 1)
    everything = np.arange(cells.n_cells)
    out = None
    chunk = max(1, CHUNK_ENTRIES // max(cells.n_cells * cells.n_labels, 1))
    for start in range(0, n_boot, chunk):  # chunks of replicates bound the memory; each is one vectorised pass
        w = weights[start : start + chunk]
        counts = np.asarray((incidence.T @ w.T).T).reshape(len(w), cells.n_cells, cells.n_labels)
        total = counts.sum(axis=2, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(total > 0, counts / np.where(total > 0, total, 1.0), np.nan)
        values = statistic(shares, everything)  # (b, cells, statistics)
        valid = np.isfinite(values)
        if out is None:
            out = np.empty((n_boot, n_groups, width, values.shape[2]))
        for s in range(values.shape[2]):  # statistics are few (machines x divergences)
            sums = np.asarray((design.T @ np.where(valid[:, :, s], values[:, :, s], 0.0).T).T)
            used = np.asarray((design.T @ valid[:, :, s].T.astype(float)).T)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[start : start + len(w), :, :, s] = (sums / np.where(used > 0, used, np.nan)).reshape(len(w), n_groups, width)
    assert out is not None
    return out, sizes


def n_draws(cells: RatedCells, n_statistics: int, n_boot: int) -> int:
    """How many distinct rater half-samples serve ``n_boot`` replicates (see MAX_DRAWS)."""
    budget = WORK_ENTRIES // max(cells.n_cells * cells.n_labels * n_statistics, 1)
    return int(min(n_boot, max(MIN_DRAWS, min(MAX_DRAWS, budget))))


def rater_parts(cells: RatedCells, statistic: CellStatistic, n_boot: int, seed: int, n_statistics: int = 1) -> np.ndarray:
    """(n_boot, groups, statistics): the rater part of every crossed replicate of each group's mean statistic."""
    draws = n_draws(cells, n_statistics, n_boot)
    parts = _parts(cells, statistic, draws, seed)
    return parts if draws == n_boot else parts[np.arange(n_boot) % draws]


def _parts(cells: RatedCells, statistic: CellStatistic, n_boot: int, seed: int) -> np.ndarray:
    """rater_parts for ``n_boot`` distinct half-samples."""
    means, sizes = rater_bootstrap(cells, statistic, n_boot, seed)
    full, first, second = means[:, :, 0], means[:, :, 1 : N_SPLITS + 1], means[:, :, N_SPLITS + 1 :]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a group of one rater has no half: all-NaN, its part is 0
        centred = full - np.nanmean(full, axis=0)
        total = np.nanvar(full, axis=0, ddof=1)  # (groups, statistics)
        cross = (first - np.nanmean(first, axis=0)) * (second - np.nanmean(second, axis=0))
        clean = np.nanmean(np.nansum(cross, axis=0) / (np.isfinite(cross).sum(axis=0) - 1), axis=1)
    share = pooled_signal_share(clean, total, sizes)  # (statistics,)
    k = sizes.astype(float)[None, :, None]
    m = np.floor(k / 2)
    scale = np.sqrt(share[None, None, :] * m / np.maximum(k - m, 1))  # half-sample variance s2 (1/m - 1/k) -> s2 / k
    # t(k - 1) tails, as in the crossed scheme: a rater variance estimated from k raters is itself uncertain
    tails = np.stack([np.sqrt(variance_spread(len(full), int(n), seed, 40 + g)) for g, n in enumerate(sizes)], axis=1)[:, :, None]
    return np.where(np.isfinite(centred), centred * scale * tails, 0.0) * (k >= 2)
