"""Distributional alignment: does a machine rater know how people split on each item, and how many humans is it worth?

For every machine rater with a label distribution (``p_<label>`` columns): per item, the divergence
of its distribution from the humans' label shares (Jensen-Shannon in bits, base 2; total variation;
Wasserstein-1 on the rating map's values; the log loss of the human labels under the machine's
distribution, in bits), their means with item-bootstrap intervals; the noise ceiling (two random
halves of each item's raters, stepped up to the whole crowd) and the machine's paired distance from
it; whether its uncertainty tracks human disagreement (Spearman of the entropies); the k curve and
the machine's human equivalence k* (how many humans' pooled labels are as close to the rest of the
crowd as the machine is); per group of the run's first grouping, the divergence to each group's
distribution, the closest group and the pairwise differences (Holm); paired differences between
machines. A reference row gives the same statistics for an item-blind answer, the crowd's overall
label shares on every item: a machine is only as good as its margin over it (a hedged distribution
is close to a split crowd without knowing anything about the item).

Intervals. By default (``resample="crossed"``) the divergences, their differences between machines
and between groups resample items and raters (annalign.stats.distributional_raters: the item
bootstrap plus a cross-fitted rater part), so they generalise to the population of raters;
``resample="items"`` keeps the raters fixed. The ceiling, the entropy Spearman and k* resample items
only, conditional on these raters; every row's ``generalises_over`` says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from annalign.analyses.base import ResultDisplay, check_level, check_resample, fmt
from annalign.analyses.distribution_personas import persona_summary, persona_table
from annalign.analyses.registry import analysis
from annalign.core.raters import is_persona_rater
from annalign.errors import InputError, warn
from annalign.stats import distributional as dist
from annalign.stats import distributional_raters as raters
from annalign.stats.bootstrap import percentile_intervals
from annalign.stats.crossed import RESAMPLE_SCHEMES

if TYPE_CHECKING:
    from annalign.core.annotations import Annotations
    from annalign.core.machines import MachineRatings

GENERALISES_OVER = RESAMPLE_SCHEMES["items"]
#: Rows whose intervals take the rater part under the crossed scheme.
CROSSED_STATISTICS = (*("jsd", "tv", "wasserstein", "log_loss"), "jsd_minus_ceiling")
#: The item-blind reference row: the crowd's overall label shares for every item.
REFERENCE = "reference: overall label shares"
METRICS = ("jsd", "tv", "wasserstein", "log_loss")
#: Random halves for the split-half ceiling, random draws per k for the k curve, and the largest k.
N_SPLITS, N_DRAWS, K_MAX = 50, 20, 30


@dataclass(frozen=True)
class DistributionResult(ResultDisplay):
    """Per machine: mean divergences with intervals, ceiling, entropy tracking, k*; per item, group and pair."""

    machines: pd.DataFrame
    items: pd.DataFrame
    groups: pd.DataFrame
    pairs: pd.DataFrame
    k_curve: pd.DataFrame
    labels: tuple[str, ...]
    n_boot: int
    level: float
    #: "crossed" (divergences resample items and raters) or "items"
    resample: str = "crossed"
    #: per machines-table row, the bootstrap replicates of its mean (for intervals at other levels)
    replicates: tuple[np.ndarray, ...] = field(default=(), repr=False)
    #: persona raters against their own group's distribution (annalign.analyses.distribution_personas)
    personas: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_frame(self) -> pd.DataFrame:
        return self.machines

    def tables(self) -> dict[str, pd.DataFrame]:
        named = {"distribution_machines": self.machines, "distribution_items": self.items, "distribution_groups": self.groups,
                 "distribution_pairs": self.pairs, "distribution_k_curve": self.k_curve, "distribution_personas": self.personas}  # fmt: skip
        return {k: v for k, v in named.items() if len(v)}

    def to_dict(self) -> dict[str, Any]:
        records = lambda f: f.astype(object).where(pd.notna(f), None).to_dict(orient="records")  # noqa: E731
        return {"labels": list(self.labels), "n_boot": self.n_boot, "level": self.level, "resample": self.resample,
                "generalises_over": RESAMPLE_SCHEMES[self.resample], "ceiling_k_star_entropy_generalise_over": GENERALISES_OVER,
                "divergence_base": 2, "machines": records(self.machines), "groups": records(self.groups),
                "pairs": records(self.pairs), "personas": records(self.personas)}  # fmt: skip

    def summary(self) -> list[str]:
        lines = [f"Distributional alignment (labels {', '.join(self.labels)}; divergence intervals over {RESAMPLE_SCHEMES[self.resample]}, "
                 f"k* over {GENERALISES_OVER}):"]  # fmt: skip
        for m, part in self.machines.groupby("machine", sort=False):  # the item-blind reference comes last
            row = part.set_index("statistic")
            jsd, ceiling = row.loc["jsd"], row.loc["ceiling_jsd"]
            lines.append(f"  {m}: JSD {fmt(jsd['value'])} [{fmt(jsd['ci_low'])}, {fmt(jsd['ci_high'])}] bits, noise ceiling "
                         f"{fmt(ceiling['value'])}; k* {fmt(row.loc['k_star', 'value'])} [{fmt(row.loc['k_star', 'ci_low'])}, "
                         f"{fmt(row.loc['k_star', 'ci_high'])}] humans; entropy Spearman {fmt(row.loc['entropy_spearman', 'value'])}")  # fmt: skip
        return lines + persona_summary(self.personas)

    def confidence_interval(self, level: float = 0.95) -> pd.DataFrame:
        """Each machines-table estimate with its percentile interval at ``level`` from the kept replicates."""
        level = check_level(level)
        frame = self.machines[["machine", "statistic", "value"]].copy()
        bounds = [percentile_intervals(r[:, None], level) if len(r) else (np.array([np.nan]), np.array([np.nan])) for r in self.replicates]
        frame["low"] = [float(b[0][0]) for b in bounds]
        frame["high"] = [float(b[1][0]) for b in bounds]
        return frame.assign(level=level)


def analyze_distribution(
    data: Annotations, machines: MachineRatings, *, by: list[str] | None = None, n_boot: int = 1000, seed: int = 0,
    level: float = 0.95, resample: str = "crossed",
) -> DistributionResult:
    """Distributional alignment of every machine rater that has a label distribution (see the module docstring)."""
    from annalign.core.labelcodes import crowd_of

    names = [n for n in machines.names if n in machines.distributions]
    if not names:
        raise InputError("the distribution analysis needs a machine rater with a label distribution (p_<label> columns)")
    check_resample(resample)
    crowd, coded = crowd_of(data)
    if tuple(machines.distribution_labels) != tuple(coded.labels):
        raise InputError(f"machine distributions are over {machines.distribution_labels}, data set {data.name}'s labels are {coded.labels}")
    human = crowd.distributions
    usable = crowd.sizes >= 2
    models = np.stack([np.where(usable[:, None], machines.distributions[n], np.nan) for n in names])
    # an item-blind reference: every item gets the crowd's overall label shares (what hedging alone achieves)
    overall = crowd.counts.sum(axis=0) / max(crowd.counts.sum(), 1.0)
    models = np.concatenate([models, np.where(usable[:, None], overall, np.nan)[None]])
    names = [*names, REFERENCE]
    rater = data.rater_index[coded.codes >= 0]
    crossed = resample == "crossed"
    parts = _overall_rater_parts(crowd, rater, models, coded.positions, n_boot, seed) if crossed else None
    ceiling = dist.split_half(crowd, N_SPLITS, seed).ceiling
    k_max = int(min(K_MAX, crowd.sizes.max() - 1))
    curve = dist.k_curve(crowd, models, k_max=k_max, n_draws=N_DRAWS, seed=seed)
    rows, reps, item_frames, per_item = [], [], [], {}
    for m, name in enumerate(names):
        values = _per_item(human, models[m], coded.positions)
        per_item[name] = values["jsd"]
        shares = {**{f"humans_p_{lab}": human[:, k] for k, lab in enumerate(coded.labels)},
                  **{f"machine_p_{lab}": models[m][:, k] for k, lab in enumerate(coded.labels)}}  # fmt: skip
        item_frames.append(pd.DataFrame({"machine": name, "item_id": data.item_ids.astype(str), **values, "ceiling_jsd": ceiling, **shares}))
        part = None if parts is None else parts[:, m]
        for statistic, est in _estimates(human, models[m], values, ceiling, curve, m, (n_boot, seed, level), part).items():
            scope = RESAMPLE_SCHEMES[resample] if statistic in CROSSED_STATISTICS else GENERALISES_OVER
            rows.append({"machine": name, "statistic": statistic, "value": float(est.estimate[0]), "ci_low": float(est.low[0]),
                         "ci_high": float(est.high[0]), "p": None if est.p is None else float(est.p[0]), "generalises_over": scope})  # fmt: skip
            reps.append(est.replicates[:, 0])
    # personas are compared with their own group (the personas table), not in the groups and pairs tables
    plain = [m for m, name in enumerate(names[:-1]) if not is_persona_rater(name)]
    per_item = {names[m]: per_item[names[m]] for m in plain}
    jsd_parts = None if parts is None else {names[m]: parts[:, m, 0] for m in plain}
    resampling = (n_boot, seed, level, resample)
    groups, personas = pd.DataFrame(), pd.DataFrame()
    if by:
        groups, personas = _groups(data, crowd, rater, models, names, plain, by, resampling)
    elif len(plain) < len(names) - 1:
        warn("distribution: persona raters are compared with their own group only with a grouping (--by)")
    return DistributionResult(
        pd.DataFrame(rows), pd.concat(item_frames, ignore_index=True), groups,
        _pairs(per_item, (n_boot, seed, level), jsd_parts, resample), _curve_frame(curve, names), coded.labels, n_boot, level, resample,
        tuple(reps), personas,
    )  # fmt: skip


def _overall_rater_parts(crowd: dist.Crowd, rater: np.ndarray, models: np.ndarray, positions: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, machines, METRICS): the rater part of each machine's mean divergence from the whole crowd."""
    n_items = crowd.n_items
    cells = raters.RatedCells(crowd.item_index, crowd.codes, rater, n_items, crowd.n_labels, np.arange(n_items), np.zeros(n_items, np.int64))

    def statistic(q: np.ndarray, cell: np.ndarray) -> np.ndarray:
        cols = []
        for model in models:  # machines are few
            cols += list(_divergences(model[cell][None], q, positions).values())
        return np.stack(cols, axis=-1)

    parts = raters.rater_parts(cells, statistic, n_boot, seed, models.shape[0] * len(METRICS))[:, 0]
    return parts.reshape(n_boot, models.shape[0], len(METRICS))


