"""Drawing the report's figures: each once, as PNG (inline in the HTML and a file for the Markdown), in parallel where it helps."""

from __future__ import annotations

import base64
import math
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from annalign.report.figures.style import new_figure, png_bytes, png_size
from annalign.report.model import FigureRef, Section

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: figures fewer than this are drawn in this process (starting workers costs more than it saves)
MIN_PARALLEL = 3
#: the figures a forked worker draws (set just before the fork, read by index in the worker)
_PENDING: list[FigureRef] = []


@dataclass(frozen=True, eq=False)
class Single:
    """A drawing: one Axes of ``size`` inches with ``plot(result, ax=..., **options)`` on it.

    A plain object rather than a closure, so it can be pickled to a drawing process (``report.background``).
    """

    plot: Callable[..., Any]
    result: Any
    size: tuple[float, float]
    options: dict[str, Any] = field(default_factory=dict)

    def __call__(self) -> Figure:
        fig = new_figure(*self.size)
        self.plot(self.result, ax=fig.add_subplot(), **self.options)
        return fig

    @property
    def n_panels(self) -> int:
        """Axes drawn (a rough measure of the drawing's cost)."""
        return 1

    def signature(self) -> tuple[Any, ...]:
        """What the figure depends on: the plot function, the result object itself (by identity) and the layout."""
        return ("single", self.plot, id(self.result), tuple(self.size), repr(sorted(self.options.items())))


@dataclass(frozen=True, eq=False)
class Panels:
    """A drawing: one panel of ``size`` inches per options dict, ``plot(result, ax=..., **options)``, ``columns`` to a row.

    ``space``: (wspace, hspace) between panels, as fractions of a panel (a fixed layout: no layout pass at save time).
    """

    plot: Callable[..., Any]
    result: Any
    options: Sequence[dict[str, Any]]
    size: tuple[float, float]
    columns: int = 3
    share: bool = False
    space: tuple[float, float] = (0.3, 0.5)

    def __call__(self) -> Figure:
        cols = max(1, min(self.columns, len(self.options)))
        rows = math.ceil(len(self.options) / cols)
        fig = new_figure(self.size[0] * cols, self.size[1] * rows)
        axes = fig.subplots(rows, cols, squeeze=False, sharex=self.share, sharey=self.share,
                            gridspec_kw={"wspace": self.space[0], "hspace": self.space[1]}).ravel()
        for ax, kwargs in zip(axes, self.options, strict=False):
            self.plot(self.result, ax=ax, **kwargs)
        for ax in axes[len(self.options):]:
            ax.set_visible(False)
        return fig

    @property
    def n_panels(self) -> int:
        """Axes drawn (a rough measure of the drawing's cost)."""
        return len(self.options)

    def signature(self) -> tuple[Any, ...]:
        """What the figure depends on: the plot function, the result object itself (by identity) and the layout."""
        options = repr([sorted(o.items()) for o in self.options])
        return ("panels", self.plot, id(self.result), options, tuple(self.size), self.columns, self.share, tuple(self.space))


def single(plot: Callable[..., Any], result: Any, size: tuple[float, float], **options: Any) -> Single:
    """A drawing: one Axes of ``size`` inches with ``plot(result, ax=..., **options)`` on it."""
    return Single(plot, result, size, options)


def panels(plot: Callable[..., Any], result: Any, options: Sequence[dict[str, Any]], size: tuple[float, float],
           columns: int = 3, share: bool = False, space: tuple[float, float] = (0.3, 0.5)) -> Panels:
    """A drawing: one panel of ``size`` inches per options dict, ``plot(result, ax=..., **options)``, ``columns`` to a row."""
    return Panels(plot, result, list(options), size, columns, share, space)


def signature(figure: FigureRef) -> tuple[Any, ...] | None:
    """The figure's drawing signature (``Single``/``Panels``), or None for any other drawing (a closure)."""
    sign = getattr(figure.draw, "signature", None)
    return sign() if callable(sign) else None


def render(figure: FigureRef) -> bytes:
    """Draw one figure and return its PNG."""
    return png_bytes(figure.draw())


def _render_pending(index: int) -> bytes:
    """(In a worker) the PNG of the index-th pending figure."""
    return render(_PENDING[index])


def idle_cores() -> float:
    """Cores free for drawing: the ones this process may use less the recent load (1-minute average)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1.0, min(float(cores), cores - load + 1))  # + 1: this process's own core


def default_workers(n_figures: int) -> int:
    """Processes to draw with: one per idle core (at most one per figure); 1 where forking is unsafe or would not pay."""
    if n_figures < MIN_PARALLEL or "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1
    return max(1, min(int(idle_cores() + 0.5), n_figures))


def render_all(figures: Sequence[FigureRef], workers: int) -> list[bytes]:
    """Every figure's PNG, in order: here, or in ``workers`` forked processes sharing the work."""
    if workers <= 1:
        return [render(f) for f in figures]
    from matplotlib.backends import backend_agg  # noqa: F401  (imported once here, inherited by every worker)

    _PENDING[:] = figures
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_render_pending, range(len(figures))))
    finally:
        _PENDING.clear()


class Predrawn(Protocol):
    """Figures drawn elsewhere (``report.background.FigureWorkers``): which it has, each one's PNG, and the sections they belong to."""

    def section(self, name: str, part: Any) -> Section | None:
        """The section built for this very part of the run ("rq1", "rq2:<by>", "rq3"), or None."""
        ...

    def covers(self, figure: FigureRef) -> bool:
        """Whether a PNG of this very drawing was, or is being, drawn."""
        ...

    def png(self, figure: FigureRef) -> bytes | None:
        """That PNG (waiting for it); None when its drawing failed, so the caller draws it."""
        ...


def draw_all(figures: Sequence[FigureRef], fig_dir: Path, workers: int | None = None, drawn: Predrawn | None = None) -> dict[str, Path]:
    """Draw every figure once as PNG: written to fig_dir/<id>.png and kept (base64) for the HTML; returns id -> path.

    ``drawn``: PNGs drawn already (by processes started during the analyses); the figures it does
    not cover are drawn here first (in ``workers`` processes), then its PNGs are collected.
    """
    fig_dir.mkdir(parents=True, exist_ok=True)
    covered = [drawn is not None and drawn.covers(f) for f in figures]
    missing = [f for f, done in zip(figures, covered, strict=True) if not done]
    here = iter(render_all(missing, default_workers(len(missing)) if workers is None else workers) if missing else [])
    written = {}
    for figure, done in zip(figures, covered, strict=True):
        data = (drawn.png(figure) if drawn is not None and done else None) or (render(figure) if done else next(here))
        path = fig_dir / f"{figure.id}.png"
        path.write_bytes(data)
        figure.png_base64 = base64.b64encode(data).decode("ascii")
        figure.width, figure.height = png_size(data)
        written[figure.id] = path
    return written
