"""What a figure function accepts: the analysis result itself, or a whole RunResult holding it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from annalign.errors import InputError

if TYPE_CHECKING:
    from annalign.analyses.alignment import RQ1Result
    from annalign.analyses.group_alignment import GroupResult
    from annalign.analyses.group_disagreement import DisagreementResult


def alignment_of(result: Any) -> RQ1Result:
    """The RQ1 result: ``result`` itself or ``result.rq1``."""
    return result.rq1 if hasattr(result, "rq1") else result


def groups_of(result: Any) -> GroupResult:
    """One grouping's RQ2 result: ``result`` itself, or the first grouping of a RunResult or of a name -> result mapping."""
    if hasattr(result, "rq2") and not hasattr(result, "per_group"):
        result = result.rq2
    if isinstance(result, Mapping):
        if not result:
            raise InputError("no group alignment (RQ2) in this result: there is nothing to plot")
        result = next(iter(result.values()))
    return result


def disagreement_of(result: Any) -> DisagreementResult:
    """The RQ3 result: ``result`` itself or ``result.rq3``."""
    if hasattr(result, "rq3") and not hasattr(result, "pairs"):
        result = result.rq3
    if result is None:
        raise InputError("no group disagreement (RQ3) in this result: there is nothing to plot")
    return result


def machines_in(frame: pd.DataFrame) -> list[str]:
    """The machine raters named in a table, in order of appearance."""
    return list(dict.fromkeys(frame["machine"].astype(str)))


def pick_machine(frame: pd.DataFrame, machine: str | None) -> str:
    """``machine`` when the table has it (else a one-line InputError naming it), or the table's first machine."""
    names = machines_in(frame)
    if machine is None:
        if not names:
            raise InputError("the table names no machine rater: there is nothing to plot")
        return names[0]
    if machine not in names:
        raise InputError(f"machine {machine!r} is not in this result; it has {', '.join(map(repr, names)) or 'none'}")
    return machine


def pick_machines(frame: pd.DataFrame, machine: str | Sequence[str] | None, limit: int) -> list[str]:
    """The machines to draw: the one named, or the table's first ``limit``."""
    if isinstance(machine, str):
        return [pick_machine(frame, machine)]
    if machine is not None:
        return [pick_machine(frame, m) for m in machine]
    return machines_in(frame)[:limit]
