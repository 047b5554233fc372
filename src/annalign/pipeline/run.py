"""The one-way flow of a run: load -> ratings matrix -> analyses -> results (report writers come after)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from annalign import __version__
from annalign.analyses.alignment import analyze_rq1
from annalign.analyses.alt_test import AltTestConfig
from annalign.analyses.registry import AnalysisFunction, get_analysis
from annalign.analyses.slices import check_fields as check_slice_fields
from annalign.config import Settings
from annalign.core.annotations import Annotations
from annalign.core.machines import MachineRatings, combine, drop_constant, rescale
from annalign.core.ratingmap import RatingMap
from annalign.datasets.bundled import load_dataset
from annalign.datasets.machine_files import load_machine_ratings
from annalign.errors import AnalysisWarning, InputError, warn
from annalign.results import RunResult

if TYPE_CHECKING:
    from annalign.analyses.group_alignment import GroupAlignmentConfig
    from annalign.analyses.group_disagreement import DisagreementConfig


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


@contextmanager
def held_warnings(held: list[warnings.WarningMessage]):
    """Keep the block's warnings in ``held`` instead of raising them (``replay_warnings`` raises them later, in reading order)."""
    with warnings.catch_warnings(record=True) as recorded:
        try:
            yield
        finally:
            held.extend(recorded)


def replay_warnings(held: list[warnings.WarningMessage]) -> None:
    """Raise the held warnings now, as they were raised (category, message, place)."""
    for w in held:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def load_data(settings: Settings) -> Annotations:
    """The human ratings as the settings describe them (data set, format, rating map, scale, rater filter, text columns)."""
    rmap = RatingMap.parse(settings.rating_map)
    if settings.scale is not None:
        rmap = rmap.with_scale(settings.scale)
    rmap = rmap.with_level(settings.measurement)
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


def machines_from_files(
    data: Annotations,
    paths: list[str],
    *,
    rating_map: str | dict[str, float] | RatingMap | None = None,
    parse: str | None = None,
    machine_scale: dict[str, list[float]] | list[float] | None = None,
) -> MachineRatings:
    """Machine-rater files aligned to ``data``; with ``machine_scale`` checked against it and mapped onto the humans' scale."""
    declared = machine_scale if isinstance(machine_scale, dict) else ({"*": machine_scale} if machine_scale else None)
    machines = load_machine_ratings(paths, data, rating_map=rating_map, parse=parse, scales=declared)
    if declared:
        values = data.values if data.has_raters else np.array(data.rating_map.categories or [0.0, 1.0])
        target = (float(np.min(values)), float(np.max(values)))
        for name, (lo, hi) in declared.items():
            machines = rescale(machines, (lo, hi), target, None if name == "*" else [name])
    return machines


def load_machines(
    data: Annotations, settings: Settings, extra: list[MachineRatings] | None = None, *, keep_constant: bool = False
) -> MachineRatings | None:
    """Machine-rater files from the settings plus any annotated in this run, on the humans' scale if asked.

    Machine raters that give every item the same score are left out with a warning naming their
    file (``drop_constant``), unless ``keep_constant`` (the alt-test alone scores them); None when
    no machine rater is left.
    """
    parts = []
    if settings.ratings:  # only files: raters annotated in this run are already on the human scale
        parts.append(
            machines_from_files(
                data, settings.ratings, rating_map=settings.machine_rating_map, parse=settings.parse,
                machine_scale=settings.machine_scale,
            )
        )  # fmt: skip
    parts.extend(extra or [])
    if not parts:
        return None
    return combine(parts) if keep_constant else drop_constant(combine(parts), data)


def first_grouping(settings: Settings, data: Annotations) -> list[str]:
    """The grouping a one-grouping command (groups, disagreement, a persona run) uses; an error when there is none."""
    found = settings.groupings_for(data.raters.columns)
    if not found:
        raise InputError(f"data set {data.name} has no default grouping of its raters: name rater attribute columns with --by (or groupings)")
    return found[0]


