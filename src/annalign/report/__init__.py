"""The run's report: one self-contained report.html, report.md and figures/*.png, built from the typed RunResult.

Importing this package is cheap: jinja2 and matplotlib load when a report is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from annalign.report.draw import Predrawn
    from annalign.results import RunResult

__all__ = ["CSP", "write_report"]

#: Forbids scripts, plugins, frames, forms and every remote load; allows only inline CSS and data: images.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def write_report(run: RunResult, out_dir: str | Path, *, workers: int | None = None, drawn: Predrawn | None = None) -> dict[str, Path]:
    """Write DIR/report.html, DIR/report.md and DIR/figures/*.png from a RunResult (secrets redacted); returns name -> path.

    ``workers``: processes drawing the figures (default: one per core where that helps; 1 draws here).
    ``drawn``: figures drawn already while the analyses ran (``annalign.report.background.FigureWorkers``).
    """
    if isinstance(run, (str, Path)) or isinstance(out_dir, Mapping):
        raise TypeError("write_report takes (run, out_dir): the RunResult first, then the output folder")
    from annalign.report import render

    return render.write_report(run, out_dir, workers=workers, drawn=drawn)
