"""RQ2's figures: alignment with each group (forest plot) and each rater's r within its group (strip plot)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from annalign.report.figures.inputs import groups_of, pick_machine, pick_machines
from annalign.report.figures.style import (
    MAX_SERIES,
    axes_or_new,
    colour,
    legend_right,
    marker,
    plain,
    style,
    tidy,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def forest_height(n_groups: int, n_machines: int) -> float:
    """Inches that fit one row per group and machine."""
    return 0.42 * n_groups * max(1.0, 0.6 * n_machines) + 1.6


def plot_group_alignment(result: Any, machine: str | Sequence[str] | None = None, ax: Axes | None = None) -> Axes:
    """Per group: each machine's r with the group's mean rating, with CI (filled marker) and reliability-adjusted r (open).

    ``result``: one grouping's RQ2 result (``GroupResult``) or a RunResult (its first grouping);
    ``machine``: one name or several (default: every machine, up to 8). Returns the Axes.
    """
    rq2 = groups_of(result)
    frame = rq2.per_group
    names = pick_machines(frame, machine, MAX_SERIES)
    groups = list(dict.fromkeys(frame["group"].astype(str)))
    ax = axes_or_new(ax, 7.2, forest_height(len(groups), len(names)))
    step = 0.7 / max(len(names), 1)
    with style():
        for k, name in enumerate(names):
            part = frame[frame["machine"].astype(str) == name]
            part = part.set_index(part["group"].astype(str)).reindex(groups)
            y = np.arange(len(groups)) - 0.35 + step * (k + 0.5)
            r = part["r"].to_numpy(dtype=float)
            err = [r - part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float) - r]
            ax.errorbar(r, y, xerr=err, fmt=marker(k), color=colour(k), capsize=2.5, markersize=5, label=f"{plain(name)}: r (95% CI)")
            ax.scatter(part["adjusted_r"].to_numpy(dtype=float), y, marker=marker(k), facecolors="white", edgecolors=colour(k), s=36,
                       linewidths=1.4, zorder=3, label=f"{plain(name)}: reliability-adjusted r")
        sizes = frame.drop_duplicates("group").set_index(frame.drop_duplicates("group")["group"].astype(str))["n_raters"]
        ax.set_yticks(np.arange(len(groups)), [f"{plain(g)} (n = {int(sizes[g])})" for g in groups])
        ax.set_ylim(len(groups) - 0.5, -0.5)
        ax.set_xlabel("r between the machine rater and the group's mean rating")
        ax.set_title("Alignment with each group")
        tidy(ax, grid="x")
        legend_right(ax)
    return ax


def plot_group_raters(result: Any, machine: str | None = None, ax: Axes | None = None, seed: int = 0) -> Axes:
    """Each human rater's r with one machine rater (jittered points) by group, with a bar at each group's mean.

    ``result``: one grouping's RQ2 result or a RunResult; ``machine``: default the first. Returns the Axes.
    """
    rq2 = groups_of(result)
    frame = rq2.rater_r
    if frame is None:
        raise ValueError("this RQ2 result has no per-rater r (rater_r): run the within-group variation")
    name = pick_machine(frame, machine)
    order = [str(g) for g in rq2.groups["group"]]
    present = set(frame["group"].astype(str))
    groups = [g for g in order if g in present] + sorted(present - set(order))
    ax = axes_or_new(ax, 7.2, 0.38 * len(groups) + 1.6)
    rng = np.random.default_rng(seed)
    part = frame[frame["machine"].astype(str) == name]
    label = part["group"].astype(str).to_numpy()
    r = part["r"].to_numpy(dtype=float)
    with style():
        xs, ys = [], []
        for i, g in enumerate(groups):
            vals = r[(label == g) & np.isfinite(r)]
            xs.append(vals)
            ys.append(i + rng.uniform(-0.18, 0.18, len(vals)))
            if len(vals):
                ax.plot([vals.mean()] * 2, [i - 0.3, i + 0.3], color="black", linewidth=2)
        k = list(dict.fromkeys(frame["machine"].astype(str))).index(name)
        ax.scatter(np.concatenate(xs), np.concatenate(ys), s=14, color=colour(k), alpha=0.75, edgecolors="none")
        ax.set_yticks(np.arange(len(groups)), [plain(g) for g in groups])
        ax.set_ylim(len(groups) - 0.5, -0.5)
        ax.set_xlabel("each rater's r with the machine rater")
        ax.set_title(plain(name))
        tidy(ax, grid="x")
    return ax
