"""The public Python API behind ``import annalign``: load data, run RQ1-RQ3 or a whole configured run, write the report.

Every argument is checked by the rules of the settings layer (``annalign.config``), so a bad value
gets the same one-line InputError as in a TOML file or on the command line. Long parameter lists
are grouped in frozen option objects (``Resampling``, ``AltTestOptions``, ``GroupingOptions``,
``PowerOptions``, ``DisagreementOptions``). Heavy modules are imported inside the functions, so
``import annalign`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annalign.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from annalign.analyses.agreement import AgreementResult
    from annalign.analyses.alignment import RQ1Result
    from annalign.analyses.group_alignment import GroupResult
    from annalign.analyses.group_disagreement import DisagreementResult
    from annalign.analyses.slices import SlicesResult
    from annalign.config import Settings
    from annalign.core.annotations import Annotations
    from annalign.core.machines import MachineRatings
    from annalign.core.ratingmap import RatingMap
    from annalign.datasets.catalog import ColumnMap
    from annalign.results import RunResult

DEFAULT_BY = ("rater_race", "rater_gender")


def _check(setting: str, value: Any, label: str) -> Any:
    """The settings rule for ``setting`` applied to a Python argument named ``label``."""
    from annalign.config import check_value

    return check_value(setting, value, label=label)


# ----- option objects ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Resampling:
    """Bootstrap replicates, permutations and split halves, and the seed they all derive from.

    ``n_splits`` None takes each analysis's default (10 random item halves for the crossed rater part, RQ2 and RQ3).
    """

    n_boot: int = 1000
    n_perm: int = 1000
    n_splits: int | None = None
    seed: int = 0
    #: RQ1's headline and RQ2's and RQ3's group intervals and tests: "crossed" (items and raters) or "items" (conditional on these raters)
    resample: str = "crossed"

    def __post_init__(self) -> None:
        _check("bootstrap", self.n_boot, "Resampling n_boot")
        _check("permutations", self.n_perm, "Resampling n_perm")
        if self.n_splits is not None:
            _check("splits", self.n_splits, "Resampling n_splits")
        _check("seed", self.seed, "Resampling seed")
        _check("resample", self.resample, "Resampling resample")

    @classmethod
    def of(cls, resampling: Resampling | int | None, seed: int | None = None) -> Resampling:
        """A Resampling from one (or an n_boot, or None for the defaults), with ``seed`` overriding its seed."""
        if resampling is None:
            resampling = cls()
        elif not isinstance(resampling, Resampling):
            resampling = cls(n_boot=resampling)
        return resampling if seed is None else replace(resampling, seed=seed)


@dataclass(frozen=True)
class AltTestOptions:
    """The alt-test's settings, as in its authors' code: cost allowance epsilon (their default 0.2; their guidance
    0.2 experts, 0.15 skilled annotators, 0.1 crowd workers), FDR level q, scoring ("auto", "accuracy", "neg_rmse"
    or a callable ``f(prediction, others) -> float``), the items a rater needs for the t-test, the humans an item
    needs, and the fallback for raters under ``min_items`` ("none" or "wilcoxon")."""

    epsilon: float = 0.2
    q: float = 0.05
    scoring: Any = "auto"
    min_items: int = 30
    min_humans: int = 2
    fallback: str = "none"

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", _check("alt_epsilon", self.epsilon, "AltTestOptions epsilon"))
        object.__setattr__(self, "q", _check("alt_q", self.q, "AltTestOptions q"))
        if not callable(self.scoring):
            _check("alt_scoring", self.scoring, "AltTestOptions scoring")
        _check("alt_min_items", self.min_items, "AltTestOptions min_items")
        _check("alt_min_humans", self.min_humans, "AltTestOptions min_humans")
        _check("alt_fallback", self.fallback, "AltTestOptions fallback")

    def config(self) -> Any:
        """The analysis-side AltTestConfig of these options."""
        from annalign.analyses.alt_test import AltTestConfig

        return AltTestConfig(self.epsilon, self.q, self.scoring, self.min_items, self.min_humans, self.fallback)


@dataclass(frozen=True)
class GroupingOptions:
    """How raters form RQ2 groups: the smallest group kept, and what a missing attribute does (unknown, drop, error)."""

    min_group_size: int = 2
    missing_attr: str = "unknown"

    def __post_init__(self) -> None:
        _check("min_group_size", self.min_group_size, "GroupingOptions min_group_size")
        _check("missing_attr", self.missing_attr, "GroupingOptions missing_attr")


@dataclass(frozen=True)
class PowerOptions:
    """RQ2's power table: item counts, optional raters per group (by the fitted model), sims (no longer used: nothing is simulated), test level."""

    items: tuple[int, ...] = (350, 1000, 3000, 10000)
    raters: tuple[int, ...] | None = None
    sims: int = 1000
    alpha: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(_check("power_items", self.items, "PowerOptions items")))
        raters = _check("power_raters", self.raters, "PowerOptions raters")
        object.__setattr__(self, "raters", tuple(raters) if raters is not None else None)
        _check("power_sims", self.sims, "PowerOptions sims")
        object.__setattr__(self, "alpha", _check("level", self.alpha, "PowerOptions alpha"))


