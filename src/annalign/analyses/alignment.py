"""RQ1: how well does a machine rater agree with the average human, compared with each human?

For every machine rater: its correlation with the mean human rating per item, with a bootstrap
interval over items. For every human rater: the leave-one-out correlation between that rater and
the mean of all *other* raters, so the machine can be placed within the human distribution.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from annalign.analyses.alt_test import AltTestConfig, AltTestResult, alt_test, choose_scoring
from annalign.analyses.base import (
    ConfidenceInterval,
    ResultDisplay,
    check_level,
    check_resample,
    fmt,
)
from annalign.analyses.categorical import CategoricalResult, analyze_categorical, categorical_lines
from annalign.analyses.headline import Headline, headline, machine_rater_parts
from annalign.core.annotations import Annotations
from annalign.core.jsonsafe import jsonable
from annalign.core.levels import METHOD_FOR_LEVEL
from annalign.core.machines import MachineRatings
from annalign.errors import InputError, warn
from annalign.stats.bootstrap import bootstrap_correlation, bootstrap_pearson, percentile_interval
from annalign.stats.correlation import METHODS, correlation, grouped_pearson
from annalign.stats.ranks import percentile_of_score


def grouped_ranks(group: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties averaged) of x within each group, vectorised with a sort."""
    order = np.lexsort((x, group))
    g_sorted, x_sorted = group[order], x[order]
    position = np.arange(len(x), dtype=float)
    new_group = np.r_[True, g_sorted[1:] != g_sorted[:-1]]
    group_start = np.maximum.accumulate(np.where(new_group, position, 0))
    within = position - group_start + 1
    new_value = new_group | np.r_[True, x_sorted[1:] != x_sorted[:-1]]
    run_id = np.cumsum(new_value) - 1
    run_mean = np.bincount(run_id, weights=within) / np.bincount(run_id)
    ranks = np.empty(len(x))
    ranks[order] = run_mean[run_id]
    return ranks


def leave_one_out(data: Annotations, method: str = "pearson") -> tuple[np.ndarray, np.ndarray]:
    """Each rater's correlation with the mean of the other raters, over the items they rated.

    Returns (r, n_items) per rater; r is NaN where undefined (a constant rater, fewer than 3
    items with another rater present).
    """
    item, rater, x = data.item_index, data.rater_index, data.values
    count = data.item_count[item]
    with np.errstate(invalid="ignore", divide="ignore"):
        others = np.where(count >= 2, (data.item_sum[item] - x) / (count - 1), np.nan)
    keep = np.isfinite(others)
    item, rater, x, others = item[keep], rater[keep], x[keep], others[keep]
    if method == "pearson":
        return grouped_pearson(rater, x, others, data.n_raters)
    if method == "spearman":
        return grouped_pearson(rater, grouped_ranks(rater, x), grouped_ranks(rater, others), data.n_raters)
    if method == "kendall":
        # scipy's tau-b per rater: a loop over raters (not replicates), O(raters) calls.
        r = np.full(data.n_raters, np.nan)
        n = np.bincount(rater, minlength=data.n_raters).astype(float)
        order = np.argsort(rater, kind="stable")
        bounds = np.searchsorted(rater[order], np.arange(data.n_raters + 1))
        for j in range(data.n_raters):
            sel = order[bounds[j] : bounds[j + 1]]
            r[j] = correlation(x[sel], others[sel], "kendall")
        return r, n
    raise InputError(f"unknown correlation method {method!r}; use one of {', '.join(METHODS)}")


