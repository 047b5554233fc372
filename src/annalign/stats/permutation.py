"""Permutation p-values: one counting rule, and the row-permutation test of Pearson r.

Every permutation test in annalign reads its p-value through ``permutation_p``:
p = (1 + #permuted statistics at least as extreme as the observed one) / (1 + #permuted ones),
with a small tolerance so that permutations giving the observed value up to rounding count as
"as extreme" (Phipson and Smyth 2010: never zero, exact under exchangeability).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from annalign.stats.bootstrap import CHUNK_ENTRIES
from annalign.stats.correlation import unit_scale

#: Permuted statistics within this of the observed one count as equally extreme (rounding).
TOLERANCE = 1e-12


def permutation_p(
    observed: np.ndarray | float,
    permuted: np.ndarray,
    *,
    centre: bool = False,
    alternative: Literal["two-sided", "greater"] = "two-sided",
) -> np.ndarray:
    """(1 + #extreme) / (1 + #permuted) per position; ``permuted`` has the permutations on its first axis.

    two-sided: |perm - c| >= |obs - c| with c the permutation mean when ``centre`` (else 0);
    greater: perm >= obs. NaN permuted statistics are left out; NaN where observed is not finite
    or there are no permutations.
    """
    perm = np.asarray(permuted, dtype=float)
    obs = np.asarray(observed, dtype=float)
    if perm.shape[0] == 0:
        return np.full(obs.shape, np.nan)
    extreme, valid = exceedances(obs, perm, centre=centre, alternative=alternative)
    return np.where(np.isfinite(obs), (1 + extreme) / (1 + valid), np.nan)


def exceedances(
    observed: np.ndarray, permuted: np.ndarray, *, centre: bool = False, alternative: str = "two-sided"
) -> tuple[np.ndarray, np.ndarray]:
    """(#permuted at least as extreme, #permuted not NaN) per position: the counts ``permutation_p`` divides."""
    if alternative not in ("two-sided", "greater"):
        raise ValueError(f"unknown alternative {alternative!r}: use 'two-sided' or 'greater'")
    with np.errstate(invalid="ignore"):
        middle = np.nanmean(permuted, axis=0) if centre else 0.0
        if alternative == "two-sided":
            extreme = np.abs(permuted - middle) >= np.abs(observed - middle) - TOLERANCE
        else:
            extreme = permuted >= observed - TOLERANCE
    return extreme.sum(axis=0), (~np.isnan(permuted)).sum(axis=0)


def pearson_permutation_p(x: np.ndarray, y: np.ndarray, n_perm: int, seed: int, valid: np.ndarray | None = None) -> np.ndarray:
    """Two-sided permutation p-values of Pearson r per column of (n, k) arrays, over each column's ``valid`` rows.

    x's rows are permuted against y's; counted by ``exceedances``. ``valid`` (n, k; default: every
    row) marks the rows each column's r uses; columns with the same rows share their permutations.
    One set of random orders of the rows valid in any column serves every set of rows: restricted
    to a column's rows (the order they appear in), a uniform random order of all rows is a uniform
    random order of those (one shuffle of the union costs less than one per set of rows, 10 pairs'
    sets on 100,000 items). With every column on the same rows the orders are the plain shuffles of
    those rows from ``default_rng(seed)``. NaN with fewer than 3 rows.
    """
    x = np.atleast_2d(np.asarray(x, dtype=float).T).T
    y = np.atleast_2d(np.asarray(y, dtype=float).T).T
    valid = np.ones(x.shape, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    n, k = x.shape
    out = np.full(k, np.nan)
    row_sets, which = np.unique(valid.T, axis=0, return_inverse=True)
    which = which.ravel()
    sets = [u for u in range(len(row_sets)) if row_sets[u].sum() >= 3]
    if not sets or n_perm < 1:
        return out
    union = np.flatnonzero(row_sets[sets].any(axis=0))
    parts = []  # per set of rows: its columns, the rows' places among the union's (-1 if not in the set), zx, zy
    for u in sets:
        cols, rows = np.flatnonzero(which == u), row_sets[u]
        place = np.where(rows[union], np.cumsum(rows[union]) - 1, -1).astype(np.int32)
        zx, zy = (_standardised(unit_scale(a[rows][:, cols])) for a in (x, y))  # unit_scale: scale-free, finite sums
        parts.append((cols, None if np.all(rows[union]) else place, zx, zy, (zx * zy).sum(0)))
    rng = np.random.default_rng(seed)
    extreme, counted = np.zeros(k), np.zeros(k)
    chunk = max(1, CHUNK_ENTRIES // max(len(union) * k, 1))
    for p0 in range(0, n_perm, chunk):
        c = min(chunk, n_perm - p0)
        # int32 orders: the same permutations as int64 from the same stream (tested), half the memory
        order = rng.permuted(np.tile(np.arange(len(union), dtype=np.int32), (c, 1)), axis=1)
        for cols, place, zx, zy, observed in parts:
            perm = order if place is None else _restricted(place[order], len(zx))
            # one gather and one matrix-vector product per column (gathering all columns at once is 3x slower)
            stats = np.stack([zx[:, j][perm] @ zy[:, j] for j in range(len(cols))], axis=1)
            hits, usable = exceedances(observed, stats)
            extreme[cols] += hits
            counted[cols] += usable
    for cols, _, _, _, observed in parts:
        out[cols] = np.where(np.isfinite(observed), (1 + extreme[cols]) / (1 + counted[cols]), np.nan)
    return out


def _standardised(a: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit sum of squares (NaN for a constant column): r is the sum of products."""
    with np.errstate(invalid="ignore", divide="ignore"):
        centred = a - a.mean(0)
        return centred / np.sqrt((centred**2).sum(0))


def _restricted(places: np.ndarray, n: int) -> np.ndarray:
    """Each row of a (c, union) array of places (-1 off the set) with the set's places kept in order: (c, n)."""
    return places[places >= 0].reshape(places.shape[0], n)
