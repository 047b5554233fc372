"""Groups of human raters formed from their attributes (``--by``): one rule and one label format for every analysis.

RQ2 (group alignment, its power and within-group variation) and RQ3 (group disagreement) all
group raters with ``make_groups``, so the same ``by`` gives the same groups everywhere:

* A blank or whitespace-only attribute value counts as missing, like an empty cell. What happens
  to a rater with a missing attribute is the user's choice (``missing_attr`` / ``--missing-attr``):
  ``unknown`` (the default) gives the value ``unknown``, so those raters form their own group and
  nobody is silently lost; ``drop`` leaves them out of every group; ``error`` refuses the data.
* Groups with fewer than ``min_group_size`` raters (default 2, at least 2: both analyses estimate
  split-half reliability within each group) are left out of every analysis and listed in
  ``excluded``; at least two groups must remain.
* A group's label joins its attribute values with `` × `` (``White × Woman``). Labels given as
  input (``--groups``, persona rater names, Python calls) may also use ``|`` (``White|Woman``, the
  spelling RQ3 wrote before) and any letter case: ``find`` / ``index`` match them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from annalign.errors import InputError, warn

DEFAULT_BY = ("rater_race", "rater_gender")
MISSING_MODES = ("unknown", "drop", "error")
DEFAULT_MISSING = "unknown"
DEFAULT_MIN_GROUP_SIZE = 2
#: The value a missing attribute takes under ``missing_attr="unknown"``.
UNKNOWN = "unknown"
#: Between the attribute values of a group label, in every output.
SEPARATOR = " × "
#: Separators accepted between values in labels given as input (the first one is the output format).
INPUT_SEPARATORS = ("×", "|")


def format_label(values: Sequence[str]) -> str:
    """The one output spelling of a group: its attribute values joined by `` × ``."""
    return SEPARATOR.join(values)


def parse_label(label: str) -> tuple[str, ...]:
    """A group label's attribute values: ``'White × Woman'`` and ``'White|Woman'`` both give ``('White', 'Woman')``."""
    text = str(label)
    for sep in INPUT_SEPARATORS[1:]:
        text = text.replace(sep, INPUT_SEPARATORS[0])
    return tuple(part.strip() for part in text.split(INPUT_SEPARATORS[0]))


def canonical_label(label: str) -> str:
    """A group label in its output spelling, for matching: values stripped and case-folded."""
    return format_label([v.casefold() for v in parse_label(label)])


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
    missing_attr: str = DEFAULT_MISSING
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE

    @property
    def n_groups(self) -> int:
        return len(self.labels)

    @property
    def keys(self) -> list[tuple[str, ...]]:
        """Each group's attribute values in ``by`` order."""
        return [tuple(a[c] for c in self.by) for a in self.attrs]

    @property
    def kept(self) -> np.ndarray:
        """Per rater: whether it belongs to a kept group."""
        return self.code >= 0

    def of_kept(self) -> Grouping:
        """The same groups over the kept raters only (``data.select_raters(grouping.kept)``)."""
        return replace(self, code=self.code[self.kept])

    def find(self, label: str) -> int:
        """Position of a group label (`` × `` or ``|`` between values, any case), or -1."""
        label = str(label).strip()
        if label in self.labels:
            return self.labels.index(label)
        folded = [canonical_label(x) for x in self.labels]
        wanted = canonical_label(label)
        return folded.index(wanted) if wanted in folded else -1

    def index(self, label: str, hint: str = "") -> int:
        """Position of a group label; InputError naming the label, why it is absent and the available ones."""
        position = self.find(label)
        if position >= 0:
            return position
        small = [e for e in self.excluded if canonical_label(e["group"]) == canonical_label(label)]
        why = f" (it has {small[0]['n_raters']} rater(s), fewer than --min-group-size {self.min_group_size})" if small else ""
        raise InputError(
            f"unknown group {label!r}{why} for grouping by {', '.join(self.by)}; available: "
            + "; ".join(repr(x) for x in self.labels)
            + hint
        )


def parse_by(by: str | Sequence[str]) -> tuple[str, ...]:
    """``"rater_race,rater_gender"`` or a sequence -> tuple of column names."""
    parts = by.split(",") if isinstance(by, str) else list(by)
    names = tuple(p.strip() for p in parts if p and p.strip())
    if not names:
        raise InputError("--by needs at least one rater attribute column")
    return names


