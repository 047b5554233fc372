"""The core data structure: an items x raters ratings matrix (missing allowed) with rater and item tables.

Ratings are stored in long (coordinate) form: one entry per observed (item, rater) pair. That keeps
sparse data sets (100,000 items x 2,000 raters with 10 ratings per item) small, and every analysis
is written as grouped sums over these arrays (np.bincount), which is what makes them vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from annalign.core.levels import infer_level
from annalign.core.ratingmap import RatingMap
from annalign.errors import InputError


@dataclass(frozen=True, eq=False)
class Annotations:
    """Human ratings of a data set, built once and shared by every analysis.

    Attributes:
        name: a short name (``dices350`` or the file name).
        items: one row per item, indexed by ``item_id`` (str), with the item's text fields.
        raters: one row per rater, indexed by ``rater_id`` (str), with the rater's attributes.
        item_index, rater_index, values: the observed ratings, one entry per (item, rater) pair.
        rating_map: how labels became numbers.
        vote_sum, vote_count: item-level data sets with no rater identities (DICES-990) give the
            per-item sum and count of ratings here instead of rater-level entries.
    """

    name: str
    items: pd.DataFrame
    raters: pd.DataFrame
    item_index: np.ndarray
    rater_index: np.ndarray
    values: np.ndarray
    rating_map: RatingMap = field(default_factory=RatingMap.dices)
    vote_sum: np.ndarray | None = None
    vote_count: np.ndarray | None = None
    source: str = ""

    def __post_init__(self) -> None:
        n = len(self.values)
        if len(self.item_index) != n or len(self.rater_index) != n:
            raise ValueError("item_index, rater_index and values must have the same length")

    # ----- sizes ---------------------------------------------------------------------------
    @property
    def item_ids(self) -> np.ndarray:
        return self.items.index.to_numpy()

    @property
    def rater_ids(self) -> np.ndarray:
        return self.raters.index.to_numpy()

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_raters(self) -> int:
        return len(self.raters)

    @property
    def n_ratings(self) -> int:
        return int(len(self.values)) if self.vote_count is None else int(self.vote_count.sum())

    @property
    def has_raters(self) -> bool:
        """False for item-level sets (per-item votes only): rater analyses do not apply."""
        return self.vote_count is None

    @cached_property
    def measurement(self) -> tuple[str, str]:
        """(level of measurement, why): declared in the rating map or inferred from it and the ratings."""
        values = self.values if self.vote_count is None else self.item_mean
        return infer_level(self.rating_map.level, self.rating_map.numeric, self.rating_map.name, self.rating_map.categories, values)

    @property
    def level(self) -> str:
        """The data set's level of measurement: "nominal", "ordinal" or "interval" (see ``measurement`` for why)."""
        return self.measurement[0]

    # ----- per-item summaries -------------------------------------------------------------
    @cached_property
    def item_sum(self) -> np.ndarray:
        if self.vote_sum is not None:
            return self.vote_sum.astype(float)
        return np.bincount(self.item_index, weights=self.values, minlength=self.n_items)

    @cached_property
    def item_sumsq(self) -> np.ndarray:
        return np.bincount(self.item_index, weights=self.values**2, minlength=self.n_items)

    @cached_property
    def item_count(self) -> np.ndarray:
        if self.vote_count is not None:
            return self.vote_count.astype(float)
        return np.bincount(self.item_index, minlength=self.n_items).astype(float)

    @cached_property
    def item_mean(self) -> np.ndarray:
        """Mean human rating per item; NaN where no rater rated the item."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.item_count > 0, self.item_sum / self.item_count, np.nan)

    @cached_property
    def rater_count(self) -> np.ndarray:
        return np.bincount(self.rater_index, minlength=self.n_raters)

    # ----- views --------------------------------------------------------------------------
    def dense(self) -> np.ndarray:
        """The items x raters matrix with NaN for missing ratings (for small data and tests)."""
        out = np.full((self.n_items, self.n_raters), np.nan)
        out[self.item_index, self.rater_index] = self.values
        return out

    def to_long(self) -> pd.DataFrame:
        """One row per rating: item_id, rater_id, rating and the rater's attributes."""
        frame = pd.DataFrame(
            {
                "item_id": self.item_ids[self.item_index],
                "rater_id": self.rater_ids[self.rater_index],
                "rating": self.values,
            }
        )
        return frame.join(self.raters, on="rater_id")

    def select_raters(self, keep: np.ndarray) -> Annotations:
        """A copy with only the raters where ``keep`` (bool per rater) is true."""
        keep = np.asarray(keep, dtype=bool)
        if not self.has_raters:
            raise InputError(f"data set {self.name} has no rater identities; rater filters do not apply")
        new_position = np.cumsum(keep) - 1
        entry_kept = keep[self.rater_index]
        return replace(
            self,
            raters=self.raters.loc[keep],
            item_index=self.item_index[entry_kept],
            rater_index=new_position[self.rater_index[entry_kept]],
            values=self.values[entry_kept],
        )

    def select_items(self, keep: np.ndarray) -> Annotations:
        """A copy with only the items where ``keep`` (bool per item) is true, in their order (item slices)."""
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (self.n_items,):
            raise ValueError(f"keep must have one entry per item ({self.n_items}), got shape {keep.shape}")
        new_position = np.cumsum(keep) - 1
        entry_kept = keep[self.item_index]
        return replace(
            self,
            items=self.items.loc[keep],
            item_index=new_position[self.item_index[entry_kept]],
            rater_index=self.rater_index[entry_kept],
            values=self.values[entry_kept],
            vote_sum=None if self.vote_sum is None else self.vote_sum[keep],
            vote_count=None if self.vote_count is None else self.vote_count[keep],
        )

    def filter_raters(self, which: str = "all", min_ratings: int = 0) -> Annotations:
        """Apply the rater filters: ``all``, ``dices-kept`` (drop DICES-flagged raters), minimum ratings."""
        data = self
        if which == "dices-kept":
            if "rater_removed" not in self.raters.columns:
                raise InputError(f"--raters dices-kept needs a rater_removed column, which data set {self.name} lacks")
            removed = self.raters["rater_removed"].astype(str).str.strip().str.casefold().isin({"true", "1", "yes"})
            data = data.select_raters(~removed.to_numpy())
        elif which != "all":
            raise InputError(f"unknown rater filter {which!r}: use all or dices-kept")
        if min_ratings > 0 and data.has_raters:
            data = data.select_raters(data.rater_count >= min_ratings)
        return data

    def describe(self) -> dict[str, object]:
        """Sizes and settings for results.json and the report."""
        return {
            "name": self.name,
            "source": self.source,
            "n_items": self.n_items,
            "n_raters": self.n_raters,
            "n_ratings": self.n_ratings,
            "density": (self.n_ratings / (self.n_items * self.n_raters)) if self.has_raters and self.n_raters else None,
            "rating_map": self.rating_map.to_dict(),
            "rater_attributes": [c for c in self.raters.columns],
        }