def _group_rater_parts(
    crowd: dist.Crowd, rater: np.ndarray, per_rating: np.ndarray, n_groups: int, models: np.ndarray, resampling: tuple[int, int]
) -> np.ndarray:
    """(n_boot, machines, groups): the rater part of each machine's mean JSD to each group's distribution."""
    n_boot, seed = resampling
    n_items = crowd.n_items
    cells = raters.group_cells(crowd.item_index, crowd.codes, rater, per_rating, n_groups, n_items, crowd.n_labels)

    def statistic(q: np.ndarray, cell: np.ndarray) -> np.ndarray:
        return np.stack([dist.jensen_shannon(model[cell % n_items][None], q) for model in models], axis=-1)

    return raters.rater_parts(cells, statistic, n_boot, seed, len(models)).transpose(0, 2, 1)


def _divergences(model: np.ndarray, human: np.ndarray, positions: np.ndarray) -> dict[str, np.ndarray]:
    """The METRICS of a machine's distributions against the humans' shares, in METRICS order (broadcasting)."""
    return {"jsd": dist.jensen_shannon(model, human), "tv": dist.total_variation(model, human),
            "wasserstein": dist.wasserstein(model, human, positions), "log_loss": dist.log_loss(human, model)}  # fmt: skip


def _per_item(human: np.ndarray, model: np.ndarray, positions: np.ndarray) -> dict[str, np.ndarray]:
    """Every per-item statistic of one machine (NaN where the machine or the humans give no distribution)."""
    return {
        **_divergences(model, human, positions),
        "entropy_machine": dist.entropy(model),
        "entropy_humans": dist.entropy(human),
    }


