"""Correlations that tolerate missing values, written as sums so they vectorise over columns and groups."""

from __future__ import annotations

import numpy as np

from annalign.stats.ranks import rankdata

METHODS = ("pearson", "spearman", "kendall")
#: Magnitudes above LARGE or below SMALL are rescaled before squaring (their squares would overflow or underflow).
LARGE = 1e100
SMALL = 1e-100


def unit_scale(d: np.ndarray, axis: int | None = 0) -> np.ndarray:
    """``d`` divided by its largest magnitude (per column) when that lies outside [SMALL, LARGE].

    Pearson r does not change under a positive rescaling. Magnitudes from 1e-100 to 1e100 are
    returned as they are (their squares and sums neither overflow nor underflow for any realistic
    n); others, up to the float limits (1e300 or 1e-300 scores), are brought to magnitude 1.
    NaN entries are ignored.
    """
    if d.size == 0:
        return d
    top = np.fmax.reduce(np.abs(d), axis=axis, keepdims=axis is not None)
    rescale = np.isfinite(top) & (top > 0) & ((top > LARGE) | (top < SMALL))
    if not np.any(rescale):
        return d
    return d / np.where(rescale, top, 1.0)


def pearson_from_sums(n, sx, sy, sxx, syy, sxy) -> np.ndarray:
    """Pearson r from (weighted) counts and sums; NaN where a variance is zero or n < 3."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sy / n
        vx = sxx - sx * sx / n
        vy = syy - sy * sy / n
        r = cov / np.sqrt(vx * vy)
        scale_x = sxx + sx * sx / n
        scale_y = syy + sy * sy / n
    # A variance that is zero up to rounding means a constant variable: r is undefined.
    degenerate = (n < 3) | ~(vx > 1e-12 * scale_x) | ~(vy > 1e-12 * scale_y)
    return np.where(degenerate, np.nan, np.clip(r, -1.0, 1.0))


def pearson_masked(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r per column over the rows where both are finite (pairwise complete)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x, y = np.broadcast_arrays(x, y)
    valid = np.isfinite(x) & np.isfinite(y)
    w = valid.astype(float)
    # Scaled before the means: a sum of values near the float limit would overflow.
    xv = unit_scale(np.where(valid, x, 0.0))
    yv = unit_scale(np.where(valid, y, 0.0))
    x, y = np.where(valid, xv, np.nan), np.where(valid, yv, np.nan)
    n = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = xv.sum(axis=0) / n
        my = yv.sum(axis=0) / n
    with np.errstate(invalid="ignore", over="ignore"):
        dx = unit_scale(np.where(valid, x - mx, 0.0))
        dy = unit_scale(np.where(valid, y - my, 0.0))
    return pearson_from_sums(n, dx.sum(0), dy.sum(0), (dx * dx).sum(0), (dy * dy).sum(0), (dx * dy).sum(0))


def grouped_pearson(group: np.ndarray, x: np.ndarray, y: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Pearson r of x and y within each group (for example each rater's ratings); returns (r, n).

    Rows where x or y is not finite are dropped. Values are centred per group before the sums
    are formed, so the result is accurate to rounding (checked against scipy in the tests).
    """
    keep = np.isfinite(x) & np.isfinite(y)
    g, x, y = group[keep], unit_scale(x[keep], None), unit_scale(y[keep], None)
    n = np.bincount(g, minlength=n_groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.bincount(g, weights=x, minlength=n_groups) / n
        my = np.bincount(g, weights=y, minlength=n_groups) / n
    dx = _scale_within(x - mx[g], g, n_groups)
    dy = _scale_within(y - my[g], g, n_groups)

    def s(w: np.ndarray) -> np.ndarray:
        return np.bincount(g, weights=w, minlength=n_groups)

    return pearson_from_sums(n, s(dx), s(dy), s(dx * dx), s(dy * dy), s(dx * dy)), n


def _scale_within(d: np.ndarray, g: np.ndarray, n_groups: int) -> np.ndarray:
    """Centred values divided by the largest magnitude within their group when it exceeds LARGE (see ``unit_scale``)."""
    if not len(d):
        return d
    top = np.zeros(n_groups)
    np.maximum.at(top, g, np.abs(d))
    rescale = (top > 0) & ((top > LARGE) | (top < SMALL))
    if not rescale.any():
        return d
    return d / np.where(rescale, top, 1.0)[g]


def rank_columns(x: np.ndarray) -> np.ndarray:
    """Average ranks per column, NaN kept as NaN (for Spearman on pairwise-complete rows)."""
    return rankdata(x, axis=0)


def correlation(x: np.ndarray, y: np.ndarray, method: str = "pearson") -> float:
    """One correlation between two vectors over the rows where both are finite."""
    valid = np.isfinite(x) & np.isfinite(y)
    xv, yv = np.asarray(x, float)[valid], np.asarray(y, float)[valid]
    if method == "pearson":
        return float(pearson_masked(xv, yv))
    if len(xv) < 3 or np.ptp(xv) == 0 or np.ptp(yv) == 0:
        return float("nan")
    if method == "spearman":
        return float(pearson_masked(rankdata(xv), rankdata(yv)))
    if method == "kendall":
        from scipy import stats  # only here: scipy.stats takes about 0.5 s to import

        return float(stats.kendalltau(xv, yv).statistic)
    raise ValueError(f"unknown correlation method {method!r}; use one of {', '.join(METHODS)}")


def pearson_fixed_x(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of one vector x with every column of y (NaN = missing), pairwise complete.

    The fast path for permutation tests, where x is fixed and y has thousands of columns: the
    masked sums are matrix-vector products (BLAS) instead of broadcast passes. x is centred once
    so the sums stay accurate; the tests check it against pearson_masked.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    rows = np.isfinite(x)
    x, y = x[rows], y[rows]
    if len(x):
        x = unit_scale(x, None)
        x = unit_scale(x - x.mean(), None)
    valid = np.isfinite(y)
    w = valid.astype(float)
    yz = np.where(valid, y, 0.0)
    yz = unit_scale(yz)  # rare: magnitudes whose squares would overflow or underflow
    n = w.sum(axis=0)
    sx = x @ w
    sxx = (x * x) @ w
    sy = yz.sum(axis=0)
    syy = np.einsum("ij,ij->j", yz, yz)
    sxy = x @ yz
    return pearson_from_sums(n, sx, sy, sxx, syy, sxy)


def pearson_fixed_xs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``pearson_fixed_x`` for each column of x (n, k) against every column of y: (k, columns).

    When x has no missing value the y-only sums are formed once for all k columns, and when y has
    none either the masks are skipped (n is a constant); otherwise each column takes the general path.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if not np.isfinite(x).all() or not len(x):
        return np.stack([pearson_fixed_x(x[:, m], y) for m in range(x.shape[1])])
    xc = unit_scale(x)
    xc = unit_scale(xc - xc.mean(axis=0))
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow sends y down the general path below
        sy = y.sum(axis=0)
        syy = np.einsum("ij,ij->j", y, y)
    # Finite sums mean no missing value; sums of squares within these bounds mean unit_scale leaves y as it is.
    if np.isfinite(sy).all() and np.all((syy > len(y) * SMALL**2) & (syy < LARGE**2)):
        n = np.full(y.shape[1], float(len(y)))
        sx = np.repeat(xc.sum(axis=0)[:, None], y.shape[1], axis=1)
        sxx = np.repeat((xc * xc).sum(axis=0)[:, None], y.shape[1], axis=1)
        return pearson_from_sums(n, sx, sy, sxx, syy, xc.T @ y)
    valid = np.isfinite(y)
    w = valid.astype(float)
    yz = unit_scale(np.where(valid, y, 0.0))
    sy, syy = yz.sum(axis=0), np.einsum("ij,ij->j", yz, yz)
    return pearson_from_sums(w.sum(axis=0), xc.T @ w, sy, (xc * xc).T @ w, syy, xc.T @ yz)
