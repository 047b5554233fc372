"""(Until the report reads RunResult) the old report figures (matplotlib, Agg): Okabe-Ito colours plus distinct line styles and markers, so they read in grey print."""

from __future__ import annotations

import base64
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from annalign.report.sections import label_pair  # noqa: E402
from annalign.stats.correlation import correlation

#: Okabe & Ito (2008) colour-blind-safe palette, black first.
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1))]
MARKERS = ["o", "s", "D", "^", "v", "P", "X", "*"]
GREY = "#8c8c8c"

STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "svg.hashsalt": "annalign",
    "svg.fonttype": "path",
    "text.usetex": False,
}

MAX_SERIES = 8


@dataclass
class SavedFigure:
    """A figure written as PNG and SVG, with the PNG inline (base64) for the HTML report."""

    name: str
    png: Path
    svg: Path
    png_base64: str
    width: int
    height: int


def plain(text: object) -> str:
    """A label that matplotlib draws literally (no mathtext from '$')."""
    return str(text).replace("$", r"\$")


def wrap(text: object, width: int = 34) -> str:
    """A plain label wrapped onto several lines."""
    return "\n".join(textwrap.wrap(plain(text), width)) or plain(text)


def colour(k: int) -> str:
    return OKABE_ITO[k % len(OKABE_ITO)]


def save(fig: Figure, out_dir: Path, name: str) -> SavedFigure:
    """Write fig as out_dir/name.png and .svg (reproducible metadata) and close it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = out_dir / f"{name}.png", out_dir / f"{name}.svg"
    with plt.rc_context(STYLE):
        fig.savefig(png, format="png", bbox_inches="tight", metadata={"Software": None})
        fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    data = png.read_bytes()
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    return SavedFigure(name, png, svg, base64.b64encode(data).decode("ascii"), width, height)


def human_distribution(human_r: Sequence[float], machines: Mapping[str, Mapping[str, Any]], method: str = "pearson") -> Figure:
    """Headline: histogram of human leave-one-out r with each machine rater's r and CI marked."""
    with plt.rc_context(STYLE):
        r = np.asarray([v for v in human_r if v is not None and np.isfinite(v)], dtype=float)
        fig, ax = plt.subplots(figsize=(7.2, 3.8))
        lo = min([*r.tolist(), *[m["r"] for m in machines.values() if m.get("r") is not None], 0.0])
        hi = max([*r.tolist(), *[m.get("ci_high") or m.get("r") or 0 for m in machines.values()], 0.1])
        bins = np.linspace(np.floor(lo * 20) / 20, np.ceil(hi * 20) / 20 + 1e-9, 26)
        counts = np.zeros(1)
        if len(r):
            counts, _, _ = ax.hist(r, bins=bins, color="#d9d9d9", edgecolor="#4d4d4d", linewidth=0.6, label=f"human raters (n = {len(r)})")
            ax.axvline(np.median(r), color="#4d4d4d", linestyle=(0, (1, 1)), linewidth=1.2, label=f"human median {np.median(r):.2f}")
        top = max(float(np.max(counts)) if len(counts) else 1.0, 1.0)
        for k, (name, m) in enumerate(list(machines.items())[:MAX_SERIES]):
            if m.get("r") is None:
                continue
            c = colour(k)
            pct = m.get("percentile_among_humans")
            label = f"{plain(name)}: r = {m['r']:.2f}" + (f" ({pct:.0f}th percentile)" if pct is not None else "")
            ax.axvline(m["r"], color=c, linestyle=LINESTYLES[k % len(LINESTYLES)], linewidth=2, label=label)
            y = top * (1.08 + 0.09 * k)
            if m.get("ci_low") is not None and m.get("ci_high") is not None:
                ax.errorbar(m["r"], y, xerr=[[m["r"] - m["ci_low"]], [m["ci_high"] - m["r"]]], fmt=MARKERS[k % len(MARKERS)],
                            color=c, capsize=3, markersize=5, linewidth=1.5)
        n_shown = min(len(machines), MAX_SERIES)
        ax.set_ylim(0, top * (1.15 + 0.09 * max(n_shown, 1)))
        ax.set_xlabel(f"{method.capitalize()} r with the mean of the other raters (humans) / of all raters (machines)")
        ax.set_ylabel("number of human raters")
        ax.set_title("Human leave-one-out agreement, with each machine rater marked")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return fig


