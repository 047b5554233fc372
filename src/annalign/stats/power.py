"""Power and minimum detectable effect of a two-sided test whose statistic is a shifted t.

RQ2's disparity test reads d = adj_a - adj_b against replicates that are an item part (normal) plus
a rater part per group with t(k - 1) tails; that behaves like Welch's test, so d / se is taken as a
t with the Welch-Satterthwaite degrees of freedom nu = se^4 / sum_g (V_g^2 / df_g) (Satterthwaite
1946, Biometrics Bulletin 2(6); Welch 1947, Biometrika 34), and power is that of the noncentral t
with noncentrality delta / se: exact (scipy's ``nctdtr``) below EXACT_DF degrees of freedom (blended
linearly up to twice that, so power has no jump in df), above them the normal approximation of the noncentral t (Abramowitz & Stegun 26.7.10),
P(T' <= t) ~ Phi((t (1 - 1 / (4 nu)) - ncp) / sqrt(1 + t^2 / (2 nu))), within 1.2 points of it for
nu >= 6 (tests/groups/test_rq2_simulation.py) and a hundred times cheaper. (The shifted central t,
a common shortcut, is off by 13 points at nu = 3, and by 13 at nu = 9 with alpha 0.05 / 135.)
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special

#: Above these degrees of freedom the t is taken as the normal.
NORMAL_DF = 1e6


def welch_df(total: np.ndarray, parts: np.ndarray, dfs: np.ndarray) -> np.ndarray:
    """nu = total^2 / sum(parts^2 / dfs) over the last axis; inf where no part has variance."""
    total = np.asarray(total, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.where(np.asarray(dfs) > 0, np.asarray(parts, dtype=float) ** 2 / np.asarray(dfs, dtype=float), 0.0).sum(axis=-1)
        return np.where(denom > 0, total * total / np.where(denom > 0, denom, 1.0), np.inf)


#: log-spaced degrees of freedom on which t quantiles are tabulated (interpolated in log df between them)
_DF_GRID = np.geomspace(0.5, NORMAL_DF, 600)


@lru_cache(maxsize=64)
def _log_quantiles(p: float) -> np.ndarray:
    """log of the t quantiles of p on _DF_GRID (read-only; cached: a handful of p serve a whole power table)."""
    table = np.log(special.stdtrit(_DF_GRID, p))
    table.setflags(write=False)
    return table


def t_quantile(p: float, df: np.ndarray) -> np.ndarray:
    """The t quantile of probability p with df degrees of freedom (the normal one beyond NORMAL_DF).

    Tabulated once on 600 log-spaced df and interpolated in log df (relative error under 1e-3 of
    ``stdtrit`` for df >= 1; tests/test_power_kernel.py): stdtrit costs a microsecond per value and the power
    solvers ask for tens of thousands.
    """
    df, p = np.asarray(df, dtype=float), float(p)
    if p == 0.5:
        return np.zeros_like(df)
    sign, upper = (1.0, p) if p > 0.5 else (-1.0, 1.0 - p)
    table = _log_quantiles(upper)  # positive quantiles: smooth in log-log
    inside = np.exp(np.interp(np.log(np.clip(df, _DF_GRID[0], NORMAL_DF)), np.log(_DF_GRID), table))
    return sign * np.where(df < NORMAL_DF, inside, special.ndtri(upper))


def _t_cdf(x: np.ndarray, df: np.ndarray) -> np.ndarray:
    df = np.broadcast_to(np.asarray(df, dtype=float), np.shape(x))
    big = ~(df < NORMAL_DF)
    return np.where(big, special.ndtr(x), special.stdtr(np.where(big, 1.0, df), x))


#: below these degrees of freedom power uses the exact noncentral t
EXACT_DF = 6.0


def _nct_cdf(t: np.ndarray, df: np.ndarray, ncp: np.ndarray) -> np.ndarray:
    """P(T' <= t) for the noncentral t: exact below EXACT_DF, else the normal approximation (the normal itself at infinite df)."""
    t, df, ncp = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(df, dtype=float), np.asarray(ncp, dtype=float))
    big = ~(df < NORMAL_DF)
    nu = np.where(big, 1.0, df)
    with np.errstate(invalid="ignore", divide="ignore"):
        approx = special.ndtr(np.where(big, t - ncp, (t * (1 - 1 / (4 * nu)) - ncp) / np.sqrt(1 + t * t / (2 * nu))))
    small = (df < 2 * EXACT_DF) & np.isfinite(t) & np.isfinite(ncp)
    if small.any():  # exact below EXACT_DF, blended linearly into the approximation up to 2 EXACT_DF (no jump in df)
        approx = np.array(approx, dtype=float)
        weight = np.clip(df[small] / EXACT_DF - 1.0, 0.0, 1.0)
        approx[small] = (1 - weight) * special.nctdtr(df[small], ncp[small], t[small]) + weight * approx[small]
    return approx[()] if np.ndim(approx) == 0 else approx


def shifted_t_power(delta: np.ndarray, se: np.ndarray, df: np.ndarray, alpha: float) -> np.ndarray:
    """Power of the two-sided level-alpha t test of a true difference delta with standard error se and df degrees of freedom."""
    df = np.asarray(df, dtype=float)
    crit = t_quantile(1 - float(alpha) / 2, df)
    return power_from_crit(delta, se, crit, df)


def normal_power(delta: np.ndarray, se: np.ndarray, alpha: float) -> np.ndarray:
    """The same power with the normal in place of the t (the closed form without degrees of freedom)."""
    crit = special.ndtri(1 - np.asarray(alpha, dtype=float) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.abs(np.asarray(delta, dtype=float)) / np.asarray(se, dtype=float)
    return special.ndtr(shift - crit) + special.ndtr(-crit - shift)


def detectable(se: np.ndarray, df: np.ndarray, crit: np.ndarray | float, power: float = 0.8) -> np.ndarray:
    """The true difference detected with the given power by a test rejecting |T| > crit: se x ncp, ncp solving the normal
    approximation of the noncentral t (crit (1 - 1 / (4 nu)) + z_power sqrt(1 + crit^2 / (2 nu)); the far tail is negligible)."""
    df = np.asarray(df, dtype=float)
    crit = np.asarray(crit, dtype=float)
    nu = np.where(df < NORMAL_DF, df, np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        ncp = crit * (1 - 1 / (4 * nu)) + special.ndtri(power) * np.sqrt(1 + crit * crit / (2 * nu))
    return np.asarray(se, dtype=float) * ncp


def power_from_crit(delta: np.ndarray, se: np.ndarray, crit: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Two-sided power with the critical value given (computed once for many true differences): P(|T'| > crit), T' noncentral t."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ncp = np.abs(np.asarray(delta, dtype=float)) / np.asarray(se, dtype=float)
    return 1.0 - _nct_cdf(crit, df, ncp) + _nct_cdf(-np.asarray(crit), df, ncp)
