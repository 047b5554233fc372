"""RQ3: can a machine rater predict when one group of raters finds an item more unsafe than another?

For a pair of rater groups (A, B) the observed per-item difference is d_i = mean_A(i) - mean_B(i),
each mean over that group's raters who rated item i (missing ratings are simply absent). Because
each group has finitely many raters, d is noisy: its reliability bounds how well any predictor can
correlate with it; the noise ceiling is sqrt(reliability). The reliability is RQ2's
variance-component estimator (``stats.crossed``) extended to a difference of two means:
1 - mean_i(s2_A / n_A,i + s2_B / n_B,i) / var_i(d_i), with s2 a side's within-item variance of
rater-centred ratings (Cronbach's alpha of a group mean in RQ2; before issue 11 RQ3 used random
split halves). The groups follow ``core.grouping`` (the same ``by``, ``min_group_size`` and
``missing_attr`` give the same groups as RQ2).

Uncertainty: the reliability, the noise ceiling, r and r/ceiling get intervals from one set of
paired replicates, crossed by default (``resample="crossed"``: the item bootstrap plus each
side's rater part, the cross-fitted infinitesimal jackknife of RQ2, so the intervals generalise
to the groups' populations of raters) or over items only (``resample="items"``, conditional on
these raters). Replicates where the reliability is <= 0 have no ceiling; their share is reported
and no interval is given from too few defined replicates (``stats.intervals``).

Predictions of d:

* persona: the machine's rating when asked as a member of A minus its rating as a member of B.
  When B is ``rest`` (every grouped rater not in A), B's persona score is the mean of the other
  groups' persona scores weighted by their numbers of raters (per item, over the groups the
  machine rated). Every group of the comparison needs persona scores, or the prediction is skipped.
* baseline: the machine's ordinary rating (do groups disagree more on items it finds unsafe?).

For each prediction: Pearson r with d (items where both are defined), a percentile bootstrap
interval, a two-sided permutation p-value (items of the prediction permuted; conditional on these
raters), a bootstrap p-value from the (crossed) replicates, Holm and Benjamini-Hochberg adjustments
of both over every pair and predictor, r divided by the noise ceiling and, on the items where the
groups clearly disagree (|d| at or above a threshold; default the top quartile of |d| for that
pair), the accuracy and AUC of the prediction's sign for the sign of d, each with its chance
interval (the central ``level`` of the statistic with the signs of d permuted among those items).
A persona prediction's sign is its sign; a baseline's is its sign relative to its mean over the
pair's items. A prediction exactly at that centre counts as half right, and
AUC counts ties as half (Mann-Whitney U).

Persona ratings in machine-rater files: a ``rater`` value ``<model>|persona=<group label>``
(``core.raters``), e.g. ``gpt-4|persona=Black/African American × Woman``; the older spelling
``Black/African American|Woman`` is read too. Raters without ``|persona=`` are baselines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from annalign.analyses.base import ResultDisplay, check_level, check_resample, fmt, with_changes
from annalign.analyses.disagreement_inference import (
    RaterDraws,
    Replicates,
    add_rater_parts,
    chance_intervals,
    item_replicates,
    pair_designs,
    pair_sides,
    point_reliability,
)
from annalign.core.annotations import Annotations
from annalign.core.grouping import (
    DEFAULT_BY,
    DEFAULT_MIN_GROUP_SIZE,
    DEFAULT_MISSING,
    Grouping,
    make_groups,
)
from annalign.core.jsonsafe import jsonable
from annalign.core.machines import MachineRatings
from annalign.core.raters import parse_persona_rater
from annalign.errors import InputError, warn
from annalign.stats.bootstrap import (
    CHUNK_ENTRIES,
    bootstrap_p,
    bootstrap_pearson,
    percentile_intervals,
)
from annalign.stats.correlation import pearson_masked
from annalign.stats.crossed import RESAMPLE_SCHEMES
from annalign.stats.intervals import intervals, undefined_share, usable
from annalign.stats.multitest import benjamini_hochberg, holm
from annalign.stats.permutation import pearson_permutation_p
from annalign.stats.ranks import mann_whitney_u

#: The group label that means "every grouped rater not in A".
REST = "rest"


# ----- persona raters ----------------------------------------------------------------------------
def split_persona_raters(machines: MachineRatings) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    """Split machine raters into baselines {name: scores} and personas {model: {label: scores}} (``core.raters``)."""
    baselines: dict[str, np.ndarray] = {}
    personas: dict[str, dict[str, np.ndarray]] = {}
    for k, name in enumerate(machines.names):
        parsed = parse_persona_rater(name)
        if parsed is None:
            baselines[name] = machines.scores[:, k]
        else:
            model, label = parsed
            personas.setdefault(model or "persona", {})[label] = machines.scores[:, k]
    return baselines, personas


# ----- pairs -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pair:
    """A comparison: group a against group b (b is -1 for the rest of the raters)."""

    a: int
    b: int
    comparison: str


def resolve_pairs(groups: Grouping, pairs: str | Sequence[tuple[str, str]] = "default") -> list[Pair]:
    """The comparisons: ``default``, ``all`` (every pair of groups) or explicit (A, B) labels."""
    if isinstance(pairs, str):
        if pairs == "all":
            return [Pair(a, b, "pair") for a, b in combinations(range(groups.n_groups), 2)]
        if pairs != "default":
            raise InputError(f"unknown pairs {pairs!r}: use default, all or a list of (A, B) group labels")
        out = [Pair(a, -1, "vs rest") for a in range(groups.n_groups)] if groups.n_groups > 1 else []
        if len(groups.by) > 1:  # within each level of the other attributes, contrast the last one
            outer: dict[tuple[str, ...], list[int]] = {}
            for j, key in enumerate(groups.keys):
                outer.setdefault(key[:-1], []).append(j)
            for members in outer.values():
                out.extend(Pair(a, b, "within") for a, b in combinations(members, 2))
        if not out:
            raise InputError(f"grouping by {', '.join(groups.by)} gives {groups.n_groups} group(s); RQ3 needs at least two")
        return out
    out = []
    for entry in pairs:
        if len(entry) != 2:
            raise InputError(f"a group pair needs two labels, got {entry!r}")
        a_label, b_label = entry
        rest_hint = f" (or {REST!r} as the second group: every other rater)"
        a = groups.index(a_label, rest_hint)
        b = -1 if b_label.strip().casefold() == REST and REST not in groups.labels else groups.index(b_label, rest_hint)
        if a == b:
            raise InputError(f"group pair ({a_label!r}, {b_label!r}) compares a group with itself")
        out.append(Pair(a, b, "vs rest" if b < 0 else "pair"))
    if not out:
        raise InputError("no group pairs given")
    return out


# ----- grouped means ---------------------------------------------------------------------------
def _entries(data: Annotations, groups: Grouping) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ratings of grouped raters: item, rater, group and value per entry."""
    g = groups.code[data.rater_index]
    keep = g >= 0
    return data.item_index[keep], data.rater_index[keep], g[keep], data.values[keep]


