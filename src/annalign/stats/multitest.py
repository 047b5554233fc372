"""Multiple-testing adjustments of a family of p-values (Holm, Benjamini-Hochberg); NaN is left out of the family."""

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