def group_forest(groups: pd.DataFrame) -> Figure:
    """Per-group r with CIs (filled) and reliability-adjusted r (open) for each machine: a forest plot."""
    with plt.rc_context(STYLE):
        frame = groups.copy()
        if "machine" not in frame.columns:
            frame["machine"] = "machine"
        machines = list(dict.fromkeys(frame["machine"].astype(str)))[:MAX_SERIES]
        names = list(dict.fromkeys(frame["group"].astype(str)))
        first = frame.drop_duplicates("group")
        sizes = first.set_index(first["group"].astype(str)).get("size")
        fig, ax = plt.subplots(figsize=(7.2, 0.42 * len(names) * max(1, 0.6 * len(machines)) + 1.6))
        step = 0.7 / max(len(machines), 1)
        for k, machine in enumerate(machines):
            part = frame[frame["machine"].astype(str) == machine]
            part = part.drop_duplicates("group").set_index(part.drop_duplicates("group")["group"].astype(str))
            y = np.arange(len(names)) - 0.35 + step * (k + 0.5)
            r = part["r"].reindex(names).to_numpy(dtype=float)
            lo = part["ci_low"].reindex(names).to_numpy(dtype=float)
            hi = part["ci_high"].reindex(names).to_numpy(dtype=float)
            c = colour(k)
            ax.errorbar(r, y, xerr=[r - lo, hi - r], fmt=MARKERS[k % len(MARKERS)], color=c, capsize=2.5, markersize=5,
                        label=f"{plain(machine)}: r (95% CI)")
            if "adjusted_r" in part.columns:
                adj = part["adjusted_r"].reindex(names).to_numpy(dtype=float)
                ax.scatter(adj, y, marker=MARKERS[k % len(MARKERS)], facecolors="white", edgecolors=c, s=36, linewidths=1.4,
                           zorder=3, label=f"{plain(machine)}: reliability-adjusted r")
        labels = []
        for g in names:
            size = sizes.get(g) if sizes is not None else None
            labels.append(f"{plain(g)} (n = {int(size)})" if size is not None and pd.notna(size) else plain(g))
        ax.set_yticks(np.arange(len(names)), labels)
        ax.invert_yaxis()
        ax.grid(axis="x", color="#e6e6e6", linewidth=0.8)
        ax.set_xlabel("r between the machine rater and the group's mean rating")
        ax.set_title("Alignment with each group")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return fig


def group_strip(raters: pd.DataFrame, order: Sequence[str] | None = None, seed: int = 0) -> Figure:
    """Each rater's r with the machine, by group (jittered strip plot), one panel per machine."""
    with plt.rc_context(STYLE):
        frame = raters.copy()
        if "machine" not in frame.columns:
            frame["machine"] = "machine"
        machines = list(dict.fromkeys(frame["machine"].astype(str)))[:4]
        present = list(dict.fromkeys(frame["group"].astype(str)))
        names = [g for g in (order or []) if g in present] + [g for g in present if g not in (order or [])]
        rng = np.random.default_rng(seed)
        fig, axes = plt.subplots(1, len(machines), figsize=(7.2 if len(machines) == 1 else 3.6 * len(machines), 0.38 * len(names) + 1.6),
                                 sharey=True, sharex=True, squeeze=False)
        for k, (ax, machine) in enumerate(zip(axes[0], machines, strict=True)):
            part = frame[frame["machine"].astype(str) == machine]
            for i, g in enumerate(names):
                vals = part.loc[part["group"].astype(str) == g, "r"].to_numpy(dtype=float)
                vals = vals[np.isfinite(vals)]
                jitter = rng.uniform(-0.18, 0.18, len(vals))
                ax.scatter(vals, i + jitter, s=14, color=colour(k), alpha=0.75, edgecolors="none")
                if len(vals):
                    ax.plot([np.mean(vals)] * 2, [i - 0.3, i + 0.3], color="black", linewidth=2)
            ax.set_title(plain(machine))
            ax.grid(axis="x", color="#e6e6e6", linewidth=0.8)
        fig.supxlabel("each rater's r with the machine rater", fontsize=10)
        axes[0][0].set_yticks(np.arange(len(names)), [plain(g) for g in names])
        axes[0][0].invert_yaxis()
        fig.suptitle("Individual raters within each group (bar: group mean of the per-rater r)", fontsize=11)
        fig.tight_layout()
        return fig


