"""Item slices: RQ1 (machine vs mean-human r with an item-bootstrap interval) within each value of an item field.

A multi-valued field (DICES ``harm_type``: "Health,Misinformation") counts an item in each of its
values; the separator (``slice_sep``, default ",") is applied only when the field's values contain it.
Slices with fewer than ``MIN_CI_ITEMS`` items are reported with their n and r but no interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
GENERALISES_TO = "items"


def check_fields(items: pd.DataFrame, fields: Sequence[str]) -> None:
    """A one-line InputError for the first of ``fields`` that is not an item field, listing the item fields."""
    for field in fields:
        if field not in items.columns:
            known = ", ".join(map(str, items.columns)) or "none"
            raise InputError(f"slice_by: unknown item field {field!r}; item fields are: {known}")


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
    gaps: pd.DataFrame
    n_boot: int
    level: float
    #: each table row's bootstrap replicates of r (empty where the slice is too small for an interval)
    replicates: tuple[np.ndarray, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"slices": self.table, "slices_gaps": self.gaps}

    def to_dict(self) -> dict[str, Any]:
        clean = lambda f: f.astype(object).where(pd.notna(f), None).to_dict(orient="records")  # noqa: E731
        return {
            "n_boot": self.n_boot,
            "level": self.level,
            "min_ci_items": MIN_CI_ITEMS,
            "slices": clean(self.table),
            "gaps": clean(self.gaps),
        }

    def summary(self) -> list[str]:
        lines = ["Slices (machine vs mean human r per item slice):"]
        for row in self.table.itertuples():
            ci = (
                f"[{fmt(row.ci_low)}, {fmt(row.ci_high)}]"
                if np.isfinite(row.ci_low)
                else "(no CI: < 10 items)"
            )
            lines.append(
                f"  {row.field}={row.slice} {row.machine}: n={row.n_items} r={fmt(row.r)} {ci}"
            )
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
    k: int = 5,
) -> SlicesResult:
    """RQ1 per slice of each field in ``by``: r of each machine with the mean human score, item-bootstrap CI."""
    human = data.item_mean
    rows, gaps, kept = [], [], []
    text_col = next((c for c in ("text", "context", "response") if c in data.items.columns), None)
    for field in by:
        for label, members in slice_members(data.items, field, sep).items():
            for name in machines.names:
                x, y = machines.column(name)[members], human[members]
                ok = np.isfinite(x) & np.isfinite(y)
                x, y, ids = x[ok], y[ok], members[ok]
                r = float(pearson_masked(x[:, None], y[:, None])[0]) if len(x) > 2 else float("nan")
                lo = hi = float("nan")
                reps = np.zeros(0)
                if len(x) >= MIN_CI_ITEMS and n_boot > 0:
                    reps = bootstrap_pearson(x, y, n_boot, seed)[:, 0]
                    lo, hi = percentile_interval(reps, level)
                kept.append(reps)
                note = (
                    ""
                    if len(x) >= MIN_CI_ITEMS
                    else f"fewer than {MIN_CI_ITEMS} items: no interval"
                )
                rows.append(
                    {
                        "field": field,
                        "slice": label,
                        "machine": name,
                        "n_items": int(len(x)),
                        "r": r,
                        "ci_low": lo,
                        "ci_high": hi,
                        "generalises_over": GENERALISES_TO,
                        "note": note,
                    }
                )
                gap = np.abs(x - y)
                for j in np.argsort(-gap, kind="stable")[:k]:
                    item = data.items.iloc[ids[j]]
                    text = str(item[text_col])[:80] if text_col else ""
                    gaps.append(
                        {
                            "field": field,
                            "slice": label,
                            "machine": name,
                            "item_id": str(data.item_ids[ids[j]]),
                            "machine_score": float(x[j]),
                            "human_mean": float(y[j]),
                            "gap": float(gap[j]),
                            "text": text,
                        }
                    )
    return SlicesResult(pd.DataFrame(rows), pd.DataFrame(gaps), n_boot, level, tuple(kept))


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
    return analyze_slices(
        data,
        machines,
        by,
        sep=getattr(settings, "slice_sep", ","),
        n_boot=settings.bootstrap,
        seed=settings.seed,
        level=settings.level,
    )
