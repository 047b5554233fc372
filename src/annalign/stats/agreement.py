"""Krippendorff's alpha from per-item value counts: any number of raters per item, missing ratings, item weights.

Written here rather than taken from the ``krippendorff`` package (which the tests check it against,
to 1e-9): that package takes a dense raters x items matrix, so a million sparse ratings of
100,000 items by 2,000 raters would need 200 million cells, and it computes one alpha per call,
where a bootstrap needs thousands. Here everything is a sum over items of per-item terms, so an
item bootstrap is one matrix product of resampling counts with those terms (Krippendorff 2011,
"Computing Krippendorff's alpha-reliability": coincidences o_ck = sum_u pairs(c, k in u) / (m_u - 1)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: levels of measurement with a coincidence-matrix form here ("interval" also has the sums form)
LEVELS = ("nominal", "ordinal", "interval")
#: distinct values up to which nominal and ordinal alpha are computed (beyond it the values are not categories)
MAX_CATEGORIES = 50


@dataclass(frozen=True)
class UnitTerms:
    """Per item: the terms whose item-weighted sums give alpha (only items with at least two ratings count)."""

    values: np.ndarray  # (V,) the distinct values, sorted
    coincidence: np.ndarray  # (items, V * V): w_u (N_u N_u^T - diag N_u), w_u = 1 / (m_u - 1)
    sums: np.ndarray  # (items, 3): per item over its ratings, with w_u: [m_u, sum x, sum x^2] (pairable items only)
    within: np.ndarray  # (items,): w_u * sum over ordered pairs of (x_i - x_j)^2 = w_u (2 m S2 - 2 S1^2)


def unit_terms(item: np.ndarray, value: np.ndarray, n_items: int, max_categories: int = MAX_CATEGORIES) -> UnitTerms:
    """The per-item terms of every rating (item index, value); non-finite values are left out (missing)."""
    keep = np.isfinite(value)
    item, value = np.asarray(item)[keep], np.asarray(value, dtype=float)[keep]
    m = np.bincount(item, minlength=n_items).astype(float)
    pairable = m >= 2
    w = np.where(pairable, 1.0 / np.where(pairable, m - 1, 1.0), 0.0)
    s1 = np.bincount(item, weights=value, minlength=n_items)
    s2 = np.bincount(item, weights=value * value, minlength=n_items)
    values = np.unique(value)
    if len(values) <= max_categories:
        code = np.searchsorted(values, value)
        v = len(values)
        counts = np.zeros((n_items, v))
        np.add.at(counts, (item, code), 1.0)
        pairs = counts[:, :, None] * counts[:, None, :] - counts[:, :, None] * np.eye(v)[None, :, :]
        coincidence = (w[:, None, None] * pairs).reshape(n_items, v * v)
    else:
        coincidence = np.zeros((n_items, 0))
    sums = np.where(pairable[:, None], np.column_stack([m, s1, s2]), 0.0)
    within = w * (2 * m * s2 - 2 * s1 * s1)
    return UnitTerms(values, coincidence, sums, np.where(pairable, within, 0.0))


def ordinal_distance(n_c: np.ndarray) -> np.ndarray:
    """(..., V, V) squared ordinal distances from the marginal counts n_c (..., V) (Krippendorff's rank-based metric)."""
    cum = np.cumsum(n_c, axis=-1)
    lo = np.minimum(np.arange(n_c.shape[-1])[:, None], np.arange(n_c.shape[-1])[None, :])
    hi = np.maximum(np.arange(n_c.shape[-1])[:, None], np.arange(n_c.shape[-1])[None, :])
    before_lo = np.take(cum, lo, axis=-1) - np.take(n_c, lo, axis=-1)
    between = np.take(cum, hi, axis=-1) - before_lo
    d = between - (n_c[..., :, None] + n_c[..., None, :]) / 2.0
    return d * d


def alpha_from_coincidences(o: np.ndarray, values: np.ndarray, level: str) -> np.ndarray:
    """Alpha per row of flattened coincidence matrices o (..., V * V); NaN where undefined (no expected disagreement)."""
    v = len(values)
    o = np.asarray(o, dtype=float).reshape(*np.shape(o)[:-1], v, v)
    n_c = o.sum(axis=-1)
    n = n_c.sum(axis=-1)
    if level == "nominal":
        delta = np.broadcast_to(1.0 - np.eye(v), o.shape)
    elif level == "interval":
        delta = np.broadcast_to((values[:, None] - values[None, :]) ** 2, o.shape)
    elif level == "ordinal":
        delta = ordinal_distance(n_c)
    else:
        raise ValueError(f"unknown level of measurement {level!r}")
    observed = (o * delta).sum(axis=(-2, -1))
    expected = (n_c[..., :, None] * n_c[..., None, :] * delta).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 1.0 - (n - 1) * observed / expected
    return np.where(expected > 0, alpha, np.nan)


def interval_alpha_from_sums(sums: np.ndarray, within: np.ndarray) -> np.ndarray:
    """Interval alpha from item-weighted sums: sums (..., 3) of [m, S1, S2] and within (...,) of the per-item pair terms.

    Expected disagreement over all pairs of pairable values: sum_{i != j} (x_i - x_j)^2 = 2 n S2 - 2 S1^2.
    """
    n, s1, s2 = sums[..., 0], sums[..., 1], sums[..., 2]
    expected = 2 * n * s2 - 2 * s1 * s1
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 1.0 - (n - 1) * within / expected
    return np.where(expected > 1e-12 * np.maximum(n * s2, 1e-300), alpha, np.nan)


def alpha(terms: UnitTerms, level: str, weights: np.ndarray | None = None) -> np.ndarray:
    """Alpha at ``level`` for item weights (rows of ``weights``, (B, items); None: each item once)."""
    u = np.ones((1, terms.sums.shape[0])) if weights is None else np.atleast_2d(weights)
    if level == "interval":
        return interval_alpha_from_sums(u @ terms.sums, u @ terms.within)
    if terms.coincidence.shape[1] == 0:
        return np.full(u.shape[0], np.nan)
    return alpha_from_coincidences(u @ terms.coincidence, terms.values, level)
