"""The delta-method (influence-function) Wald test of r_A - r_B with item-level variance: RQ2's p_delta.

The test is conditional on these raters (it counts the items as the only sample); RQ2 reports it as
``p_delta`` beside the crossed disparity test. ``influence_cov`` is general (missing values, item
weights); ``influence_cov_fixed`` is its fast path for one complete (x, y) under many weightings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from annalign.stats.correlation import unit_scale
from annalign.stats.distributions import norm_sf

#: ``influence_cov_fixed`` needs each data set's variance above this share of its mean square
#: (standardised features: about 1 - 1/n), so raw moments keep r and cov to about 1e-13.
CONDITION = 1e-3


def influence_cov(counts: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson r of x with each column of y, and the delta-method covariance of those r.

    counts: (s, n) item weights (one row per simulated data set); x: (n,) or (s, n); y: (n, g) or
    (s, n, g). Items where x or y is NaN are left out of that column. Returns r (s, g) and cov
    (s, g, g) from the influence function IF_i = a_i b_i - r (a_i^2 + b_i^2) / 2 of standardised values.
    """
    s, n = counts.shape
    # Scaled to magnitude <= 1 first (r is scale-free), so no square overflows.
    xs = unit_scale((x if x.ndim == 2 else x[None, :])[:, :, None], None)
    ys = unit_scale(y if y.ndim == 3 else y[None, :, :], None)
    v = np.isfinite(xs) & np.isfinite(ys)
    w = counts[:, :, None] * v
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = (w * np.where(v, xs, 0.0)).sum(axis=1) / total
        my = (w * np.where(v, ys, 0.0)).sum(axis=1) / total
        dx = np.where(v, xs - mx[:, None, :], 0.0)
        dy = np.where(v, ys - my[:, None, :], 0.0)
        sx = np.sqrt((w * dx * dx).sum(axis=1) / total)
        sy = np.sqrt((w * dy * dy).sum(axis=1) / total)
        a = dx / sx[:, None, :]
        b = dy / sy[:, None, :]
        r = (w * a * b).sum(axis=1) / total
        infl = np.where(v, a * b - r[:, None, :] * (a * a + b * b) / 2, 0.0) / total[:, None, :]
    cov = np.matmul((infl * counts[:, :, None]).transpose(0, 2, 1), infl)
    return r, cov


@dataclass(frozen=True)
class FixedFeatures:
    """Per-item features of one complete (x, y): the basis (n, w) and its pairwise products (upper triangle)."""

    basis: np.ndarray
    products: np.ndarray
    upper: tuple[np.ndarray, np.ndarray]


def fixed_features(x: np.ndarray, y: np.ndarray) -> FixedFeatures | None:
    """Basis [1, x, x^2, y_g..., x y_g..., y_g^2...] (n, 3 + 3g) of standardised x and y, or None.

    None when x or y has a missing value or a constant column: ``influence_cov`` then takes its
    general path. Standardising first (r and the influence function are affine-invariant) keeps
    the moment sums that ``influence_cov_fixed`` forms from them well conditioned.
    """
    if not (np.isfinite(x).all() and np.isfinite(y).all()) or len(x) < 2:
        return None
    x, y = unit_scale(x, None), unit_scale(y, None)  # as influence_cov does: no square overflows
    sd_x, sd_y = x.std(), y.std(axis=0)
    if not (sd_x > 0 and np.all(sd_y > 0)):
        return None
    xs = (x - x.mean()) / sd_x
    ys = (y - y.mean(axis=0)) / sd_y
    basis = np.column_stack([np.ones_like(xs), xs, xs * xs, ys, xs[:, None] * ys, ys * ys])
    upper = np.triu_indices(basis.shape[1])
    return FixedFeatures(basis, basis[:, upper[0]] * basis[:, upper[1]], upper)


def influence_cov_fixed(counts: np.ndarray, feats: FixedFeatures) -> tuple[np.ndarray, np.ndarray] | None:
    """``influence_cov`` for one complete (x, y) under many count vectors, as matrix products of the counts.

    Each item's influence IF_ig is a linear combination K_g(s) . basis_i of fixed per-item features
    with per-data-set coefficients, so cov_gh = K_g' (sum_i c_i basis_i basis_i') K_h / total^2: one
    (s x n) @ (n x w(w+1)/2) product replaces the passes over (s x n x g) arrays. None when a data
    set's variance is small against its mean square (raw moments would lose digits): use ``influence_cov``.
    """
    s, width = counts.shape[0], feats.basis.shape[1]
    g = (width - 3) // 3
    m1 = counts @ feats.basis
    total = m1[:, 0]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mom = m1 / total[:, None]
        mx, my = mom[:, 1:2], mom[:, 3 : 3 + g]
        vx, vy = mom[:, 2:3] - mx * mx, mom[:, 3 + 2 * g :] - my * my
        if not (np.all(vx > CONDITION * mom[:, 2:3]) and np.all(vy > CONDITION * mom[:, 3 + 2 * g :])):
            return None
        sx, sy = np.sqrt(vx), np.sqrt(vy)
        r = (mom[:, 3 + g : 3 + 2 * g] - mx * my) / (sx * sy)
        pp, q, rr = 1.0 / (sx * sy), r / (2 * sx * sx), r / (2 * sy * sy)
    k = np.zeros((s, g, width))
    k[:, :, 0] = mx * my * pp - q * mx * mx - rr * my * my
    k[:, :, 1] = -my * pp + 2 * q * mx
    k[:, :, 2] = -q
    cols = np.arange(g)
    k[:, cols, 3 + cols] = -mx * pp + 2 * rr * my
    k[:, cols, 3 + g + cols] = pp
    k[:, cols, 3 + 2 * g + cols] = -rr
    second = np.empty((s, width, width))
    second[:, feats.upper[0], feats.upper[1]] = counts @ feats.products
    second[:, feats.upper[1], feats.upper[0]] = second[:, feats.upper[0], feats.upper[1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = np.matmul(np.matmul(k, second), k.transpose(0, 2, 1)) / (total * total)[:, None, None]
    return r, cov


def wald_pairs(r: np.ndarray, cov: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Wald z of r_a - r_b for each pair: (s, n_pairs)."""
    a = np.array([p[0] for p in pairs], dtype=int)
    b = np.array([p[1] for p in pairs], dtype=int)
    var = cov[:, a, a] + cov[:, b, b] - 2 * cov[:, a, b]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (r[:, a] - r[:, b]) / np.sqrt(var)


def delta_pair_tests(x: np.ndarray, y: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Two-sided p-values (n_machines, n_pairs) of the delta-method Wald test on the observed data."""
    ones = np.ones((1, y.shape[0]))
    out = np.empty((x.shape[1], len(pairs)))
    for m in range(x.shape[1]):
        r, cov = influence_cov(ones, x[:, m], y)
        out[m] = 2 * norm_sf(np.abs(wald_pairs(r, cov, pairs)[0]))
    return out


def item_counts(rng: np.random.Generator, n_all: int, n_target: int, n_sims: int) -> np.ndarray:
    """(n_sims, n_all) counts of each observed item in samples of n_target items with replacement."""
    if n_target <= 2 * n_all:
        draws = rng.integers(0, n_all, size=(n_sims, n_target))
        draws += n_all * np.arange(n_sims)[:, None]  # in place: one pass less over the draws
        return np.bincount(draws.ravel(), minlength=n_sims * n_all).reshape(n_sims, n_all).astype(float)
    return rng.multinomial(n_target, np.full(n_all, 1.0 / n_all), size=n_sims).astype(float)