@dataclass(frozen=True)
class DisagreementOptions:
    """RQ3's comparisons (default, all, or explicit (A, B) label pairs), the |d| that counts as clear disagreement,
    and how raters form groups (``grouping``; used where the RQ3 analysis takes the RQ2 grouping rules).
    """

    pairs: str | tuple[tuple[str, str], ...] = "default"
    threshold: float | None = None
    threshold_quantile: float = 0.75
    grouping: GroupingOptions | None = None

    def __post_init__(self) -> None:
        if isinstance(self.pairs, str):
            _check("pairs", self.pairs, "DisagreementOptions pairs")
        else:
            pairs = tuple(tuple(p) for p in self.pairs)
            if not pairs or any(len(p) != 2 or not all(isinstance(x, str) for x in p) for p in pairs):
                raise InputError(f"DisagreementOptions pairs must be 'default', 'all' or (A, B) group label pairs, got {self.pairs!r}")
            object.__setattr__(self, "pairs", pairs)
        object.__setattr__(self, "threshold", _check("threshold", self.threshold, "DisagreementOptions threshold"))
        _check("threshold_quantile", self.threshold_quantile, "DisagreementOptions threshold_quantile")
        if self.grouping is not None and not isinstance(self.grouping, GroupingOptions):
            raise InputError(f"DisagreementOptions grouping must be a GroupingOptions, got {type(self.grouping).__name__}")


# ----- data -------------------------------------------------------------------------------------
def datasets() -> pd.DataFrame:
    """The bundled data sets: name, items, raters, ratings and a description."""
    import pandas as pd

    from annalign.datasets.catalog import list_bundled

    return pd.DataFrame(list_bundled())


