"""Errors and warnings the user sees: one line each, naming the file, column, row or value."""

from __future__ import annotations

import warnings


class InputError(ValueError):
    """Bad input (a file, column, label or option): the CLI prints it on one line, exit code 2."""


class RequestsFailed(Exception):
    """Some LLM requests failed after every retry; what was answered is written (exit code 3)."""

    exit_code = 3


class AnalysisWarning(UserWarning):
    """Something was left out of an analysis (a constant rater, an unrated item, a small group)."""


def shown(value: object) -> str:
    """``repr`` of a value as the user wrote it: numpy scalars as plain Python (``True``, not ``np.True_``)."""
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        try:
            value = value.item()  # type: ignore[union-attr]
        except (TypeError, ValueError):
            pass
    return repr(value)


def warn(message: str) -> None:
    """Emit a one-line AnalysisWarning that the CLI shows and results.json records."""
    warnings.warn(message, AnalysisWarning, stacklevel=2)
