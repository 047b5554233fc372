"""The report's building blocks (tables, figures, facts) and number formatting shared by the HTML and Markdown output."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from annalign.redaction import redact

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: object) -> str:
    """Text for display: str() with secrets redacted and control characters (except tab and newline) removed."""
    return _CONTROL.sub("", redact(str(text)))


def is_number(value: object) -> bool:
    """A finite real number (numpy scalars included; bools are not numbers here)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def count(value: object) -> str:
    """A count ("350", never "350.00"); missing as 'n/a'. A fractional value is a bug in the caller: ValueError."""
    if not is_number(value):
        return "n/a"
    number = float(value)  # type: ignore[arg-type]
    if not number.is_integer():
        raise ValueError(f"a count must be a whole number, got {value!r}")
    return str(int(number))


def num(value: object, digits: int = 2) -> str:
    """A number for a table cell: fixed digits, integers (Python or numpy) as they are, missing as 'n/a'."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, str):
        return clean(value)  # text (and numbers already formatted) as it is
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return clean(value)
    if not math.isfinite(number):
        return "n/a"
    if number.is_integer() and abs(number) >= 1000:
        return f"{int(number)}"
    text = f"{number:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


def sentence(parts: Sequence[str], tail: str = "") -> str:
    """Clauses joined by '; ' into one sentence: first letter upper-case, a full stop at the end."""
    text = "; ".join(p for p in parts if p) + tail
    return (text[:1].upper() + text[1:] + ".") if text else ""


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
    """A percentage rounded to a whole number: '97%'."""
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
    """A figure in the report: how to draw it, and once drawn its PNG (inline in the HTML, a file for the Markdown)."""

    kind: ClassVar[str] = "figure"

    id: str
    title: str
    reading: str
    alt: str
    draw: Callable[[], Figure] = field(repr=False)
    png_base64: str = ""
    width: int = 0
    height: int = 0

    @property
    def png_name(self) -> str:
        """Where the PNG file is, relative to the report."""
        return f"figures/{self.id}.png"


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


def is_pvalue_column(name: str) -> bool:
    """'p', 'p_perm', 'p_adjusted_holm', ...: columns shown as p-values."""
    return name == "p" or name.startswith("p_")


def frame_table(
    frame: pd.DataFrame,
    id: str,
    title: str,
    reading: str,
    columns: Mapping[str, str] | None = None,
    digits: int = 2,
    max_rows: int = 60,
) -> Table:
    """A Table from a DataFrame's named columns (renamed for display); a column the frame lacks is a KeyError, never skipped."""
    cols = dict(columns) if columns is not None else {str(c): str(c) for c in frame.columns}
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise KeyError(f"table {id}: the result has no column(s) {missing}; it has {list(frame.columns)}")
    head = frame.head(max_rows)
    cells = []
    for c in cols:
        values = head[c].tolist()  # per column: integers stay integers (a row would upcast them to float)
        cells.append([pvalue(v) if is_pvalue_column(c) and is_number(v) else num(v, digits) for v in values])
    rows = [list(row) for row in zip(*cells, strict=True)] if cells else []
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
