"""Item bootstrap as matrix products: each replicate is a vector of item counts.

A replicate that draws item i c_i times enters every statistic through weighted sums
``counts @ column``, so all replicates of all statistics come out of one matrix product per chunk,
and every analysis that uses the same (seed, n_items, n_boot) sees the same replicates: differences
between groups or models are paired by construction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache

import numpy as np

from annalign.stats.correlation import pearson_from_sums, unit_scale
from annalign.stats.ranks import rankdata

#: Count-matrix entries per chunk (x 8 bytes): bounds memory whatever the data size.
CHUNK_ENTRIES = 4_000_000


def count_chunks(n_items: int, n_boot: int, seed: int) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield (replicate slice, counts) with counts of shape (b, n_items), float64 (read-only).

    Replicates depend only on (seed, n_items, n_boot): the chunk size is a function of n_items.
    A run asks for the same replicates many times (every block of RQ1 and RQ2), so up to
    CACHE_ENTRIES counts are kept (the last two settings) rather than drawn again.
    """
    if isinstance(seed, (int, np.integer)) and n_items * n_boot <= CACHE_ENTRIES:
        yield from _cached_chunks(n_items, n_boot, seed)
    else:
        yield from _draw_chunks(n_items, n_boot, seed)


#: Count-matrix entries (x 8 bytes) up to which ``count_chunks`` keeps the replicates of one setting.
CACHE_ENTRIES = 8_000_000


@lru_cache(maxsize=2)
def _cached_chunks(n_items: int, n_boot: int, seed: int) -> tuple[tuple[slice, np.ndarray], ...]:
    """The chunks of ``_draw_chunks``, kept and made read-only so that no caller can change them."""
    chunks = tuple(_draw_chunks(n_items, n_boot, seed))
    for _, counts in chunks:
        counts.flags.writeable = False
    return chunks


