"""Multiple-testing adjustments of a family of p-values (Holm, Benjamini-Hochberg); NaN is left out of the family."""

from __future__ import annotations

import numpy as np


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
        out[ok] = false_discovery_control(np.clip(p[ok], 0.0, 1.0), method="bh")
    return out


def false_discovery_control(ps: np.ndarray, method: str = "bh") -> np.ndarray:
    """Benjamini-Hochberg ("bh") or Benjamini-Yekutieli ("by") adjusted p-values of a 1-d family in [0, 1].

    The same operations, in the same order, as ``scipy.stats.false_discovery_control`` (so the
    same floats; ``tests/test_ranks.py`` checks it), without importing scipy.stats.
    """
    ps = np.asarray(ps, dtype=float)
    if method not in ("bh", "by"):
        raise ValueError(f"unknown method {method!r}; use 'bh' or 'by'")
    if ps.ndim != 1 or not np.all((ps >= 0) & (ps <= 1)):
        raise ValueError("p-values must be a 1-d array of numbers between 0 and 1")
    m = len(ps)
    if m <= 1:
        return ps.copy()
    order = np.argsort(ps)
    adjusted = ps[order]
    i = np.arange(1, m + 1, dtype=float)
    adjusted = adjusted * (m / i)
    if method == "by":
        adjusted = adjusted * np.sum(1 / i)
    np.minimum.accumulate(adjusted[::-1], out=adjusted[::-1])
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return np.clip(out, 0.0, 1.0)