def load(
    name_or_path: str | Path,
    *,
    rating_map: str | Mapping[str, float] | RatingMap | None = None,
    raters: str = "all",
    scale: tuple[float, float] | None = None,
    format: str = "auto",
    columns: ColumnMap | None = None,
    min_ratings: int = 0,
    measurement: str = "auto",
) -> Annotations:
    """Human ratings: a bundled set by name (``annalign.datasets()``) or a file (DICES CSV, long-form table, votes).

    ``format`` also reads peer JSON layouts: "alttest", "judgebench", "lewidi" (docs/formats.md); "auto" detects them.

    ``measurement`` declares the task's level (nominal, ordinal, interval); "auto" takes the rating map's or infers
    it (``data.measurement`` says which and why).
    """
    from annalign.core.ratingmap import RatingMap
    from annalign.datasets.bundled import load_dataset
    from annalign.datasets.catalog import ColumnMap

    name = _check("dataset", str(name_or_path) if isinstance(name_or_path, Path) else name_or_path, "name_or_path")
    rmap = rating_map if isinstance(rating_map, RatingMap) else RatingMap.parse(_check("rating_map", rating_map, "rating_map"))
    scale = _check("scale", scale, "scale")
    if scale is not None:
        rmap = rmap.with_scale(scale)
    rmap = rmap.with_level(_check("measurement", measurement, "measurement"))
    if columns is not None and not isinstance(columns, ColumnMap):
        raise InputError(f"columns must be an annalign.ColumnMap, got {type(columns).__name__}")
    data = load_dataset(name, rating_map=rmap, columns=columns, fmt=_check("format", format, "format"))
    raters, min_ratings = _check("raters", raters, "raters"), _check("min_ratings", min_ratings, "min_ratings")
    if data.has_raters and (raters != "all" or min_ratings):
        data = data.filter_raters(raters, min_ratings)
    return data


def load_machines(
    path_or_paths: str | Path | Sequence[str | Path],
    data: Annotations,
    *,
    scale: Sequence[float] | Mapping[str, Sequence[float]] | None = None,
    rating_map: str | Mapping[str, float] | RatingMap | None = None,
    parse: str | None = None,
    keep_constant: bool = False,
) -> MachineRatings:
    """Machine-rater files aligned to the items of ``data``; with ``scale`` (LO, HI), mapped onto the humans' scale.

    ``scale`` may also be {rater: (LO, HI)}; ``parse`` names a prompt template whose strict parser
    reads raw answer text. Raters that give every item one score are left out with a warning (their
    correlations are undefined), unless ``keep_constant`` (for ``alt_test``, which scores them).
    """
    from annalign.core.machines import drop_constant
    from annalign.core.ratingmap import RatingMap
    from annalign.pipeline.run import machines_from_files

    _require_annotations(data)
    paths = [path_or_paths] if isinstance(path_or_paths, (str, Path)) else list(path_or_paths)
    paths = _check("ratings", [str(p) if isinstance(p, Path) else p for p in paths], "path_or_paths")
    if not paths:
        raise InputError("load_machines needs at least one machine-rater file")
    if isinstance(scale, Mapping):
        scale = {k: list(v) for k, v in scale.items()}
    machine_scale = _check("machine_scale", list(scale) if isinstance(scale, tuple) else scale, "scale")
    rmap = rating_map if isinstance(rating_map, RatingMap) else _check("machine_rating_map", rating_map, "rating_map")
    machines = machines_from_files(
        data, paths, rating_map=rmap, parse=_check("parse", parse, "parse"), machine_scale=machine_scale
    )
    if not isinstance(keep_constant, bool):
        raise InputError(f"keep_constant must be True or False, got {keep_constant!r}")
    kept = machines if keep_constant else drop_constant(machines, data)
    if kept is None:
        raise InputError(f"every machine rater in {', '.join(paths)} gives every item the same score; nothing to compare")
    return kept


def _require_annotations(data: object) -> None:
    from annalign.core.annotations import Annotations

    if not isinstance(data, Annotations):
        raise InputError(f"data must be Annotations (from annalign.load), got {type(data).__name__}")


def _require_machines(machines: object, optional: bool = True) -> None:
    from annalign.core.machines import MachineRatings

    if machines is None and optional:
        return
    if not isinstance(machines, MachineRatings):
        raise InputError(f"machines must be MachineRatings (from annalign.load_machines), got {type(machines).__name__}")


