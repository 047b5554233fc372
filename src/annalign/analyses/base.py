"""The one protocol every analysis result follows, and the helpers results share.

A result is frozen once built. It gives its main tidy table (``to_frame``), every table it
writes as CSV (``tables``), its section of results.json (``to_dict``), the lines the command line
prints (``summary``), intervals at any level from the replicates it kept or regenerates
(``confidence_interval``) and an HTML view for notebooks (``_repr_html_``), as scipy's
``PearsonRResult`` and statsmodels' ``ContrastResults`` do.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd


class ConfidenceInterval(NamedTuple):
    """A two-sided interval of one estimate (scipy's ``ConfidenceInterval`` has the same fields)."""

    low: float
    high: float


@runtime_checkable
class Result(Protocol):
    """What the pipeline, results.json and the report read from an analysis result."""

    def to_frame(self) -> pd.DataFrame:
        """The main tidy table: one row per estimate."""
        ...

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the result by CSV file stem."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe section of results.json."""
        ...

    def summary(self) -> list[str]:
        """The lines the command line prints."""
        ...

    def confidence_interval(self, level: float = 0.95) -> pd.DataFrame:
        """The estimates with their interval at ``level``, without rerunning the analysis."""
        ...


class ResultDisplay:
    """Mix-in: a notebook shows a result as its summary lines above its main table."""

    def _repr_html_(self) -> str:
        lines = "\n".join(self.summary())  # type: ignore[attr-defined]
        frame = self.to_frame()  # type: ignore[attr-defined]
        table = frame.to_html(index=False, max_rows=40, float_format=lambda v: f"{v:.3f}") if len(frame.columns) else ""
        return f"<pre>{html.escape(lines)}</pre>\n{table}"

    def __str__(self) -> str:
        return "\n".join(self.summary())  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        """One line: the class and the first summary line (the tables would flood a terminal)."""
        lines = self.summary()  # type: ignore[attr-defined]
        return f"<{type(self).__name__}: {lines[0].strip() if lines else 'empty'}>"


def check_level(level: float) -> float:
    """A confidence level strictly between 0 and 1 (the rule of the ``level`` setting); InputError otherwise."""
    from annalign.errors import InputError, shown

    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise InputError(f"confidence level must be a number strictly between 0 and 1, got {shown(level)}")
    return float(level)


def check_resample(resample: object) -> str:
    """A resampling scheme of the group-level intervals and tests ("crossed" or "items"); InputError otherwise."""
    from annalign.errors import InputError
    from annalign.stats.crossed import RESAMPLE_SCHEMES

    if resample not in RESAMPLE_SCHEMES:
        raise InputError(f"resample must be one of {', '.join(RESAMPLE_SCHEMES)}, got {resample!r}")
    return str(resample)


def fmt(value: object, digits: int = 3) -> str:
    """A number for the terminal: fixed decimals for floats, 'n/a' for missing values."""
    return "n/a" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def with_changes(config: Any, changes: dict[str, Any], what: str) -> Any:
    """A copy of a frozen config dataclass with some fields changed; an unknown name is a one-line error naming ``what``."""
    import dataclasses

    from annalign.errors import InputError

    known = [f.name for f in dataclasses.fields(config)]
    unknown = sorted(set(changes) - set(known))
    if unknown:
        raise InputError(f"unknown {what} setting {unknown[0]!r}; known: {', '.join(known)}")
    return dataclasses.replace(config, **changes) if changes else config
