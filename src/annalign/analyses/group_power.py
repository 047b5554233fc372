"""Power to detect a difference in alignment between two groups, by simulation from the data.

Each simulated data set resamples items (with replacement, to the target number) and, when a target
number of raters per group is given, raters within each group; the test applied is a Wald test of
r_A - r_B with the item-level influence-function (delta-method) variance, which needs no normality
and is what the paired item bootstrap approximates. Steiger's (1980) Fisher-z test for dependent
correlations gives the closed-form check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from annalign.stats.correlation import pearson_masked, unit_scale
from annalign.stats.distributions import norm_cdf, norm_isf, norm_ppf, norm_sf

if TYPE_CHECKING:
    from annalign.core.grouping import Grouping
    from annalign.core.operators import RaterMatrix

#: cells of an (sims x items x groups) block.
BLOCK_CELLS = 1_500_000
#: ``influence_cov_fixed`` needs each data set's variance above this share of its mean square
#: (standardised features: about 1 - 1/n), so raw moments keep r and cov to about 1e-13.
CONDITION = 1e-3
TARGET_POWER = 0.8


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


# ----- closed form -----------------------------------------------------------------------------
def steiger_se_factor(r_xa: float, r_xb: float, r_ab: float) -> float:
    """sqrt(2 - 2 c) of Steiger's (1980) Z for dependent correlations sharing the variable x."""
    rbar = (r_xa + r_xb) / 2
    psi = r_ab * (1 - 2 * rbar**2) - 0.5 * rbar**2 * (1 - 2 * rbar**2 - r_ab**2)
    c = psi / (1 - rbar**2) ** 2
    return float(np.sqrt(max(2 - 2 * c, 1e-12)))