# ----- analyses ---------------------------------------------------------------------------------
def alignment(
    data: Annotations,
    machines: MachineRatings | None = None,
    *,
    method: str = "auto",
    level: float = 0.95,
    resampling: Resampling | int | None = None,
    seed: int | None = None,
    alt_test: AltTestOptions | None = None,
) -> RQ1Result:
    """RQ1: each machine's correlation with the mean human rating, where it falls among the humans, and the alt-test.

    ``method`` "auto" follows the data set's level of measurement (``data.level``): Spearman for ordinal
    tasks, Pearson otherwise; nominal tasks also get accuracy and kappa (``result.categorical``).

    ``resampling`` is a Resampling or a number of bootstrap replicates; ``seed`` overrides its seed.
    """
    from annalign.analyses.alignment import analyze_rq1

    _require_annotations(data)
    _require_machines(machines)
    boot = Resampling.of(resampling, seed)
    alt = alt_test if alt_test is not None else AltTestOptions()
    return analyze_rq1(
        data, machines, method=_check("method", method, "method"), n_boot=boot.n_boot, seed=boot.seed,
        level=_check("level", level, "level"), alt=alt.config(), resample=boot.resample,
    )  # fmt: skip


def alt_test(data: Annotations, machines: MachineRatings, options: AltTestOptions | None = None) -> dict[str, Any]:
    """The alternative annotator test alone: {machine name: AltTestResult} (winning rate, rho, per-rater table)."""
    from annalign.analyses.alignment import alt_tests

    _require_annotations(data)
    _require_machines(machines, optional=False)
    if options is not None and not isinstance(options, AltTestOptions):
        raise InputError(f"options must be an annalign.AltTestOptions, got {type(options).__name__}")
    alt = options if options is not None else AltTestOptions()
    return alt_tests(data, machines, alt.config())


def _by(by: str | Sequence[str]) -> list[str]:
    """``by`` as a list of rater attribute columns ("a,b" or ["a", "b"])."""
    if isinstance(by, str):
        by = [p.strip() for p in by.split(",") if p.strip()]
    return _check("groupings", [list(by)], "by")[0]


def group_alignment(
    data: Annotations,
    machines: MachineRatings,
    by: str | Sequence[str] = DEFAULT_BY,
    *,
    level: float = 0.95,
    resampling: Resampling | int | None = None,
    seed: int | None = None,
    grouping: GroupingOptions | None = None,
    power: PowerOptions | bool = True,
) -> GroupResult:
    """RQ2: each machine's r with each group's mean rating, disparities, power and within-group spread.

    ``power`` True runs the default power table (PowerOptions()), False skips it.
    """
    from annalign.analyses.group_alignment import analyze_groups

    _require_annotations(data)
    _require_machines(machines, optional=False)
    boot = Resampling.of(resampling, seed)
    rules = grouping if grouping is not None else GroupingOptions()
    if power is True:
        power = PowerOptions()
    elif power is not False and not isinstance(power, PowerOptions):
        raise InputError(f"power must be True, False or a PowerOptions, got {power!r}")
    return analyze_groups(
        data, machines, _by(by), n_boot=boot.n_boot, seed=boot.seed, level=_check("level", level, "level"),
        min_group_size=rules.min_group_size, missing_attr=rules.missing_attr, n_splits=boot.n_splits or 10,
        n_perm=boot.n_perm, power_items=power.items if power else None, power_raters=power.raters if power else None,
        power_sims=power.sims if power else 1000, alpha=power.alpha if power else 0.05, resample=boot.resample,
    )  # fmt: skip


