"""Item slices: RQ1 (machine vs mean-human r with an item-bootstrap interval) within each value of an item field.

Within each slice the humans' own leave-one-out r (each rater against the mean of the others, on
the slice's items) gives the reference: its median and the machine's percentile among the raters.
With a rater grouping (``groupings``), RQ2 runs on each slice too (per-group r with the crossed
item-and-rater bootstrap of ``analyze_groups``; no power table): table ``slices_groups``.
A multi-valued field (DICES ``harm_type``: "Health,Misinformation") counts an item in each of its
values; the separator (``slice_sep``, default ",") is applied only when the field's values contain it.
Slices with fewer than ``MIN_CI_ITEMS`` items are reported with their n and r but no interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from annalign.analyses.base import ResultDisplay, check_level, fmt
from annalign.analyses.registry import analysis
from annalign.errors import InputError
from annalign.stats.bootstrap import bootstrap_pearson, percentile_interval
from annalign.stats.correlation import pearson_masked

if TYPE_CHECKING:
    from annalign.core.annotations import Annotations
    from annalign.core.machines import MachineRatings

MIN_CI_ITEMS = 10
TOP_GAPS = 5
GENERALISES_TO = "items"


def check_fields(items: pd.DataFrame, fields: Sequence[str]) -> None:
    """A one-line InputError for the first of ``fields`` that is not an item field, listing the item fields."""
    for name in fields:
        if name not in items.columns:
            known = ", ".join(map(str, items.columns)) or "none"
            raise InputError(f"slice_by: unknown item field {name!r}; item fields are: {known}")


def slice_members(items: pd.DataFrame, field: str, sep: str = ",") -> dict[str, np.ndarray]:
    """Item positions in each value of ``field``; split on ``sep`` only when some value contains it."""
    check_fields(items, [field])
    values = items[field].astype("string").fillna("").to_numpy(dtype=object)
    multi = bool(sep) and any(sep in v for v in values)
    labels = [[p.strip() for p in v.split(sep)] if multi else [v.strip()] for v in values]
    rows = np.repeat(np.arange(len(values)), [len(ls) for ls in labels])
    flat = np.array([p for ls in labels for p in ls], dtype=object)
    keep = flat != ""
    frame = pd.DataFrame({"row": rows[keep], "label": flat[keep]}).drop_duplicates()
    return {str(k): g["row"].to_numpy() for k, g in frame.groupby("label", sort=True)}


@dataclass(frozen=True)
class SlicesResult(ResultDisplay):
    """Per-slice machine-human r with intervals, and the items with the largest gaps per slice."""

    table: pd.DataFrame
    #: every item of every slice and machine: machine score, mean human, |gap| and the text's start
    item_gaps: pd.DataFrame
    n_boot: int
    level: float
    #: each table row's bootstrap replicates of r (empty where the slice is too small for an interval)
    replicates: tuple[np.ndarray, ...] = ()
    #: RQ2 per slice: one row per slice, machine and group (empty without a grouping)
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_frame(self) -> pd.DataFrame:
        return self.table

    @property
    def gaps(self) -> pd.DataFrame:
        """The TOP_GAPS items per slice and machine with the largest |machine - mean human| (the report's table)."""
        return self.largest_gaps(TOP_GAPS)

    def largest_gaps(self, k: int = TOP_GAPS) -> pd.DataFrame:
        """The ``k`` items per slice and machine with the largest |machine - mean human| (ties: the earlier item)."""
        if not len(self.item_gaps):
            return self.item_gaps
        keys = ["field", "slice", "machine"]
        parts = [g.nlargest(k, "gap", keep="first") for _, g in self.item_gaps.groupby(keys, sort=False)]
        return pd.concat(parts, ignore_index=True)

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"slices": self.table, "slices_gaps": self.gaps}
        if len(self.groups):
            out["slices_groups"] = self.groups
        return out

    def to_dict(self) -> dict[str, Any]:
        clean = lambda f: f.astype(object).where(pd.notna(f), None).to_dict(orient="records")  # noqa: E731
        return {
            "n_boot": self.n_boot,
            "level": self.level,
            "min_ci_items": MIN_CI_ITEMS,
            "slices": clean(self.table),
            "gaps": clean(self.gaps),
            "groups": clean(self.groups) if len(self.groups) else [],
        }

    def summary(self) -> list[str]:
        lines = ["Slices (machine vs mean human r per item slice):"]
        for row in self.table.itertuples():
            ci = (
                f"[{fmt(row.ci_low)}, {fmt(row.ci_high)}]"
                if np.isfinite(row.ci_low)
                else "(no CI: < 10 items)"
            )
            humans = f"; humans' median LOO r {fmt(row.human_median_loo_r)}" if row.n_raters else ""
            lines.append(f"  {row.field}={row.slice} {row.machine}: n={row.n_items} r={fmt(row.r)} {ci}{humans}")
        if len(self.groups):
            lines.append(f"  RQ2 per slice: {len(self.groups)} slice x machine x group r with crossed intervals (table slices_groups)")
        return lines

    def confidence_interval(self, level: float = 0.95) -> pd.DataFrame:
        """Each slice's r with its percentile interval at ``level`` from the kept replicates (NaN for small slices)."""
        level = check_level(level)
        bounds = [percentile_interval(reps, level) if len(reps) else (np.nan, np.nan) for reps in self.replicates]
        frame = self.table[["field", "slice", "machine", "n_items", "r"]].copy()
        frame["low"] = [b[0] for b in bounds] if bounds else []
        frame["high"] = [b[1] for b in bounds] if bounds else []
        return frame.assign(level=level)


