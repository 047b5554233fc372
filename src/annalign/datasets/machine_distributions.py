"""Label distributions in machine-rater files: ``p_<label>`` columns, one per label of the data set (any case).

A row's shares are checked (numbers, none negative, not some missing and some given) and divided by
their sum (with one warning, the count and the first row, when that sum is off 1 by more than 0.001). A row with every share
missing has no distribution (counted in a warning). A ``p_`` column naming no label of the data set
is an error naming it; so is a data-set label with no column. ``p_method`` (how the engine had the
distribution) is not a label. Where the file has no score or label, a row's score is its expected
value under the rating map (sum of share x label value), so every analysis runs on such a rater.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from annalign.core.annotations import Annotations
from annalign.core.labelcodes import map_labels
from annalign.errors import InputError, warn

#: Columns that start with ``p_`` but hold no share.
NOT_SHARES = ("p_method",)
#: Shares summing to 1 within this (rounded CSV values) are divided by their sum without a warning.
SUM_TOLERANCE = 1e-3


def share_columns(frame: pd.DataFrame, data: Annotations, where: str) -> tuple[list[str], tuple[str, ...], np.ndarray] | None:
    """(file columns in label order, labels, label positions) when the file has ``p_`` columns; else None."""
    found = [c for c in frame.columns if str(c).lower().startswith("p_") and str(c).lower() not in NOT_SHARES]
    if not found:
        return None
    labels, positions = map_labels(data)
    by_name = {label.casefold(): label for label in labels}
    column_of: dict[str, str] = {}
    for column in found:
        label = by_name.get(str(column)[2:].casefold())
        if label is None:
            raise InputError(f"{where}, column {column!r}: {str(column)[2:]!r} is not a label of data set {data.name} ({', '.join(labels)})")
        if label in column_of:
            raise InputError(f"{where}: columns {column_of[label]!r} and {column!r} both give label {label!r}")
        column_of[label] = str(column)
    absent = [label for label in labels if label not in column_of]
    if absent:
        raise InputError(f"{where}: has p_ columns but none for label {absent[0]!r} (p_{absent[0]})")
    return [column_of[label] for label in labels], labels, positions


def read_shares(frame: pd.DataFrame, columns: list[str], where: str) -> np.ndarray:
    """The (rows, labels) shares, checked and normalised; NaN rows where every share is missing."""
    values = np.empty((len(frame), len(columns)))
    for k, column in enumerate(columns):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() & frame[column].notna() & (frame[column].astype(str).str.strip() != "")
        if bad.any():
            row = int(frame.loc[bad, "_row"].iloc[0])
            raise InputError(f"{where}, row {row}, column {column!r}: {frame.loc[bad, column].iloc[0]!r} is not a number")
        values[:, k] = numbers.to_numpy(dtype=float)
    _refuse(frame, values, where)
    given = np.isfinite(values).all(axis=1)
    if (~given).any():
        warn(f"{where}: {int((~given).sum())} of {len(values)} rows give no distribution (every p_ column blank); those items have none")
    total = values.sum(axis=1)
    off = given & (np.abs(total - 1.0) > SUM_TOLERANCE)
    if off.any():
        k = int(np.flatnonzero(off)[0])
        warn(f"{where}: the shares of {int(off.sum())} row(s) do not sum to 1 (row {int(frame['_row'].iloc[k])}: {total[k]:g}); each is divided by its sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(given[:, None], values / total[:, None], np.nan)


def _refuse(frame: pd.DataFrame, values: np.ndarray, where: str) -> None:
    """One-line errors for a negative share, a row with some shares missing, or shares summing to 0."""
    rows = frame["_row"].to_numpy()
    checks = (
        ((values < 0).any(axis=1), "a share is negative"),
        (np.isfinite(values).any(axis=1) & ~np.isfinite(values).all(axis=1), "some p_ columns are blank and others not"),
        (np.isfinite(values).all(axis=1) & (np.nansum(values, axis=1) <= 0), "the shares sum to 0"),
    )
    for bad, why in checks:
        if bad.any():
            raise InputError(f"{where}, row {int(rows[np.flatnonzero(bad)[0]])}: {why} ({int(bad.sum())} such rows)")


def expected_scores(shares: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Each row's expected value under the rating map (NaN where the row has no distribution)."""
    return shares @ positions
