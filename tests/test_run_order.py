"""run_analyses computes RQ3 before RQ2 (so RQ3's figures can be drawn meanwhile) yet gives the results and warnings of the reading order."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from tests.conftest import make_annotations, random_sparse

from annalign.analyses.alignment import analyze_rq1
from annalign.analyses.alt_test import AltTestConfig
from annalign.analyses.group_alignment import analyze_groups
from annalign.analyses.group_disagreement import analyze_disagreement
from annalign.config import Settings
from annalign.core.machines import MachineRatings
from annalign.errors import AnalysisWarning, warn
from annalign.pipeline.run import (
    collect_warnings,
    disagreement_config,
    group_alignment_config,
    held_warnings,
    replay_warnings,
    run_analyses,
)


def _data_and_machine():
    """24 raters in uneven groups (one too small, so RQ2 and RQ3 both warn), noisy ratings (RQ3 reliability warnings)."""
    dense = random_sparse(4, n_items=60, n_raters=24, density=0.8, levels=3)
    attrs = {"rater_gender": ["Man"] * 10 + ["Woman"] * 12 + ["Other"] * 2, "rater_race": (["A", "B"] * 12)}
    data = make_annotations(dense, attrs=attrs)
    rng = np.random.default_rng(9)
    score = np.clip(data.item_mean + rng.normal(0, 0.3, data.n_items), 0, 2)
    return data, MachineRatings(names=["m"], scores=score[:, None], sources=["test"])


SETTINGS = Settings(dataset="sim", bootstrap=200, permutations=100, power_items=[60], power_sims=50, alt_min_items=10,
                    groupings=[["rater_gender"]], min_group_size=3)  # fmt: skip


def _reading_order(data, machines, settings):
    """The analyses one after the other in the reading order RQ1, RQ2, RQ3 (how run_analyses ran before): (results, warnings)."""
    sink: list[str] = []
    with collect_warnings(sink):
        alt = AltTestConfig(epsilon=settings.alt_epsilon, scoring=settings.alt_scoring, min_items=settings.alt_min_items)
        rq1 = analyze_rq1(data, machines, method=settings.method, n_boot=settings.bootstrap, seed=settings.seed, level=settings.level, alt=alt)
        rq2 = analyze_groups(data, machines, ["rater_gender"], group_alignment_config(settings))
        rq3 = analyze_disagreement(data, None, {"m": machines.scores[:, 0]}, by=["rater_gender"], config=disagreement_config(settings))
    return (rq1, rq2, rq3), sink


def test_results_and_warnings_are_those_of_the_reading_order():
    data, machines = _data_and_machine()
    (rq1, rq2, rq3), expected = _reading_order(data, machines, SETTINGS)
    told: list[str] = []
    got: list[str] = []
    with collect_warnings(got):
        run = run_analyses(data, machines, SETTINGS, on_result=lambda name, _part: told.append(name))
    assert told == ["rq1", "rq3", "rq2:rater_gender"]
    assert any(w.startswith("RQ3 ") for w in expected) and any("left out of the group analyses" in w for w in expected)
    assert got == expected
    assert run.rq1.to_dict() == rq1.to_dict()
    assert run.rq2["rater_gender"].to_dict() == rq2.to_dict()
    assert run.rq3.to_dict() == rq3.to_dict()


def test_held_warnings_are_raised_later_in_the_order_asked():
    held: list[warnings.WarningMessage] = []
    sink: list[str] = []
    with collect_warnings(sink):
        warn("first")
        with held_warnings(held):
            warn("third")
        assert [str(w.message) for w in held] == ["third"]
        warn("second")
        replay_warnings(held)
    assert sink == ["first", "second", "third"]
    assert [w.category for w in held] == [AnalysisWarning]


def test_warnings_held_when_an_analysis_fails_are_still_raised():
    held: list[warnings.WarningMessage] = []
    sink: list[str] = []
    with collect_warnings(sink), pytest.raises(ValueError, match="boom"):
        try:
            with held_warnings(held):
                warn("before the failure")
                raise ValueError("boom")
        finally:
            replay_warnings(held)
    assert sink == ["before the failure"]
