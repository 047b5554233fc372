"""The rater part of crossed intervals for distributional means: the humans are a sample of raters too.

A machine's mean divergence from the crowd's label shares depends on which raters the crowd holds:
a rater who calls more items unsafe than others moves every item's shares the same way, so the
item bootstrap (raters fixed) understates the uncertainty of a claim about the population of raters,
and the more so the fewer raters a crowd or a group has. The same construction as the crossed
scheme of RQ1/RQ2 (annalign.stats.crossed, which cites the literature) serves here:

- each rater's influence is the derivative of the mean statistic in that rater's weight (the
  infinitesimal jackknife), by central differences of every item's statistic along the rating's
  direction (e_label - shares) / n_item, so any divergence works without its own derivative;
- the rater variance is cross-fitted on random halves of the items (the product of the halves'
  influences keeps the raters' real effect and drops the item x rater noise the item bootstrap
  already counts), and the influences are shrunk to that share;
- the crossed replicates are the item-bootstrap replicates plus a Gaussian multiplier bootstrap of
  the shrunk influences, with t(k-1) tails; the multipliers are shared by every machine and
  statistic (and groups have disjoint raters), so differences stay paired.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse

from annalign.stats.crossed import multiplier_draws, pooled_signal_share, variance_spread

#: Step of the central differences in a rater's weight.
STEP = 1e-4
#: Random item halves for the cross-fitted rater variance.
N_SPLITS = 10
#: A per-item statistic of the human shares (items x labels) for the given item rows: returns (rows, statistics).
ItemStatistic = Callable[[np.ndarray, np.ndarray], np.ndarray]


def rating_derivatives(statistic: ItemStatistic, shares: np.ndarray, item: np.ndarray, code: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """(ratings, statistics): d statistic of the rating's item / d the weight of its rater, at weight 1."""
    q = shares[item]
    onehot = np.zeros_like(q)
    onehot[np.arange(len(code)), code] = 1.0
    direction = (onehot - q) / np.maximum(sizes[item], 1)[:, None]
    up, down = statistic(q + STEP * direction, item), statistic(q - STEP * direction, item)
    with np.errstate(invalid="ignore"):
        return (np.atleast_2d(up.T).T - np.atleast_2d(down.T).T) / (2 * STEP)


def rater_gradients(derivatives: np.ndarray, item: np.ndarray, rater: np.ndarray, valid: np.ndarray, u: np.ndarray, n_raters: int) -> np.ndarray:
    """(rows of u, raters, statistics): d mean over the items weighted by a row of u (valid items only) / d rater weight."""
    n_items, n_stats = valid.shape
    d = np.where(valid[item], np.nan_to_num(derivatives), 0.0)
    # one sparse raters x ratings matrix; a loop over the 2 N_SPLITS + 1 item weightings, each O(ratings x statistics)
    to_rater = sparse.csr_matrix((np.ones(len(rater)), (rater, np.arange(len(rater)))), shape=(n_raters, len(rater)))
    out = np.empty((u.shape[0], n_raters, n_stats))
    for row in range(u.shape[0]):
        weight = u[row]
        denom = weight @ valid.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[row] = np.asarray(to_rater @ (weight[item][:, None] * d)) / np.where(denom > 0, denom, np.nan)
    return out


def _variances(derivatives: np.ndarray, item: np.ndarray, rater: np.ndarray, valid: np.ndarray, n_raters: int, seed: int) -> tuple[np.ndarray, ...]:
    """(full-data gradients (raters, s), cross-fitted rater variance (s,), jackknife variance (s,))."""
    n_items = valid.shape[0]
    rng = np.random.default_rng([seed, 30])
    halves = (np.argsort(rng.random((N_SPLITS, n_items)), axis=1) < n_items // 2).astype(float)
    grads = rater_gradients(derivatives, item, rater, valid, np.vstack([np.ones(n_items), halves, 1.0 - halves]), n_raters)
    full, first, second = np.nan_to_num(grads[0]), grads[1 : N_SPLITS + 1], grads[N_SPLITS + 1 :]
    scale = n_raters / max(n_raters - 1, 1)
    clean = scale * np.nanmean(np.nansum(first * second, axis=1), axis=0)
    return full, np.where(np.isfinite(clean), clean, 0.0), scale * (full**2).sum(axis=0)


def rater_parts(
    derivatives: np.ndarray, item: np.ndarray, rater: np.ndarray, rating_group: np.ndarray, valid: np.ndarray, n_boot: int, seed: int
) -> np.ndarray:
    """(n_boot, groups x statistics): the rater part of every crossed replicate.

    ``derivatives`` (ratings, statistics) come from ``rating_derivatives`` on each rating's own
    group's shares, ``rating_group`` is each rating's group (0 for one crowd, -1 for none) and
    ``valid`` (groups, items, statistics) where a group's item statistic is defined; column g x statistics + s of
    the result is statistic s of group g. ``rater`` is each rating's rater index (a rater belongs to
    one group). The signal share of each statistic is pooled over groups.
    """
    rating_group = np.asarray(rating_group, dtype=np.int64)
    n_groups, n_stats = int(rating_group.max()) + 1 if len(rating_group) else 0, derivatives.shape[1]
    multipliers = multiplier_draws(n_boot, int(rater.max()) + 1 if len(rater) else 1, seed)
    out = np.zeros((n_boot, n_groups * n_stats))
    parts = []
    for g in range(n_groups):  # groups are few; each is one vectorised pass over its ratings
        mine = np.flatnonzero(rating_group == g)
        members, local = np.unique(rater[mine], return_inverse=True)
        if len(members) >= 2:
            parts.append((g, members, *_variances(derivatives[mine], item[mine], local, valid[g], len(members), seed)))
    if not parts:
        return out
    sizes = np.array([len(p[1]) for p in parts])
    share = pooled_signal_share(np.stack([p[3] for p in parts]), np.stack([p[4] for p in parts]), sizes)
    for g, members, full, _, _ in parts:
        k = len(members)
        spread = k / max(k - 1, 1) * variance_spread(n_boot, k, seed, 40 + g)
        out[:, g * n_stats : (g + 1) * n_stats] = np.sqrt(spread)[:, None] * (multipliers[:, members] @ (full * np.sqrt(share)[None, :]))
    return out