def power_curve(power: pd.DataFrame) -> Figure:
    """Power to detect a difference between two groups against the number of items, one line per comparison."""
    with plt.rc_context(STYLE):
        frame = power.copy()
        frame["_label"] = label_pair(frame) if any(c in frame.columns for c in ("comparison", "group_a", "group")) else "difference"
        if "machine" in frame.columns and frame["machine"].nunique() > 1:
            frame["_label"] = frame["machine"].astype(str) + ": " + frame["_label"]
        title = "Power to detect a difference in alignment between two groups"
        if frame["_label"].nunique() > MAX_SERIES and "machine" in frame.columns:
            machine = str(frame["machine"].iloc[0])
            frame = frame[frame["machine"].astype(str) == machine]
            frame["_label"] = frame["_label"].str.split(": ", n=1).str[-1]
            title += f" ({plain(machine)})"
        at_min = frame.sort_values("n_items").groupby("_label")["power"].first().sort_values(ascending=False)
        labels = list(at_min.index)
        if len(labels) > MAX_SERIES:
            keep = np.unique(np.linspace(0, len(labels) - 1, MAX_SERIES).round().astype(int))
            title += f"\n{len(keep)} of {len(labels)} comparisons, spread over the range of power"
            labels = [labels[i] for i in keep]
        fig, ax = plt.subplots(figsize=(7.2, 3.8))
        for k, label in enumerate(labels[:MAX_SERIES]):
            part = frame[frame["_label"] == label].sort_values("n_items")
            ax.plot(part["n_items"], part["power"], color=colour(k), linestyle=LINESTYLES[k % len(LINESTYLES)],
                    marker=MARKERS[k % len(MARKERS)], markersize=4, label=plain(label))
        ax.axhline(0.8, color="#4d4d4d", linestyle=":", linewidth=1)
        ax.text(frame["n_items"].min(), 0.81, "80% power", fontsize=8, color="#4d4d4d", va="bottom")
        if frame["n_items"].max() / max(frame["n_items"].min(), 1) >= 10:
            ax.set_xscale("log")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("number of items")
        ax.set_ylabel("power (alpha = 0.05)")
        ax.set_title(title)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return fig


