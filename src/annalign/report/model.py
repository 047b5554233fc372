"""The report's building blocks (tables, figures, facts) and number formatting shared by the HTML and Markdown output."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: object) -> str:
    """Text for display: str() with control characters (except tab and newline) removed."""
    return _CONTROL.sub("", str(text))


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def num(value: object, digits: int = 2) -> str:
    """A number for a table cell: fixed digits, integers as they are, missing as 'n/a'."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return clean(value)
    if not math.isfinite(number):
        return "n/a"
    if number.is_integer() and abs(number) >= 1000:
        return f"{int(number)}"
    return f"{number:.{digits}f}"


def ci(low: object, high: object, digits: int = 2) -> str:
    """A confidence interval as '[lo, hi]'."""
    if not is_number(low) or not is_number(high):
        return "n/a"
    return f"[{num(low, digits)}, {num(high, digits)}]"


def pvalue(p: object) -> str:
    """A p-value, with a floor for bootstrap/permutation zeros."""
    if not is_number(p):
        return "n/a"
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def pct(value: object) -> str:
    return "n/a" if not is_number(value) else f"{float(value):.0f}%"


@dataclass
class Table:
    """A table with a caption and a one-line reading; cells are display strings."""

    kind: ClassVar[str] = "table"

    id: str
    title: str
    reading: str
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool] = field(default_factory=list)
    note: str = ""

    def __post_init__(self) -> None:
        self.columns = [clean(c) for c in self.columns]
        self.rows = [[clean(c) for c in row] for row in self.rows]
        if not self.numeric:
            self.numeric = [
                all(re.fullmatch(r"[-<\s\d.,\[\]%n/a]+", row[j] or "") is not None for row in self.rows) and bool(self.rows)
                for j in range(len(self.columns))
            ]


@dataclass
class FigureRef:
    """A figure in the report: inline PNG plus the files written."""

    kind: ClassVar[str] = "figure"

    id: str
    title: str
    reading: str
    alt: str
    png_base64: str
    width: int
    height: int
    png_name: str
    svg_name: str


@dataclass
class Example:
    """One item where a machine rater and the human mean disagree most."""

    machine: str
    item_id: str
    human_mean: str
    machine_score: str
    machine_on_human_scale: str
    gap: str
    fields: list[tuple[str, str]]


@dataclass
class Section:
    """A titled part of the report holding figures and tables in order, with an intro line."""

    id: str
    title: str
    intro: str = ""
    blocks: list[Table | FigureRef] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, block: Table | FigureRef | None) -> None:
        if block is not None:
            self.blocks.append(block)


def frame_table(
    frame: pd.DataFrame,
    id: str,
    title: str,
    reading: str,
    columns: Mapping[str, str] | None = None,
    digits: int = 2,
    max_rows: int = 60,
) -> Table:
    """A Table from a DataFrame (selected and renamed columns), p-value columns formatted as such."""
    cols = columns or {c: c for c in frame.columns}
    cols = {k: v for k, v in cols.items() if k in frame.columns}
    rows = []
    for _, rec in frame.head(max_rows).iterrows():
        row = []
        for c in cols:
            value = rec[c]
            if isinstance(value, float) and c.lower().startswith("p"):
                row.append(pvalue(value) if c.lower() != "power" else num(value, 2))
            else:
                row.append(num(value.item() if hasattr(value, "item") else value, digits))
        rows.append(row)
    note = f"first {max_rows} of {len(frame)} rows; the full table is in the CSV files" if len(frame) > max_rows else ""
    return Table(id, title, reading, list(cols.values()), rows, note=note)


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Key/value rows from a nested structure (for settings and provenance)."""
    rows: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        if not value and prefix:
            rows.append((prefix, "(none)"))
        for k, v in value.items():
            rows.extend(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        if all(not isinstance(v, (Mapping, list, tuple)) for v in value):
            rows.append((prefix, ", ".join(clean(v) for v in value) if value else "(none)"))
        else:
            for i, v in enumerate(value):
                rows.extend(flatten(v, f"{prefix}[{i}]"))
    else:
        rows.append((prefix, "(none)" if value is None else f"{value:g}" if isinstance(value, float) else clean(value)))
    return rows
