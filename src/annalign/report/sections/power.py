"""RQ2's power part: per machine, when 80% power to detect a group difference is reached, as a figure and a table."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from annalign.report.draw import panels
from annalign.report.figures import plot_power
from annalign.report.figures.inputs import machines_in
from annalign.report.figures.power import TARGET
from annalign.report.model import FigureRef, Table, clean, count, frame_table, sentence

if TYPE_CHECKING:
    from annalign.analyses.group_alignment import GroupResult

#: most machines the power figure shows (one panel each)
MAX_PANELS = 4


def observed(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows at the observed raters per group, with a 'groups' label 'A vs B'."""
    part = frame[frame["raters_per_group"].astype(str) == "observed"]
    return part.assign(groups=part["group_a"].astype(str) + " vs " + part["group_b"].astype(str))


def first_reached(part: pd.DataFrame) -> dict[str, int | None]:
    """Per pair of groups: the smallest item count with power >= 80%, or None when no count in the grid reaches it."""
    reached = part["n_items"].astype(float).where(part["power"].to_numpy(dtype=float) >= TARGET)
    first = reached.groupby(part["groups"], sort=False).min()  # NaN where no count reaches it
    return {str(pair): None if math.isnan(n) else int(n) for pair, n in first.items()}


def power_reading(power: pd.DataFrame) -> str:
    """Per machine (never pooled): the first item count at which a pair reaches 80% power, and how many pairs never do."""
    frame = observed(power)
    parts = []
    for machine in machines_in(frame):
        part = frame[frame["machine"].astype(str) == machine]
        reached = first_reached(part)
        top = count(int(part["n_items"].max()))
        hits = {pair: n for pair, n in reached.items() if n is not None}
        if not hits:
            parts.append(f"for {clean(machine)}, no comparison reaches 80% power with up to {top} items")
            continue
        pair = min(hits, key=lambda p: hits[p])
        below = len(reached) - len(hits)
        parts.append(f"for {clean(machine)}, 80% power is first reached at {count(hits[pair])} items ({clean(pair)}); "
                     f"{count(below)} of {count(len(reached))} comparisons stay below 80% up to {top} items")
    return sentence(parts)


def items_cell(value: object) -> str:
    """Items needed, rounded up to a whole item."""
    number = float(value)  # type: ignore[arg-type]
    return count(math.ceil(number)) if np.isfinite(number) else "n/a"


def items_table(rq2: GroupResult, table_id: str, reading: str) -> Table:
    """Items needed for 80% power per pair (observed raters per group), fewest first."""
    need = observed(rq2.power_items_needed).sort_values("items_for_80_power", kind="stable")
    need = need.assign(items=[items_cell(v) for v in need["items_for_80_power"]],
                       closed=[items_cell(v) for v in need["items_for_80_power_closed_form"]])
    cols = {"machine": "machine rater", "groups": "groups", "observed_diff": "observed difference", "items": "items for 80% power",
            "method": "how", "closed": "closed form"}
    return frame_table(need, table_id, "Items needed for 80% power", reading, cols, max_rows=30)


def power_blocks(rq2: GroupResult, figure_id: str, table_id: str) -> list[FigureRef | Table]:
    """The power figure (one panel per machine) and the items-needed table (or the power grid when there is none)."""
    if rq2.power is None or rq2.power.empty:
        return []
    reading = power_reading(rq2.power)
    machines = machines_in(observed(rq2.power))[:MAX_PANELS]
    blocks: list[FigureRef | Table] = [
        FigureRef(figure_id, "Power against the number of items", reading,
                  "Line plot of power against number of items for each pair of groups, one panel per machine rater",
                  panels(plot_power, rq2, [{"machine": m} for m in machines], (7.2, 3.8), columns=1, space=(0.3, 0.45)))
    ]
    if rq2.power_items_needed is not None and not rq2.power_items_needed.empty:
        blocks.append(items_table(rq2, table_id, reading))
    else:
        cols = {"machine": "machine rater", "groups": "groups", "n_items": "items", "power": "power"}
        blocks.append(frame_table(observed(rq2.power), table_id, "Power", reading, cols, max_rows=40))
    return blocks
