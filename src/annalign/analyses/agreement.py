"""Agreement indices: the humans' own Krippendorff's alpha (overall and per group) and whether a machine can hide in the crowd.

A paper that reports an LLM's alignment reports the humans' own agreement beside it. Alpha handles
any number of raters per item and missing ratings, at the nominal, ordinal and interval levels
(``annalign.stats.agreement``). For each machine rater, each human in turn is replaced by the
machine on the items both rated, and alpha is computed again: a machine that rates like one more
member of the crowd leaves alpha where it was (change about 0), a worse one lowers it. Every
interval is an item bootstrap, so it generalises to other items rated by these raters (not to
other raters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from annalign.analyses.base import ResultDisplay, check_level, fmt
from annalign.analyses.registry import analysis
from annalign.errors import InputError
from annalign.stats.agreement import (
    LEVELS,
    alpha,
    alpha_from_coincidences,
    interval_alpha_from_sums,
    unit_terms,
)
from annalign.stats.bootstrap import count_chunks, percentile_intervals
from annalign.stats.crossed import per_rater_sums, rater_scatter

if TYPE_CHECKING:
    from annalign.core.annotations import Annotations
    from annalign.core.machines import MachineRatings

GENERALISES_TO = "items (conditional on these raters)"
#: items x raters x terms cells up to which the machine-substitution sums use a dense scatter and BLAS
DENSE_CELLS = 4_000_000


@dataclass(frozen=True)
class AgreementResult(ResultDisplay):
    """Alpha of the humans (overall, per group) and of each machine put in place of each human, with bootstrap replicates."""

    humans: pd.DataFrame
    machines: pd.DataFrame
    n_boot: int
    seed: int
    level: float
    replicates: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def to_frame(self) -> pd.DataFrame:
        return self.humans

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"agreement_humans": self.humans, "agreement_machines": self.machines}

    def to_dict(self) -> dict[str, Any]:
        return {
            "humans": self.humans.to_dict(orient="records"),
            "machines": self.machines.to_dict(orient="records"),
            "settings": {"n_boot": self.n_boot, "seed": self.seed, "level": self.level, "generalises_to": GENERALISES_TO},
            "notes": NOTES,
        }

    def summary(self) -> list[str]:
        lines = []
        overall = self.humans[self.humans["scope"] == "all raters"]
        if len(overall):
            parts = [f"{row.level} {fmt(row.alpha)} [{fmt(row.ci_low)}, {fmt(row.ci_high)}]" for row in overall.itertuples()]
            lines.append("Humans' Krippendorff's alpha: " + ", ".join(parts))
        for row in self.machines.itertuples():
            lines.append(
                f"  {row.machine} in place of each human ({row.level}): alpha changes by {fmt(row.change)} "
                f"[{fmt(row.ci_low)}, {fmt(row.ci_high)}] on average; not lower for {row.share_not_lower:.0%} of the humans"
            )
        return lines

    def confidence_interval(self, level: float = 0.95) -> pd.DataFrame:
        """Both tables' estimates with percentile intervals at ``level`` from the kept replicates."""
        level = check_level(level)
        rows = []
        for key, reps in self.replicates.items():
            lo, hi = percentile_intervals(reps[:, None], level)
            rows.append({"estimate": key, "ci_low": float(lo[0]), "ci_high": float(hi[0])})
        return pd.DataFrame(rows)


NOTES = {
    "humans": "Krippendorff's alpha of the human ratings (items with at least two ratings), overall and within each group of "
    "the run's first grouping; ci_low/ci_high: percentile item bootstrap (generalises to other items, for these raters).",
    "machines": "change: mean over humans of alpha with that human's ratings replaced by the machine's (items both rated) minus "
    "the humans' alpha; about 0 when the machine rates like one more member of the crowd. share_not_lower: the share of "
    "humans whose replacement leaves alpha at least as high. Nominal and ordinal levels need machine scores on the humans' "
    "own values (labels); continuous scores get the interval level only.",
}


