"""Drawing the report's figures in forked processes while the analyses still run.

A run computes RQ1, then RQ2 for each grouping, then RQ3, and each part's figures depend on that
part alone. ``FigureWorkers`` forks its drawing processes once the numeric stack is imported (they
inherit numpy and pandas, and import matplotlib while the analyses run); the pipeline hands it
each part as soon as it is computed (``run_settings(on_result=...)``), so those figures are drawn
while the next part is computed, and ``write_report(drawn=...)`` only collects the PNGs. A PNG is
used only for the very drawing it was made from (same plot function, same result object, same
layout); whatever was not drawn, or failed, is drawn by the report as before.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from typing import Any

from annalign.report.draw import render, signature
from annalign.report.model import FigureRef, Section

#: drawing processes at most (the report has about six figures; more processes only add imports)
MAX_WORKERS = 2


def _warm_up() -> None:
    """(In a worker) leave Ctrl-C to the parent, and import matplotlib and the plot functions now."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import annalign.report.figures  # noqa: F401  (the plot functions)
    from annalign.report.figures.style import new_figure

    new_figure(1.0, 1.0)  # imports matplotlib's Figure and the Agg canvas


def usable_cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_workers() -> int:
    """Drawing processes to start: one per core up to MAX_WORKERS; 0 on one core or where forking is unavailable or unsafe."""
    if usable_cores() < 2 or "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 0
    return min(MAX_WORKERS, usable_cores())


def part_section(name: str, part: Any, position: int) -> Section | None:
    """The report section of one part of a run ("rq1", "rq2:<by>" at its position among the groupings, "rq3"); None for others."""
    if name == "rq1":
        from annalign.report.sections.alignment import rq1_section

        return rq1_section(part)
    if name.startswith("rq2:"):
        from annalign.report.sections.groups import rq2_section

        return rq2_section(name.split(":", 1)[1], part, position)
    if name == "rq3" and part is not None:
        from annalign.report.sections.disagreement import rq3_section

        return rq3_section(part)
    return None


class FigureWorkers:
    """Forked processes drawing each part's figures as the part is computed; a context manager (``with``).

    ``workers``: processes to fork (default ``default_workers()``); with 0 nothing is started and
    every figure is left to the report.
    """

    def __init__(self, workers: int | None = None) -> None:
        count = default_workers() if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None
        self._drawing: dict[tuple[Any, ...], tuple[Future[bytes], FigureRef]] = {}
        self._sections: dict[tuple[str, int], tuple[Section, Any]] = {}
        self._groupings = 0
        if count > 0:
            try:
                self._pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork"), initializer=_warm_up)
                self._pool.submit(int)  # forks every worker now, so their imports overlap the analyses
            except (OSError, RuntimeError):  # no semaphores (/dev/shm) or no processes left: the report draws everything
                self._pool = None

    @property
    def active(self) -> bool:
        """Whether drawing processes were started."""
        return self._pool is not None

    def submit(self, name: str, part: Any) -> None:
        """Start drawing the figures of a part just computed (``on_result`` of ``run_settings``)."""
        position = self._groupings
        if name.startswith("rq2:"):
            self._groupings += 1
        if self._pool is None:
            return
        try:
            section = part_section(name, part, position)
        except Exception:  # never fail the analyses over the report: it builds the section again, after results.json is saved
            return
        if section is not None:
            self._sections[(name, id(part))] = (section, part)  # the part is kept, so its id stays its own
            self.draw([b for b in section.blocks if isinstance(b, FigureRef)])

    def section(self, name: str, part: Any) -> Section | None:
        """A copy of the section built for this very part (the report numbers its blocks), or None."""
        found = self._sections.get((name, id(part)))
        if found is None or found[1] is not part:
            return None
        return replace(found[0], blocks=[copy.copy(b) for b in found[0].blocks], notes=list(found[0].notes))

    def draw(self, figures: list[FigureRef]) -> None:
        """Hand these figures to the workers (those with a picklable ``Single``/``Panels`` drawing not handed over yet).

        Most panels first: the workers take them in turn, so the longest drawing does not start last.
        """
        if self._pool is None:
            return
        for figure in sorted(figures, key=lambda f: -getattr(f.draw, "n_panels", 1)):
            key = signature(figure)
            if key is not None and key not in self._drawing:
                self._drawing[key] = (self._pool.submit(render, figure), figure)

    def covers(self, figure: FigureRef) -> bool:
        """Whether this very drawing was handed to a worker."""
        key = signature(figure)
        return key is not None and key in self._drawing

    def png(self, figure: FigureRef) -> bytes | None:
        """The worker's PNG of this drawing (waiting for it); None when not handed over or when the worker failed."""
        key = signature(figure)
        if key is None or key not in self._drawing:
            return None
        try:
            return self._drawing[key][0].result()
        except Exception:  # a worker died or the drawing raised: the report draws it again, and reports any error
            return None

    def close(self) -> None:
        """Stop the workers (drawings not started are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> FigureWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