@dataclass(frozen=True)
class MachineAlignment(ResultDisplay):
    """RQ1 for one machine rater; keeps its bootstrap replicates, so any interval comes without rerunning."""

    name: str
    r: float
    ci_low: float
    ci_high: float
    n_items: int
    n_unrated: int
    percentile: float
    alt: AltTestResult | None
    replicates: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)
    #: r minus the median human leave-one-out r and the percentile (pearson, with raters), over items and raters unless resample="items"
    headline: Headline | None = None

    def confidence_interval(self, level: float = 0.95) -> ConfidenceInterval:
        """Percentile bootstrap interval of r at ``level`` from the kept replicates (NaN when too few are defined)."""
        return ConfidenceInterval(*percentile_interval(self.replicates, check_level(level)))

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "r": self.r,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n_items": self.n_items,
            "n_unrated": self.n_unrated,
            "percentile_among_humans": self.percentile,
        }
        if self.headline is not None:
            h = self.headline.to_dict()
            out.update({"percentile_ci_low": h.pop("percentile_ci_low"), "percentile_ci_high": h.pop("percentile_ci_high")})
            out.update({f"vs_median_human_{key}": value for key, value in h.items()})
        if self.alt is not None:
            out["alt_test"] = self.alt.to_dict()
            out["alt_winning_rate"] = self.alt.winning_rate
            out["alt_rho"] = self.alt.rho
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row: this machine's line of the rq1_machines table."""
        return pd.DataFrame([{"machine": self.name, **{k: v for k, v in self.to_dict().items() if k != "alt_test"}}])

    def summary(self) -> list[str]:
        """The terminal line of this machine."""
        return [_machine_line(self.name, jsonable(self.to_dict()))]


@dataclass(frozen=True)
class MachineDifference(ResultDisplay):
    """Paired bootstrap comparison of two machine raters' r on the items both rated."""

    a: str
    b: str
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    n_items: int
    replicates: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)

    def confidence_interval(self, level: float = 0.95) -> ConfidenceInterval:
        """Percentile bootstrap interval of r_a - r_b at ``level`` from the kept paired replicates."""
        return ConfidenceInterval(*percentile_interval(self.replicates, check_level(level)))

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in ("a", "b", "difference", "ci_low", "ci_high", "p_value", "n_items")}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def summary(self) -> list[str]:
        return [_difference_line(jsonable(self.to_dict()))]


