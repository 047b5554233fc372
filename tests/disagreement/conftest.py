"""Shared helpers for the RQ3 tests: build small Annotations from arrays."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from annalign.core.annotations import Annotations


def build_annotations(ratings: np.ndarray, attrs: dict[str, list[str]], name: str = "sim") -> Annotations:
    """Annotations from a dense items x raters array (NaN = missing) and rater attribute columns."""
    n_items, n_raters = ratings.shape
    item, rater = np.nonzero(np.isfinite(ratings))
    items = pd.DataFrame({"context": [""] * n_items}, index=pd.Index([str(i) for i in range(n_items)], name="item_id"))
    raters = pd.DataFrame(attrs, index=pd.Index([f"r{j}" for j in range(n_raters)], name="rater_id"))
    return Annotations(name, items, raters, item, rater, ratings[item, rater])


@pytest.fixture
def make_annotations() -> Callable[..., Annotations]:
    """The build_annotations helper as a fixture."""
    return build_annotations
