"""Shared fixtures: the bundled data and random sparse data sets with known structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from annalign.core.annotations import Annotations
from annalign.core.ratingmap import RatingMap
from annalign.datasets.bundled import load_dataset


@pytest.fixture(scope="session")
def dices350() -> Annotations:
    return load_dataset("dices350")


def make_annotations(dense: np.ndarray, name: str = "sim", attrs: dict[str, list] | None = None) -> Annotations:
    """Annotations from an items x raters matrix with NaN for missing ratings."""
    items, raters = np.nonzero(np.isfinite(dense))
    n_items, n_raters = dense.shape
    return Annotations(
        name=name,
        items=pd.DataFrame(index=pd.Index([str(i) for i in range(n_items)], name="item_id")),
        raters=pd.DataFrame(attrs or {}, index=pd.Index([f"r{j}" for j in range(n_raters)], name="rater_id")),
        item_index=items.astype(np.int64),
        rater_index=raters.astype(np.int64),
        values=dense[items, raters],
        rating_map=RatingMap.numeric_scale(),
    )


def random_sparse(seed: int, n_items: int = 80, n_raters: int = 12, density: float = 0.6, levels: int | None = None) -> np.ndarray:
    """A random items x raters matrix with a shared signal, rater noise and missing ratings."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=n_items)
    dense = truth[:, None] + rng.normal(scale=1.0, size=(n_items, n_raters))
    if levels:
        dense = np.clip(np.round(dense + levels / 2), 0, levels - 1)
    dense[rng.random((n_items, n_raters)) > density] = np.nan
    return dense