def analyze_agreement(
    data: Annotations,
    machines: MachineRatings | None = None,
    *,
    groups: Any = None,
    levels: Sequence[str] = LEVELS,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> AgreementResult:
    """Alpha of the humans overall and per group of ``groups`` (a ``Grouping``), and each machine in place of each human."""
    level = check_level(level)
    unknown = [lv for lv in levels if lv not in LEVELS]
    if unknown:
        raise InputError(f"unknown level of measurement {unknown[0]!r}; use {', '.join(LEVELS)}")
    if not data.has_raters:
        raise InputError(f"data set {data.name} has no rater identities; agreement indices need each rater's ratings")
    item, rater, value = data.item_index, data.rater_index, np.asarray(data.values, dtype=float)
    scopes: list[tuple[str, str, np.ndarray]] = [("all raters", "", np.ones(len(value), dtype=bool))]
    if groups is not None:
        scopes += [(" x ".join(groups.by), label, groups.code[rater] == g) for g, label in enumerate(groups.labels)]
    rows, replicates = [], {}
    for scope, label, keep in scopes:
        terms = unit_terms(item[keep], value[keep], data.n_items)
        reps = _replicates(terms, levels, data.n_items, n_boot, seed)
        for lv in levels:
            point = float(alpha(terms, lv)[0])
            lo, hi = percentile_intervals(reps[lv][:, None], level)
            rows.append({"scope": scope, "group": label, "level": lv, "alpha": point, "ci_low": float(lo[0]), "ci_high": float(hi[0]),
                         "n_items": int((terms.sums[:, 0] >= 2).sum()), "n_ratings": int(keep.sum()), "generalises_to": GENERALISES_TO})  # fmt: skip
            replicates[f"humans:{label or scope}:{lv}"] = reps[lv]
    machine_rows = []
    if machines is not None:
        for k, name in enumerate(machines.names):
            for row, reps in _machine_rows(data, machines.scores[:, k], name, levels, (n_boot, seed, level)):
                machine_rows.append(row)
                replicates[f"machine:{name}:{row['level']}"] = reps
    return AgreementResult(pd.DataFrame(rows), pd.DataFrame(machine_rows, columns=MACHINE_COLUMNS), n_boot, seed, level, replicates)


MACHINE_COLUMNS = ["machine", "level", "alpha_humans", "alpha_with_machine", "change", "ci_low", "ci_high", "share_not_lower",
                   "n_humans", "generalises_to"]  # fmt: skip


def _replicates(terms: Any, levels: Sequence[str], n_items: int, n_boot: int, seed: int) -> dict[str, np.ndarray]:
    """Item-bootstrap replicates of alpha at each level (the same resampled items for every level and scope)."""
    out = {lv: np.empty(n_boot) for lv in levels}
    for sl, counts in count_chunks(n_items, n_boot, seed):
        for lv in levels:
            out[lv][sl] = alpha(terms, lv, counts)
    return out


def _machine_rows(data: Annotations, score: np.ndarray, name: str, levels: Sequence[str], resampling: tuple[int, int, float]) -> list[tuple[dict[str, Any], np.ndarray]]:
    """Per level: the humans' alpha, the mean alpha with the machine in place of each human, the change and its interval."""
    n_boot, seed, level = resampling
    item, rater, value = data.item_index, data.rater_index, np.asarray(data.values, dtype=float)
    terms = unit_terms(item, value, data.n_items)
    replaced = np.isfinite(score[item]) & np.isfinite(value)
    on_scale = bool(np.isin(score[np.isfinite(score)], terms.values).all())
    raters_in = np.unique(rater[replaced])
    out = []
    for lv in levels:
        if lv != "interval" and not on_scale:
            continue
        swap = Substitution.of(terms, (item[replaced], rater[replaced], value[replaced], score[item[replaced]]), lv, data.n_raters)
        base = alpha(terms, lv)[0]
        change = swap.alpha(None)[0, raters_in] - base
        reps = np.empty(n_boot)
        for sl, counts in count_chunks(data.n_items, n_boot, seed):
            reps[sl] = swap.mean_change(counts)
        lo, hi = percentile_intervals(reps[:, None], level)
        out.append(({"machine": name, "level": lv, "alpha_humans": float(base), "alpha_with_machine": float(base + np.nanmean(change)),
                     "change": float(np.nanmean(change)), "ci_low": float(lo[0]), "ci_high": float(hi[0]),
                     "share_not_lower": float(np.mean(change >= -1e-12)), "n_humans": int(len(raters_in)),
                     "generalises_to": GENERALISES_TO}, reps))  # fmt: skip
    return out


@dataclass(frozen=True)
class Substitution:
    """Alpha with each rater's ratings replaced by the machine's, for any item weights: all raters at once.

    Replacing one rating changes only its item's terms, by an amount that depends on the item's
    counts and the two values; those changes are scattered into an items x (raters x terms) matrix
    once, so each set of item weights costs one matrix product, not a recomputation per rater.
    Beyond ``DENSE_CELLS`` that exact product costs ratings x terms per replicate, so bootstrap
    replicates of the mean change use the average rater's change instead (``mean_change``): one
    rater of k moves alpha by O(1/k), and the two differ by O(1/k^2) (checked in the tests).
    """

    terms: Any
    level: str
    n_raters: int
    scatter: Any  # items x (raters * width), dense or scipy.sparse
    width: int
    mean_per_item: np.ndarray  # items x width: the changes of the item's ratings summed, over the raters replaced
    raters_in: np.ndarray  # the raters with at least one rating replaced
    exact: bool  # whether replicates evaluate every rater (dense) or the average rater

    @classmethod
    def of(cls, terms: Any, ratings: tuple[np.ndarray, ...], level: str, n_raters: int) -> Substitution:
        """From the replaced ratings (item, rater, human value, machine value)."""
        item, rater, human, machine = ratings
        m = terms.sums[item, 0]
        pairable = m >= 2
        w = np.where(pairable, 1.0 / np.maximum(m - 1, 1.0), 0.0)
        s1 = terms.sums[item, 1]
        d1, d2 = np.where(pairable, machine - human, 0.0), np.where(pairable, machine * machine - human * human, 0.0)
        columns = [np.column_stack([d1, d2, w * (2 * m * d2 - 2 * ((s1 + d1) ** 2 - s1 * s1))])]
        if level != "interval":
            columns.append(_coincidence_change(terms, item, human, machine, w))
        change = np.concatenate(columns, axis=1)
        n_items, width = terms.sums.shape[0], change.shape[1]
        raters_in = np.unique(rater)
        mean_per_item = np.zeros((n_items, width))
        np.add.at(mean_per_item, item, change / max(len(raters_in), 1))
        exact = n_items * n_raters * width <= DENSE_CELLS
        scatter = rater_scatter(item, rater, change, (n_items, n_raters), dense=exact)
        return cls(terms, level, n_raters, scatter, width, mean_per_item, raters_in, exact)

    def alpha(self, weights: np.ndarray | None) -> np.ndarray:
        """(rows of weights, raters): alpha with each rater replaced (weights None: each item once)."""
        t = self.terms
        u = np.ones((1, t.sums.shape[0])) if weights is None else np.atleast_2d(weights)
        per_rater = per_rater_sums(u, self.scatter).reshape(u.shape[0], self.n_raters, self.width)
        return self._alpha_plus(u, per_rater)

    def mean_change(self, weights: np.ndarray) -> np.ndarray:
        """(rows,): mean over the replaced raters of alpha with that rater replaced, minus alpha (average rater beyond DENSE_CELLS)."""
        u = np.atleast_2d(weights)
        base = self._alpha_plus(u, np.zeros((u.shape[0], 1, self.width)))[:, 0]
        if self.exact:
            return np.nanmean(self.alpha(u)[:, self.raters_in], axis=1) - base
        return self._alpha_plus(u, (u @ self.mean_per_item)[:, None, :])[:, 0] - base

    def _alpha_plus(self, u: np.ndarray, extra: np.ndarray) -> np.ndarray:
        """Alpha of the item-weighted terms plus ``extra`` (rows, variants, width) changes, per row and variant."""
        t = self.terms
        sums = np.broadcast_to((u @ t.sums)[:, None, :], (*extra.shape[:2], 3)).copy()
        sums[..., 1:] += extra[..., 0:2]
        if self.level == "interval":
            return interval_alpha_from_sums(sums, (u @ t.within)[:, None] + extra[..., 2])
        return alpha_from_coincidences((u @ t.coincidence)[:, None, :] + extra[..., 3:], t.values, self.level)


def _coincidence_change(terms: Any, item: np.ndarray, human: np.ndarray, machine: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(ratings, V * V): how each item's coincidence terms change when one rating moves from the human's value to the machine's."""
    v = len(terms.values)
    n_u = _item_counts(terms, item)
    diff = np.zeros((len(item), v))
    diff[np.arange(len(item)), np.searchsorted(terms.values, machine)] += 1.0
    diff[np.arange(len(item)), np.searchsorted(terms.values, human)] -= 1.0
    outer = n_u[:, :, None] * diff[:, None, :] + diff[:, :, None] * n_u[:, None, :] + diff[:, :, None] * diff[:, None, :]
    outer -= diff[:, :, None] * np.eye(v)[None, :, :]
    return (w[:, None, None] * outer).reshape(len(item), v * v)


def _item_counts(terms: Any, item: np.ndarray) -> np.ndarray:
    """(ratings, V): how many ratings of each value the item of each rating has (from its coincidence row)."""
    v = len(terms.values)
    o = terms.coincidence[item].reshape(len(item), v, v)
    m = terms.sums[item, 0]
    # o_u = w (N N^T - diag N): row sums are w (N m - N) = N (m - 1) w = N for pairable items
    return np.where((m >= 2)[:, None], o.sum(axis=2), 0.0)


@analysis("agreement")
def agreement_analysis(data: Annotations, machines: MachineRatings | None, settings: Any) -> AgreementResult:
    """The run's agreement analysis (``analyses = ["agreement"]``): groups of its first grouping, its bootstrap, seed and level."""
    from annalign.core.grouping import make_groups

    found = settings.groupings_for(data.raters.columns) if data.has_raters else []
    groups = make_groups(data.raters, found[0], min_group_size=settings.min_group_size, missing_attr=settings.missing_attr) if found else None
    return analyze_agreement(data, machines, groups=groups, n_boot=settings.bootstrap, seed=settings.seed, level=settings.level)