@dataclass(frozen=True, repr=False)
class RQ1Result(ResultDisplay):
    """Everything RQ1 computes; ``to_dict`` gives the "rq1" section of results.json, ``result[name]`` one machine."""

    method: str
    n_boot: int
    seed: int
    level: float
    rater_ids: np.ndarray
    human_r: np.ndarray
    human_n: np.ndarray
    machines: list[MachineAlignment] = field(default_factory=list)
    differences: list[MachineDifference] = field(default_factory=list)
    excluded_raters: dict[str, str] = field(default_factory=dict)
    #: the data set's level of measurement and why (declared or inferred)
    measurement: tuple[str, str] = ("interval", "")
    #: nominal tasks: accuracy and kappa against the humans (None for ordinal and interval tasks)
    categorical: CategoricalResult | None = None
    #: each machine rater's own level: the task's when it answers in the humans' categories, else interval (continuous scores)
    machine_levels: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> MachineAlignment:
        """The RQ1 result of the machine rater ``name``."""
        for machine in self.machines:
            if machine.name == name:
                return machine
        known = ", ".join(m.name for m in self.machines) or "none"
        raise KeyError(f"no machine rater {name!r} in this RQ1 result (machine raters: {known})")

    @property
    def human_summary(self) -> dict[str, float]:
        r = self.human_r[np.isfinite(self.human_r)]
        if len(r) == 0:
            return {"n": 0}
        q1, med, q3 = np.quantile(r, [0.25, 0.5, 0.75])
        return {"n": int(len(r)), "median": med, "q1": q1, "q3": q3, "min": r.min(), "max": r.max(), "mean": r.mean()}

    def to_dict(self) -> dict[str, object]:
        return jsonable(
            {
                "method": self.method,
                "measurement": {"level": self.measurement[0], "why": self.measurement[1], "machines": self.machine_levels},
                **({"categorical": self.categorical.to_dict()} if self.categorical is not None else {}),
                "bootstrap": {"n": self.n_boot, "seed": self.seed, "level": self.level},
                "human": {
                    **self.human_summary,
                    "leave_one_out_r": {str(k): v for k, v in zip(self.rater_ids, self.human_r, strict=True)},
                    "excluded": self.excluded_raters,
                },
                "human_loo_median": self.human_summary.get("median"),
                "machines": {m.name: m.to_dict() for m in self.machines},
                "machine_differences": [d.to_dict() for d in self.differences],
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per machine rater: r, its interval, items, percentile among the humans and the alt-test."""
        return self.tables()["rq1_machines"]

    def tables(self) -> dict[str, pd.DataFrame]:
        """CSV tables: per-human LOO r, per-machine summary, pairwise machine differences, alt-test."""
        out = {
            "rq1_humans": pd.DataFrame({"rater_id": self.rater_ids, "loo_r": self.human_r, "n_items": self.human_n.astype(int)}),
            "rq1_machines": pd.DataFrame(
                [{"machine": m.name, **{k: v for k, v in m.to_dict().items() if k != "alt_test"}} for m in self.machines],
                columns=None if self.machines else ["machine", "r", "ci_low", "ci_high", "n_items", "n_unrated", "percentile_among_humans"],
            ),
        }
        if self.differences:
            out["rq1_machine_differences"] = pd.DataFrame([d.to_dict() for d in self.differences])
        alt = [m.alt.per_rater.assign(machine=m.name) for m in self.machines if m.alt is not None]
        if alt:
            out["rq1_alt_test"] = pd.concat(alt, ignore_index=True)
            out["rq1_alt_test_epsilon"] = epsilon_curves({m.name: m.alt for m in self.machines if m.alt is not None})
        if self.categorical is not None:
            out.update(self.categorical.tables())
        return out

    def confidence_interval(self, level: float = 0.95) -> pd.DataFrame:
        """r of each machine and each paired difference with its percentile interval at ``level`` (kept replicates)."""
        level = check_level(level)
        rows = [{"estimate": "r", "machine": m.name, "value": m.r, **m.confidence_interval(level)._asdict()} for m in self.machines]
        rows += [
            {"estimate": "difference", "machine": f"{d.a} - {d.b}", "value": d.difference, **d.confidence_interval(level)._asdict()}
            for d in self.differences
        ]
        frame = pd.DataFrame(rows, columns=["estimate", "machine", "value", "low", "high"])
        return frame.assign(level=level)

    def summary(self) -> list[str]:
        """The RQ1 lines the command line prints."""
        return rq1_lines(self.to_dict())


def rq1_lines(rq1: dict[str, Any]) -> list[str]:
    """Human-readable lines for the "rq1" section of results.json."""
    human = rq1["human"]
    level = (rq1.get("measurement") or {}).get("level")
    lines = categorical_lines(rq1["categorical"]) if rq1.get("categorical") else []
    codes = "; on label codes, not meaningful for a nominal task with more than two labels" if level == "nominal" else ""
    lines += [
        f"RQ1 ({rq1['method']} r with the mean human rating; {rq1['bootstrap']['n']} bootstrap replicates, seed {rq1['bootstrap']['seed']}"
        f"{'; ' + level + ' task' if level and not codes else ''}{codes})",
    ]
    if human.get("n"):
        lines.append(
            f"  humans (leave-one-out, n={human['n']}): median {fmt(human['median'])}, "
            f"IQR {fmt(human['q1'])}-{fmt(human['q3'])}, range {fmt(human['min'])}-{fmt(human['max'])}"
        )
    lines += [_machine_line(name, m) for name, m in rq1["machines"].items()]
    lines += [_difference_line(d) for d in rq1["machine_differences"]]
    return lines


def _machine_line(name: str, m: dict[str, Any]) -> str:
    """One machine's RQ1 line: r, interval, items, percentile and the alt-test verdict."""
    line = (
        f"  {name}: r {fmt(m['r'])} [{fmt(m['ci_low'])}, {fmt(m['ci_high'])}] on {m['n_items']} items, "
        f"percentile among humans {fmt(m['percentile_among_humans'], 1)}"
    )
    if m.get("vs_median_human_difference") is not None:
        line += (f" [{fmt(m['percentile_ci_low'], 1)}, {fmt(m['percentile_ci_high'], 1)}]; minus the median human "
                 f"{fmt(m['vs_median_human_difference'])} [{fmt(m['vs_median_human_ci_low'])}, {fmt(m['vs_median_human_ci_high'])}], "
                 f"p {fmt(m['vs_median_human_p_value'])} ({m.get('vs_median_human_generalises_to', 'items and raters')})")
    if "alt_test" in m:
        alt = m["alt_test"]
        verdict = "passes" if alt["passed"] else "fails"
        line += f"; alt-test ({alt['scoring']}, eps {alt['epsilon']}) winning rate {fmt(alt['winning_rate'])}, rho {fmt(alt['rho'])}: {verdict}"
        if alt.get("constant_answer_winning_rate") is not None and alt["constant_answer_winning_rate"] >= 0.5:
            line += f" (but a constant answer passes too: winning rate {fmt(alt['constant_answer_winning_rate'])})"
    return line


def _difference_line(d: dict[str, Any]) -> str:
    return f"  {d['a']} - {d['b']}: {fmt(d['difference'])} [{fmt(d['ci_low'])}, {fmt(d['ci_high'])}], p {fmt(d['p_value'])}"


def _mode(values: np.ndarray) -> float:
    """The most frequent rating (the smallest one on ties)."""
    uniques, counts = np.unique(values, return_counts=True)
    return float(uniques[np.argmax(counts)])


def _percentile(humans: np.ndarray, value: float) -> float:
    finite = humans[np.isfinite(humans)]
    if len(finite) == 0 or not np.isfinite(value):
        return float("nan")
    return percentile_of_score(finite, value)


def analyze_rq1(
    data: Annotations,
    machines: MachineRatings | None = None,
    *,
    method: str = "pearson",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    alt: AltTestConfig | None = None,
    resample: str = "crossed",
) -> RQ1Result:
    """Run RQ1 for the humans of ``data`` and each machine rater (if any); ``alt`` sets the alt-test (defaults: AltTestConfig()).

    ``method`` "auto" takes the data set's level of measurement: Spearman for ordinal tasks, Pearson otherwise.
    ``resample`` is the headline's scheme (machine minus the median human, the percentile): "crossed"
    (items and raters) or "items" (conditional on these raters), as RQ2's and RQ3's.
    """
    check_resample(resample)
    if method == "auto":
        method = METHOD_FOR_LEVEL[data.level]
    if method not in METHODS:
        raise InputError(f"unknown correlation method {method!r}; use one of {', '.join(METHODS)}")
    if data.n_items < 3:
        raise InputError(f"data set {data.name} has {data.n_items} items; correlations need at least 3")
    if data.has_raters and data.n_raters < 2:
        raise InputError(f"data set {data.name} has {data.n_raters} rater(s); leave-one-out needs at least 2")
    if data.has_raters:
        human_r, human_n = leave_one_out(data, method)
    else:
        human_r, human_n = np.zeros(0), np.zeros(0)
        warn(f"data set {data.name} has no rater identities: human leave-one-out r and the alt-test are skipped")
    excluded: dict[str, str] = {}
    for rid, r, n in zip(data.rater_ids, human_r, human_n, strict=True):
        if not np.isfinite(r):
            reason = "fewer than 3 items shared with other raters" if n < 3 else "constant ratings (correlation undefined)"
            excluded[str(rid)] = reason
    if excluded:
        examples = ", ".join(f"{k} ({v})" for k, v in list(excluded.items())[:3])
        warn(f"{len(excluded)} rater(s) left out of the human leave-one-out distribution: {examples}")
    aligned: list[MachineAlignment] = []
    differences: list[MachineDifference] = []
    if machines is not None and machines.n_machines > 0:
        alt_options = asdict(alt if alt is not None else AltTestConfig())
        resampling = (method, n_boot, seed, level)
        parts = _headline_parts(data, machines, method, n_boot, seed, resample)
        aligned = [_align_machine(data, machines, k, human_r, resampling, alt_options, parts) for k in range(machines.n_machines)]
        differences = _machine_differences(data, machines, resampling)
    categorical = None
    if data.level == "nominal" and data.has_raters:
        categorical = analyze_categorical(data, machines, n_boot=n_boot, seed=seed, level=level)
    return RQ1Result(method, n_boot, seed, level, data.rater_ids, human_r, human_n, aligned, differences, excluded,
                     data.measurement, categorical, machine_levels(data, machines))  # fmt: skip


def machine_levels(data: Annotations, machines: MachineRatings | None) -> dict[str, str]:
    """Each machine's level: the task's when every score is one of the humans' ratings, else interval (continuous scores)."""
    if machines is None:
        return {}
    used = np.unique(data.values[np.isfinite(data.values)]) if data.has_raters else np.array(data.rating_map.categories)
    out = {}
    for k, name in enumerate(machines.names):
        scores = machines.scores[:, k]
        labels = np.isin(scores[np.isfinite(scores)], used).all() if len(used) else False
        out[name] = data.level if labels else "interval"
    return out


def _headline_parts(
    data: Annotations, machines: MachineRatings, method: str, n_boot: int, seed: int, resample: str
) -> list[np.ndarray | None] | None:
    """Per machine the rater part (n_boot,) of its headline, all computed at once (pearson, with raters); None where
    there is no headline; None per machine for ``resample="items"`` (no rater part: conditional on these raters)."""
    if method != "pearson" or not data.has_raters or n_boot < 10:
        return None
    if resample == "items":
        return [None] * machines.n_machines
    scores = np.where(np.isfinite(data.item_mean)[:, None], machines.scores, np.nan)
    return list(machine_rater_parts(data, scores, n_boot, seed).T)


def _align_machine(
    data: Annotations,
    machines: MachineRatings,
    k: int,
    human_r: np.ndarray,
    resampling: tuple[str, int, int, float],
    alt_options: dict[str, Any],
    headline_parts: list[np.ndarray | None] | None = None,
) -> MachineAlignment:
    """RQ1 for machine rater k: r with the mean human rating, its bootstrap interval, percentile and alt-test."""
    method, n_boot, seed, level = resampling
    name, score, human_mean = machines.names[k], machines.scores[:, k], data.item_mean
    valid = np.isfinite(score) & np.isfinite(human_mean)
    if valid.sum() < 3:
        raise InputError(f"machine rater {name!r} shares fewer than 3 rated items with the humans of {data.name}")
    if np.ptp(score[valid]) == 0:
        raise InputError(f"machine rater {name!r} gives every item the same score; its correlation is undefined")
    r = correlation(score, human_mean, method)
    reps = bootstrap_correlation(np.where(valid, score, np.nan), human_mean, n_boot, seed, method)
    undefined = int((~np.isfinite(reps)).sum())
    if undefined:
        warn(
            f"machine rater {name!r}: {undefined} of {n_boot} bootstrap replicates are undefined (resamples where its "
            "scores do not vary, or vary over more than the float range can square, e.g. one score of 1e300 among "
            "small ones); the interval rests on the others"
        )
    lo, hi = percentile_interval(reps, level)
    _warn_if_inverted(name, r, lo, hi, level, method)
    alt = _alt_test(data, name, score, alt_options) if data.has_raters else None
    top = None
    if headline_parts is not None:
        top = headline(data, np.where(valid, score, np.nan), reps, human_r, (n_boot, seed, level), headline_parts[k])
    reps.setflags(write=False)
    return MachineAlignment(
        name, r, lo, hi, int(valid.sum()), int((~np.isfinite(score)).sum()), _percentile(human_r, r), alt, reps, top
    )


def _warn_if_inverted(name: str, r: float, lo: float, hi: float, level: float, method: str) -> None:
    """Warn when a machine's r with the mean human is negative: its scale may run the other way (a prompt asking
    "is it safe?" scored where the humans' "Yes" means unsafe), which no other statistic would flag."""
    if not r < 0:
        return
    clearly = np.isfinite(hi) and hi < 0
    warn(
        f"machine rater {name!r}: {method} r with the mean human is {r:.3f} [{lo:.3f}, {hi:.3f}] ({level:.0%} CI"
        f"{', below 0' if clearly else ''}); its labels may be inverted: check that its scale runs the same way as the "
        "humans' (for DICES, 'Yes' = unsafe) or map it with --machine-rating-map"
    )


def alt_tests(data: Annotations, machines: MachineRatings, alt: AltTestConfig | None = None) -> dict[str, AltTestResult]:
    """The alt-test alone for every machine rater (with RQ1's constant-answer reference and notes), by name."""
    if not data.has_raters:
        raise InputError(f"data set {data.name} has no rater identities; the alt-test needs rater-level ratings")
    options = asdict(alt if alt is not None else AltTestConfig())
    return {name: _alt_test(data, name, machines.scores[:, k], options) for k, name in enumerate(machines.names)}


def epsilon_curves(results: dict[str, AltTestResult]) -> pd.DataFrame:
    """One row per machine and epsilon: the winning rate and verdict at that cost allowance."""
    frames = [r.epsilon_curve.assign(machine=name) for name, r in results.items()]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["epsilon", "winning_rate", "passed", "machine"])
    return frame[["machine", "epsilon", "winning_rate", "passed"]]


def alt_test_line(name: str, alt: AltTestResult) -> str:
    """One machine's alt-test line for the terminal."""
    verdict = "passes" if alt.passed else "fails"
    line = (f"  {name}: winning rate {fmt(alt.winning_rate)}, rho {fmt(alt.rho)} over {alt.n_raters_tested} raters "
            f"({alt.scoring}, epsilon {alt.epsilon:g}, q {alt.q:g}): {verdict}")  # fmt: skip
    if alt.trivial_winning_rate is not None and alt.trivial_winning_rate >= 0.5:
        line += f" (a constant answer passes too: winning rate {fmt(alt.trivial_winning_rate)})"
    return line


def _alt_test(data: Annotations, name: str, score: np.ndarray, options: dict[str, Any]) -> AltTestResult:
    """The alt-test of one machine, with the constant-answer reference and the notes that qualify a pass."""
    alt = alt_test(data, score, **options)
    warnings: list[str] = []

    def qualify(text: str) -> str:
        warnings.append(text)
        warn(f"alt-test for {name!r}: {text}")
        return text

    # A reference that knows nothing about the items: one constant answer for all of them
    # (the humans' mean rating, or their modal category). If it passes too, the alt-test
    # cannot tell this machine from a constant here.
    by_mean = (alt.scoring if not callable(options.get("scoring")) else choose_scoring(data)) == "neg_rmse"
    constant = float(np.mean(data.values)) if by_mean else float(_mode(data.values))
    reference = options["scoring"] if callable(options.get("scoring")) else alt.scoring
    trivial = alt_test(data, np.where(np.isfinite(score), constant, np.nan), **{**options, "scoring": reference})
    note = alt.note
    rated = score[np.isfinite(score) & (data.item_count >= 2)]
    if len(rated) and np.ptp(rated) == 0:
        note = qualify(
            f"the machine gives every item the same answer ({rated[0]:g}); winning rate {fmt(alt.winning_rate)}. "
            "Its correlations are undefined, so the other analyses leave it out"
        )
    elif trivial.passed:
        note = qualify(
            f"a constant answer ({constant:g} for every item) also passes this alt-test (winning rate "
            f"{trivial.winning_rate:.2f}): with {alt.scoring} scoring it rewards hedging toward the majority, so a "
            "pass here says little about item-level alignment; read r and the percentile instead"
        )
    if alt.scoring == "neg_rmse":
        lo_h, hi_h = float(np.min(data.values)), float(np.max(data.values))
        if np.nanmin(score) < lo_h - 1e-9 or np.nanmax(score) > hi_h + 1e-9:
            note = qualify(
                f"machine scores lie outside the human rating range [{lo_h:g}, {hi_h:g}]; negative RMSE compares "
                "raw values, so rescale them first (--machine-scale LO,HI)"
            )
    return replace(alt, note=note, trivial_winning_rate=trivial.winning_rate, trivial_rho=trivial.rho, warnings=warnings)


def _machine_differences(
    data: Annotations, machines: MachineRatings, resampling: tuple[str, int, int, float]
) -> list[MachineDifference]:
    """Paired comparisons of every two machine raters on the items both rated."""
    method, n_boot, seed, level = resampling
    human_mean = data.item_mean
    out = []
    for a in range(machines.n_machines):
        for b in range(a + 1, machines.n_machines):
            sa, sb = machines.scores[:, a], machines.scores[:, b]
            common = np.isfinite(sa) & np.isfinite(sb) & np.isfinite(human_mean)
            xa, xb = np.where(common, sa, np.nan), np.where(common, sb, np.nan)
            diff = correlation(xa, human_mean, method) - correlation(xb, human_mean, method)
            if method == "pearson":
                reps = bootstrap_pearson(np.column_stack([xa, xb]), human_mean[:, None], n_boot, seed)
                dreps = reps[:, 0] - reps[:, 1]
            else:
                dreps = bootstrap_correlation(xa, human_mean, n_boot, seed, method) - bootstrap_correlation(
                    xb, human_mean, n_boot, seed, method
                )
            lo, hi = percentile_interval(dreps, level)
            finite = dreps[np.isfinite(dreps)]
            p = float(min(1.0, 2 * min(np.mean(finite <= 0), np.mean(finite >= 0)))) if len(finite) else float("nan")
            dreps.setflags(write=False)
            out.append(MachineDifference(machines.names[a], machines.names[b], diff, lo, hi, p, int(common.sum()), dreps))
    return out
