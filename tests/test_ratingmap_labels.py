"""Label lookup once per distinct text label gives what normalising each rating gives (values, unknown labels, blanks)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from annalign.core.ratingmap import RatingMap, _lookup_labels, _norm
from annalign.errors import InputError

LABELS = ["Yes", " yes", "NO", "no ", "Unsure", "unsure", "", "   ", None, "maybe", "YES\t", "Nan"]


def _per_entry(series: pd.Series, lookup: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """The reference: ``_norm`` of every entry, then the lookup."""
    normed = series.map(_norm)
    return normed.map(lookup).to_numpy(dtype=float), normed.isin(lookup.keys()).to_numpy()


@pytest.mark.parametrize("dtype", [object, "str"])
def test_distinct_label_lookup_matches_the_per_entry_one(dtype):
    rng = np.random.default_rng(4)
    series = pd.Series([LABELS[k] for k in rng.integers(0, len(LABELS), 500)], dtype=dtype)
    lookup = {_norm(k): v for k, v in RatingMap.dices().mapping.items()}
    values, known = _lookup_labels(series, lookup)
    ref_values, ref_known = _per_entry(series, lookup)
    present = series.notna().to_numpy()
    np.testing.assert_array_equal(values[present], ref_values[present])
    np.testing.assert_array_equal(known[present], ref_known[present])
    assert np.isnan(values[~present]).all() and known[~present].all()


def test_mixed_objects_keep_the_per_entry_path_where_equal_keys_are_different_labels():
    series = pd.Series([1, 1.0, True, "1"], dtype=object)
    values, known = _lookup_labels(series, {"1": 5.0, "1.0": 7.0})
    np.testing.assert_array_equal(values, [5.0, 7.0, np.nan, 5.0])
    np.testing.assert_array_equal(known, [True, True, False, True])


class _Label:
    """Not a str, but shown as one: keeps a column off the text-only path."""

    def __str__(self) -> str:
        return "Yes"


@pytest.mark.parametrize("dtype", [object, "str"])
def test_apply_gives_the_same_numbers_for_text_and_mixed_columns(dtype):
    labels = ["Yes", "no", " Unsure ", "", None, "YES"]
    text = RatingMap.dices().apply(pd.Series(labels, dtype=dtype), where="test")
    mixed = RatingMap.dices().apply(pd.Series([*labels, _Label()], dtype=object), where="test")  # not all text: the per-entry path
    np.testing.assert_array_equal(text, mixed[:-1])
    np.testing.assert_array_equal(text, [1.0, 0.0, 0.5, np.nan, np.nan, 1.0])


def test_an_unknown_label_in_a_text_column_still_names_it():
    with pytest.raises(InputError, match="'maybe'"):
        RatingMap.dices().apply(pd.Series(["Yes", "maybe"], dtype="str"), where="test")
