"""RQ2's power part: per machine, the power of the disparity test and the smallest difference it detects, as a figure and a table."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from annalign.report.draw import panels
from annalign.report.figures import plot_power
from annalign.report.figures.inputs import machines_in
from annalign.report.model import FigureRef, Table, clean, count, frame_table, sentence

if TYPE_CHECKING:
    from annalign.analyses.group_alignment import GroupResult

#: most machines the power figure shows (one panel each)
MAX_PANELS = 4


def observed(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows at the observed raters per group, with a 'groups' label 'A vs B'."""
    part = frame[frame["raters_per_group"].astype(str) == "observed"]
    return part.assign(groups=part["group_a"].astype(str) + " vs " + part["group_b"].astype(str))


def _two(value: float) -> str:
    return f"{value:.2f}" if np.isfinite(value) else "n/a"


def machine_clause(machine: str, need: pd.DataFrame, power: pd.DataFrame) -> str:
    """One machine's reading: the family alpha, the MDE at the observed sizes and at the largest item count, the pairs to plan for."""
    mde = need["mde_observed_items"].to_numpy(dtype=float)
    top = int(power["n_items"].max())
    at_top = power.loc[power["n_items"] == top, "mde"].to_numpy(dtype=float)
    alpha = float(power["alpha_family"].iloc[0])
    planned = int((need["planning_diff"].to_numpy(dtype=float) > 0).sum())
    return (f"for {clean(machine)}, at alpha {np.format_float_positional(alpha, precision=2, fractional=False)} per test (Holm's first step), the smallest difference in adjusted r "
            f"detected with 80% power is {_two(np.nanmin(mde))}-{_two(np.nanmax(mde))} (median {_two(np.nanmedian(mde))}) "
            f"across {count(len(need))} pairs at the observed sizes and median {_two(np.nanmedian(at_top))} with {count(top)} items; "
            f"{count(planned)} of {count(len(need))} pairs have an interval that excludes 0 (a difference to plan for)")  # fmt: skip


def power_reading(power: pd.DataFrame, need: pd.DataFrame) -> str:
    """Per machine (never pooled): what the disparity test can detect at the observed sizes and with the most items."""
    frame, needed = observed(power), observed(need)
    parts = []
    for machine in machines_in(frame):
        part = frame[frame["machine"].astype(str) == machine]
        parts.append(machine_clause(machine, needed[needed["machine"].astype(str) == machine], part))
    return sentence(parts)


def whole_cell(value: object) -> str:
    """Items or raters needed, rounded up to a whole number; 'n/a' when out of reach or nothing to plan for."""
    number = float(value)  # type: ignore[arg-type]
    return count(math.ceil(number)) if np.isfinite(number) else "n/a"


def items_table(rq2: GroupResult, table_id: str, reading: str) -> Table:
    """Per pair (observed raters per group): the detectable difference, and items / raters for 80% power at the planning difference."""
    need = observed(rq2.power_items_needed).sort_values(["machine", "mde_observed_items"], kind="stable")
    need = need.assign(**{c: [whole_cell(v) for v in need[c]] for c in
                          ("items_for_80_power", "items_for_80_power_per_pair", "raters_for_80_power", "raters_for_80_power_per_pair")})  # fmt: skip
    cols = {"machine": "machine rater", "groups": "groups", "observed_diff_adjusted": "adjusted difference",
            "planning_diff": "difference to plan for", "mde_observed_items": "detectable (80%, all pairs)",
            "mde_observed_items_per_pair": "detectable (80%, one pair)", "items_for_80_power": "items (all pairs)",
            "items_for_80_power_per_pair": "items (one pair)", "raters_for_80_power": "raters per group (all pairs)",
            "method": "how"}  # fmt: skip
    return frame_table(need, table_id, "What the disparity test can detect", reading, cols, max_rows=30)


def power_blocks(rq2: GroupResult, figure_id: str, table_id: str) -> list[FigureRef | Table]:
    """The power figure (one panel per machine) and the per-pair table of detectable differences and data needed."""
    if rq2.power is None or rq2.power.empty or rq2.power_items_needed is None:
        return []
    reading = power_reading(rq2.power, rq2.power_items_needed)
    machines = machines_in(observed(rq2.power))[:MAX_PANELS]
    return [
        FigureRef(figure_id, "Power of the disparity test against the number of items", reading,
                  "Line plot of power against number of items for several true differences and raters per group, one panel per machine rater",
                  panels(plot_power, rq2, [{"machine": m} for m in machines], (7.2, 3.8), columns=1, space=(0.3, 0.45))),
        items_table(rq2, table_id, reading),
    ]  # fmt: skip