def attribute_values(column: pd.Series) -> pd.Series:
    """Attribute values as stripped text; missing, blank and whitespace-only cells become None."""
    text = column.astype(object).where(column.notna(), None)
    return text.map(lambda v: None if v is None or str(v).strip() == "" else str(v).strip())


def _missing_values(raters: pd.DataFrame, by: tuple[str, ...], missing_attr: str) -> tuple[pd.DataFrame, np.ndarray, dict[str, int]]:
    """The ``by`` columns as text with missing values handled per ``missing_attr``: (values, kept raters, counts)."""
    frame = pd.DataFrame(index=raters.index)
    keep = np.ones(len(raters), dtype=bool)
    n_missing: dict[str, int] = {}
    for column in by:
        text = attribute_values(raters[column])
        blank = text.isna().to_numpy()
        if blank.any():
            n = int(blank.sum())
            n_missing[column] = n
            if missing_attr == "error":
                raise InputError(
                    f"rater attribute {column!r} is missing for {n} of {len(raters)} raters; "
                    "use --missing-attr unknown or drop"
                )
            if missing_attr == "drop":
                keep &= ~blank
                warn(f"rater attribute {column!r} is missing for {n} raters; they are dropped from the groups")
            else:
                warn(f"rater attribute {column!r} is missing for {n} raters; they form an {UNKNOWN!r} group")
        frame[column] = text.fillna(UNKNOWN)
    return frame, keep, n_missing


def make_groups(
    raters: pd.DataFrame,
    by: str | Sequence[str] = DEFAULT_BY,
    *,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    missing_attr: str = DEFAULT_MISSING,
) -> Grouping:
    """Groups from one attribute or a combination (see the module docstring for the rules)."""
    by = parse_by(by)
    if missing_attr not in MISSING_MODES:
        raise InputError(f"unknown --missing-attr {missing_attr!r}: use {', '.join(MISSING_MODES)}")
    if isinstance(min_group_size, bool) or not isinstance(min_group_size, (int, np.integer)) or min_group_size < 2:
        raise InputError(f"--min-group-size must be a whole number of at least 2 (split-half reliability needs two raters), got {min_group_size!r}")
    absent = [c for c in by if c not in raters.columns]
    if absent:
        available = ", ".join(map(str, raters.columns)) or "(none)"
        raise InputError(f"rater attribute column {absent[0]!r} does not exist; available columns: {available}")
    frame, keep, n_missing = _missing_values(raters, by, missing_attr)
    keys = [tuple(row) for row in frame.to_numpy()]
    sizes_all: dict[tuple[str, ...], int] = {}
    for k, kept in zip(keys, keep, strict=True):
        if kept:
            sizes_all[k] = sizes_all.get(k, 0) + 1
    labels_all = sorted(sizes_all)
    kept_keys = [k for k in labels_all if sizes_all[k] >= min_group_size]
    excluded = [
        {"group": format_label(k), "n_raters": sizes_all[k], "reason": f"fewer than {min_group_size} raters"}
        for k in labels_all
        if sizes_all[k] < min_group_size
    ]
    for item in excluded:
        warn(f"group {item['group']!r} has {item['n_raters']} raters (< {min_group_size}); it is left out of the group analyses")
    if len(kept_keys) < 2:
        raise InputError(
            f"grouping by {', '.join(by)} leaves {len(kept_keys)} group(s) with at least {min_group_size} raters; "
            "comparing groups needs at least 2 (lower --min-group-size or choose other columns)"
        )
    position = {k: i for i, k in enumerate(kept_keys)}
    code = np.array([position.get(k, -1) if kept else -1 for k, kept in zip(keys, keep, strict=True)], dtype=np.int64)
    return Grouping(
        by=by,
        labels=[format_label(k) for k in kept_keys],
        attrs=[dict(zip(by, k, strict=True)) for k in kept_keys],
        code=code,
        sizes=np.bincount(code[code >= 0], minlength=len(kept_keys)),
        excluded=excluded,
        n_missing=n_missing,
        missing_attr=missing_attr,
        min_group_size=int(min_group_size),
    )