def disagreement(
    data: Annotations,
    personas: MachineRatings | Mapping[str, Any] | None = None,
    baselines: MachineRatings | Mapping[str, Any] | Any = None,
    by: str | Sequence[str] = DEFAULT_BY,
    *,
    level: float = 0.95,
    resampling: Resampling | int | None = None,
    seed: int | None = None,
    options: DisagreementOptions | None = None,
) -> DisagreementResult:
    """RQ3: do groups disagree, how reliably, and can persona or plain machine ratings predict it?

    ``personas``: MachineRatings whose raters are named ``MODEL|persona=GROUP`` (plain raters in
    it count as baselines), or {group label: scores} / {model: {label: scores}}. ``baselines``:
    MachineRatings, {name: scores} or one score vector.
    """
    from annalign.analyses.group_disagreement import analyze_disagreement, split_persona_raters
    from annalign.core.machines import MachineRatings

    _require_annotations(data)
    plain: dict[str, Any] = {}
    if isinstance(personas, MachineRatings):
        plain, personas = split_persona_raters(personas)
    if isinstance(baselines, MachineRatings):
        baselines = {name: baselines.scores[:, k] for k, name in enumerate(baselines.names)}
    if plain:  # plain raters among the personas' MachineRatings are baselines too
        given = {} if baselines is None else baselines if isinstance(baselines, Mapping) else {"baseline": baselines}
        baselines = {**plain, **given}
    if isinstance(baselines, Mapping) and not baselines:
        baselines = None
    boot = Resampling.of(resampling, seed)
    opts = options if options is not None else DisagreementOptions()
    return analyze_disagreement(
        data, personas or None, baselines, by=_by(by),
        pairs=list(opts.pairs) if not isinstance(opts.pairs, str) else opts.pairs, n_boot=boot.n_boot, n_perm=boot.n_perm,
        n_splits=boot.n_splits or 10, seed=boot.seed, resample=boot.resample, threshold=opts.threshold, threshold_quantile=opts.threshold_quantile,
        level=_check("level", level, "level"), **_grouping_rules(analyze_disagreement, opts.grouping),
    )  # fmt: skip


def agreement(
    data: Annotations,
    machines: MachineRatings | None = None,
    by: str | Sequence[str] | None = None,
    *,
    level: float = 0.95,
    resampling: Resampling | int | None = None,
    seed: int | None = None,
    grouping: GroupingOptions | None = None,
) -> AgreementResult:
    """Krippendorff's alpha of the humans (overall, and per group of ``by``) and each machine put in place of each human."""
    from annalign.analyses.agreement import analyze_agreement
    from annalign.core.grouping import make_groups

    _require_annotations(data)
    _require_machines(machines, optional=True)
    boot = Resampling.of(resampling, seed)
    rules = grouping if grouping is not None else GroupingOptions()
    groups = None
    if by is not None:
        groups = make_groups(data.raters, _by(by), min_group_size=rules.min_group_size, missing_attr=rules.missing_attr)
    return analyze_agreement(data, machines, groups=groups, n_boot=boot.n_boot, seed=boot.seed, level=_check("level", level, "level"))


def slices(
    data: Annotations,
    machines: MachineRatings,
    by: str | Sequence[str],
    *,
    sep: str = ",",
    level: float = 0.95,
    resampling: Resampling | int | None = None,
    seed: int | None = None,
    groups: str | Sequence[str] | None = None,
) -> SlicesResult:
    """RQ1 per value of the item field(s) ``by`` (multi-valued fields split on ``sep``), the humans' own leave-one-out r
    per slice, and with ``groups`` (rater attributes) RQ2 per slice; ``result.largest_gaps(k)`` lists the largest gaps."""
    from annalign.analyses.slices import analyze_slices

    _require_annotations(data)
    _require_machines(machines, optional=False)
    boot = Resampling.of(resampling, seed)
    fields_ = _check("slice_by", [by] if isinstance(by, str) else list(by), "by")
    return analyze_slices(data, machines, fields_, sep=_check("slice_sep", sep, "sep"), n_boot=boot.n_boot, seed=boot.seed,
                          level=_check("level", level, "level"), groupings=None if groups is None else _by(groups))


