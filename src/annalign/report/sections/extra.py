"""A section for each analysis registered beyond RQ1-RQ3: its summary lines and its tables, shown as they are."""

from __future__ import annotations

from typing import Any

import pandas as pd

from annalign.report.model import Section, Table, clean, frame_table
from annalign.results import safe_file_name

MAX_ROWS = 60


def summary_lines(result: Any) -> list[str]:
    """The result's summary() lines (terminal text), when it has them."""
    summary = getattr(result, "summary", None)
    if not callable(summary):
        return []
    lines = summary()
    return [clean(line).strip() for line in ([lines] if isinstance(lines, str) else lines) if str(line).strip()]


def frames(result: Any) -> dict[str, pd.DataFrame]:
    """The result's tables(), or its to_frame() as one table when it has no tables."""
    tables = dict(result.tables()) if callable(getattr(result, "tables", None)) else {}
    if not tables and callable(getattr(result, "to_frame", None)):
        tables = {"table": result.to_frame()}
    return {name: frame for name, frame in tables.items() if isinstance(frame, pd.DataFrame)}


def extra_section(name: str, result: Any) -> Section:
    """One registered analysis: its summary as the intro, each of its tables with a reading of its size."""
    stem = safe_file_name(name)
    lines = summary_lines(result)
    section = Section(f"extra-{stem}", f"{clean(name)}", lines[0] if lines else "")
    section.notes = lines[1:]
    for table_name, frame in frames(result).items():
        reading = f"{len(frame)} rows; the full table is the CSV file {clean(table_name)}.csv." if table_name != "table" else f"{len(frame)} rows."
        section.add(frame_table(frame, f"table-{stem}-{safe_file_name(table_name)}", clean(table_name), reading, max_rows=MAX_ROWS))
    if not section.blocks:
        section.add(Table(f"table-{stem}", clean(name), "This analysis has no tables.", [], []))
    return section
