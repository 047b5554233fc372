"""Percentile intervals that refuse to speak from too few defined replicates (RQ2 and RQ3 share the rule).

A replicate of an adjusted r or a noise ceiling is undefined where the reliability is <= 0 in it.
Dropping those silently would give an interval from 2 usable replicates of 1,000, so an interval
needs at least MIN_USABLE of them and MIN_USABLE_SHARE of all; the share that is undefined is
reported beside it.
"""

from __future__ import annotations

import warnings

import numpy as np

from annalign.stats.bootstrap import percentile_intervals

#: An interval needs at least this share of its replicates defined (and at least MIN_USABLE of them).
MIN_USABLE_SHARE, MIN_USABLE = 0.5, 20


def usable(replicates: np.ndarray) -> np.ndarray:
    """Whether enough replicates are defined for an interval, per trailing position."""
    n = replicates.shape[0]
    return np.isfinite(replicates).sum(axis=0) >= max(MIN_USABLE, MIN_USABLE_SHARE * n)


def undefined_share(replicates: np.ndarray) -> np.ndarray:
    """The share of replicates that are undefined (NaN), per trailing position."""
    return 1.0 - np.isfinite(replicates).mean(axis=0) if replicates.shape[0] else np.full(replicates.shape[1:], np.nan)


def intervals(replicates: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile intervals over the first axis for any trailing shape; NaN with too few defined replicates."""
    shape = replicates.shape[1:]
    if replicates.shape[0] == 0:
        return np.full(shape, np.nan), np.full(shape, np.nan)
    flat = replicates.reshape(replicates.shape[0], -1)
    whole = np.isfinite(flat).all(axis=0)
    lo, hi = np.full(flat.shape[1], np.nan), np.full(flat.shape[1], np.nan)
    if whole.any():  # np.quantile where every replicate is defined: the same numbers, many times faster
        alpha = (1 - level) / 2
        lo[whole], hi[whole] = np.quantile(flat[:, whole], [alpha, 1 - alpha], axis=0)
    if not whole.all():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo[~whole], hi[~whole] = percentile_intervals(flat[:, ~whole], level)
    ok = usable(flat)
    return np.where(ok, lo, np.nan).reshape(shape), np.where(ok, hi, np.nan).reshape(shape)