def distribution(
    data: Annotations,
    machines: MachineRatings,
    by: str | Sequence[str] | None = None,
    *,
    level: float = 0.95,
    resampling: Resampling | int | None = None,
    seed: int | None = None,
) -> Any:
    """Distributional alignment of each machine rater with a label distribution (``p_<label>`` columns): JSD, TV,
    Wasserstein, log loss, the noise ceiling, entropy tracking, k* and, with ``by``, each group's divergence and each
    persona rater (``MODEL|persona=GROUP``) against its own group (``.personas``); the divergences' intervals resample
    items and raters unless ``Resampling(resample="items")``."""
    from annalign.analyses.distribution import analyze_distribution

    _require_annotations(data)
    _require_machines(machines, optional=False)
    boot = Resampling.of(resampling, seed)
    return analyze_distribution(data, machines, by=None if by is None else _by(by), n_boot=boot.n_boot, seed=boot.seed,
                                level=_check("level", level, "level"), resample=boot.resample)  # fmt: skip


def _grouping_rules(function: Any, grouping: GroupingOptions | None) -> dict[str, Any]:
    """The grouping rules as keywords, for an analysis that takes them; InputError if one is given to one that does not."""
    import inspect

    if grouping is None:
        return {}
    accepted = inspect.signature(function).parameters
    if "min_group_size" not in accepted:
        raise InputError("this version's RQ3 forms groups without grouping rules; leave DisagreementOptions grouping out")
    return {"min_group_size": grouping.min_group_size, "missing_attr": grouping.missing_attr}


# ----- whole runs -------------------------------------------------------------------------------
def make_settings(config: str | Path | Settings | Mapping[str, Any] | None = None, **overrides: Any) -> Settings:
    """Run settings from a TOML file, a Settings or a mapping of setting names, with ``overrides`` on top (all checked)."""
    from annalign.config import Settings, check_value, load_settings

    if config is None:
        base = Settings()
    elif isinstance(config, Settings):
        base = config
    elif isinstance(config, Mapping):
        base = Settings(**{k: check_value(k, v) for k, v in config.items()})
    elif isinstance(config, (str, Path)):
        base = load_settings(config, {}, from_text=False)
    else:
        raise InputError(f"config must be a TOML file path, a Settings or a mapping of settings, got {type(config).__name__}")
    return replace(base, **{k: check_value(k, v) for k, v in overrides.items()})


def run(
    config: str | Path | Settings | Mapping[str, Any] | None = None,
    out_dir: str | Path | None = None,
    *,
    personas: bool = False,
    **overrides: Any,
) -> RunResult:
    """A whole run as configured (RQ1-RQ3 and the registered analyses the ``analyses`` setting names) -> RunResult.

    With ``out_dir``, results.json and the CSV tables are written there (and the annotation
    ledger, when ``models`` are set). AnalysisWarnings are recorded in ``RunResult.warnings`` and
    shown as Python warnings.
    """
    import warnings

    from annalign.errors import AnalysisWarning
    from annalign.pipeline.run import run_settings
    from annalign.results import prepare_out_dir

    chosen = make_settings(config, **overrides)
    if out_dir is not None:
        prepare_out_dir(out_dir, "out_dir")

    def echo(message: str) -> None:
        warnings.warn(message, AnalysisWarning, stacklevel=2)

    result = run_settings(chosen, out_dir, personas=personas, echo_warning=echo)
    if out_dir is not None:
        result.save(out_dir)
    return result


def report(run: RunResult, out_dir: str | Path) -> dict[str, Path]:
    """Write DIR/report.html, DIR/report.md and the figures of a run; returns their paths by kind."""
    import inspect

    from annalign.report import write_report
    from annalign.results import RunResult, output_errors, prepare_out_dir

    if not isinstance(run, RunResult):
        raise InputError(f"report needs the RunResult of annalign.run, got {type(run).__name__}")
    prepare_out_dir(out_dir, "out_dir")
    first = next(iter(inspect.signature(write_report).parameters), "")
    with output_errors("the report"):
        if first in ("run", "result"):
            return write_report(run, out_dir)
        return write_report(out_dir, run.to_dict(), run.tables(), run.data, run.machines)
