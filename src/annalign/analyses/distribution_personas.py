"""Persona distributions against their own group's: does "answer as a member of G" move a model toward G's raters?

A persona rater ``MODEL|persona=G`` (annalign.core.raters) is MODEL asked to answer as a member of
group G. For each model and each group G of the grouping that has a persona, as the mean over items
of the Jensen-Shannon divergence (bits, base 2) to G's raters' label shares:

- ``persona``: the persona's divergence to its own group;
- ``baseline``: the model's own without a persona (the rater named MODEL, or for annalign's own
  ``MODEL/TEMPLATE-persona`` raters ``MODEL/TEMPLATE``, where it has a distribution);
- ``persona - baseline``: below 0 where the persona brings the model closer to its group;
- ``persona - other personas``: the persona's divergence to G minus the mean of the model's other
  personas' divergences to G; below 0 where the persona fits its own group better than the other
  groups' personas fit it. Both terms are measured against the same shares, so what a group's size
  does to a divergence (fewer raters, noisier shares, a larger divergence) cancels, which comparing a
  persona's divergence to its own group with its divergence to other groups would not do.

The row ``all groups`` averages each statistic over the groups with a persona (per item, equal
weights). p-values of the differences are bootstrap p-values (null 0), Holm-adjusted over the groups
within each model and contrast (the ``all groups`` row is one test and keeps its own p). Under the
crossed scheme every interval resamples items and each group's raters (the rater part of
annalign.stats.distributional_raters, computed for every statistic, the differences included, from
the same half-samples), so it generalises to the group's population of raters; ``resample="items"``
keeps the raters fixed.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from annalign.analyses.base import fmt
from annalign.core.grouping import Grouping
from annalign.core.raters import baseline_names, parse_persona_rater
from annalign.errors import warn
from annalign.stats import distributional as dist
from annalign.stats import distributional_raters as raters
from annalign.stats.bootstrap import bootstrap_p
from annalign.stats.crossed import RESAMPLE_SCHEMES
from annalign.stats.multitest import holm

#: The statistics of each (model, group), in the order of the per-cell statistic's last axis.
STATISTICS = ("persona", "baseline", "persona - baseline", "persona - other personas")
#: Which of them are differences (tested, Holm over groups).
DIFFERENCES = (False, False, True, True)
ALL_GROUPS = "all groups"


@dataclass(frozen=True, eq=False)
class PersonaModel:
    """One model's persona distributions per group (NaN where a group has none) and its baseline distribution."""

    model: str
    #: (n_groups, n_items, n_labels)
    personas: np.ndarray
    #: the persona rater's name per group (None: no persona for that group)
    names: tuple[str | None, ...]
    #: (n_items, n_labels), or None where the model has no plain rater with a distribution
    baseline: np.ndarray | None
    baseline_name: str | None = None

    @property
    def has(self) -> np.ndarray:
        """Which groups have a persona."""
        return np.array([n is not None for n in self.names])


def persona_models(distributions: Mapping[str, np.ndarray], grouping: Grouping) -> list[PersonaModel]:
    """The persona raters among ``distributions`` by model, keyed by the grouping's groups; other labels are warned about."""
    labels = grouping.labels
    found: dict[str, dict[int, str]] = {}
    unknown: dict[str, list[str]] = {}
    for name in distributions:
        parsed = parse_persona_rater(name)
        if parsed is None:
            continue
        model, label = parsed
        g = grouping.find(label)
        if g >= 0:
            found.setdefault(model, {})[g] = name
        else:
            unknown.setdefault(model, []).append(label)
    for model, bad in unknown.items():
        warn(f"distribution: persona raters of {model!r} for labels that are not groups of this grouping are left out: {', '.join(sorted(bad))}")
    out = []
    for model, per_group in found.items():
        shape = next(iter(distributions.values())).shape
        personas = np.full((len(labels), *shape), np.nan)
        for g, name in per_group.items():
            personas[g] = distributions[name]
        names = tuple(per_group.get(g) for g in range(len(labels)))
        baseline = next((n for n in baseline_names(model) if n in distributions), None)
        out.append(PersonaModel(model, personas, names, None if baseline is None else distributions[baseline], baseline))
    return out


def persona_statistics(model: PersonaModel, shares: np.ndarray, cell: np.ndarray, n_items: int) -> np.ndarray:
    """(..., cells, STATISTICS) of each cell's label shares (a cell is group x n_items + item; shares (..., cells, labels))."""
    group, item = cell // n_items, cell % n_items
    own = dist.jensen_shannon(model.personas[group, item], shares)
    nan = np.full(own.shape, np.nan)
    base = dist.jensen_shannon(model.baseline[item], shares) if model.baseline is not None else nan
    total, count = np.zeros(own.shape), np.zeros(own.shape)
    for h in np.flatnonzero(model.has):  # groups are few; each is one vectorised pass over replicates and cells
        jsd = dist.jensen_shannon(model.personas[h, item], shares)
        use = (group != h) & np.isfinite(jsd)
        total += np.where(use, jsd, 0.0)
        count += use
    with np.errstate(invalid="ignore", divide="ignore"):
        others = np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan)
    return np.stack([own, base, own - base, own - others], axis=-1)


