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


def pearson_permutation_p(x: np.ndarray, y: np.ndarray, n_perm: int, seed: int) -> np.ndarray:
    """Two-sided permutation p-values of Pearson r per column of complete (n, k) arrays.

    x's rows are permuted (the same permutations for every column); counted by ``exceedances``.
    """
    x = unit_scale(np.atleast_2d(np.asarray(x, dtype=float).T).T)  # scale-free; keeps the sums finite
    y = unit_scale(np.atleast_2d(np.asarray(y, dtype=float).T).T)
    n, k = x.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        zx = (x - x.mean(0)) / np.sqrt(((x - x.mean(0)) ** 2).sum(0))
        zy = (y - y.mean(0)) / np.sqrt(((y - y.mean(0)) ** 2).sum(0))
    observed = (zx * zy).sum(0)
    rng = np.random.default_rng(seed)
    extreme, valid = np.zeros(k), np.zeros(k)
    chunk = max(1, CHUNK_ENTRIES // max(n * k, 1))
    for p0 in range(0, n_perm, chunk):
        c = min(chunk, n_perm - p0)
        perm = rng.permuted(np.tile(np.arange(n), (c, 1)), axis=1)
        counts = exceedances(observed, np.einsum("cnk,nk->ck", zx[perm], zy))
        extreme, valid = extreme + counts[0], valid + counts[1]
    return np.where(np.isfinite(observed), (1 + extreme) / (1 + valid), np.nan)
