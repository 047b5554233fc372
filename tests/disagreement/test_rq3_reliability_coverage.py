"""RQ3's reliability interval covers the true reliability of d, through analyze_disagreement itself (issue 11).

Data: ``CrossedModel`` (raters who differ in loadings on the group truth and on a second item
dimension, leniency, 15% missing, 3-level ratings), two groups of 10 raters whose truths share 94%
of their signal: a reliability of d about 0.26, as DICES's pairs (0.05-0.26). The truth is
var(D) / E_raters[var(d)], D the difference of the groups' population mean ratings
(``population_difference_reliability``). 1,000 data sets per seed; Monte Carlo SE of a 95% rate
0.7 points, so the 93-97% band is about 3 SE wide on each side.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import pytest

from annalign.analyses.group_disagreement import analyze_disagreement
from annalign.testing.panels import CrossedModel, crossed_data, population_difference_reliability

N_SETS, N_BOOT = 1000, 500
MODEL = CrossedModel(sizes=(10, 10), share=0.94)


@lru_cache(maxsize=1)
def truth() -> float:
    return population_difference_reliability(MODEL)


def coverage(seed: int, resample: str, n_sets: int = N_SETS) -> float:
    """Share of simulated data sets whose 95% reliability interval covers the truth."""
    hits = 0
    for k in range(n_sets):
        data, _ = crossed_data(MODEL, np.random.default_rng([seed, k]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = analyze_disagreement(data, by="rater_group", pairs=[("g0", "g1")], n_boot=N_BOOT, n_perm=0,
                                       seed=seed * 10_000 + k, resample=resample)  # fmt: skip
        pair = res.pairs[0]
        hits += bool(pair.reliability_ci_low <= truth() <= pair.reliability_ci_high)
    return hits / n_sets


def test_the_truth_is_a_reliability_of_the_right_size():
    assert 0.2 < truth() < 0.32


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_crossed_reliability_interval_covers_the_truth(seed):
    assert 0.93 <= coverage(seed, "crossed") <= 0.97


@pytest.mark.slow
def test_item_only_interval_undercovers_which_is_why_crossed_is_the_default():
    assert coverage(3, "items", 300) < 0.85