def registered_analyses(settings: Settings) -> dict[str, AnalysisFunction]:
    """The registered analyses the ``analyses`` setting names, in its order; InputError for an unknown or repeated name."""
    chosen: dict[str, AnalysisFunction] = {}
    for name in settings.analyses:
        if name in chosen:
            raise InputError(f"setting 'analyses' names {name!r} twice")
        chosen[name] = get_analysis(name)
    return chosen


def run_registered(
    chosen: dict[str, AnalysisFunction], data: Annotations, machines: MachineRatings | None, settings: Settings
) -> dict[str, Any]:
    """Each chosen analysis's result by name; each must give its results.json section and tables."""
    out: dict[str, Any] = {}
    for name, function in chosen.items():
        result = function(data, machines, settings)
        lacking = [m for m in ("to_dict", "tables") if not callable(getattr(result, m, None))]
        if lacking:
            raise InputError(
                f"analysis {name!r} returned a {type(result).__name__}, which lacks {' and '.join(f'{m}()' for m in lacking)} "
                "(see annalign.analyses.base.Result)"
            )
        out[name] = result
    return out


def group_alignment_config(settings: Settings) -> GroupAlignmentConfig:
    """RQ2's settings from the run's: the one mapping used by ``analyze``/``run`` and ``annalign groups``."""
    from annalign.analyses.group_alignment import GroupAlignmentConfig

    return GroupAlignmentConfig(
        n_boot=settings.bootstrap, seed=settings.seed, level=settings.level, min_group_size=settings.min_group_size,
        missing_attr=settings.missing_attr, n_perm=settings.permutations, power_items=settings.power_items or None,
        power_raters=settings.power_raters, power_sims=settings.power_sims, resample=settings.resample,
    )  # fmt: skip


def disagreement_config(settings: Settings, pairs: list[tuple[str, str]] | None = None) -> DisagreementConfig:
    """RQ3's settings from the run's: the one mapping used by ``analyze``/``run`` and ``annalign disagreement``."""
    from annalign.analyses.group_disagreement import DisagreementConfig

    return DisagreementConfig(
        pairs=pairs or settings.pairs, min_group_size=settings.min_group_size, missing_attr=settings.missing_attr,
        n_boot=settings.bootstrap, n_perm=settings.permutations, n_splits=settings.splits, seed=settings.seed,
        threshold=settings.threshold, threshold_quantile=settings.threshold_quantile, level=settings.level,
        resample=settings.resample,
    )  # fmt: skip


#: told each part of a run as soon as it is computed: ("rq1", result), ("rq2:<by>", result) per grouping, ("rq3", result)
OnResult = Callable[[str, Any], None]


