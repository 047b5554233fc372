"""Synthetic rater panels with known group alignment, for the RQ2 simulation tests and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from annalign.core.annotations import Annotations


@dataclass(frozen=True)
class Panel:
    """One simulated data set: machine scores x (n,), dense ratings (n, raters), group code per rater."""

    x: np.ndarray
    ratings: np.ndarray
    code: np.ndarray


def group_truth_loadings(n_groups: int, rho: float, alignment: Sequence[float] | None) -> np.ndarray:
    """Weight of the shared truth in each group's truth so that corr(x, group truth) = alignment[g]."""
    if alignment is None:
        return np.ones(n_groups)
    return np.clip(np.asarray(alignment, dtype=float) / rho, -1.0, 1.0)


def panel(
    rng: np.random.Generator,
    n_items: int,
    sizes: Sequence[int],
    *,
    rho: float = 0.6,
    sigma: float = 1.5,
    alignment: Sequence[float] | None = None,
) -> Panel:
    """Gaussian panel: truth T ~ N(0,1), x = rho T + noise, group truth T_g = l_g T + sqrt(1-l_g^2) U_g,
    rating = T_g + sigma * noise. True alignment corr(x, T_g) = rho * l_g (rho for all when alignment=None).
    """
    t = rng.standard_normal(n_items)
    x = rho * t + np.sqrt(1 - rho**2) * rng.standard_normal(n_items)
    load = group_truth_loadings(len(sizes), rho, alignment)
    columns, codes = [], []
    for g, k in enumerate(sizes):
        tg = load[g] * t + np.sqrt(1 - load[g] ** 2) * rng.standard_normal(n_items)
        columns.append(tg[:, None] + sigma * rng.standard_normal((n_items, k)))
        codes.append(np.full(k, g))
    return Panel(x=x, ratings=np.hstack(columns), code=np.concatenate(codes))


def true_group_r(rho: float, sigma: float, k: int, alignment: float | None = None) -> float:
    """Population r between x and the mean of k raters of a group (attenuated by its reliability)."""
    a = rho if alignment is None else alignment
    return float(a / np.sqrt(1 + sigma**2 / k))


def population_cov(rho: float, sigma: float, sizes: Sequence[int], alignment: Sequence[float] | None = None) -> np.ndarray:
    """Covariance of (x, group mean 1, group mean 2, ...) in the panel model."""
    load = group_truth_loadings(len(sizes), rho, alignment)
    g = len(sizes)
    cov = np.empty((g + 1, g + 1))
    cov[0, 0] = 1.0
    for a in range(g):
        cov[0, a + 1] = cov[a + 1, 0] = rho * load[a]
        for b in range(g):
            cov[a + 1, b + 1] = load[a] * load[b] + (1 - load[a] ** 2 + sigma**2 / sizes[a] if a == b else 0.0)
    return cov


def sparse_annotations(
    n_items: int, n_raters: int, n_groups: int, per_item: int, seed: int, *, rho: float = 0.6, sigma: float = 1.5
) -> tuple[Annotations, np.ndarray]:
    """A sparse long-form data set (per_item random raters per item, missing elsewhere) and machine scores.

    Raters are split evenly into groups (attribute ``rater_group``); ratings follow the panel model.
    """
    rng = np.random.default_rng(seed)
    t = rng.standard_normal(n_items)
    x = rho * t + np.sqrt(1 - rho**2) * rng.standard_normal(n_items)
    # per_item distinct raters per item: random offsets into a random rater order.
    base = rng.integers(0, n_raters, size=n_items)
    step = rng.permutation(n_raters)[:per_item]
    rater = (base[:, None] + step[None, :]) % n_raters
    item = np.repeat(np.arange(n_items), per_item)
    rater = rater.ravel()
    values = t[item] + sigma * rng.standard_normal(len(item))
    raters = pd.DataFrame(
        {"rater_group": [f"g{int(g)}" for g in np.arange(n_raters) % n_groups]},
        index=pd.Index([f"r{j}" for j in range(n_raters)], name="rater_id"),
    )
    items = pd.DataFrame(index=pd.Index([f"i{j}" for j in range(n_items)], name="item_id"))
    data = Annotations(
        name="synthetic",
        items=items,
        raters=raters,
        item_index=item.astype(np.int64),
        rater_index=rater.astype(np.int64),
        values=values,
    )
    return data, x
