"""Analyses beyond RQ1-RQ3, registered by name: ``@analysis("name")`` on a function (data, machines, settings) -> Result.

The pipeline runs RQ1, RQ2 and RQ3 as always, then each registered analysis that the
``analyses`` setting names, in that order; its result goes to ``RunResult.extra[name]`` and to
results.json under ``name``. Packages outside annalign can also register through the
``annalign.analyses`` entry-point group (each entry point names a module or a function).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from annalign.errors import InputError

if TYPE_CHECKING:
    from annalign.analyses.base import Result
    from annalign.core.annotations import Annotations
    from annalign.core.machines import MachineRatings

#: (data, machine raters or None, the run's Settings) -> a Result
AnalysisFunction = Callable[["Annotations", "MachineRatings | None", Any], "Result"]

#: results.json keys an analysis may not take.
RESERVED = frozenset(
    {"schema_version", "annalign_version", "dataset", "settings", "machines", "rq1", "rq2", "rq2_other_groupings", "rq3",
     "warnings", "provenance"}
)  # fmt: skip
ENTRY_POINT_GROUP = "annalign.analyses"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

_REGISTRY: dict[str, AnalysisFunction] = {}
#: analyses that ship with annalign, imported when first named (so a run that does not ask pays nothing)
BUILTIN = {"agreement": "annalign.analyses.agreement", "slices": "annalign.analyses.slices", "distribution": "annalign.analyses.distribution"}


def analysis(name: str) -> Callable[[AnalysisFunction], AnalysisFunction]:
    """Register the decorated function as the analysis ``name`` (its results.json key and CSV prefix)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(f"analysis name must be letters, digits and '_' starting with a letter, got {name!r}")
    if name in RESERVED:
        raise InputError(f"analysis name {name!r} is taken by results.json; choose another")

    def register(function: AnalysisFunction) -> AnalysisFunction:
        if not callable(function):
            raise InputError(f"analysis {name!r} must be a function (data, machines, settings) -> Result")
        _REGISTRY[name] = function
        return function

    return register


def unregister(name: str) -> None:
    """Forget the analysis ``name`` (tests and notebooks that redefine one)."""
    _REGISTRY.pop(name, None)


def registered() -> list[str]:
    """The names of the registered analyses, in registration order."""
    return list(_REGISTRY)


def _load_entry_points() -> None:
    """Import the analyses other packages declare in the ``annalign.analyses`` entry-point group."""
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name in _REGISTRY:
            continue
        loaded = point.load()
        if callable(loaded) and point.name not in _REGISTRY:
            analysis(point.name)(loaded)


def get_analysis(name: str) -> AnalysisFunction:
    """The analysis registered as ``name``; a one-line InputError naming the known ones otherwise."""
    if name not in _REGISTRY and name in BUILTIN:
        import importlib

        importlib.import_module(BUILTIN[name])
    if name not in _REGISTRY:
        _load_entry_points()
    if name not in _REGISTRY:
        known = sorted({*registered(), *BUILTIN})
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        listed = ", ".join(known) if known else "none registered"
        raise InputError(f"unknown analysis {name!r} ({hint}registered: {listed}); register it with @annalign.analysis({name!r})")
    return _REGISTRY[name]
