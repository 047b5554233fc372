"""Average ranks, percentile of a score and the Mann-Whitney U statistic, in numpy (no scipy.stats import).

Average ranks are half-integers, exact in floating point, so these give the same floats as
``scipy.stats.rankdata``, ``percentileofscore(kind="mean")`` and ``mannwhitneyu(...).statistic``;
``tests/test_ranks.py`` checks them against scipy.stats, with ties and missing values.
"""

from __future__ import annotations

import numpy as np


def rankdata(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """Average ranks (1 = smallest; ties share their mean rank) along ``axis``; NaN stays NaN, ranked among the rest.

    ``scipy.stats.rankdata(a, axis=axis)`` for data without NaN, and with ``nan_policy="omit"`` for data with it.
    """
    a = np.asarray(a, dtype=float)
    if a.size == 0:
        return a.copy()
    moved = np.moveaxis(a, axis, -1)
    order = np.argsort(moved, axis=-1, kind="stable")  # NaN sorts last
    ordered = np.take_along_axis(moved, order, axis=-1)
    n = moved.shape[-1]
    position = np.broadcast_to(np.arange(n, dtype=float), moved.shape)
    starts = np.ones(moved.shape, dtype=bool)
    starts[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    # the first and last position of each run of equal values, spread over the run
    first = np.maximum.accumulate(np.where(starts, position, 0.0), axis=-1)
    ends = np.ones(moved.shape, dtype=bool)
    ends[..., :-1] = starts[..., 1:]
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, position, n), axis=-1), axis=-1), axis=-1)
    ranks_sorted = np.where(np.isnan(ordered), np.nan, (first + last) / 2 + 1)
    ranks = np.empty_like(ranks_sorted)
    np.put_along_axis(ranks, order, ranks_sorted, axis=-1)
    return np.moveaxis(ranks, -1, axis)


def percentile_of_score(a: np.ndarray, score: float) -> float:
    """Share (in %) of ``a`` below ``score``, ties counting half: ``scipy.stats.percentileofscore(a, score, kind="mean")``."""
    a = np.asarray(a, dtype=float)
    if len(a) == 0 or np.isnan(score):
        return float("nan")
    left = np.count_nonzero(a < score)
    right = np.count_nonzero(a <= score)
    return float((left + right) * (50.0 / len(a)))


def mann_whitney_u(x: np.ndarray, y: np.ndarray) -> float:
    """The Mann-Whitney U statistic of x against y (x's rank sum less its minimum; ``scipy.stats.mannwhitneyu(x, y).statistic``)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ranks = rankdata(np.concatenate([x, y]))
    n1 = len(x)
    return float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
