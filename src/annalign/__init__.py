"""annalign: measure how far an LLM's annotations agree with a diverse pool of human annotators.

The Python API (see docs/guide.md)::

    import annalign
    annalign.datasets()                                        # the bundled data sets
    ann = annalign.load("dices350")                            # -> Annotations
    judge = annalign.load_machines("judge.csv", ann)           # -> MachineRatings
    rq1 = annalign.alignment(ann, judge, resampling=2000)      # RQ1 -> RQ1Result
    rq2 = annalign.group_alignment(ann, judge)                 # RQ2 -> GroupResult
    rq3 = annalign.disagreement(ann, baselines=judge)          # RQ3 -> DisagreementResult
    run = annalign.run("run.toml", out_dir="results")          # a whole run -> RunResult
    annalign.report(run, "results")                            # report.html, report.md, figures

Every name is imported on first use (PEP 562), so ``import annalign`` loads no analysis module,
pandas, scipy, matplotlib or the LLM engine.
"""

from __future__ import annotations

import sys
import types
from importlib import import_module
from typing import Any

from annalign.errors import AnalysisWarning as AnalysisWarning
from annalign.errors import InputError as InputError

__version__ = "0.1.0"

#: public name -> (module, attribute), imported when the name is first used
_EXPORTS: dict[str, tuple[str, str]] = {
    # functions
    "load": ("annalign.api", "load"),
    "load_machines": ("annalign.api", "load_machines"),
    "alignment": ("annalign.api", "alignment"),
    "group_alignment": ("annalign.api", "group_alignment"),
    "disagreement": ("annalign.api", "disagreement"),
    "agreement": ("annalign.api", "agreement"),
    "slices": ("annalign.api", "slices"),
    "alt_test": ("annalign.api", "alt_test"),
    "distribution": ("annalign.api", "distribution"),
    "run": ("annalign.api", "run"),
    "annotate": ("annalign.engine", "annotate_ratings"),
    "analysis": ("annalign.analyses.registry", "analysis"),
    # option objects
    "Resampling": ("annalign.api", "Resampling"),
    "AltTestOptions": ("annalign.api", "AltTestOptions"),
    "GroupingOptions": ("annalign.api", "GroupingOptions"),
    "PowerOptions": ("annalign.api", "PowerOptions"),
    "DisagreementOptions": ("annalign.api", "DisagreementOptions"),
    # data
    "Annotations": ("annalign.core.annotations", "Annotations"),
    "RatingMap": ("annalign.core.ratingmap", "RatingMap"),
    "MachineRatings": ("annalign.core.machines", "MachineRatings"),
    "ColumnMap": ("annalign.datasets.catalog", "ColumnMap"),
    "Settings": ("annalign.config", "Settings"),
    # results
    "Result": ("annalign.analyses.base", "Result"),
    "ConfidenceInterval": ("annalign.analyses.base", "ConfidenceInterval"),
    "RQ1Result": ("annalign.analyses.alignment", "RQ1Result"),
    "MachineAlignment": ("annalign.analyses.alignment", "MachineAlignment"),
    "MachineDifference": ("annalign.analyses.alignment", "MachineDifference"),
    "AltTestResult": ("annalign.analyses.alt_test", "AltTestResult"),
    "GroupResult": ("annalign.analyses.group_alignment", "GroupResult"),
    "DisagreementResult": ("annalign.analyses.group_disagreement", "DisagreementResult"),
    "AgreementResult": ("annalign.analyses.agreement", "AgreementResult"),
    "SlicesResult": ("annalign.analyses.slices", "SlicesResult"),
    "DistributionResult": ("annalign.analyses.distribution", "DistributionResult"),
    "RunResult": ("annalign.results", "RunResult"),
}

#: subpackages that are also the API function of the same name: ``annalign.datasets()``, ``annalign.report(run, dir)``
_CALLABLE_PACKAGES = {"annalign.datasets": "datasets", "annalign.report": "report"}

__all__ = sorted(["AnalysisWarning", "InputError", "__version__", "datasets", "report", *_EXPORTS])


class _CallableModule(types.ModuleType):
    """A subpackage that, called, runs the API function of its name (its modules stay importable as before)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(import_module("annalign.api"), _CALLABLE_PACKAGES[self.__name__])(*args, **kwargs)


class _Package(types.ModuleType):
    """The annalign package: makes ``datasets`` and ``report`` callable however they come to be imported.

    Importing a subpackage sets it as an attribute of its parent; this hook gives those two the
    call of their API function at that moment, so ``annalign.report(run, out)`` and
    ``annalign.report.write_report`` both work in any import order.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if type(value) is types.ModuleType and value.__name__ in _CALLABLE_PACKAGES:
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    if name in ("datasets", "report"):
        return import_module(f"annalign.{name}")
    if name not in _EXPORTS:
        raise AttributeError(f"module 'annalign' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    value = getattr(import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)
