"""Vectorised simulation of many panels through the RQ2 building blocks (bootstrap, splits, tests)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from annalign.analyses.group_alignment import (
    intervals,
    make_splits,
    permutation_pair_diffs,
)
from annalign.core.operators import RaterMatrix, harmonic_count, one_hot
from annalign.stats.bootstrap import bootstrap_many, bootstrap_p
from annalign.stats.correlation import pearson_masked
from annalign.stats.permutation import permutation_p
from annalign.stats.reliability import adjusted_r
from annalign.testing.panels import panel


def simulate_pair_tests(
    sizes: Sequence[int],
    n_sets: int,
    *,
    n_items: int = 350,
    n_boot: int = 1000,
    n_perm: int = 0,
    rho: float = 0.6,
    sigma: float = 1.5,
    n_splits: int = 10,
    batch: int = 200,
    seed: int = 0,
    adjusted: bool = True,
) -> dict[str, np.ndarray]:
    """Per simulated data set: CI of group 0's r, and p-values of the group 0 vs 1 tests."""
    rng = np.random.default_rng(seed)
    n_groups = len(sizes)
    out: dict[str, list[np.ndarray]] = {"lo": [], "hi": [], "p_boot": [], "p_adjusted": [], "p_perm": []}
    for start in range(0, n_sets, batch):
        size = min(batch, n_sets - start)
        xs, ys, h1s, h2s, meta, p_perm = [], [], [], [], [], []
        for j in range(size):
            p = panel(rng, n_items, sizes, rho=rho, sigma=sigma)
            rm = RaterMatrix.from_dense(p.ratings)
            y, count = rm.means(one_hot(p.code, n_groups))
            xs.append(np.repeat(p.x[:, None], n_groups, axis=1))
            ys.append(y)
            if adjusted:
                splits = make_splits(rm, p.code, n_groups, n_splits, seed + start + j)
                h1s.append(splits.h1)
                h2s.append(splits.h2)
                meta.append((splits, harmonic_count(count, count > 0)))
            if n_perm:
                r = pearson_masked(p.x[:, None], y)
                diffs = permutation_pair_diffs(rm, p.x[:, None], np.flatnonzero(p.code == 0), np.flatnonzero(p.code == 1), n_perm, rng)
                p_perm.append(permutation_p(np.array([r[0] - r[1]]), diffs, centre=True)[0])
        blocks = [(np.hstack(xs), np.hstack(ys))] + ([(np.hstack(h1s), np.hstack(h2s))] if adjusted else [])
        reps = bootstrap_many(blocks, n_items, n_boot, seed * 100_003 + start)
        boot_r = reps[0].reshape(n_boot, size, n_groups)
        lo, hi = intervals(boot_r[:, :, 0], 0.95)
        out["lo"].append(lo)
        out["hi"].append(hi)
        out["p_boot"].append(bootstrap_p(boot_r[:, :, 0] - boot_r[:, :, 1]))
        out["p_perm"].append(np.array(p_perm) if n_perm else np.full(size, np.nan))
        if adjusted:
            boot_half = reps[1].reshape(n_boot, size, -1)
            p_adj = np.empty(size)
            for j, (splits, k_eff) in enumerate(meta):
                adj_boot = adjusted_r(boot_r[:, j, :], splits.reliability(boot_half[:, j, :], k_eff))
                p_adj[j] = bootstrap_p(adj_boot[:, 0:1] - adj_boot[:, 1:2])[0]
            out["p_adjusted"].append(p_adj)
        else:
            out["p_adjusted"].append(np.full(size, np.nan))
    return {k: np.concatenate(v) for k, v in out.items()}