def run_analyses(
    data: Annotations, machines: MachineRatings | None, settings: Settings, on_result: OnResult | None = None
) -> RunResult:
    """Run every analysis that applies: RQ1 always, RQ2 per grouping and RQ3 on the first, where the data has raters,
    then the registered analyses the ``analyses`` setting names (``RunResult.extra``).

    ``on_result`` is told each part as it is computed (the command line draws its figures meanwhile):
    RQ1, RQ3, then each RQ2 grouping (the longest last, so the other figures are drawn while it
    runs); the warnings keep the reading order RQ1, RQ2, RQ3 whatever the order of computing.

    Persona raters (named ``MODEL|persona=GROUP``) feed RQ3 only; the plain machine raters feed
    RQ1, RQ2 and serve as RQ3's baseline predictors; registered analyses get every machine rater.
    """
    from annalign.analyses.group_disagreement import split_persona_raters

    chosen = registered_analyses(settings)  # unknown names fail before any work
    if machines is not None and machines.distributions and "distribution" not in chosen:
        chosen["distribution"] = get_analysis("distribution")  # a rater with a label distribution gets it without asking

    baselines, personas = split_persona_raters(machines) if machines is not None else ({}, {})
    plain = machines.select(list(baselines)) if machines is not None and baselines else None
    alt = AltTestConfig(epsilon=settings.alt_epsilon, q=settings.alt_q, scoring=settings.alt_scoring, min_items=settings.alt_min_items,
                        min_humans=settings.alt_min_humans, fallback=settings.alt_fallback)
    rq1 = analyze_rq1(data, plain, method=settings.method, n_boot=settings.bootstrap, seed=settings.seed, level=settings.level, alt=alt,
                      resample=settings.resample)
    tell = on_result or (lambda _name, _part: None)
    tell("rq1", rq1)
    asked = settings.groupings_for(data.raters.columns)
    groupings = [by for by in asked if set(by) <= set(data.raters.columns)]
    for by in asked:  # only groupings the user set can name absent columns: the default applies where it fits
        if data.has_raters and not set(by) <= set(data.raters.columns):
            missing = ", ".join(sorted(set(by) - set(data.raters.columns)))
            warn(f"grouping {'+'.join(by)} skipped (RQ2/RQ3): data set {data.name} has no rater column(s) {missing}")
    rq3, rq2, held = None, {}, []
    try:  # RQ3 first (it is short: its figures are drawn while RQ2 runs); its warnings are raised after RQ2's
        if data.has_raters and groupings:
            from annalign.analyses.group_disagreement import analyze_disagreement

            with held_warnings(held):
                rq3 = analyze_disagreement(data, personas or None, baselines or None, by=groupings[0], config=disagreement_config(settings))
            tell("rq3", rq3)
        if data.has_raters and plain is not None:
            from annalign.analyses.group_alignment import analyze_groups

            for by in groupings:
                rq2["+".join(by)] = analyze_groups(data, plain, by, group_alignment_config(settings))
                tell(f"rq2:{'+'.join(by)}", rq2["+".join(by)])
    finally:
        replay_warnings(held)
    extra = run_registered(chosen, data, machines, settings)
    recorded = {**settings.to_dict(), "groupings": groupings}  # what ran, the default resolved
    return RunResult(data, machines, recorded, rq1, rq2, rq3, extra=extra, version=__version__)


def run_settings(
    settings: Settings,
    out_dir: str | Path | None = None,
    *,
    personas: bool = False,
    say: Callable[[str], None] | None = None,
    echo_warning: Callable[[str], None] | None = None,
    on_result: OnResult | None = None,
) -> RunResult:
    """A whole run: load the data, annotate with the configured models (ledger and files in ``out_dir``), analyse.

    Warnings are collected into the result (and echoed one line each); nothing is written but the
    annotation ledger and machine-rater files. ``personas`` adds the persona annotations RQ3 uses;
    ``on_result`` is told each part of the run as it is computed (``run_analyses``).
    """
    collected: list[str] = []
    provenance: dict[str, Any] = {}
    registered_analyses(settings)  # an unknown analysis name fails before loading or annotating
    with collect_warnings(collected, echo_warning):
        data = load_data(settings)
        check_slice_fields(data.items, settings.slice_by)  # before any annotation or analysis runs, not after RQ1-RQ3
        extra: list[MachineRatings] = []
        if settings.models:
            from annalign.pipeline.annotation import annotate_for_run

            if out_dir is None:
                raise InputError("annotating needs an output folder (out_dir) for the ledger and the machine-rater files")
            labels = None
            if personas:
                from annalign.core.grouping import make_groups

                grouping = make_groups(
                    data.raters, first_grouping(settings, data), min_group_size=settings.min_group_size, missing_attr=settings.missing_attr
                )
                labels = list(grouping.labels)
                n = len(labels) * (settings.limit or data.n_items) * len(settings.models) * len(settings.templates)
                if say:
                    say(f"persona annotation: {n} requests ({len(labels)} groups), answered from the ledger where already done")
            extra, provenance = annotate_for_run(data, settings, Path(out_dir), labels, say=say or (lambda _m: None))
        machines = load_machines(data, settings, extra)
        result = run_analyses(data, machines, settings, on_result)
    return replace(result, warnings=tuple(collected), provenance=provenance)
