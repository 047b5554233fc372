"""One-way ANOVA on many rows at once, and the random-effects variance split built on it."""

from __future__ import annotations

import numpy as np


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