def _side(sums: np.ndarray, counts: np.ndarray, g: int, rest: bool, totals: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Mean over group g (or over every group but g) from sums/counts with the group axis last."""
    if rest:
        tot_s, tot_c = totals if totals is not None else (sums.sum(-1), counts.sum(-1))
        s, c = tot_s - sums[..., g], tot_c - counts[..., g]
    else:
        s, c = sums[..., g], counts[..., g]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.where(c > 0, c, 1), np.nan)


def pair_difference(
    sums: np.ndarray, counts: np.ndarray, pair: Pair, totals: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """d = mean_A - mean_B per item (NaN where either group has no rating); ``totals`` = sums over groups."""
    b = pair.a if pair.b < 0 else pair.b
    return _side(sums, counts, pair.a, False, None) - _side(sums, counts, b, pair.b < 0, totals)


# ----- tests of one prediction -------------------------------------------------------------------
def correlation_tests(
    pred: np.ndarray, d: np.ndarray, *, n_boot: int, n_perm: int, seed: int, level: float = 0.95
) -> dict[str, np.ndarray]:
    """r, item-bootstrap interval and permutation p per column of (n, k) arrays (NaN rows left out per column).

    ``n_perm`` 0 skips the permutation test (p is NaN).
    """
    pred, d = _columns(pred, d)
    k = pred.shape[1]
    lo, hi = np.full(k, np.nan), np.full(k, np.nan)
    col_chunk = max(1, min(CHUNK_ENTRIES // max(n_boot * 6, 1), 4 * CHUNK_ENTRIES // max(pred.shape[0] * 6, 1)))
    for c0 in range(0, k, col_chunk):
        sl = slice(c0, min(k, c0 + col_chunk))
        lo[sl], hi[sl] = percentile_intervals(bootstrap_pearson(pred[:, sl], d[:, sl], n_boot, seed), level)
    out = permutation_tests(pred, d, n_perm=n_perm, seed=seed)
    return {"r": out["r"], "ci_low": lo, "ci_high": hi, "p_value": out["p_value"], "n": out["n"]}


def _columns(pred: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both as float (n, k) arrays of the same shape."""
    pred, d = (np.asarray(a, dtype=float) for a in (pred, d))
    pred, d = (a[:, None] if a.ndim == 1 else a for a in (pred, d))
    return tuple(np.broadcast_arrays(pred, d))  # type: ignore[return-value]


def permutation_tests(pred: np.ndarray, d: np.ndarray, *, n_perm: int, seed: int) -> dict[str, np.ndarray]:
    """r, two-sided permutation p (items of the prediction permuted) and n per column; p NaN with ``n_perm`` 0."""
    pred, d = _columns(pred, d)
    k = pred.shape[1]
    r, p = pearson_masked(pred, d), np.full(k, np.nan)
    valid = np.isfinite(pred) & np.isfinite(d)
    if n_perm >= 1 and k:
        p = pearson_permutation_p(np.where(valid, pred, 0.0), np.where(valid, d, 0.0), n_perm, seed, valid)
    return {"r": r, "p_value": np.where(np.isfinite(r), p, np.nan), "n": valid.sum(0)}


def sign_agreement(pred: np.ndarray, d: np.ndarray, center: float = 0.0) -> dict[str, float]:
    """Accuracy and AUC of sign(pred - center) for sign(d) over items with d != 0 (ties count half)."""
    ok = np.isfinite(pred) & np.isfinite(d) & (d != 0)
    x, positive = pred[ok] - center, d[ok] > 0
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos + n_neg == 0:
        return {"accuracy": np.nan, "auc": np.nan, "n_positive": 0, "n_negative": 0}
    correct = np.where(x == 0, 0.5, (x > 0) == positive)
    auc = np.nan
    if n_pos and n_neg:
        auc = mann_whitney_u(x[positive], x[~positive]) / (n_pos * n_neg)
    return {"accuracy": float(correct.mean()), "auc": float(auc), "n_positive": n_pos, "n_negative": n_neg}


# ----- results -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prediction:
    """How well one predictor tracks one pair's observed differences (the fields are documented in ``NOTES``)."""

    predictor: str
    kind: str
    r: float
    ci_low: float
    ci_high: float
    p_value: float
    r_over_ceiling: float
    n_items: int
    accuracy: float
    auc: float
    n_clear: int
    n_clear_positive: int
    n_clear_negative: int
    center: float
    r_over_ceiling_ci_low: float = np.nan
    r_over_ceiling_ci_high: float = np.nan
    r_over_ceiling_undefined_share: float = np.nan
    p_boot: float = np.nan
    p_adjusted_holm: float = np.nan
    p_adjusted_bh: float = np.nan
    p_boot_holm: float = np.nan
    p_boot_bh: float = np.nan
    accuracy_chance_low: float = np.nan
    accuracy_chance_high: float = np.nan
    auc_chance_low: float = np.nan
    auc_chance_high: float = np.nan
    generalises_to: str = RESAMPLE_SCHEMES["crossed"]

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class PairResult:
    """One comparison: observed differences, their reliability and ceiling with intervals, and the predictions."""

    a: str
    b: str
    comparison: str
    n_raters_a: int
    n_raters_b: int
    n_items: int
    mean_difference: float
    sd_difference: float
    mean_abs_difference: float
    split_half_r: float
    reliability: float
    noise_ceiling: float
    threshold: float
    n_clear: int
    difference: np.ndarray = field(repr=False)
    predictions: list[Prediction] = field(default_factory=list)
    predicted: dict[tuple[str, str], np.ndarray] = field(default_factory=dict, repr=False)
    reliability_ci_low: float = np.nan
    reliability_ci_high: float = np.nan
    noise_ceiling_ci_low: float = np.nan
    noise_ceiling_ci_high: float = np.nan
    noise_ceiling_undefined_share: float = np.nan
    generalises_to: str = RESAMPLE_SCHEMES["crossed"]

    def summary(self) -> dict[str, object]:
        keys = ("a", "b", "comparison", "n_raters_a", "n_raters_b", "n_items", "mean_difference", "sd_difference",
                "mean_abs_difference", "split_half_r", "reliability", "noise_ceiling", "threshold", "n_clear",
                "reliability_ci_low", "reliability_ci_high", "noise_ceiling_ci_low", "noise_ceiling_ci_high",
                "noise_ceiling_undefined_share", "generalises_to")
        return {k: getattr(self, k) for k in keys}


#: What the keys of results.json "rq3" mean (also the report's notes).
NOTES = [
    "reliability: of d = mean_A - mean_B per item, 1 - mean_i(s2_A / n_A,i + s2_B / n_B,i) / var_i(d_i), with s2 a "
    "side's within-item variance of rater-centred ratings: RQ2's variance-component reliability of a group mean "
    "(Cronbach's alpha with complete data) extended to a difference (issue 11; RQ3 used random split halves "
    "before). split_half_r is the correlation between two half-size panels it implies, rel / (2 - rel). "
    "noise_ceiling = sqrt(reliability), the highest r any predictor can reach with this d.",
    "Intervals (resample 'crossed', the default): items and each side's raters are samples, so they generalise to "
    "the groups' populations of raters: the item bootstrap (one set of draws for every pair and predictor, paired) "
    "plus each side's rater part, the infinitesimal jackknife over its raters cross-fitted on random item halves "
    "(n_splits of them), as in RQ2. Resample 'items': the item bootstrap alone, conditional on these raters "
    "(generalises_to says which). Per pair: reliability_ci_low/high, noise_ceiling_ci_low/high; per prediction: "
    "ci_low/high (of r), r_over_ceiling_ci_low/high; all percentile intervals at level.",
    "noise_ceiling_undefined_share / r_over_ceiling_undefined_share: the share of replicates whose reliability is "
    "<= 0 (no ceiling); with more than half undefined (or fewer than 20 defined) no interval is given, with a warning.",
    "p_value: permutation test of r = 0 (items of the prediction permuted; conditional on these raters). p_boot: "
    "two-sided bootstrap p of r = 0 from the (crossed) replicates, at least 2 / (B + 1). _holm and _bh adjust each "
    "over every pair and predictor together (p_adjusted_holm / p_adjusted_bh adjust p_value).",
    "accuracy / auc: of the prediction's sign for the sign of d on the clear items; accuracy_chance_low/high and "
    "auc_chance_low/high: the central 95% (level) of each with the signs of d permuted among those items (counts "
    "of positive and negative kept), what an unrelated prediction scores there.",
]


@dataclass(frozen=True, repr=False)
class DisagreementResult(ResultDisplay):
    """Everything RQ3 computes; ``to_dict`` gives the "rq3" section of results.json (keys in ``NOTES``).

    ``replicates`` keeps the paired replicates (n_boot, predictions) of r and (n_boot, pairs) of the
    reliability, so ``confidence_interval`` gives any level from the very replicates of the analysis.
    """

    by: tuple[str, ...]
    groups: Grouping
    item_ids: np.ndarray
    pairs: list[PairResult]
    settings: dict[str, object]
    notes: list[str] = field(default_factory=list)
    replicates: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, object]:
        return jsonable(
            {
                "by": list(self.by),
                "settings": self.settings,
                "groups": {lab: int(n) for lab, n in zip(self.groups.labels, self.groups.sizes, strict=True)},
                "excluded_groups": self.groups.excluded,
                "persona_requests_per_model": self.groups.n_groups * len(self.item_ids),
                "pairs": [{**p.summary(), "predictions": [q.to_dict() for q in p.predictions]} for p in self.pairs],
                "notes": self.notes,
            }
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """CSV tables: rq3_pairs, rq3_predictions (pair x predictor) and rq3_items (per-item d and predictions)."""
        pairs = pd.DataFrame([p.summary() for p in self.pairs])
        items = []
        for p in self.pairs:
            frame = pd.DataFrame({"a": p.a, "b": p.b, "item_id": self.item_ids, "difference": p.difference})
            for (kind, name), vec in p.predicted.items():
                frame[f"{kind}:{name}"] = vec
            items.append(frame)
        return {
            "rq3_pairs": pairs,
            "rq3_predictions": self.to_frame(),
            "rq3_items": pd.concat(items, ignore_index=True) if items else pd.DataFrame(),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per pair and predictor: r with the observed differences, its interval, r/ceiling, sign accuracy."""
        rows = [{"a": p.a, "b": p.b, "comparison": p.comparison, "noise_ceiling": p.noise_ceiling, **q.to_dict()}
                for p in self.pairs for q in p.predictions]
        return pd.DataFrame(rows, columns=["a", "b", "comparison", "noise_ceiling", *Prediction.__dataclass_fields__])

    def confidence_interval(self, level: float = 0.95) -> pd.DataFrame:
        """r of every prediction with its percentile interval at ``level``, from the analysis's own replicates."""
        level = check_level(level)
        keys = [{"a": p.a, "b": p.b, "kind": q.kind, "predictor": q.predictor, "r": q.r} for p in self.pairs for q in p.predictions]
        frame = pd.DataFrame(keys, columns=["a", "b", "kind", "predictor", "r"])
        if not keys:
            return frame.assign(low=[], high=[], level=level)
        low, high = intervals(self.replicates["r"], level)
        return frame.assign(low=low, high=high, level=level)

    def summary(self) -> list[str]:
        """The RQ3 lines the command line prints."""
        return rq3_lines(self.to_dict())


def _interval(row: Mapping[str, Any], key: str) -> str:
    """'[low, high]' of ``key``'s interval in a results row, or '[no interval]'."""
    low, high = row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")
    if low is None or high is None:
        return "[no interval]"
    return f"[{fmt(low)}, {fmt(high)}]"


def rq3_lines(rq3: dict[str, Any]) -> list[str]:
    """Human-readable lines for the "rq3" section of results.json."""
    s = rq3["settings"]
    scope = s.get("generalises_to", RESAMPLE_SCHEMES["items"])
    lines = [
        f"RQ3 (groups by {', '.join(rq3['by'])}; {s['n_boot']} bootstrap replicates, {s['n_perm']} permutations, "
        f"seed {s['seed']}; intervals generalise to {scope}; clear disagreement: {s['threshold_rule']})"
    ]
    for p in rq3["pairs"]:
        lines.append(
            f"  {p['a']} - {p['b']}: mean d {fmt(p['mean_difference'])}, sd {fmt(p['sd_difference'])}, "
            f"reliability {fmt(p['reliability'])} {_interval(p, 'reliability')}, "
            f"ceiling {fmt(p['noise_ceiling'])} {_interval(p, 'noise_ceiling')} ({p['n_items']} items)"
        )
        for q in p["predictions"]:
            lines.append(
                f"    {q['kind']} {q['predictor']}: r {fmt(q['r'])} [{fmt(q['ci_low'])}, {fmt(q['ci_high'])}], "
                f"p {fmt(q['p_value'])} (Holm {fmt(q.get('p_adjusted_holm'))}), bootstrap p {fmt(q.get('p_boot'))} "
                f"(Holm {fmt(q.get('p_boot_holm'))}), r/ceiling {fmt(q['r_over_ceiling'])} "
                f"{_interval(q, 'r_over_ceiling')}; on {q['n_clear']} clear items accuracy {fmt(q['accuracy'])} "
                f"(chance {fmt(q.get('accuracy_chance_low'))}-{fmt(q.get('accuracy_chance_high'))}), AUC {fmt(q['auc'])} "
                f"(chance {fmt(q.get('auc_chance_low'))}-{fmt(q.get('auc_chance_high'))})"
            )
    return lines


# ----- the analysis ------------------------------------------------------------------------------
def _vector(values: object, n_items: int, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.shape != (n_items,):
        raise InputError(f"{what} must have one score per item ({n_items}), got shape {arr.shape}")
    return arr


def _normalise_inputs(
    persona_scores: Mapping[str, object] | None, baseline: object, n_items: int
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """Accept one model's {label: scores} or {model: {label: scores}}; one vector or {name: scores}."""
    personas: dict[str, dict[str, np.ndarray]] = {}
    if persona_scores:
        values = list(persona_scores.values())
        if all(isinstance(v, Mapping) for v in values):
            nested = persona_scores
        else:
            nested = {"persona": persona_scores}
        for model, per_label in nested.items():
            personas[str(model)] = {str(lab).strip(): _vector(v, n_items, f"persona scores of {model!r} for {lab!r}")
                                    for lab, v in per_label.items()}
    baselines: dict[str, np.ndarray] = {}
    if baseline is not None:
        if isinstance(baseline, Mapping):
            baselines = {str(k): _vector(v, n_items, f"baseline scores {k!r}") for k, v in baseline.items()}
        else:
            baselines = {"baseline": _vector(baseline, n_items, "baseline scores")}
    return personas, baselines


def _persona_prediction(per_label: dict[str, np.ndarray], groups: Grouping, pair: Pair) -> tuple[np.ndarray | None, list[str]]:
    """Persona difference for a pair, or (None, missing labels)."""
    labels = groups.labels
    side_b = [j for j in range(groups.n_groups) if j != pair.a] if pair.b < 0 else [pair.b]
    missing = [labels[j] for j in [pair.a, *side_b] if labels[j] not in per_label]
    if missing:
        return None, missing
    score_a = per_label[labels[pair.a]]
    if pair.b >= 0:
        return score_a - per_label[labels[pair.b]], []
    others = np.column_stack([per_label[labels[j]] for j in side_b])
    weight = np.where(np.isfinite(others), groups.sizes[side_b][None, :].astype(float), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        score_b = np.where(weight.sum(1) > 0, (np.nan_to_num(others) * weight).sum(1) / weight.sum(1), np.nan)
    return score_a - score_b, []


@dataclass(frozen=True)
class DisagreementConfig:
    """RQ3's settings: which pairs, the grouping rules, resampling and the "clear difference" threshold.

    ``n_splits``: random item halves of the cross-fitted rater part (RQ2's meaning; the reliability no
    longer uses random splits).
    """

    pairs: str | Sequence[tuple[str, str]] = "default"
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    missing_attr: str = DEFAULT_MISSING
    n_boot: int = 1000
    n_perm: int = 1000
    n_splits: int = 10
    seed: int = 0
    threshold: float | None = None
    threshold_quantile: float = 0.75
    level: float = 0.95
    #: "crossed": items and each side's raters are samples (as RQ2); "items": items only, conditional on these raters
    resample: str = "crossed"

    def but(self, **changes: Any) -> DisagreementConfig:
        """A copy with some settings changed; an unknown name is a one-line error."""
        return with_changes(self, changes, "RQ3")

    def check(self) -> None:
        """One-line errors for settings RQ3 cannot use."""
        if self.n_boot < 10 or self.n_perm < 0 or self.n_splits < 1:
            raise InputError("RQ3 needs at least 10 bootstrap replicates, 0 or more permutations and 1 split")
        if not 0 < self.threshold_quantile < 1:
            raise InputError(f"threshold quantile must be between 0 and 1, got {self.threshold_quantile}")
        if self.threshold is not None and self.threshold < 0:
            raise InputError(f"threshold is a minimum |difference| and must be >= 0, got {self.threshold}")
        check_resample(self.resample)


#: one prediction to test: (pair position, "persona" or "baseline", predictor name, predicted d, clear-item mask)
_Column = tuple[int, str, str, np.ndarray, np.ndarray]


def analyze_disagreement(
    data: Annotations,
    persona_scores: Mapping[str, object] | None = None,
    baseline: object = None,
    *,
    by: str | Sequence[str] = DEFAULT_BY,
    config: DisagreementConfig | None = None,
    **settings: Any,
) -> DisagreementResult:
    """Observed group differences, their reliability and noise ceiling, and how well predictors track them.

    ``persona_scores``: {group label: scores (n_items,)} for one model, or {model: {label: scores}}.
    ``baseline``: scores (n_items,) or {name: scores}. NaN scores are unrated items, left out.
    ``by``, ``min_group_size`` and ``missing_attr`` form the groups as RQ2 does (``core.grouping.make_groups``);
    ``settings`` are DisagreementConfig fields overriding ``config``.
    """
    cfg = (config or DisagreementConfig()).but(**settings)
    cfg.check()
    if not data.has_raters:
        raise InputError(f"data set {data.name} has no rater identities; RQ3 needs rater-level ratings")
    groups = make_groups(data.raters, by, min_group_size=cfg.min_group_size, missing_attr=cfg.missing_attr)
    chosen = resolve_pairs(groups, cfg.pairs)
    personas, baselines = _normalise_inputs(persona_scores, baseline, data.n_items)
    personas = _known_personas(personas, groups)
    item, _, g, val = _entries(data, groups)
    shape = data.n_items * groups.n_groups
    sums = np.bincount(item * groups.n_groups + g, weights=val, minlength=shape).reshape(data.n_items, -1)
    counts = np.bincount(item * groups.n_groups + g, minlength=shape).reshape(data.n_items, -1).astype(float)
    sides = pair_sides(data, groups, [(pair.a, pair.b) for pair in chosen])
    designs = pair_designs(sides)
    reliability = point_reliability(designs)
    pair_results = [_observed_pair(pair, sums, counts, float(reliability[k]), groups, cfg) for k, pair in enumerate(chosen)]
    columns = _prediction_columns(pair_results, chosen, personas, baselines, groups)
    reps = _replicates(pair_results, columns, sides, designs, RaterDraws(cfg.n_boot, cfg.n_splits, cfg.seed, data.n_raters), cfg)
    pair_results = _pair_intervals(pair_results, reps, cfg)
    pair_results = _test_predictions(pair_results, columns, reps, cfg)
    return DisagreementResult(groups.by, groups, data.item_ids, pair_results, _run_settings(groups, cfg), list(NOTES),
                              {"r": reps.r, "reliability": reps.reliability})


def _known_personas(personas: dict[str, dict[str, np.ndarray]], groups: Grouping) -> dict[str, dict[str, np.ndarray]]:
    """Persona scores keyed by the groups' own labels; labels that are not groups are warned about and dropped."""
    out = {}
    for model, per_label in personas.items():
        unknown = sorted(lab for lab in per_label if groups.find(lab) < 0)
        out[model] = {groups.labels[groups.find(lab)]: v for lab, v in per_label.items() if groups.find(lab) >= 0}
        if unknown:
            warn(f"persona scores of {model!r} for labels that are not groups of {', '.join(groups.by)} are ignored: {', '.join(unknown)}")
    return out


def _run_settings(groups: Grouping, cfg: DisagreementConfig) -> dict[str, object]:
    """The "settings" block of the RQ3 results."""
    return {
        "pairs": cfg.pairs if isinstance(cfg.pairs, str) else "explicit",
        "n_boot": cfg.n_boot,
        "n_perm": cfg.n_perm,
        "n_splits": cfg.n_splits,
        "seed": cfg.seed,
        "level": cfg.level,
        "resample": cfg.resample,
        "generalises_to": RESAMPLE_SCHEMES[cfg.resample],
        "threshold": cfg.threshold,
        "threshold_rule": f"|d| >= {cfg.threshold:g}" if cfg.threshold is not None else f"|d| >= its {cfg.threshold_quantile:g} quantile per pair",
        "min_group_size": groups.min_group_size,
        "missing_attr": groups.missing_attr,
        "missing_attribute_counts": groups.n_missing,
    }


def _observed_pair(pair: Pair, sums: np.ndarray, counts: np.ndarray, reliability: float, groups: Grouping, cfg: DisagreementConfig) -> PairResult:
    """One pair's observed differences d per item, their reliability, noise ceiling and clear items."""
    a_label = groups.labels[pair.a]
    b_label = REST if pair.b < 0 else groups.labels[pair.b]
    n_a = int(groups.sizes[pair.a])
    n_b = int(groups.sizes.sum()) - n_a if pair.b < 0 else int(groups.sizes[pair.b])
    d = pair_difference(sums, counts, pair)
    finite = np.isfinite(d)
    if (~finite).any():
        warn(f"RQ3 {a_label} vs {b_label}: {int((~finite).sum())} item(s) lack a rating from one of the groups and are left out")
    r_split = reliability / (2 - reliability) if reliability < 1 else np.nan  # the half-panel r that reliability implies
    ceiling = float(np.sqrt(reliability)) if reliability > 0 else np.nan
    if np.isfinite(reliability) and reliability <= 0:
        warn(f"RQ3 {a_label} vs {b_label}: reliability {reliability:.3f} <= 0; the difference is noise and the ceiling is undefined")
    dv = d[finite]
    t = cfg.threshold
    if t is None:
        t = float(np.quantile(np.abs(dv), cfg.threshold_quantile)) if len(dv) else np.nan
    clear = finite & (np.abs(d) >= t) & (d != 0)
    return PairResult(
        a_label, b_label, pair.comparison, n_a, n_b, int(finite.sum()),
        float(dv.mean()) if len(dv) else np.nan,
        float(dv.std(ddof=1)) if len(dv) > 1 else np.nan,
        float(np.abs(dv).mean()) if len(dv) else np.nan,
        r_split, reliability, ceiling, float(t), int(clear.sum()), d, generalises_to=RESAMPLE_SCHEMES[cfg.resample],
    )  # fmt: skip


def _prediction_columns(
    pair_results: list[PairResult], chosen: list[Pair], personas: dict[str, dict[str, np.ndarray]],
    baselines: dict[str, np.ndarray], groups: Grouping,
) -> list[_Column]:  # fmt: skip
    """Every (pair, predictor) to test: persona predictions where all their groups have scores, and the baselines."""
    columns: list[_Column] = []
    skipped: set[str] = set()
    for j, (pr, pair) in enumerate(zip(pair_results, chosen, strict=True)):
        clear = np.isfinite(pr.difference) & (np.abs(pr.difference) >= pr.threshold) & (pr.difference != 0)
        for model, per_label in personas.items():
            vec, missing = _persona_prediction(per_label, groups, pair)
            if vec is None:
                key = f"{model}: {', '.join(missing)}"
                if key not in skipped:
                    skipped.add(key)
                    warn(f"RQ3 persona prediction of {model!r} skipped where it needs groups without persona scores: {', '.join(missing)}")
                continue
            columns.append((j, "persona", model, vec, clear))
        columns.extend((j, "baseline", name, vec, clear) for name, vec in baselines.items())
        if (personas or baselines) and pr.n_items < 3:
            warn(f"RQ3 {pr.a} vs {pr.b}: fewer than 3 items with a difference; predictions are not tested")
    return [c for c in columns if np.isfinite(pair_results[c[0]].difference).sum() >= 3]


def _replicates(pair_results: list[PairResult], columns: list[_Column], sides: list[Any], designs: np.ndarray,
                draws: RaterDraws, cfg: DisagreementConfig) -> Replicates:  # fmt: skip
    """Paired replicates of every prediction's r and every pair's reliability (crossed unless resample="items")."""
    n_items = designs.shape[0]
    x, dm = _column_arrays(pair_results, columns, n_items)
    reps = item_replicates(x, dm, designs, cfg.n_boot, cfg.seed)
    if cfg.resample == "crossed":
        pair_of_column = np.array([j for j, *_ in columns], dtype=np.int64)
        rel = np.array([p.reliability for p in pair_results])
        add_rater_parts(reps, (pearson_masked(x, dm), rel), x, pair_of_column, sides, draws)
    return reps


def _column_arrays(pair_results: list[PairResult], columns: list[_Column], n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """(items, columns) predictions (NaN where d is undefined) and the matching d."""
    if not columns:
        return np.zeros((n_items, 0)), np.zeros((n_items, 0))
    x = np.column_stack([np.where(np.isfinite(pair_results[j].difference), vec, np.nan) for j, _, _, vec, _ in columns])
    return x, np.column_stack([pair_results[j].difference for j, *_ in columns])


def _pair_intervals(pair_results: list[PairResult], reps: Replicates, cfg: DisagreementConfig) -> list[PairResult]:
    """Each pair with the intervals of its reliability and noise ceiling, and the share of replicates without a ceiling."""
    rel_lo, rel_hi = intervals(reps.reliability, cfg.level)
    ceiling = reps.ceiling()
    c_lo, c_hi = intervals(ceiling, cfg.level)
    missing = undefined_share(ceiling)
    ok = usable(ceiling)
    out = []
    for j, p in enumerate(pair_results):
        if not ok[j] and np.isfinite(p.noise_ceiling):
            warn(f"RQ3 {p.a} vs {p.b}: the reliability is <= 0 in {missing[j]:.0%} of the replicates; the noise ceiling "
                 "and r/ceiling get no interval")
        out.append(replace(p, reliability_ci_low=float(rel_lo[j]), reliability_ci_high=float(rel_hi[j]),
                           noise_ceiling_ci_low=float(c_lo[j]), noise_ceiling_ci_high=float(c_hi[j]),
                           noise_ceiling_undefined_share=float(missing[j])))  # fmt: skip
    return out


def _test_predictions(pair_results: list[PairResult], columns: list[_Column], reps: Replicates, cfg: DisagreementConfig) -> list[PairResult]:
    """All predictions of all pairs at once: intervals from the shared replicates, shared permutations, adjusted p."""
    predictions: list[list[Prediction]] = [[] for _ in pair_results]
    predicted: list[dict[tuple[str, str], np.ndarray]] = [{} for _ in pair_results]
    if columns:
        x, dm = _column_arrays(pair_results, columns, len(pair_results[0].difference))
        tests = permutation_tests(x, dm, n_perm=cfg.n_perm, seed=cfg.seed)
        lo, hi = intervals(reps.r, cfg.level)
        pair_of_column = np.array([j for j, *_ in columns], dtype=np.int64)
        ratio = reps.r_over_ceiling(pair_of_column)
        ratio_lo, ratio_hi = intervals(ratio, cfg.level)
        ratio_missing = undefined_share(ratio)
        p_boot = bootstrap_p(reps.r)
        adjusted = {"p_adjusted_holm": holm(tests["p_value"]), "p_adjusted_bh": benjamini_hochberg(tests["p_value"]),
                    "p_boot_holm": holm(p_boot), "p_boot_bh": benjamini_hochberg(p_boot)}  # fmt: skip
        for c, (j, kind, name, vec, clear) in enumerate(columns):
            pr = pair_results[j]
            valid = np.isfinite(x[:, c])
            center = 0.0 if kind == "persona" else float(x[valid, c].mean()) if valid.any() else np.nan
            sa = sign_agreement(vec[clear], pr.difference[clear], center)
            chance = chance_intervals(vec[clear], pr.difference[clear], center, cfg.n_perm, cfg.seed, cfg.level)
            r = float(tests["r"][c])
            predictions[j].append(
                Prediction(
                    name, kind, r, float(lo[c]), float(hi[c]), float(tests["p_value"][c]),
                    r / pr.noise_ceiling if np.isfinite(pr.noise_ceiling) else np.nan, int(tests["n"][c]),
                    sa["accuracy"], sa["auc"], sa["n_positive"] + sa["n_negative"], sa["n_positive"], sa["n_negative"], center,
                    float(ratio_lo[c]), float(ratio_hi[c]), float(ratio_missing[c]), float(p_boot[c]),
                    *(float(adjusted[k][c]) for k in ("p_adjusted_holm", "p_adjusted_bh", "p_boot_holm", "p_boot_bh")),
                    *chance, RESAMPLE_SCHEMES[cfg.resample],
                )
            )  # fmt: skip
            predicted[j][(kind, name)] = vec
    return [replace(p, predictions=predictions[j], predicted=predicted[j]) for j, p in enumerate(pair_results)]