def _estimates(
    human: np.ndarray, model: np.ndarray, values: dict[str, np.ndarray], ceiling: np.ndarray, curve: dist.KCurve, which: int,
    resampling: tuple[int, int, float], rater_part: np.ndarray | None = None,
) -> dict[str, dist.Estimate]:
    """The machine's aggregate estimates, each with its replicates: means, ceiling, distance from it, entropy tracking, k*.

    ``rater_part`` (n_boot, METRICS) is added to the divergences' replicates (and the JSD's to its distance from the ceiling).
    """
    n_boot, seed, level = resampling
    jsd = values["jsd"]
    columns = [*(values[m] for m in METRICS), np.where(np.isfinite(jsd), ceiling, np.nan), jsd - ceiling]
    means = dist.mean_ci(np.column_stack(columns), n_boot, seed, level)  # one pass over the bootstrap draws for all
    if rater_part is not None:
        part = np.column_stack([rater_part, np.zeros(n_boot), rater_part[:, 0]])
        means = dist.with_rater_part(means, part, level)
    names = [*METRICS, "ceiling_jsd", "jsd_minus_ceiling"]
    out = {name: _column(means, k) for k, name in enumerate(names)}
    diff = out["jsd_minus_ceiling"]
    out["jsd_minus_ceiling"] = dist.Estimate(diff.estimate, diff.low, diff.high, diff.replicates, dist.bootstrap_p(diff.replicates))
    both = np.isfinite(model).all(axis=1) & np.isfinite(human).all(axis=1)
    out["entropy_spearman"] = dist.entropy_tracking(model[both], human[both], n_boot, seed, level)
    out["k_star"] = dist.k_star(curve, which, n_boot, seed, level)
    return out