def steiger_power(r_xa: float, r_xb: float, r_ab: float, n_items: float | np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Closed-form power of Steiger's Fisher-z test of r_xa = r_xb at n items (both tails)."""
    delta = abs(np.arctanh(r_xa) - np.arctanh(r_xb))
    nc = delta * np.sqrt(np.maximum(np.asarray(n_items, dtype=float) - 3, 0)) / steiger_se_factor(r_xa, r_xb, r_ab)
    z = norm_isf(alpha / 2)
    return norm_sf(z - nc) + norm_cdf(-z - nc)


def steiger_items_needed(r_xa: float, r_xb: float, r_ab: float, power: float = TARGET_POWER, alpha: float = 0.05) -> float:
    """Items for the given power by Steiger's test (upper tail only); inf when r_xa == r_xb."""
    delta = abs(np.arctanh(r_xa) - np.arctanh(r_xb))
    if not np.isfinite(delta) or delta == 0:
        return float("inf")
    need = (norm_isf(alpha / 2) + norm_ppf(power)) * steiger_se_factor(r_xa, r_xb, r_ab) / delta
    return float(3 + need**2)


# ----- simulation ------------------------------------------------------------------------------
def item_counts(rng: np.random.Generator, n_all: int, n_target: int, n_sims: int) -> np.ndarray:
    """(n_sims, n_all) counts of each observed item in samples of n_target items with replacement."""
    if n_target <= 2 * n_all:
        draws = rng.integers(0, n_all, size=(n_sims, n_target))
        draws += n_all * np.arange(n_sims)[:, None]  # in place: one pass less over the draws
        return np.bincount(draws.ravel(), minlength=n_sims * n_all).reshape(n_sims, n_all).astype(float)
    return rng.multinomial(n_target, np.full(n_all, 1.0 / n_all), size=n_sims).astype(float)


def rater_weights(rng: np.random.Generator, code: np.ndarray, n_groups: int, k: int, n_sims: int) -> np.ndarray:
    """(raters, n_sims * n_groups) draw counts: k raters per group, without replacement when k <= size.

    Sampling with replacement below the group size would repeat raters, whose noise does not
    average out, and understate the reliability of the mean; so it is used only beyond the pool.
    """
    w = np.zeros((len(code), n_sims * n_groups))
    for g in range(n_groups):
        members = np.flatnonzero(code == g)
        for s in range(n_sims):
            chosen = rng.choice(members, size=k, replace=k > len(members))
            np.add.at(w[:, s * n_groups + g], chosen, 1.0)
    return w


@dataclass(frozen=True)
class RaterDraw:
    """Raters redrawn per simulated data set: ``raters`` per group from the ratings ``rm`` with group ``code``."""

    rm: RaterMatrix
    code: np.ndarray
    raters: int


def simulate_power(
    x: np.ndarray,
    y: np.ndarray,
    pairs: Sequence[tuple[int, int]],
    n_target: int,
    n_sims: int,
    rng: np.random.Generator,
    alpha: float = 0.05,
    draw: RaterDraw | None = None,
) -> np.ndarray:
    """Rejection rate per pair of the Wald test in data resampled to n_target items (and, with ``draw``, raters)."""
    n_all, n_groups = y.shape
    zcrit = norm_isf(alpha / 2)
    # Fewer target items than observed ones: work on the drawn items (s x n_target) rather than on
    # mostly-zero counts over all items (s x n_all); the two give the same statistics.
    by_index = n_target < n_all
    width = n_target if by_index else n_all
    per_block = max(1, BLOCK_CELLS // max(width * n_groups, 1))
    rejected = np.zeros(len(pairs))
    basis = fixed_features(x, y) if draw is None and not by_index else None
    done = 0
    while done < n_sims:
        p = min(per_block, n_sims - done)
        if by_index:
            idx = rng.integers(0, n_all, size=(p, n_target))
            counts = np.ones((p, n_target))
        else:
            counts = item_counts(rng, n_all, n_target, p)
        if draw is None:
            ys = y[idx] if by_index else y
        else:
            means, _ = draw.rm.means(rater_weights(rng, draw.code, n_groups, draw.raters, p))
            ys = means.reshape(n_all, p, n_groups).transpose(1, 0, 2)
            if by_index:
                ys = ys[np.arange(p)[:, None], idx]
        fixed = influence_cov_fixed(counts, basis) if basis is not None else None
        r, cov = fixed if fixed is not None else influence_cov(counts, x[idx] if by_index else x, ys)
        z = wald_pairs(r, cov, pairs)
        rejected += (np.abs(z) > zcrit).sum(axis=0)
        done += p
    return rejected / n_sims


def items_needed(n_items: np.ndarray, power: np.ndarray, n_sims: int, alpha: float = 0.05) -> tuple[float, str]:
    """Items for 80% power from a simulated power curve: interpolated in probit scale, else extrapolated.

    The Wald noncentrality grows as sqrt(n), so probit(power) + z_{alpha/2} = c sqrt(n); c comes from
    the grid point nearest 50% power when 80% is not bracketed by the grid.
    """
    n_items = np.asarray(n_items, dtype=float)
    order = np.argsort(n_items)
    n_items, power = n_items[order], np.asarray(power, dtype=float)[order]
    eps = 0.5 / n_sims
    probit = norm_ppf(np.clip(power, eps, 1 - eps))
    target = norm_ppf(TARGET_POWER)
    for j in range(len(n_items) - 1):
        if power[j] < TARGET_POWER <= power[j + 1]:
            t = (target - probit[j]) / (probit[j + 1] - probit[j])
            return float(np.exp(np.log(n_items[j]) + t * (np.log(n_items[j + 1]) - np.log(n_items[j])))), "interpolated"
    if power[0] >= TARGET_POWER:
        method = "extrapolated below grid"
    else:
        method = "extrapolated above grid"
    best = int(np.argmin(np.abs(power - 0.5)))
    c = (probit[best] + norm_isf(alpha / 2)) / np.sqrt(n_items[best])
    if not c > 0 or power[best] <= alpha:
        return float("inf"), "no detectable difference in the grid"
    return float(((target + norm_isf(alpha / 2)) / c) ** 2), method


@dataclass(frozen=True)
class PowerGrid:
    """What the power analysis simulates: item counts, raters per group (beyond "observed"), data sets per point."""

    items: Sequence[int]
    raters: Sequence[int] | None = None
    n_sims: int = 1000
    alpha: float = 0.05
    seed: int = 0


def power_analysis(
    rm: RaterMatrix,
    x: np.ndarray,
    y: np.ndarray,
    grouping: Grouping,
    names: Sequence[str],
    pairs: Sequence[tuple[int, int]],
    grid: PowerGrid,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Power table (machine x pair x items x raters) and items needed for 80% power per pair.

    ``grouping`` covers the raters of ``rm`` (``Grouping.of_kept``); ``y`` holds its groups' mean ratings.
    """
    code, labels = grouping.code, grouping.labels
    n_sims, alpha = grid.n_sims, grid.alpha
    rng = np.random.default_rng([grid.seed, 4])
    rater_levels: list[int | None] = [None, *[int(k) for k in (grid.raters or [])]]
    items = sorted({int(n) for n in grid.items})
    rows, need_rows = [], []
    y_corr = np.ma.corrcoef(np.ma.masked_invalid(y), rowvar=False).filled(np.nan)
    for m, name in enumerate(names):
        xm = x[:, m]
        r_obs = np.array([_corr(xm, y[:, g]) for g in range(y.shape[1])])
        for k in rater_levels:
            grid = np.stack([simulate_power(xm, y, pairs, n, n_sims, rng, alpha, None if k is None else RaterDraw(rm, code, k)) for n in items])
            for j, (a, b) in enumerate(pairs):
                closed = steiger_power(r_obs[a], r_obs[b], y_corr[a, b], np.array(items), alpha) if k is None else None
                for i, n in enumerate(items):
                    rows.append(
                        {
                            "machine": name,
                            "group_a": labels[a],
                            "group_b": labels[b],
                            "raters_per_group": "observed" if k is None else k,
                            "n_items": n,
                            "power": float(grid[i, j]),
                            "power_closed_form": float(closed[i]) if closed is not None else float("nan"),
                        }
                    )
                needed, how = items_needed(np.array(items), grid[:, j], n_sims, alpha)
                need_rows.append(
                    {
                        "machine": name,
                        "group_a": labels[a],
                        "group_b": labels[b],
                        "raters_per_group": "observed" if k is None else k,
                        "observed_diff": float(r_obs[a] - r_obs[b]),
                        "items_for_80_power": needed,
                        "method": how,
                        "items_for_80_power_closed_form": steiger_items_needed(r_obs[a], r_obs[b], y_corr[a, b], alpha=alpha)
                        if k is None
                        else float("nan"),
                    }
                )
    return pd.DataFrame(rows), pd.DataFrame(need_rows)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(pearson_masked(a, b))