def persona_table(
    crowd: dist.Crowd, rater: np.ndarray, per_rating: np.ndarray, grouping: Grouping, distributions: Mapping[str, np.ndarray],
    resampling: tuple[int, int, float, str],
) -> pd.DataFrame:
    """The persona rows (see the module docstring) of every model with persona raters; empty when there are none."""
    n_boot, seed, level, resample = resampling
    models = persona_models(distributions, grouping)
    if not models:
        return pd.DataFrame()
    labels = grouping.labels
    n_groups, n_items, width = len(labels), crowd.n_items, len(STATISTICS)
    cells = np.arange(n_groups * n_items)
    shares = dist.group_distributions(crowd, per_rating, n_groups).reshape(n_groups * n_items, crowd.n_labels)
    parts = None
    if resample == "crossed":
        rated = raters.group_cells(crowd.item_index, crowd.codes, rater, per_rating, n_groups, n_items, crowd.n_labels)

        def statistic(q: np.ndarray, cell: np.ndarray) -> np.ndarray:
            return np.concatenate([persona_statistics(m, q, cell, n_items) for m in models], axis=-1)

        parts = raters.rater_parts(rated, statistic, n_boot, seed, width * len(models))  # (n_boot, groups, statistics)
    rows = []
    for k, model in enumerate(models):
        values = persona_statistics(model, shares, cells, n_items).reshape(n_groups, n_items, width)
        groups = np.flatnonzero(model.has)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an item no group with a persona rated: NaN, left out of the mean
            overall = np.nanmean(values[groups], axis=0)
        columns = np.concatenate([*(values[g] for g in groups), overall], axis=1)
        est = dist.mean_ci(columns, n_boot, seed, level)
        if parts is not None:
            mine = parts[:, :, k * width : (k + 1) * width]
            part = np.concatenate([*(mine[:, g] for g in groups), mine[:, groups].mean(axis=1)], axis=1)
            est = dist.with_rater_part(est, part, level)
        p = bootstrap_p(est.replicates)
        rows += _rows(model, [*(labels[g] for g in groups), ALL_GROUPS], est, p, np.isfinite(columns).sum(axis=0))
    frame = pd.DataFrame(rows)
    for (_, statistic), part in frame.groupby(["model", "statistic"], sort=False):
        tested = part[part["group"] != ALL_GROUPS]
        if DIFFERENCES[STATISTICS.index(statistic)] and len(tested):
            frame.loc[tested.index, "p_holm"] = holm(tested["p"].to_numpy(dtype=float))
    return frame.assign(generalises_over=RESAMPLE_SCHEMES[resample])


def _rows(model: PersonaModel, groups: list[str], est: dist.Estimate, p: np.ndarray, n_items: np.ndarray) -> list[dict[str, object]]:
    """One row per group and statistic from the estimate's columns (group-major, STATISTICS within)."""
    rows = []
    for j, group in enumerate(groups):
        for s, statistic in enumerate(STATISTICS):
            c = j * len(STATISTICS) + s
            if "baseline" in statistic and model.baseline is None:
                continue
            persona = model.names[model.has.nonzero()[0][j]] if group != ALL_GROUPS else None
            rows.append({"model": model.model, "group": group, "statistic": statistic, "persona_rater": persona,
                         "baseline_rater": model.baseline_name if "baseline" in statistic else None,
                         "jsd": float(est.estimate[c]), "ci_low": float(est.low[c]), "ci_high": float(est.high[c]),
                         "p": float(p[c]) if DIFFERENCES[s] else None, "p_holm": None, "n_items": int(n_items[c])})  # fmt: skip
    return rows


def persona_summary(frame: pd.DataFrame) -> list[str]:
    """One line per model: the persona effects over all groups, and in how many groups each is significant (Holm 0.05)."""
    lines = []
    for model, part in frame.groupby("model", sort=False) if len(frame) else ():
        said = []
        for statistic in STATISTICS[2:]:
            rows = part[part["statistic"] == statistic]
            if not len(rows):
                continue
            overall = rows[rows["group"] == ALL_GROUPS].iloc[0]
            by_group = rows[rows["group"] != ALL_GROUPS]
            below = int(((by_group["p_holm"].astype(float) < 0.05) & (by_group["jsd"] < 0)).sum())
            said.append(f"{statistic} {fmt(overall['jsd'])} [{fmt(overall['ci_low'])}, {fmt(overall['ci_high'])}] "
                        f"(below 0 in {below} of {len(by_group)} groups, Holm 0.05)")  # fmt: skip
        lines.append(f"  personas of {model}, JSD to their own group over all groups: {'; '.join(said)}")
    return lines
