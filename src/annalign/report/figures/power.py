"""RQ2's power figure: power to detect a difference in alignment between two groups against the number of items."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from annalign.report.figures.inputs import groups_of, pick_machine
from annalign.report.figures.style import (
    GREY,
    MAX_SERIES,
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


def observed_power(result: Any, machine: str | None = None) -> tuple[str, pd.DataFrame]:
    """(machine, its power rows at the observed raters per group, with a 'pair' label 'A vs B')."""
    rq2 = groups_of(result)
    if rq2.power is None or rq2.power.empty:
        raise ValueError("this RQ2 result has no power table: run it with power items")
    frame = rq2.power[rq2.power["raters_per_group"].astype(str) == "observed"]
    name = pick_machine(frame, machine)
    part = frame[frame["machine"].astype(str) == name]
    return name, part.assign(pair=part["group_a"].astype(str) + " vs " + part["group_b"].astype(str))


def highlighted(frame: pd.DataFrame, limit: int = MAX_SERIES) -> list[str]:
    """Up to ``limit`` pairs spread over the range of power at the smallest item count, most powerful first."""
    at_min = frame.sort_values("n_items", kind="stable").groupby("pair", sort=False)["power"].first().sort_values(ascending=False, kind="stable")
    pairs = list(at_min.index)
    if len(pairs) <= limit:
        return pairs
    return [pairs[i] for i in np.unique(np.linspace(0, len(pairs) - 1, limit).round().astype(int))]


def pair_curves(frame: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per pair, in order of first appearance: (item counts, power) sorted by item count (one pass, no per-pair frames)."""
    codes, pairs = pd.factorize(frame["pair"], sort=False)
    n_items, power = frame["n_items"].to_numpy(), frame["power"].to_numpy()
    order = np.lexsort((n_items, codes))  # by pair, then by item count
    starts = np.searchsorted(codes[order], np.arange(len(pairs) + 1))
    return {
        str(pair): (n_items[order[starts[k] : starts[k + 1]]], power[order[starts[k] : starts[k + 1]]]) for k, pair in enumerate(pairs)
    }


def plot_power(result: Any, machine: str | None = None, ax: Axes | None = None) -> Axes:
    """Power (alpha 0.05) against the number of items for each pair of groups, for one machine rater.

    Up to 8 pairs, spread over the range of power, are drawn in colour; the others are thin grey lines.
    ``result``: one grouping's RQ2 result or a RunResult; ``machine``: default the first. Returns the Axes.
    """
    name, frame = observed_power(result, machine)
    ax = axes_or_new(ax, 7.2, 3.8)
    shown = highlighted(frame)
    curves = pair_curves(frame)
    with style():
        for pair, (n_items, power) in curves.items():
            if pair not in shown:
                ax.plot(n_items, power, color=GREY, linewidth=0.5, alpha=0.5)
        for k, pair in enumerate(shown):
            n_items, power = curves[pair]
            ax.plot(n_items, power, color=colour(k), linestyle=line(k), marker=marker(k), markersize=4, label=plain(pair))
        ax.axhline(TARGET, color="#4d4d4d", linestyle=":", linewidth=1)
        ax.text(float(frame["n_items"].min()), TARGET + 0.01, "80% power", fontsize=8, color="#4d4d4d", va="bottom")
        grid = sorted(int(n) for n in frame["n_items"].unique())
        if grid[-1] / max(grid[0], 1) >= 10:
            ax.set_xscale("log")
            ax.minorticks_off()  # ticks at the simulated item counts only (log minor ticks are slow to lay out, and noise here)
        ax.set_xticks(grid, [str(n) for n in grid])
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("number of items")
        ax.set_ylabel("power (alpha = 0.05)")
        n_pairs = frame["pair"].nunique()
        more = f"; {len(shown)} of {n_pairs} pairs in colour" if n_pairs > len(shown) else ""
        ax.set_title(f"Power to detect a group difference: {plain(name)}{more}")
        tidy(ax)
        legend_right(ax)
    return ax
