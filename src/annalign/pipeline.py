"""The one-way flow of a run: load -> ratings matrix -> analyses -> results (report writers come after)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from annalign import __version__
from annalign.config import Settings
from annalign.datasets import load_dataset
from annalign.errors import AnalysisWarning, InputError, warn
from annalign.machine import MachineRatings, combine, drop_constant, load_machine_ratings, rescale
from annalign.matrix import Annotations
from annalign.ratingmap import RatingMap
from annalign.rq1 import analyze_rq1


@dataclass
class RunOutputs:
    """What the analyses produced: the results.json structure, CSV tables and warnings."""

    results: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    warnings: list[str] = field(default_factory=list)


@contextmanager
def collect_warnings(sink: list[str], echo: Callable[[str], None] | None = None):
    """Record AnalysisWarnings (and echo them) instead of letting Python print them."""
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as recorded:
            warnings.simplefilter("always", AnalysisWarning)
            caught = recorded
            yield
    finally:  # after the filters are restored; warnings raised before an error still reach the user
        _flush(caught, sink, echo)


def _flush(caught: list[warnings.WarningMessage], sink: list[str], echo: Callable[[str], None] | None) -> None:
    """Record and echo the AnalysisWarnings; pass every other warning on unchanged."""
    for w in caught:
        if issubclass(w.category, AnalysisWarning):
            message = str(w.message)
            if message not in sink:
                sink.append(message)
                if echo:
                    echo(message)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def load_data(settings: Settings) -> Annotations:
    """The human ratings as the settings describe them (data set, format, rating map, scale, rater filter, text columns)."""
    rmap = RatingMap.parse(settings.rating_map)
    if settings.scale is not None:
        rmap = rmap.with_scale(settings.scale)
    data = load_dataset(settings.dataset, rating_map=rmap, columns=settings.column_map(), fmt=settings.format)
    if data.has_raters:
        data = data.filter_raters(settings.raters, settings.min_ratings)
    renames = {c: t for c, t in ((settings.context_col, "context"), (settings.response_col, "response")) if c != t}
    if renames:
        absent = [c for c in renames if c not in data.items.columns]
        if absent:
            fields_ = ", ".join(map(str, data.items.columns)) or "none"
            raise InputError(f"data set {data.name} has no item column {absent[0]!r} (item columns: {fields_})")
        items = data.items.drop(columns=[t for t in renames.values() if t in data.items.columns]).rename(columns=renames)
        data = replace(data, items=items)
    return data


def load_machines(data: Annotations, settings: Settings, extra: list[MachineRatings] | None = None) -> MachineRatings | None:
    """Machine-rater files from the settings plus any annotated in this run, on the humans' scale if asked.

    Machine raters that give every item the same score are left out with a warning naming their
    file (``drop_constant``); None when no machine rater is left.
    """
    parts = []
    if settings.ratings:
        declared = settings.machine_scale if isinstance(settings.machine_scale, dict) else (
            {"*": settings.machine_scale} if settings.machine_scale else None
        )
        from_files = load_machine_ratings(
            settings.ratings, data, rating_map=settings.machine_rating_map, parse=settings.parse, scales=declared
        )
        if settings.machine_scale:  # only files: raters annotated in this run are already on the human scale
            values = data.values if data.has_raters else np.array(data.rating_map.categories or [0.0, 1.0])
            target = (float(np.min(values)), float(np.max(values)))
            scales = settings.machine_scale if isinstance(settings.machine_scale, dict) else {"*": settings.machine_scale}
            for name, (lo, hi) in scales.items():
                from_files = rescale(from_files, (lo, hi), target, None if name == "*" else [name])
        parts.append(from_files)
    parts.extend(extra or [])
    if not parts:
        return None
    return drop_constant(combine(parts), data)


def run_analyses(data: Annotations, machines: MachineRatings | None, settings: Settings) -> RunOutputs:
    """Run every analysis that applies and gather results.json content and CSV tables.

    Persona raters (named ``MODEL|persona=GROUP``) feed RQ3 only; the plain machine raters feed
    RQ1, RQ2 and serve as RQ3's baseline predictors.
    """
    from annalign.disagreement import split_persona_raters

    baselines, personas = split_persona_raters(machines) if machines is not None else ({}, {})
    plain = machines.select(list(baselines)) if machines is not None and baselines else None
    rq1 = analyze_rq1(
        data,
        plain,
        method=settings.method,
        n_boot=settings.bootstrap,
        seed=settings.seed,
        level=settings.level,
        alt_epsilon=settings.alt_epsilon,
        alt_scoring=settings.alt_scoring,
        alt_min_items=settings.alt_min_items,
    )
    results: dict[str, Any] = {
        "annalign_version": __version__,
        "dataset": data.describe(),
        "settings": settings.to_dict(),
        "machines": machines.summary() if machines is not None else [],
        "rq1": rq1.to_dict(),
    }
    tables = rq1.tables()
    groupings = [list(by) for by in settings.groupings if set(by) <= set(data.raters.columns)]
    for by in settings.groupings:
        if data.has_raters and not set(by) <= set(data.raters.columns):
            missing = ", ".join(sorted(set(by) - set(data.raters.columns)))
            warn(f"grouping {'+'.join(by)} skipped (RQ2/RQ3): data set {data.name} has no rater column(s) {missing}")
    if data.has_raters and plain is not None:
        from annalign.groups import analyze_groups

        for position, by in enumerate(groupings):
            groups = analyze_groups(
                data,
                plain,
                by,
                n_boot=settings.bootstrap,
                seed=settings.seed,
                level=settings.level,
                min_group_size=settings.min_group_size,
                power_items=settings.power_items,
            )
            if position == 0:
                results["rq2"] = groups.to_dict()
                tables.update({f"rq2_{name}": frame for name, frame in groups.tables().items()})
            else:
                results.setdefault("rq2_other_groupings", {})["+".join(by)] = groups.to_dict()
    if data.has_raters and groupings:
        from annalign.disagreement import analyze_disagreement

        by = groupings[0]
        rq3 = analyze_disagreement(
            data, personas or None, baselines or None, by=by, n_boot=settings.bootstrap, seed=settings.seed, level=settings.level
        )
        results["rq3"] = rq3.to_dict()
        tables.update(rq3.tables())
    return RunOutputs(results, tables)