def analyze_slices(
    data: Annotations,
    machines: MachineRatings,
    by: Sequence[str],
    *,
    sep: str = ",",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    groupings: Sequence[str] | None = None,
) -> SlicesResult:
    """RQ1 per slice of each field in ``by`` (r with the mean human, item-bootstrap CI, the humans' LOO r), and RQ2 per slice."""
    rows, gaps, kept, groups = [], [], [], []
    text_col = next((c for c in ("text", "context", "response") if c in data.items.columns), None)
    for name_of_field in by:
        for label, members in slice_members(data.items, name_of_field, sep).items():
            where = {"field": name_of_field, "slice": label}
            keep = np.zeros(data.n_items, dtype=bool)
            keep[members] = True
            humans = _humans_loo(data, keep)
            for name in machines.names:
                row, reps, ids, x, y = _slice_row(data, machines.column(name), members, (n_boot, seed, level), humans)
                rows.append({**where, "machine": name, **row})
                kept.append(reps)
                gaps.append(_item_gaps(data, ids, x, y, text_col).assign(**where, machine=name))
            if groupings and data.has_raters and keep.sum() >= MIN_CI_ITEMS:
                groups.append(_groups_in_slice(data, machines, keep, groupings, (n_boot, seed, level)).assign(**where))
    group_frame = pd.concat(groups, ignore_index=True) if groups else pd.DataFrame()
    if len(group_frame):
        group_frame = group_frame[["field", "slice", *[c for c in group_frame.columns if c not in ("field", "slice")]]]
    gap_columns = ["field", "slice", "machine", "item_id", "machine_score", "human_mean", "gap", "text"]
    gap_frame = pd.concat(gaps, ignore_index=True)[gap_columns] if gaps else pd.DataFrame(columns=gap_columns)
    return SlicesResult(pd.DataFrame(rows), gap_frame, n_boot, level, tuple(kept), group_frame)


def _humans_loo(data: Annotations, keep: np.ndarray) -> np.ndarray:
    """The finite leave-one-out r of every rater on the slice's items (empty without rater identities)."""
    from annalign.analyses.alignment import leave_one_out

    if not data.has_raters:
        return np.zeros(0)
    r, _ = leave_one_out(data.select_items(keep), "pearson")
    return r[np.isfinite(r)]


def _slice_row(
    data: Annotations, score: np.ndarray, members: np.ndarray, resampling: tuple[int, int, float], humans: np.ndarray
) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One machine on one slice: its r, interval and standing among the humans; with its replicates and paired scores."""
    from annalign.stats.ranks import percentile_of_score

    n_boot, seed, level = resampling
    x, y = score[members], data.item_mean[members]
    ok = np.isfinite(x) & np.isfinite(y)
    x, y, ids = x[ok], y[ok], members[ok]
    r = float(pearson_masked(x[:, None], y[:, None])[0]) if len(x) > 2 else float("nan")
    lo = hi = float("nan")
    reps = np.zeros(0)
    if len(x) >= MIN_CI_ITEMS and n_boot > 0:
        reps = bootstrap_pearson(x, y, n_boot, seed)[:, 0]
        lo, hi = percentile_interval(reps, level)
    row = {
        "n_items": int(len(x)),
        "r": r,
        "ci_low": lo,
        "ci_high": hi,
        "n_raters": int(len(humans)),
        "human_median_loo_r": float(np.median(humans)) if len(humans) else float("nan"),
        "percentile_among_humans": percentile_of_score(humans, r),
        "generalises_over": GENERALISES_TO,
        "note": "" if len(x) >= MIN_CI_ITEMS else f"fewer than {MIN_CI_ITEMS} items: no interval",
    }
    return row, reps, ids, x, y


def _item_gaps(data: Annotations, ids: np.ndarray, x: np.ndarray, y: np.ndarray, text_col: str | None) -> pd.DataFrame:
    """Every item of a slice: machine score, mean human score and their absolute difference."""
    texts = data.items[text_col].iloc[ids].astype(str).str[:80].to_numpy() if text_col else np.full(len(ids), "")
    return pd.DataFrame(
        {"item_id": data.item_ids[ids].astype(str), "machine_score": x, "human_mean": y, "gap": np.abs(x - y), "text": texts}
    )


def _groups_in_slice(
    data: Annotations, machines: MachineRatings, keep: np.ndarray, by: Sequence[str], resampling: tuple[int, int, float]
) -> pd.DataFrame:
    """RQ2 on one slice: each machine's r with each group's mean, crossed (items and raters) intervals, no power table."""
    from annalign.analyses.group_alignment import analyze_groups
    from annalign.core.machines import MachineRatings as Machines

    n_boot, seed, level = resampling
    sliced = Machines(machines.names, machines.scores[keep], machines.sources, rating_map=machines.rating_map)
    result = analyze_groups(data.select_items(keep), sliced, list(by), n_boot=n_boot, seed=seed, level=level, power_items=None)
    columns = ["machine", "group", "n_raters", "n_items", "r", "ci_low", "ci_high", "generalises_to"]
    return result.per_group[[c for c in columns if c in result.per_group.columns]]


@analysis("slices")
def slices_analysis(
    data: Annotations, machines: MachineRatings | None, settings: Any
) -> SlicesResult:
    """The run's slices analysis: the ``slice_by`` fields, its bootstrap, seed and level."""
    by = getattr(settings, "slice_by", None) or []
    if machines is None or not by:
        raise InputError(
            "the slices analysis needs machine ratings and at least one slice_by item field"
        )
    groupings = settings.groupings_for(data.raters.columns) if data.has_raters and hasattr(settings, "groupings_for") else []
    return analyze_slices(
        data,
        machines,
        by,
        sep=getattr(settings, "slice_sep", ","),
        n_boot=settings.bootstrap,
        seed=settings.seed,
        level=settings.level,
        groupings=groupings[0] if groupings else None,
    )