def _column(est: dist.Estimate, k: int) -> dist.Estimate:
    """Column ``k`` of a several-column estimate, as a one-column estimate."""
    return dist.Estimate(est.estimate[k : k + 1], est.low[k : k + 1], est.high[k : k + 1], est.replicates[:, k : k + 1])


def _groups(
    data: Annotations, crowd: dist.Crowd, rater: np.ndarray, models: np.ndarray, names: list[str], plain: list[int], by: list[str],
    resampling: tuple[int, int, float, str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The groups table of the ``plain`` machines (per group of ``by``: mean JSD to its distribution, the closest, pairs
    with Holm) and the personas table (annalign.analyses.distribution_personas)."""
    from annalign.core.grouping import make_groups
    from annalign.core.labelcodes import label_codes

    n_boot, seed, level, resample = resampling
    grouping = make_groups(data.raters, by)
    codes = label_codes(data).codes
    per_rating = grouping.code[data.rater_index][codes >= 0]
    personas = persona_table(crowd, rater, per_rating, grouping, {n: models[m] for m, n in enumerate(names[:-1])}, resampling)
    if not plain:
        return pd.DataFrame(), personas
    parts = None
    if resample == "crossed":
        parts = _group_rater_parts(crowd, rater, per_rating, grouping.n_groups, models[plain], (n_boot, seed))
    rows = []
    for j, m in enumerate(plain):
        per_item = dist.group_divergences(crowd, per_rating, grouping.n_groups, models[m])
        cmp = dist.compare_groups(per_item, n_boot, seed, level, None if parts is None else parts[:, j])
        for g, label in enumerate(grouping.labels):
            rows.append({"machine": names[m], "comparison": label, "jsd": cmp.divergence.estimate[g], "ci_low": cmp.divergence.low[g],
                         "ci_high": cmp.divergence.high[g], "closest": g == cmp.closest, "p_holm": None})  # fmt: skip
        for k, (a, b) in enumerate(cmp.pairs):
            rows.append({"machine": names[m], "comparison": f"{grouping.labels[a]} - {grouping.labels[b]}", "jsd": cmp.differences.estimate[k],
                         "ci_low": cmp.differences.low[k], "ci_high": cmp.differences.high[k], "closest": None,
                         "p_holm": float(cmp.p_holm[k])})  # fmt: skip
    return pd.DataFrame(rows).assign(grouping="+".join(by), generalises_over=RESAMPLE_SCHEMES[resample]), personas


def _pairs(
    per_item: dict[str, np.ndarray], resampling: tuple[int, int, float], jsd_parts: dict[str, np.ndarray] | None, resample: str
) -> pd.DataFrame:
    """Paired differences in mean JSD between every two machines (the same bootstrap items and rater multipliers for both)."""
    n_boot, seed, level = resampling
    rows = []
    for a, b in combinations(per_item, 2):
        both = np.isfinite(per_item[a]) & np.isfinite(per_item[b])
        est = dist.paired_difference(np.where(both, per_item[a], np.nan), np.where(both, per_item[b], np.nan), n_boot, seed, level)
        if jsd_parts is not None:
            est = dist.with_rater_part(est, (jsd_parts[a] - jsd_parts[b])[:, None], level)
        rows.append({"difference": f"{a} - {b}", "jsd": float(est.estimate[0]), "ci_low": float(est.low[0]), "ci_high": float(est.high[0]),
                     "p": float(est.p[0]) if est.p is not None else None, "n_items": int(both.sum())})  # fmt: skip
    return pd.DataFrame(rows).assign(generalises_over=RESAMPLE_SCHEMES[resample]) if rows else pd.DataFrame(rows)


def _curve_frame(curve: dist.KCurve, names: list[str]) -> pd.DataFrame:
    """The mean k curve (humans) and each machine's divergence to the same held-out raters, per k."""
    frame = pd.DataFrame({"k": curve.ks, "humans_jsd": np.nanmean(curve.human, axis=0)})
    for m, name in enumerate(names):
        frame[f"{name}_jsd"] = np.nanmean(curve.model[m], axis=0)  # type: ignore[index]
    return frame


@analysis("distribution")
def distribution_analysis(data: Annotations, machines: MachineRatings | None, settings: Any) -> DistributionResult:
    """The run's distribution analysis: its bootstrap, seed, level and first grouping."""
    if machines is None or not machines.distributions:
        raise InputError("the distribution analysis needs a machine rater with a label distribution (p_<label> columns)")
    groupings = settings.groupings_for(data.raters.columns) if data.has_raters else []
    groupings = [g for g in groupings if set(g) <= set(data.raters.columns)]
    return analyze_distribution(data, machines, by=groupings[0] if groupings else None, n_boot=settings.bootstrap,
                                seed=settings.seed, level=settings.level, resample=settings.resample)  # fmt: skip
