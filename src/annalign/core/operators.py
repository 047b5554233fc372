"""Ratings as an items x raters linear operator: group sums and means as (sparse) matrix products."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from annalign.core.annotations import Annotations

#: items x raters matrices up to this many cells are held dense (BLAS); larger ones sparse.
DENSE_CELLS = 4_000_000


class RaterMatrix:
    """Ratings as items x raters (dense when small): weighted sums over raters are matrix products."""

    def __init__(self, item_index: np.ndarray, rater_index: np.ndarray, values: np.ndarray, n_items: int, n_raters: int):
        self.shape = (n_items, n_raters)
        if n_items * n_raters <= DENSE_CELLS:
            self.vals: Any = np.zeros(self.shape)
            self.mask: Any = np.zeros(self.shape)
            self.vals[item_index, rater_index] = values
            self.mask[item_index, rater_index] = 1.0
        else:
            ones = np.ones(len(values))
            self.vals = sparse.csr_matrix((values, (item_index, rater_index)), shape=self.shape)
            self.mask = sparse.csr_matrix((ones, (item_index, rater_index)), shape=self.shape)
        self.complete = _all_ones(self.mask, n_items * n_raters)

    @classmethod
    def from_dense(cls, matrix: np.ndarray) -> RaterMatrix:
        """From an items x raters array with NaN for missing ratings."""
        item, rater = np.nonzero(np.isfinite(matrix))
        return cls(item, rater, matrix[item, rater], *matrix.shape)

    @classmethod
    def of(cls, data: Annotations) -> RaterMatrix:
        return cls(data.item_index, data.rater_index, data.values, data.n_items, data.n_raters)

    def totals(self, weights: np.ndarray) -> np.ndarray:
        """Weighted sum of ratings per item for each column of weights (raters x k), without the counts."""
        return np.asarray(self.vals @ weights)

    def sums(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(weighted sum of ratings, weighted count) per item for each column of weights (raters x k)."""
        total = np.asarray(self.vals @ weights)
        per_column = self._column_counts(weights)
        if per_column is None:
            return total, np.asarray(self.mask @ weights)
        return total, np.repeat(per_column[None, :], self.shape[0], axis=0)

    def means(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(weighted mean per item, weighted count); NaN where no weighted rater rated the item."""
        per_column = self._column_counts(weights)
        if per_column is not None and np.all(per_column > 0):
            total = np.asarray(self.vals @ weights)
            return total / per_column, np.repeat(per_column[None, :], self.shape[0], axis=0)
        total, count = self.sums(weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan), count

    def _column_counts(self, weights: np.ndarray) -> np.ndarray | None:
        """Weighted count per column when every item has every rater and the weights are whole numbers, else None.

        Then every item's count is the column sum of the weights, exactly (sums of integers), so the
        product with the mask can be skipped; fractional weights keep the product (same rounding).
        """
        if not getattr(self, "complete", False) or not isinstance(weights, np.ndarray) or weights.ndim != 2:
            return None
        if not np.array_equal(weights, np.trunc(weights)):
            return None
        return weights.sum(axis=0)

    def columns(self, idx: np.ndarray) -> RaterMatrix:
        """The same operator restricted to some raters (in the given order)."""
        out = RaterMatrix.__new__(RaterMatrix)
        out.shape = (self.shape[0], len(idx))
        out.vals = self.vals[:, idx]
        out.mask = self.mask[:, idx]
        out.complete = self.complete
        return out


def _all_ones(mask: Any, cells: int) -> bool:
    """Whether an items x raters mask (dense or sparse) holds a 1 in every cell: every item has every rater."""
    if sparse.issparse(mask):
        return bool(mask.nnz == cells and np.all(mask.data == 1.0))
    return bool(np.all(mask == 1.0))


def one_hot(code: np.ndarray, n_groups: int) -> np.ndarray:
    """Raters x groups indicator matrix."""
    out = np.zeros((len(code), n_groups))
    out[np.arange(len(code)), code] = 1.0
    return out


def harmonic_count(count: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Effective raters per item (harmonic mean of counts over valid items), per column."""
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(valid, 1.0 / np.where(count > 0, count, 1.0), 0.0).sum(axis=0)
        return valid.sum(axis=0) / inv


def group_means(data: Annotations, code: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean rating per item and group over the raters who rated it (NaN if none), and the counts."""
    keep = code[data.rater_index] >= 0
    key = data.item_index[keep] * n_groups + code[data.rater_index[keep]]
    size = data.n_items * n_groups
    total = np.bincount(key, weights=data.values[keep], minlength=size).reshape(data.n_items, n_groups)
    count = np.bincount(key, minlength=size).reshape(data.n_items, n_groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan), count
