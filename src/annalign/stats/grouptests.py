"""Small statistical building blocks of RQ2: multiple testing, split-half reliability, bootstrap p-values."""

from __future__ import annotations

import numpy as np
from scipy import stats


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN left as NaN, not counted in the family)."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    q = p[ok]
    m = len(q)
    if m == 0:
        return out
    order = np.argsort(q, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
    adj = np.empty(m)
    adj[order] = stepped
    out[ok] = adj
    return out


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (scipy's false_discovery_control; NaN kept)."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(np.clip(p[ok], 0.0, 1.0), method="bh")
    return out


def bootstrap_p(replicates: np.ndarray, null: float = 0.0) -> np.ndarray:
    """Two-sided p-value by inverting the percentile interval: 2 x the smaller tail beyond ``null``.

    Replicates are (n_boot, k); NaN replicates are ignored. Rejecting at alpha is the same as
    ``null`` lying outside the (1 - alpha) percentile interval.
    """
    reps = np.asarray(replicates, dtype=float)
    finite = np.isfinite(reps)
    n = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        below = (np.where(finite, reps, np.inf) <= null).sum(axis=0) / n
        above = (np.where(finite, reps, -np.inf) >= null).sum(axis=0) / n
        p = np.minimum(1.0, 2 * np.minimum(below, above))
    return np.where(n >= 10, p, np.nan)


def single_rater_reliability(r_half: np.ndarray, k1: np.ndarray, k2: np.ndarray) -> np.ndarray:
    """Single-rater reliability rho1 from the correlation of two half means of k1 and k2 raters.

    Under the Spearman-Brown model rel(k) = k rho / (1 + (k - 1) rho) and corr(half1, half2) =
    sqrt(rel(k1) rel(k2)); solving that quadratic handles unequal (odd-sized) halves exactly and
    reduces to the classical 2r / (1 + r) step-up when k1 == k2. Negative r gives negative rho.
    """
    r = np.asarray(r_half, dtype=float)
    k1 = np.asarray(k1, dtype=float)
    k2 = np.asarray(k2, dtype=float)
    r2 = r * r
    a = k1 * k2 - r2 * (k1 - 1) * (k2 - 1)
    b = -r2 * (k1 + k2 - 2)
    c = -r2
    with np.errstate(invalid="ignore", divide="ignore"):
        root = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
    return np.sign(r) * root


def spearman_brown(rho1: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Reliability of the mean of k raters given single-rater reliability rho1 (NaN if undefined)."""
    rho1 = np.asarray(rho1, dtype=float)
    k = np.asarray(k, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = 1 + (k - 1) * rho1
        rel = k * rho1 / denom
    return np.where(denom > 0, rel, np.nan)


def splithalf_reliability(r_half: np.ndarray, k1: np.ndarray, k2: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Reliability of a k-rater mean from split-half correlations (last axis = splits, averaged)."""
    rel = spearman_brown(single_rater_reliability(r_half, k1, k2), k)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(rel)
        count = finite.sum(axis=-1)
        total = np.where(finite, rel, 0.0).sum(axis=-1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def adjusted_r(r: np.ndarray, reliability: np.ndarray) -> np.ndarray:
    """Reliability-adjusted (disattenuated) r = r / sqrt(reliability); NaN where reliability <= 0."""
    rel = np.asarray(reliability, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rel > 0, np.asarray(r, dtype=float) / np.sqrt(np.where(rel > 0, rel, 1.0)), np.nan)


def random_effects_share(values: np.ndarray, groups: np.ndarray, n_groups: int) -> tuple[float, float, float]:
    """One-way random-effects decomposition: (between-group share, between var, within var).

    Uses the ANOVA estimator with the unbalanced-design group size n0; the between variance is
    truncated at zero. ``values`` must be finite; ``groups`` codes 0..n_groups-1.
    """
    f, msb, msw, n0 = anova_f(values[None, :], groups[None, :], n_groups)
    var_b = max(0.0, float((msb[0] - msw[0]) / n0))
    var_w = float(msw[0])
    total = var_b + var_w
    return (var_b / total if total > 0 else float("nan")), var_b, var_w


def anova_f(values: np.ndarray, groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One-way ANOVA F, MSB, MSW per row of (p, n) values with (p, n) group codes, and n0."""
    p, n = values.shape
    flat = (groups + n_groups * np.arange(p)[:, None]).ravel()
    size = np.bincount(flat, minlength=p * n_groups).reshape(p, n_groups).astype(float)
    total = np.bincount(flat, weights=values.ravel(), minlength=p * n_groups).reshape(p, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = total / size
    grand = values.mean(axis=1, keepdims=True)
    present = size > 0
    g_eff = present.sum(axis=1)
    ssb = np.where(present, size * (np.where(present, means, 0.0) - grand) ** 2, 0.0).sum(axis=1)
    resid = values - np.take_along_axis(np.where(present, means, 0.0), groups, axis=1)
    ssw = (resid**2).sum(axis=1)
    msb = ssb / np.maximum(g_eff - 1, 1)
    msw = ssw / np.maximum(n - g_eff, 1)
    sizes0 = size[0]
    n0 = float((n - (sizes0**2).sum() / n) / max(int(g_eff[0]) - 1, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        f = msb / msw
    return f, msb, msw, n0
