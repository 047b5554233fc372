"""RQ3's figures: how well each prediction tracks where groups disagree (r with CI against the noise ceiling),
and one pair's per-item predicted against observed differences (scatter)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from annalign.errors import InputError
from annalign.report.figures.inputs import disagreement_of
from annalign.report.figures.style import (
    GREY,
    MAX_SERIES,
    axes_or_new,
    colour,
    legend_right,
    marker,
    plain,
    style,
    tidy,
    wrap,
)
from annalign.stats.correlation import correlation

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from annalign.analyses.group_disagreement import DisagreementResult, PairResult


def pair_label(pair: PairResult) -> str:
    """'A vs B' for a pair of groups."""
    return f"{pair.a} vs {pair.b}"


def series_names(rq3: DisagreementResult) -> dict[tuple[str, str], str]:
    """(kind, predictor) -> its display name: the kind, with the predictor's name when there are several."""
    keys = list(dict.fromkeys((q.kind, q.predictor) for p in rq3.pairs for q in p.predictions))
    several = len({name for _kind, name in keys}) > 1
    return {(kind, name): f"{kind} ({name})" if several else kind for kind, name in keys}


def _limits(values: list[float]) -> tuple[float, float]:
    """x limits spanning the finite values and 0, with 5% padding."""
    finite = [v for v in values if np.isfinite(v)]
    lo, hi = min([*finite, 0.0]), max([*finite, 0.0])
    pad = 0.05 * ((hi - lo) or 1.0)
    return lo - pad, hi + pad


def plot_disagreement(result: Any, ax: Axes | None = None) -> Axes:
    """Per pair of groups: r between each prediction and the observed per-item difference, with CI and the noise ceiling.

    ``result``: an RQ3 result (``DisagreementResult``) or a RunResult. Returns the Axes.
    """
    rq3 = disagreement_of(result)
    names = series_names(rq3)
    series = list(names)[:MAX_SERIES]
    labels = [pair_label(p) for p in rq3.pairs]
    ax = axes_or_new(ax, 7.2, 0.4 * len(labels) * max(1.0, 0.7 * len(series)) + 1.6)
    step = 0.7 / max(len(series), 1)
    values: list[float] = []
    with style():
        for k, key in enumerate(series):
            got = [(i, q) for i, p in enumerate(rq3.pairs) for q in p.predictions if (q.kind, q.predictor) == key]
            y = np.array([i for i, _ in got], dtype=float) - 0.35 + step * (k + 0.5)
            r = np.array([q.r for _, q in got], dtype=float)
            err = [r - np.array([q.ci_low for _, q in got]), np.array([q.ci_high for _, q in got]) - r]
            ax.errorbar(r, y, xerr=err, fmt=marker(k), color=colour(k), capsize=2.5, markersize=5, label=f"{plain(names[key])}: r (95% CI)")
            values += [*r, *[q.ci_low for _, q in got], *[q.ci_high for _, q in got]]
        ceiling = np.array([p.noise_ceiling for p in rq3.pairs], dtype=float)
        c_lo = np.array([p.noise_ceiling_ci_low for p in rq3.pairs], dtype=float)
        c_hi = np.array([p.noise_ceiling_ci_high for p in rq3.pairs], dtype=float)
        shown = np.isfinite(c_lo) & np.isfinite(c_hi)
        if shown.any():
            ax.hlines(np.flatnonzero(shown), c_lo[shown], c_hi[shown], color=GREY, linewidth=4, alpha=0.5, label="noise ceiling (95% CI)")
        ax.scatter(ceiling, np.arange(len(labels)), marker="|", s=220, color="black", linewidths=2, label="noise ceiling")
        ax.set_xlim(*_limits([*values, *ceiling, *c_lo[shown], *c_hi[shown]]))
        ax.axvline(0, color=GREY, linewidth=0.8)
        ax.set_yticks(np.arange(len(labels)), [plain(v) for v in labels])
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_xlabel("r between predicted and observed per-item group difference")
        ax.set_title("RQ3: how well the machine predicts where groups disagree")
        tidy(ax, grid="x")
        legend_right(ax)
    return ax


def find_pair(rq3: DisagreementResult, pair: int | str | None) -> PairResult:
    """A pair by position or by its 'A vs B' label; by default the one with the highest noise ceiling."""
    if pair is None:
        ceilings = [p.noise_ceiling if np.isfinite(p.noise_ceiling) else -np.inf for p in rq3.pairs]
        return rq3.pairs[int(np.argmax(ceilings))]
    if isinstance(pair, int):
        return rq3.pairs[pair]
    for p in rq3.pairs:
        if pair in (pair_label(p), p.comparison):
            return p
    raise InputError(f"pair {pair!r} is not in this RQ3 result; pairs are named like {pair_label(rq3.pairs[0])!r}")


def plot_disagreement_items(result: Any, pair: int | str | None = None, prediction: str | None = None, ax: Axes | None = None) -> Axes:
    """One pair of groups: each item's predicted difference against its observed difference, with a least-squares line.

    ``pair``: position or 'A vs B' (default: the pair with the highest noise ceiling); ``prediction``:
    a predictor's name or 'kind:name' (default the first). Returns the Axes.
    """
    rq3 = disagreement_of(result)
    chosen = find_pair(rq3, pair)
    keys = list(chosen.predicted)
    if not keys:
        raise InputError(f"pair {pair_label(chosen)!r} has no predictions to plot")
    key = keys[0] if prediction is None else next((k for k in keys if prediction in (k[1], f"{k[0]}:{k[1]}")), None)
    if key is None:
        raise InputError(f"prediction {prediction!r} is not in this RQ3 result; it has {', '.join(f'{a}:{b}' for a, b in keys)}")
    ax = axes_or_new(ax, 3.4, 3.2)
    x, y = np.asarray(chosen.predicted[key], dtype=float), np.asarray(chosen.difference, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    title = f"{pair_label(chosen)}, {series_names(rq3).get(key, key[0])}"
    with style():
        ax.scatter(x[ok], y[ok], s=10, color=colour(keys.index(key)), alpha=0.6, edgecolors="none")
        if ok.sum() >= 3 and np.ptp(x[ok]) > 0:
            unit = float(np.abs(x[ok]).max())  # fit in units of the largest |x|: no overflow near 1e300
            slope, intercept = np.polyfit(x[ok] / unit, y[ok], 1)
            ends = np.array([x[ok].min(), x[ok].max()])
            ax.plot(ends, intercept + slope * (ends / unit), color="black", linewidth=1)
            title += f"\nr = {correlation(x[ok], y[ok]):.2f}"
        ax.axhline(0, color=GREY, linewidth=0.6)
        ax.set_title(wrap(title), fontsize=8)
        ax.set_xlabel("predicted difference", fontsize=8)
        ax.set_ylabel("observed difference", fontsize=8)
        tidy(ax)
    return ax