def _draw_chunks(n_items: int, n_boot: int, seed: int) -> Iterator[tuple[slice, np.ndarray]]:
    """Draw the replicates chunk by chunk from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    per_chunk = max(1, min(n_boot, CHUNK_ENTRIES // max(n_items, 1)))
    start = 0
    while start < n_boot:
        b = min(per_chunk, n_boot - start)
        draws = rng.integers(0, n_items, size=(b, n_items))
        draws += (np.arange(b) * n_items)[:, None]  # in place: one pass less over the draws
        counts = np.bincount(draws.ravel(), minlength=b * n_items).reshape(b, n_items).astype(float)
        yield slice(start, start + b), counts
        start += b


def resample_indices(n_items: int, n_boot: int, seed: int) -> np.ndarray:
    """The same replicates as ``count_chunks`` as explicit item indices (for rank statistics)."""
    out = np.empty((n_boot, n_items), dtype=np.int64)
    for sl, counts in count_chunks(n_items, n_boot, seed):
        # Expand counts back to indices; order within a replicate does not matter.
        reps = np.repeat(np.tile(np.arange(n_items), counts.shape[0]), counts.astype(np.int64).ravel())
        out[sl] = reps.reshape(counts.shape[0], n_items)
    return out


def pearson_design(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Columns (w, dx, dy, dx^2, dy^2, dx dy) whose weighted sums give Pearson r per column pair.

    x and y are (n_items, k); rows where either is NaN get weight 0 in that column.
    """
    valid = np.isfinite(x) & np.isfinite(y)
    n = valid.sum(axis=0)
    # Scaled to magnitude <= 1 before summing (r is scale-free), so no sum of squares overflows.
    x, y = unit_scale(np.where(valid, x, 0.0)), unit_scale(np.where(valid, y, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.where(valid, x, 0.0).sum(axis=0) / n
        my = np.where(valid, y, 0.0).sum(axis=0) / n
    dx = unit_scale(np.where(valid, x - mx, 0.0))
    dy = unit_scale(np.where(valid, y - my, 0.0))
    return np.concatenate([valid.astype(float), dx, dy, dx * dx, dy * dy, dx * dy], axis=1)


def bootstrap_many(blocks: Sequence[tuple[np.ndarray, np.ndarray]], n_items: int, n_boot: int, seed: int) -> list[np.ndarray]:
    """Replicates (n_boot, k) of Pearson r for each block of (n_items, k) column pairs.

    All blocks share one set of replicates (the count matrices are drawn once), so statistics
    from different blocks are paired.
    """
    designs = [pearson_design(x, y) for x, y in blocks]
    outs = [np.empty((n_boot, x.shape[1])) for x, _ in blocks]
    if n_boot == 0:
        return outs
    for sl, counts in count_chunks(n_items, n_boot, seed):
        for design, out in zip(designs, outs, strict=True):
            k = out.shape[1]
            sums = counts @ design
            out[sl] = pearson_from_sums(*(sums[:, j * k : (j + 1) * k] for j in range(6)))
    return outs


def bootstrap_pearson(x: np.ndarray, y: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Bootstrap replicates of Pearson r for each column pair; shape (n_boot, k).

    x and y are (n_items,) or (n_items, k); rows where either is NaN are left out of that column.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    y = y[:, None] if y.ndim == 1 else y
    x, y = np.broadcast_arrays(x, y)
    return bootstrap_many([(x, y)], x.shape[0], n_boot, seed)[0]


def bootstrap_spearman(x: np.ndarray, y: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Bootstrap replicates of Spearman rho between two vectors (ranks recomputed per replicate)."""
    valid = np.isfinite(x) & np.isfinite(y)
    xv, yv = x[valid], y[valid]
    idx = resample_indices(len(xv), n_boot, seed)
    rx = rankdata(xv[idx], axis=1)
    ry = rankdata(yv[idx], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    n = np.full(n_boot, float(len(xv)))
    return pearson_from_sums(n, rx.sum(1), ry.sum(1), (rx * rx).sum(1), (ry * ry).sum(1), (rx * ry).sum(1))


#: Kendall's tau needs an n x n sign matrix; beyond this many items the bootstrap is refused.
KENDALL_MAX_ITEMS = 6000


def bootstrap_kendall(x: np.ndarray, y: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Bootstrap replicates of Kendall's tau-b as quadratic forms of the count vectors.

    With sign matrices Sx, Sy over the distinct items, a replicate with counts c has
    concordant-minus-discordant pairs c'(Sx*Sy)c/2 and untied pairs c'|Sx|c/2, c'|Sy|c/2,
    which gives tau-b without materialising the resampled data.
    """
    valid = np.isfinite(x) & np.isfinite(y)
    xv, yv = x[valid], y[valid]
    n = len(xv)
    if n > KENDALL_MAX_ITEMS:
        raise ValueError(f"Kendall bootstrap supports at most {KENDALL_MAX_ITEMS} items (got {n}); use pearson or spearman")
    sx = np.sign(xv[:, None] - xv[None, :])
    sy = np.sign(yv[:, None] - yv[None, :])
    prod, ax, ay = sx * sy, np.abs(sx), np.abs(sy)
    out = np.empty(n_boot)
    for sl, counts in count_chunks(n, n_boot, seed):
        num = np.einsum("bi,bi->b", counts @ prod, counts)
        dx = np.einsum("bi,bi->b", counts @ ax, counts)
        dy = np.einsum("bi,bi->b", counts @ ay, counts)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[sl] = np.where((dx > 0) & (dy > 0), num / np.sqrt(dx * dy), np.nan)
    return out


def bootstrap_correlation(x: np.ndarray, y: np.ndarray, n_boot: int, seed: int, method: str = "pearson") -> np.ndarray:
    """Replicates of one correlation between two vectors (n_boot,)."""
    if method == "pearson":
        return bootstrap_pearson(x, y, n_boot, seed)[:, 0]
    if method == "spearman":
        return bootstrap_spearman(x, y, n_boot, seed)
    if method == "kendall":
        return bootstrap_kendall(x, y, n_boot, seed)
    raise ValueError(f"unknown correlation method {method!r}")


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval, ignoring undefined (NaN) replicates; NaN if too few remain."""
    reps = np.asarray(replicates, dtype=float)
    reps = reps[np.isfinite(reps)]
    if len(reps) < 10:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    lo, hi = np.quantile(reps, [alpha, 1 - alpha])
    return float(lo), float(hi)


def percentile_intervals(replicates: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile intervals per column of a (n_boot, k) array of replicates."""
    alpha = (1 - level) / 2
    with np.errstate(invalid="ignore"):
        lo, hi = np.nanquantile(replicates, [alpha, 1 - alpha], axis=0)
    return lo, hi


def bootstrap_p(replicates: np.ndarray, null: float = 0.0) -> np.ndarray:
    """Two-sided p-value by inverting the percentile interval: 2 x the smaller tail beyond ``null``.

    Replicates are (n_boot, k); NaN replicates are ignored. Rejecting at alpha is the same as
    ``null`` lying outside the (1 - alpha) percentile interval. A tail is counted as (m + 1) / (n + 1),
    so no p-value is below 2 / (n + 1): B replicates cannot show a smaller one.
    """
    reps = np.asarray(replicates, dtype=float)
    finite = np.isfinite(reps)
    n = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        below = ((np.where(finite, reps, np.inf) <= null).sum(axis=0) + 1) / (n + 1)
        above = ((np.where(finite, reps, -np.inf) >= null).sum(axis=0) + 1) / (n + 1)
        p = np.minimum(1.0, 2 * np.minimum(below, above))
    return np.where(n >= 10, p, np.nan)


#: Groups x items design cells (x 6, x 8 bytes) up to which ``grouped_pearson_replicates`` multiplies densely.
DENSE_DESIGN_CELLS = 4_000_000


def grouped_pearson_replicates(
    group: np.ndarray, item: np.ndarray, a: np.ndarray, b: np.ndarray, shape: tuple[int, int], n_boot: int, seed: int
) -> np.ndarray:
    """Item-bootstrap replicates (n_boot, n_groups) of Pearson r of a and b within each group (e.g. each rater's).

    a, b, group and item are per observation; ``shape`` is (n_groups, n_items). The same item counts as
    every other bootstrap of (seed, n_items, n_boot), so the replicates pair with them.
    """
    from scipy import sparse

    n_groups, n_items = shape
    av, bv = unit_scale(np.asarray(a, dtype=float), None), unit_scale(np.asarray(b, dtype=float), None)  # no overflow
    cnt = np.bincount(group, minlength=n_groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        da = av - (np.bincount(group, weights=av, minlength=n_groups) / cnt)[group]
        db = bv - (np.bincount(group, weights=bv, minlength=n_groups) / cnt)[group]
    parts = [np.ones_like(da), da, db, da * da, db * db, da * db]
    cols = np.concatenate([group + j * n_groups for j in range(6)])
    # Column-major (CSC): the product walks the items in order and reuses each item's row of counts for
    # all its ratings, where CSR fetches it once per rating from anywhere in memory; the sums are the
    # same to the bit (each is still added up item by item) and 4-5x faster on 1,000,000 ratings.
    stacked = sparse.csc_matrix((np.concatenate(parts), (cols, np.tile(item, 6))), shape=(6 * n_groups, n_items))
    if 6 * n_groups * n_items <= DENSE_DESIGN_CELLS:  # a dense product (BLAS) is ten times faster at DICES size
        stacked = stacked.toarray()
    out = np.empty((n_boot, n_groups))
    for sl, counts in count_chunks(n_items, n_boot, seed):
        sums = np.asarray(counts @ stacked.T) if isinstance(stacked, np.ndarray) else np.asarray(stacked @ counts.T).T
        out[sl] = pearson_from_sums(*(sums[:, j * n_groups : (j + 1) * n_groups] for j in range(6)))
    return out
