"""Distributional intervals under DICES-like crowds, through ``analyze_distribution`` (what the CLI and run call).

The crowds come from annalign.testing.panels.CrossedModel: per-rater loadings on the group truth and
on a second item dimension, rater leniency, 3 ordered labels, 15% missing ratings, group truths that
share a chosen fraction of their signal, equal or unequal group sizes. The machine states a fixed
ordered-probit distribution of its own score. The target of a crossed interval is the expected mean
divergence over new items *and new raters* of the same group sizes (which includes the finite-crowd
noise that makes a 4-rater group look farther than a 19-rater one); it is estimated from 3,000
fresh sets. Bands: 95% +- 3 Monte Carlo SE of the number of sets.

Measured (250 replicates per set; coverage of crowd JSD, group A, group B, A - B): heterogeneous 10 vs 10,
1,000 sets: 0.944, 0.946, 0.948, 0.957; groups sharing 60% of their signal, 500 sets: 0.956, 0.948,
0.940, 0.944; 4 vs 19 raters, 500 sets: 0.950, 0.946, 0.958, 0.972. Item-only intervals on the first
scenario (200 sets): 0.745, 0.690, 0.660, 0.525. Persona raters against their own group (4, 10 and 19
raters, 60% shared signal, personas with systematic offsets; 16 intervals: per group and over all groups
the persona, the baseline and both contrasts), 250 sets: 0.916-0.968, mean 0.942 (400 more sets on
another stream: 0.927-0.975); item-only, 60 sets: 0.40-0.92. The whole file takes about 11 minutes on 2 cores.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
from scipy.special import ndtr

from annalign.analyses.distribution import analyze_distribution
from annalign.core.annotations import Annotations
from annalign.core.labelcodes import crowd_of
from annalign.core.machines import MachineRatings
from annalign.stats import distributional as D
from annalign.testing.panels import CUTS, CrossedModel, crossed_data

pytestmark = pytest.mark.slow

N_TRUTH = 3000
#: Replicates per set: enough for a 95% percentile interval, few enough for 2,000 sets in a few minutes.
N_BOOT = 250


def with_distribution(machines: MachineRatings) -> MachineRatings:
    """The simulated machine with an ordered-probit distribution over (Yes, Unsure, No) around 0.7 x its score."""
    latent = 0.7 * machines.scores[:, 0] + 0.2
    p_no, p_yes = ndtr(CUTS[0] - latent), 1 - ndtr(CUTS[1] - latent)
    shares = np.column_stack([p_yes, 1 - p_no - p_yes, p_no])
    return replace(machines, distributions={"machine": shares}, distribution_labels=("Yes", "Unsure", "No"))


def _direct(data: Annotations, shares: np.ndarray, n_groups: int) -> np.ndarray:
    """(1 + groups,) mean JSD of the machine to the whole crowd and to each group, computed directly."""
    crowd, _ = crowd_of(data)
    usable = crowd.sizes >= 2
    overall = np.nanmean(D.jensen_shannon(shares[usable], crowd.distributions[usable]))
    group = data.raters["rater_group"].str[1:].astype(int).to_numpy()[data.rater_index]
    per_group = D.group_distributions(crowd, group, n_groups)
    return np.array([overall, *(np.nanmean(D.jensen_shannon(shares[usable], g[usable])) for g in per_group)])


def truth(model: CrossedModel, stream: int) -> np.ndarray:
    """The expected mean JSD (crowd, then each group) over fresh items and raters of the model."""
    rows = []
    for k in range(N_TRUTH):
        data, machines = crossed_data(model, np.random.default_rng([stream, 10_000 + k]))
        rows.append(_direct(data, with_distribution(machines).distributions["machine"], len(model.sizes)))
    return np.mean(rows, axis=0)


def coverage(model: CrossedModel, n_sets: int, stream: int, resample: str = "crossed") -> np.ndarray:
    """Share of sets whose interval covers the truth: crowd JSD, each group's JSD, the first pair's difference."""
    target = truth(model, stream)
    target = np.append(target, target[1] - target[2])
    covered = np.zeros((n_sets, len(target)), dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(n_sets):
            data, machines = crossed_data(model, np.random.default_rng([stream, k]))
            res = analyze_distribution(data, with_distribution(machines), by=["rater_group"], n_boot=N_BOOT, seed=k, resample=resample)
            jsd = res.machines.query("machine == 'machine' and statistic == 'jsd'").iloc[0]
            rows = res.groups.query("machine == 'machine'")
            low = np.array([jsd["ci_low"], *rows["ci_low"].iloc[: len(model.sizes) + 1]])
            high = np.array([jsd["ci_high"], *rows["ci_high"].iloc[: len(model.sizes) + 1]])
            covered[k] = (low <= target) & (target <= high)
    return covered.mean(axis=0)


def _band(n_sets: int) -> tuple[float, float]:
    se = np.sqrt(0.95 * 0.05 / n_sets)
    return 0.95 - 3 * se, 0.95 + 3 * se


@pytest.mark.parametrize(
    ("model", "n_sets", "stream"),
    [
        (CrossedModel(sizes=(10, 10)), 1000, 1),
        (CrossedModel(sizes=(10, 10), share=0.6), 500, 2),
        (CrossedModel(sizes=(4, 19)), 500, 3),
    ],
    ids=["heterogeneous", "groups-see-different-things", "unequal-sizes"],
)
def test_crossed_intervals_cover_the_divergence_over_new_items_and_raters(model, n_sets, stream):
    got = coverage(model, n_sets, stream)
    print(f"{model.sizes} share {model.share}: crossed coverage crowd, groups, difference = {got.round(3)}")
    low, high = _band(n_sets)
    assert ((got >= low) & (got <= high)).all()


def test_item_only_intervals_do_not_generalise_to_new_raters():
    """The same scenario with the raters fixed: intervals too narrow for a claim about the groups."""
    got = coverage(CrossedModel(sizes=(10, 10)), 200, 1, resample="items")
    print(f"(10, 10) items only: coverage crowd, groups, difference = {got.round(3)}")
    assert (got[1:3] < 0.85).all()


# ----- persona raters against their own group (annalign.analyses.distribution_personas) -------------------------------
#: Each persona's offset on the machine's latent score (personas of g0, g1, g2; the baseline has none), and the
#: per-item noise each persona and the baseline add: personas that differ systematically, so which of them is
#: closest to a group's shares depends on which raters the group happens to have.
PERSONA_OFFSETS, PERSONA_NOISE = (0.5, -0.3, 0.2), 0.4
PERSONA_SETS, PERSONA_ITEM_ONLY_SETS, PERSONA_TRUTH = 250, 60, 2000


def _stated(score: np.ndarray) -> np.ndarray:
    """The ordered-probit distribution over (Yes, Unsure, No) a machine states for a latent score."""
    latent = 0.7 * score + 0.2
    p_no, p_yes = ndtr(CUTS[0] - latent), 1 - ndtr(CUTS[1] - latent)
    return np.column_stack([p_yes, 1 - p_no - p_yes, p_no])


def with_personas(machines: MachineRatings, rng: np.random.Generator) -> MachineRatings:
    """The simulated machine as a baseline rater and one persona rater per group (its offset plus per-item noise)."""
    x = machines.scores[:, 0]
    shares = {"machine": _stated(x + PERSONA_NOISE * rng.standard_normal(len(x)))}
    for g, offset in enumerate(PERSONA_OFFSETS):
        shares[f"machine|persona=g{g}"] = _stated(x + offset + PERSONA_NOISE * rng.standard_normal(len(x)))
    names = list(shares)
    return MachineRatings(names, np.column_stack([x] * len(names)), ["simulated"] * len(names), distributions=shares,
                          distribution_labels=("Yes", "Unsure", "No"))  # fmt: skip


def _direct_personas(data: Annotations, shares: dict[str, np.ndarray]) -> np.ndarray:
    """Per group, then over all groups: mean JSD of the persona, of the baseline, their difference, persona minus other personas."""
    crowd, _ = crowd_of(data)
    group = data.raters["rater_group"].str[1:].astype(int).to_numpy()[data.rater_index]
    per_group = D.group_distributions(crowd, group, len(PERSONA_OFFSETS))
    per_item = []
    for g, target in enumerate(per_group):
        jsd = [D.jensen_shannon(shares[f"machine|persona=g{h}"], target) for h in range(len(PERSONA_OFFSETS))]
        base = D.jensen_shannon(shares["machine"], target)
        others = np.mean([j for h, j in enumerate(jsd) if h != g], axis=0)
        per_item.append(np.column_stack([jsd[g], base, jsd[g] - base, jsd[g] - others]))
    stacked = np.array(per_item)  # (groups, items, 4)
    return np.concatenate([*np.nanmean(stacked, axis=1), np.nanmean(np.nanmean(stacked, axis=0), axis=0)])


def persona_coverage(model: CrossedModel, n_sets: int, stream: int, resample: str) -> np.ndarray:
    """Share of sets whose personas-table intervals cover the expected value over new items and raters."""
    truths = []
    for k in range(PERSONA_TRUTH):
        rng = np.random.default_rng([stream, 10_000 + k])
        data, machines = crossed_data(model, rng)
        truths.append(_direct_personas(data, with_personas(machines, rng).distributions))
    target = np.mean(truths, axis=0)
    covered = np.zeros((n_sets, len(target)), dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(n_sets):
            rng = np.random.default_rng([stream, k])
            data, machines = crossed_data(model, rng)
            res = analyze_distribution(data, with_personas(machines, rng), by=["rater_group"], n_boot=N_BOOT, seed=k, resample=resample)
            table = res.personas
            covered[k] = (table["ci_low"].to_numpy() <= target) & (target <= table["ci_high"].to_numpy())
    return covered.mean(axis=0)


def test_persona_intervals_cover_over_new_items_and_raters_and_item_only_ones_do_not():
    """4, 10 and 19 raters per group, groups sharing 60% of their signal: the persona, baseline and both contrasts per group
    and over all groups (16 intervals) cover at 95%; with the raters held fixed they do not."""
    model = CrossedModel(sizes=(4, 10, 19), share=0.6)
    got = persona_coverage(model, PERSONA_SETS, 5, "crossed")
    items = persona_coverage(model, PERSONA_ITEM_ONLY_SETS, 5, "items")
    print(f"persona coverage, crossed: {got.round(3)}; items only: {items.round(3)}")
    low, high = _band(PERSONA_SETS)
    assert ((got >= low) & (got <= high)).all() and 0.93 <= got.mean() <= 0.97
    assert items.mean() < 0.85