def rq3_predictions(summary: pd.DataFrame | None, items: pd.DataFrame | None) -> Figure:
    """RQ3: predicted versus observed group differences (scatter per item), or r with CI against the noise ceiling."""
    with plt.rc_context(STYLE):
        if items is not None and not items.empty:
            frame = items.copy()
            frame["_label"] = label_pair(frame) if any(c in frame.columns for c in ("comparison", "group_a")) else "all items"
            if "series" in frame.columns:
                frame["_label"] = frame["_label"] + ", " + frame["series"].astype(str)
            labels = list(dict.fromkeys(frame["_label"]))[:6]
            cols = min(3, len(labels))
            rows = int(np.ceil(len(labels) / cols))
            fig, axes = plt.subplots(rows, cols, figsize=(2.8 * cols + 0.6, 2.9 * rows + 0.6), squeeze=False)
            for k, label in enumerate(labels):
                ax = axes[k // cols][k % cols]
                part = frame[frame["_label"] == label]
                x, y = part["predicted"].to_numpy(dtype=float), part["observed"].to_numpy(dtype=float)
                ax.scatter(x, y, s=10, color=colour(k), alpha=0.6, edgecolors="none")
                ok = np.isfinite(x) & np.isfinite(y)
                if ok.sum() >= 3 and np.ptp(x[ok]) > 0:
                    unit = float(np.abs(x[ok]).max())  # fit in units of the largest |x|: no overflow near 1e300
                    slope, icpt = np.polyfit(x[ok] / unit, y[ok], 1)
                    xs = np.linspace(x[ok].min(), x[ok].max(), 2)
                    ax.plot(xs, icpt + slope * (xs / unit), color="black", linewidth=1)
                    ax.set_title(f"{wrap(label)}\nr = {correlation(x[ok], y[ok]):.2f}", fontsize=8)
                else:
                    ax.set_title(wrap(label), fontsize=8)
                ax.axhline(0, color=GREY, linewidth=0.6)
                ax.set_xlabel("predicted difference", fontsize=8)
                ax.set_ylabel("observed difference", fontsize=8)
            for k in range(len(labels), rows * cols):
                axes[k // cols][k % cols].set_visible(False)
            fig.suptitle("RQ3: predicted versus observed per-item differences between groups", fontsize=11)
            fig.tight_layout()
            return fig
        frame = summary.copy() if summary is not None else pd.DataFrame(columns=["r"])
        frame["_label"] = label_pair(frame)
        if "machine" in frame.columns and frame["machine"].nunique() > 1:
            frame["_label"] = frame["machine"].astype(str) + ": " + frame["_label"]
        labels = list(dict.fromkeys(frame["_label"]))
        if "series" not in frame.columns:
            frame["series"] = "prediction"
        kinds = list(dict.fromkeys(frame["series"].astype(str)))
        fig, ax = plt.subplots(figsize=(7.2, 0.4 * len(labels) * max(1, 0.7 * len(kinds)) + 1.6))
        step = 0.7 / max(len(kinds), 1)
        for k, kind in enumerate(kinds[:MAX_SERIES]):
            part = frame[frame["series"].astype(str) == kind]
            part = part.drop_duplicates("_label").set_index("_label")
            y = np.arange(len(labels)) - 0.35 + step * (k + 0.5)
            r = part["r"].reindex(labels).to_numpy(dtype=float)
            if "ci_low" in part.columns and "ci_high" in part.columns:
                lo = part["ci_low"].reindex(labels).to_numpy(dtype=float)
                hi = part["ci_high"].reindex(labels).to_numpy(dtype=float)
                ax.errorbar(r, y, xerr=[r - lo, hi - r], fmt=MARKERS[k % len(MARKERS)], color=colour(k), capsize=2.5, markersize=5,
                            label=f"{plain(kind)}: r (95% CI)")
            else:
                ax.scatter(r, y, marker=MARKERS[k % len(MARKERS)], color=colour(k), label=f"{plain(kind)}: r")
        if "ceiling" in frame.columns:
            ceil = frame.drop_duplicates("_label").set_index("_label")["ceiling"].reindex(labels).to_numpy(dtype=float)
            ax.scatter(ceil, np.arange(len(labels)), marker="|", s=220, color="black", linewidths=2, label="noise ceiling")
        cols = [c for c in ("r", "ci_low", "ci_high", "ceiling") if c in frame.columns]
        values = frame[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float).ravel()
        values = values[np.isfinite(values)]
        if len(values):
            lo, hi = min(values.min(), 0.0), max(values.max(), 0.0)
            pad = 0.05 * (hi - lo or 1.0)
            ax.set_xlim(lo - pad, hi + pad)
        ax.axvline(0, color=GREY, linewidth=0.8)
        ax.set_yticks(np.arange(len(labels)), [plain(v) for v in labels])
        ax.invert_yaxis()
        ax.grid(axis="x", color="#e6e6e6", linewidth=0.8)
        ax.set_xlabel("r between predicted and observed per-item group difference")
        ax.set_title("RQ3: how well the machine predicts where groups disagree")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        return fig
