"""Human ratings as label codes 0..L-1 in the rating map's label order, for distributional statistics."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from annalign.core.annotations import Annotations
from annalign.errors import InputError
from annalign.stats.distributional import Crowd


@dataclass(frozen=True, eq=False)
class LabelCodes:
    """A code per rating (-1 = missing), the label of each code and its position on the rating scale."""

    codes: np.ndarray
    labels: tuple[str, ...]
    positions: np.ndarray


def map_labels(data: Annotations) -> tuple[tuple[str, ...], np.ndarray]:
    """(labels, positions): the rating map's distinct finite values in its order (first label named), or a numeric set's observed values sorted."""
    if data.rating_map.numeric:
        observed = np.unique(data.values[np.isfinite(data.values)])
        return tuple(f"{v:g}" for v in observed), observed.astype(float)
    first: dict[float, str] = {}
    for label, value in data.rating_map.mapping.items():
        if not math.isnan(value) and value not in first:
            first[value] = label
    return tuple(first.values()), np.array(list(first), dtype=float)


def label_codes(data: Annotations) -> LabelCodes:
    """The label code of each rating of ``data``; an InputError for item-level sets or a rating that no label maps to."""
    if not data.has_raters:
        raise InputError(f"data set {data.name} has only per-item votes; label distributions need rater-level ratings")
    labels, positions = map_labels(data)
    order = np.argsort(positions, kind="stable")
    finite = np.isfinite(data.values)
    where = np.clip(np.searchsorted(positions[order], data.values[finite]), 0, max(len(positions) - 1, 0))
    known = positions[order][where] == data.values[finite] if len(positions) else np.zeros(finite.sum(), bool)
    if not known.all():
        bad = data.values[finite][~known][0]
        raise InputError(f"data set {data.name}: rating {bad:g} is no value of rating map {data.rating_map.name} ({', '.join(labels)})")
    codes = np.full(len(data.values), -1, dtype=np.int64)
    codes[finite] = order[where]
    return LabelCodes(codes, labels, positions)


def crowd_of(data: Annotations) -> tuple[Crowd, LabelCodes]:
    """The data set's ratings as a Crowd of label codes, with the codes' labels and positions."""
    coded = label_codes(data)
    return Crowd(data.item_index, coded.codes, data.n_items, len(coded.labels)), coded
