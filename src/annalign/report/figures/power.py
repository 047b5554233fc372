"""RQ2's power figure: the disparity test's power against the number of items, per true difference and raters per group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from annalign.report.figures.inputs import groups_of, pick_machine
from annalign.report.figures.style import (
    axes_or_new,
    colour,
    legend_right,
    line,
    marker,
    plain,
    style,
    tidy,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

TARGET = 0.8
PREFIX = "power_diff_"


def machine_power(result: Any, machine: str | None = None) -> tuple[str, pd.DataFrame]:
    """(machine, its power rows: every raters level, every pair)."""
    rq2 = groups_of(result)
    if rq2.power is None or rq2.power.empty:
        raise ValueError("this RQ2 result has no power table: run it with power items")
    name = pick_machine(rq2.power, machine)
    return name, rq2.power[rq2.power["machine"].astype(str) == name]


def diff_columns(frame: pd.DataFrame) -> list[tuple[str, float]]:
    """The grid of true differences: (column, difference), smallest first."""
    found = [(c, float(c[len(PREFIX) :])) for c in frame.columns if c.startswith(PREFIX)]
    return sorted(found, key=lambda item: item[1])


def median_curves(frame: pd.DataFrame, column: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per raters level (in order of appearance): item counts and the median power over pairs at each count."""
    out = {}
    for level, part in frame.groupby(frame["raters_per_group"].astype(str), sort=False):
        med = part.groupby("n_items")[column].median().sort_index()
        out[str(level)] = (med.index.to_numpy(dtype=float), med.to_numpy(dtype=float))
    return out


def plot_power(result: Any, machine: str | None = None, ax: Axes | None = None) -> Axes:
    """The disparity test's power at the family alpha (Holm's first step) against the number of items, for one machine rater.

    One colour per true difference in adjusted r (the table's power_diff_* columns), one line style per
    raters-per-group level ("observed", then each level asked for); each line is the median over pairs.
    ``result``: one grouping's RQ2 result or a RunResult; ``machine``: default the first. Returns the Axes.
    """
    name, frame = machine_power(result, machine)
    ax = axes_or_new(ax, 7.2, 3.8)
    diffs = diff_columns(frame)
    with style():
        for k, (column, diff) in enumerate(diffs):
            for j, (level, (n_items, power)) in enumerate(median_curves(frame, column).items()):
                label = f"difference {diff:g}, raters per group {level}"
                ax.plot(n_items, power, color=colour(k), linestyle=line(j), marker=marker(k), markersize=4, label=plain(label))
        ax.axhline(TARGET, color="#4d4d4d", linestyle=":", linewidth=1)
        ax.text(float(frame["n_items"].min()), TARGET + 0.01, "80% power", fontsize=8, color="#4d4d4d", va="bottom")
        grid = sorted(int(n) for n in frame["n_items"].unique())
        if grid[-1] / max(grid[0], 1) >= 10:
            ax.set_xscale("log")
            ax.minorticks_off()  # ticks at the item counts of the table only
        ax.set_xticks(grid, [str(n) for n in grid])
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("number of items")
        alpha = float(frame["alpha_family"].iloc[0])
        ax.set_ylabel(f"power (alpha {alpha:.2g})")
        n_pairs = frame.groupby(["group_a", "group_b"]).ngroups
        ax.set_title(f"Power of the disparity test: {plain(name)}; median over {n_pairs} pairs")
        tidy(ax)
        legend_right(ax)
    return ax
