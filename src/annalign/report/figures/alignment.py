"""RQ1's figure: the human leave-one-out r distribution with each machine rater marked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from annalign.report.figures.inputs import alignment_of
from annalign.report.figures.style import (
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

SIZE = (7.2, 3.8)


def _bins(human: np.ndarray, machines: list[Any]) -> np.ndarray:
    """25 bins of width a multiple of 0.05 spanning the human r, every machine's CI and 0."""
    lo = min([*human.tolist(), *[m.r for m in machines if np.isfinite(m.r)], 0.0])
    hi = max([*human.tolist(), *[m.ci_high if np.isfinite(m.ci_high) else m.r for m in machines if np.isfinite(m.r)], 0.1])
    return np.linspace(np.floor(lo * 20) / 20, np.ceil(hi * 20) / 20 + 1e-9, 26)


def plot_alignment(result: Any, ax: Axes | None = None) -> Axes:
    """Histogram of each human's leave-one-out r, with each machine rater's r (line) and bootstrap CI (bar).

    ``result``: an RQ1 result (``annalign.analyses.alignment.RQ1Result``) or a RunResult; returns the Axes.
    """
    rq1 = alignment_of(result)
    ax = axes_or_new(ax, *SIZE)
    human = np.asarray(rq1.human_r, dtype=float)
    human = human[np.isfinite(human)]
    machines = [m for m in rq1.machines if np.isfinite(m.r)][:MAX_SERIES]
    with style():
        top = 1.0
        if len(human):
            counts, _, _ = ax.hist(human, bins=_bins(human, machines), color="#d9d9d9", edgecolor="#4d4d4d", linewidth=0.6,
                                   label=f"human raters (n = {len(human)})")
            median = float(np.median(human))
            ax.axvline(median, color="#4d4d4d", linestyle=(0, (1, 1)), linewidth=1.2, label=f"human median {median:.2f}")
            top = max(float(np.max(counts)), 1.0)
        for k, m in enumerate(machines):
            pct = f" ({m.percentile:.0f}th percentile)" if np.isfinite(m.percentile) else ""
            ax.axvline(m.r, color=colour(k), linestyle=line(k), linewidth=2, label=f"{plain(m.name)}: r = {m.r:.2f}{pct}")
            if np.isfinite(m.ci_low) and np.isfinite(m.ci_high):
                ax.errorbar(m.r, top * (1.08 + 0.09 * k), xerr=[[m.r - m.ci_low], [m.ci_high - m.r]], fmt=marker(k), color=colour(k),
                            capsize=3, markersize=5, linewidth=1.5)
        ax.set_ylim(0, top * (1.15 + 0.09 * max(len(machines), 1)))
        ax.set_xlabel(f"{str(rq1.method).capitalize()} r with the mean of the other raters (humans) / of all raters (machines)")
        ax.set_ylabel("number of human raters")
        ax.set_title("Human leave-one-out agreement, with each machine rater marked")
        tidy(ax)
        legend_right(ax)
    return ax
