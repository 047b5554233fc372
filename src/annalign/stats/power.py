"""Power and minimum detectable effect of a two-sided test whose statistic is a shifted t.

RQ2's disparity test reads d = adj_a - adj_b against replicates that are an item part (normal) plus
a rater part per group with t(k - 1) tails; that behaves like Welch's test, so d / se is taken as a
t with the Welch-Satterthwaite degrees of freedom nu = se^4 / sum_g (V_g^2 / df_g) (Satterthwaite
1946, Biometrics Bulletin 2(6); Welch 1947, Biometrika 34). Power uses the shifted central t,
P(T_nu > t_crit - delta / se) + P(T_nu < -t_crit - delta / se), the usual approximation of the
noncentral t (within about a point of it for nu >= 3 at the powers that matter for planning).
"""

from __future__ import annotations

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
    table = np.log(special.stdtrit(_DF_GRID, upper))  # positive quantiles: smooth in log-log
    inside = np.exp(np.interp(np.log(np.clip(df, _DF_GRID[0], NORMAL_DF)), np.log(_DF_GRID), table))
    return sign * np.where(df < NORMAL_DF, inside, special.ndtri(upper))


def _t_cdf(x: np.ndarray, df: np.ndarray) -> np.ndarray:
    df = np.broadcast_to(np.asarray(df, dtype=float), np.shape(x))
    big = ~(df < NORMAL_DF)
    return np.where(big, special.ndtr(x), special.stdtr(np.where(big, 1.0, df), x))


def shifted_t_power(delta: np.ndarray, se: np.ndarray, df: np.ndarray, alpha: float) -> np.ndarray:
    """Power of the two-sided level-alpha test of a true difference delta with standard error se and df degrees of freedom."""
    df = np.asarray(df, dtype=float)
    crit = t_quantile(1 - float(alpha) / 2, df)
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.abs(np.asarray(delta, dtype=float)) / np.asarray(se, dtype=float)
    return 1.0 - _t_cdf(crit - shift, df) + _t_cdf(-crit - shift, df)


def normal_power(delta: np.ndarray, se: np.ndarray, alpha: float) -> np.ndarray:
    """The same power with the normal in place of the t (the closed form without degrees of freedom)."""
    crit = special.ndtri(1 - np.asarray(alpha, dtype=float) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.abs(np.asarray(delta, dtype=float)) / np.asarray(se, dtype=float)
    return special.ndtr(shift - crit) + special.ndtr(-crit - shift)


def detectable(se: np.ndarray, df: np.ndarray, alpha: float, power: float = 0.8) -> np.ndarray:
    """The true difference the test detects with the given power: se x (t_{1 - alpha/2} + t_power) (the far tail is negligible)."""
    df = np.asarray(df, dtype=float)
    return np.asarray(se, dtype=float) * (t_quantile(1 - float(alpha) / 2, df) + t_quantile(power, df))


def power_from_crit(delta: np.ndarray, se: np.ndarray, crit: np.ndarray, df: np.ndarray) -> np.ndarray:
    """``shifted_t_power`` with the critical value given (computed once for many true differences)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.abs(np.asarray(delta, dtype=float)) / np.asarray(se, dtype=float)
    return 1.0 - _t_cdf(crit - shift, df) + _t_cdf(-crit - shift, df)
