"""The report's sections, built from the typed RunResult's own fields: no JSON or CSV is read back, no column is guessed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from annalign.report.model import FigureRef, Section, Table
from annalign.report.sections.alignment import rq1_section
from annalign.report.sections.data import data_section
from annalign.report.sections.disagreement import rq3_section
from annalign.report.sections.distribution import distribution_section
from annalign.report.sections.extra import extra_section
from annalign.report.sections.groups import rq2_section

if TYPE_CHECKING:
    from annalign.results import RunResult

__all__ = ["figures_in", "number_blocks", "report_sections"]


#: a section built already for a part of the run ("rq1", "rq2:<by>", "rq3" and the part itself), or None
Prepared = Callable[[str, Any], "Section | None"]


def report_sections(run: RunResult, prepared: Prepared | None = None) -> list[Section]:
    """Data, RQ1, RQ2 (every grouping, in settings order), RQ3 and every other registered analysis; figures not drawn yet.

    ``prepared`` gives the sections built while the analyses ran (``FigureWorkers.section``); the others are built here.
    """
    ready = prepared or (lambda _name, _part: None)
    sections = [data_section(run), ready("rq1", run.rq1) or rq1_section(run.rq1)]
    sections += [ready(f"rq2:{by}", result) or rq2_section(by, result, position) for position, (by, result) in enumerate(run.rq2.items())]
    if run.rq3 is not None:
        sections.append(ready("rq3", run.rq3) or rq3_section(run.rq3))
    sections += [distribution_section(result) if name == "distribution" else extra_section(name, result) for name, result in run.extra.items()]
    sections = [s for s in sections if s.blocks]
    number_blocks(sections)
    return sections


def figures_in(sections: list[Section]) -> list[FigureRef]:
    """Every figure of the sections, in order."""
    return [b for s in sections for b in s.blocks if isinstance(b, FigureRef)]


def number_blocks(sections: list[Section]) -> None:
    """Prefix 'Figure N.' and 'Table N.' in reading order (the data section's tables stay unnumbered)."""
    n_figures = n_tables = 0
    for section in sections:
        for block in section.blocks:
            if isinstance(block, FigureRef):
                n_figures += 1
                block.title = f"Figure {n_figures}. {block.title}"
            elif isinstance(block, Table) and section.id != "data":
                n_tables += 1
                block.title = f"Table {n_tables}. {block.title}"
