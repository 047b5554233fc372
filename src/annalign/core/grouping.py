"""Groups of human raters formed from their attributes (``--by``): labels, codes and sizes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from annalign.errors import InputError, warn

DEFAULT_BY = ("rater_race", "rater_gender")
MISSING_MODES = ("unknown", "drop", "error")
SEPARATOR = " × "


@dataclass(frozen=True)
class Grouping:
    """Raters assigned to groups: ``code`` per rater of the data set (-1 = not in any kept group)."""

    by: tuple[str, ...]
    labels: list[str]
    attrs: list[dict[str, str]]
    code: np.ndarray
    sizes: np.ndarray
    excluded: list[dict[str, Any]] = field(default_factory=list)
    n_missing: dict[str, int] = field(default_factory=dict)

    @property
    def n_groups(self) -> int:
        return len(self.labels)


def parse_by(by: str | Sequence[str]) -> tuple[str, ...]:
    """``"rater_race,rater_gender"`` or a sequence -> tuple of column names."""
    parts = by.split(",") if isinstance(by, str) else list(by)
    names = tuple(p.strip() for p in parts if p and p.strip())
    if not names:
        raise InputError("--by needs at least one rater attribute column")
    return names


def make_groups(
    raters: pd.DataFrame,
    by: str | Sequence[str] = DEFAULT_BY,
    *,
    min_group_size: int = 2,
    missing_attr: str = "unknown",
) -> Grouping:
    """Groups from one attribute or a combination; small groups are reported and left out."""
    by = parse_by(by)
    if missing_attr not in MISSING_MODES:
        raise InputError(f"unknown --missing-attr {missing_attr!r}: use {', '.join(MISSING_MODES)}")
    absent = [c for c in by if c not in raters.columns]
    if absent:
        available = ", ".join(map(str, raters.columns)) or "(none)"
        raise InputError(f"rater attribute column {absent[0]!r} does not exist; available columns: {available}")
    frame = pd.DataFrame(index=raters.index)
    keep = np.ones(len(raters), dtype=bool)
    n_missing: dict[str, int] = {}
    for column in by:
        text = raters[column].astype(object).where(raters[column].notna(), None)
        text = text.map(lambda v: None if v is None or str(v).strip() == "" else str(v).strip())
        blank = text.isna().to_numpy()
        if blank.any():
            n_missing[column] = int(blank.sum())
            if missing_attr == "error":
                raise InputError(
                    f"rater attribute {column!r} is missing for {int(blank.sum())} of {len(raters)} raters; "
                    "use --missing-attr unknown or drop"
                )
            if missing_attr == "drop":
                keep &= ~blank
                warn(f"rater attribute {column!r} is missing for {int(blank.sum())} raters; they are dropped from RQ2")
            else:
                warn(f"rater attribute {column!r} is missing for {int(blank.sum())} raters; they form an 'unknown' group")
        frame[column] = text.fillna("unknown")
    keys = frame.apply(lambda row: tuple(row), axis=1) if len(frame) else pd.Series([], dtype=object)
    labels_all = sorted({k for k, kept in zip(keys, keep, strict=True) if kept})
    sizes_all = {k: int(sum(1 for kk, kept in zip(keys, keep, strict=True) if kept and kk == k)) for k in labels_all}
    kept_keys = [k for k in labels_all if sizes_all[k] >= min_group_size]
    excluded = [
        {"group": SEPARATOR.join(k), "n_raters": sizes_all[k], "reason": f"fewer than {min_group_size} raters"}
        for k in labels_all
        if sizes_all[k] < min_group_size
    ]
    for item in excluded:
        warn(f"group {item['group']!r} has {item['n_raters']} raters (< {min_group_size}); it is left out of RQ2")
    position = {k: i for i, k in enumerate(kept_keys)}
    code = np.array([position.get(k, -1) if kept else -1 for k, kept in zip(keys, keep, strict=True)], dtype=np.int64)
    if len(kept_keys) < 2:
        raise InputError(
            f"grouping by {', '.join(by)} leaves {len(kept_keys)} group(s) with at least {min_group_size} raters; "
            "RQ2 compares at least 2 groups (lower --min-group-size or choose other columns)"
        )
    return Grouping(
        by=by,
        labels=[SEPARATOR.join(k) for k in kept_keys],
        attrs=[dict(zip(by, k, strict=True)) for k in kept_keys],
        code=code,
        sizes=np.bincount(code[code >= 0], minlength=len(kept_keys)),
        excluded=excluded,
        n_missing=n_missing,
    )
