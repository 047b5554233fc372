"""Distributional alignment's figures: the k curve with each machine's k*, and human vs machine label shares per item."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from annalign.report.figures.style import (
    MAX_SERIES,
    axes_or_new,
    colour,
    legend_right,
    line,
    plain,
    style,
    tidy,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

CURVE_SIZE = (7.2, 3.6)
ITEMS_SIZE = (7.2, 4.2)
#: items shown at each end (closest, farthest) of one machine's per-item JSD
N_ITEMS = 5
#: label colours: the first label (DICES "Yes" = unsafe) dark, the last light
LABEL_COLOURS = ["#D55E00", "#E69F00", "#56B4E9", "#0072B2", "#009E73", "#CC79A7", "#F0E442", "#000000"]


def plot_k_curve(result: Any, ax: Axes | None = None) -> Axes:
    """The humans' k curve (JSD of k raters' pooled labels to the rest) with each machine's JSD and k* marked."""
    ax = axes_or_new(ax, *CURVE_SIZE)
    curve = result.k_curve
    stats = result.machines.set_index(["machine", "statistic"])["value"]
    with style():
        ax.plot(curve["k"], curve["humans_jsd"], color="#4d4d4d", marker="o", markersize=3, linewidth=1.5, label="k humans pooled")
        for k, name in enumerate(list(dict.fromkeys(result.machines["machine"]))[:MAX_SERIES]):
            jsd, k_star = stats[(name, "jsd")], stats[(name, "k_star")]
            shown = f"k* = {k_star:.1f}" if np.isfinite(k_star) else "closer than every k shown"
            ax.axhline(jsd, color=colour(k), linestyle=line(k), linewidth=2, label=f"{plain(name)}: JSD {jsd:.3f} ({shown})")
            if np.isfinite(k_star) and curve["k"].min() <= k_star <= curve["k"].max():
                ax.plot([k_star], [jsd], marker="v", color=colour(k), markersize=8)
        ax.set_xscale("log")
        ax.set_xlabel("k: human raters pooled (log scale)")
        ax.set_ylabel("Jensen-Shannon divergence to the other raters (bits)")
        ax.set_title("How many humans is the machine worth?")
        tidy(ax, grid="y")
        legend_right(ax)
    return ax


def plot_item_distributions(result: Any, ax: Axes | None = None, machine: str | None = None) -> Axes:
    """Stacked label shares, humans beside the machine, on its N_ITEMS closest and N_ITEMS farthest items (JSD)."""
    ax = axes_or_new(ax, *ITEMS_SIZE)
    items = result.items
    name = machine or str(items["machine"].iloc[0])
    part = items[(items["machine"] == name) & np.isfinite(items["jsd"])].sort_values("jsd", kind="stable")
    chosen = part if len(part) <= 2 * N_ITEMS else part.iloc[np.r_[0:N_ITEMS, len(part) - N_ITEMS : len(part)]]
    labels = list(result.labels)
    with style():
        y = np.arange(len(chosen))[::-1] * 3.0
        for side, offset in (("humans", 0.55), ("machine", -0.55)):
            left = np.zeros(len(chosen))
            for j, label in enumerate(labels):
                width = chosen[f"{side}_p_{label}"].to_numpy(dtype=float)
                ax.barh(y + offset, width, left=left, height=1.0, color=LABEL_COLOURS[j % len(LABEL_COLOURS)],
                        edgecolor="white", linewidth=0.5, label=plain(label) if side == "humans" else None)  # fmt: skip
                left += width
        ax.set_yticks(y, [f"{plain(i)} (JSD {d:.3f})\nhumans / machine" for i, d in zip(chosen["item_id"], chosen["jsd"], strict=True)],
                      fontsize=7)  # fmt: skip
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of labels")
        ax.set_title(f"{plain(name)}: its {min(N_ITEMS, len(chosen))} closest and farthest items")
        tidy(ax, grid="x")
        legend_right(ax)
    return ax
