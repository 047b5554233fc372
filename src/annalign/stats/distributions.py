"""Normal, chi-square and t tail probabilities from scipy.special: the ufuncs scipy.stats calls, without importing it.

``scipy.stats`` takes about 0.5 s to import (it loads every distribution, scipy.optimize,
scipy.spatial and their docstrings); the command line needs only these few functions of it.
Each gives the same float as its ``scipy.stats`` counterpart (``norm.sf`` is ``ndtr(-x)``,
``chi2.sf`` is ``chdtrc``, ``t.cdf`` is ``stdtr``, with scipy's values at the support's ends);
``tests/test_distributions.py`` checks them against scipy.stats.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def norm_cdf(x: float | np.ndarray) -> np.ndarray:
    """P(Z <= x) for a standard normal Z (``scipy.stats.norm.cdf``)."""
    return special.ndtr(np.asarray(x, dtype=float))


def norm_sf(x: float | np.ndarray) -> np.ndarray:
    """P(Z > x) for a standard normal Z (``scipy.stats.norm.sf``)."""
    return special.ndtr(-np.asarray(x, dtype=float))


def norm_ppf(q: float | np.ndarray) -> np.ndarray:
    """The standard normal quantile of q (``scipy.stats.norm.ppf``; NaN outside [0, 1])."""
    return special.ndtri(np.asarray(q, dtype=float))


def norm_isf(q: float | np.ndarray) -> np.ndarray:
    """The x with P(Z > x) = q (``scipy.stats.norm.isf``; NaN outside [0, 1])."""
    return -special.ndtri(np.asarray(q, dtype=float))


def chi2_sf(x: float | np.ndarray, df: float | np.ndarray) -> np.ndarray:
    """P(X > x) for X chi-square with df degrees of freedom (``scipy.stats.chi2.sf``; 1 for x <= 0, NaN for df <= 0)."""
    x, df = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(df, dtype=float))
    out = np.where(x <= 0, 1.0, special.chdtrc(df, np.maximum(x, 0.0)))
    out = np.where(np.isposinf(x), 0.0, out)
    return np.where((df > 0) & ~np.isnan(x), out, np.nan)[()]


def t_cdf(x: float | np.ndarray, df: float | np.ndarray) -> np.ndarray:
    """P(T <= x) for T Student-t with df degrees of freedom (``scipy.stats.t.cdf``; 0 and 1 at -inf and inf, NaN for df <= 0)."""
    x, df = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(df, dtype=float))
    out = np.where(np.isposinf(x), 1.0, np.where(np.isneginf(x), 0.0, special.stdtr(df, x)))
    return np.where((df > 0) & ~np.isnan(x), out, np.nan)[()]
