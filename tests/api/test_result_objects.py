"""RQ1-RQ3 results: one protocol, frozen, intervals at any level from kept (or regenerated) replicates, tables, summaries."""

from __future__ import annotations

import dataclasses
import html
import re

import numpy as np
import pytest

import annalign
from annalign.analyses.base import Result
from annalign.stats.bootstrap import bootstrap_pearson


def test_every_result_follows_the_protocol(rq1, rq2, rq3):
    for result in (rq1, rq2, rq3):
        assert isinstance(result, Result)
        assert len(result.to_frame()) > 0
        assert "<table" in result._repr_html_() and html.escape(result.summary()[0]) in result._repr_html_()
        assert repr(result).startswith(f"<{type(result).__name__}: RQ") and "\n" not in repr(result)


@pytest.mark.parametrize(
    ("which", "field"),
    [("rq1", "level"), ("rq2", "notes"), ("rq3", "pairs")],
)
def test_results_are_frozen(request, which, field):
    result = request.getfixturevalue(which)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, field, None)


def test_machine_and_alt_results_are_frozen(rq1, rq3):
    machine = rq1.machines[0]
    for obj, field in ((machine, "r"), (machine.alt, "note"), (rq1.differences[0], "p_value"), (rq3.pairs[0], "reliability")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, field, 0.0)
    with pytest.raises(ValueError):  # the kept replicates are read-only
        machine.replicates[0] = 0.0


def test_rq1_interval_at_its_level_is_the_reported_one_and_other_levels_nest(rq1, ann, judges):
    for machine in rq1.machines:
        assert machine.confidence_interval(0.95) == (machine.ci_low, machine.ci_high)
        low90, high90 = machine.confidence_interval(0.90)
        assert machine.ci_low < low90 < high90 < machine.ci_high
        # the same numbers as a plain percentile of a fresh bootstrap with the same seed
        k = judges.names.index(machine.name)
        reps = bootstrap_pearson(judges.scores[:, k], ann.item_mean, 200, 0)[:, 0]
        assert np.allclose((low90, high90), np.quantile(reps, [0.05, 0.95]))
    difference = rq1.differences[0]
    assert difference.confidence_interval(0.95) == (difference.ci_low, difference.ci_high)
    table = rq1.confidence_interval(0.9)
    assert list(table["estimate"]) == ["r", "r", "difference"] and set(table["level"]) == {0.9}
    assert table["low"].iloc[0] == rq1[judges.names[0]].confidence_interval(0.9).low


def test_rq1_lookup_by_machine_name(rq1, judges):
    assert rq1[judges.names[1]].name == judges.names[1]
    with pytest.raises(KeyError, match="no machine rater 'gpt'"):
        rq1["gpt"]


def test_rq2_intervals_from_kept_replicates(rq2):
    same = rq2.confidence_interval(0.95)
    assert np.allclose(same["low"], rq2.per_group["ci_low"]) and np.allclose(same["high"], rq2.per_group["ci_high"])
    assert np.allclose(same["adjusted_low"], rq2.per_group["adjusted_ci_low"], equal_nan=True)
    assert np.allclose(same["reliability_low"], rq2.per_group["reliability_ci_low"], equal_nan=True)
    narrow = rq2.confidence_interval(0.9)
    assert (narrow["low"] >= same["low"] - 1e-12).all() and (narrow["high"] <= same["high"] + 1e-12).all()
    pairs = rq2.confidence_interval(0.95, of="pairs")
    assert np.allclose(pairs["low"], rq2.pairwise["ci_low"]) and np.allclose(pairs["high"], rq2.pairwise["ci_high"])
    with pytest.raises(annalign.InputError, match="'groups' or 'pairs'"):
        rq2.confidence_interval(0.9, of="items")


def test_rq3_intervals_regenerate_the_analysis_replicates(rq3):
    frame = rq3.to_frame()
    same = rq3.confidence_interval(0.95)
    assert len(same) == len(frame) > 0
    assert np.allclose(same["low"], frame["ci_low"]) and np.allclose(same["high"], frame["ci_high"])
    narrow = rq3.confidence_interval(0.9)
    assert (narrow["low"] >= same["low"] - 1e-12).all() and (narrow["high"] <= same["high"] + 1e-12).all()


def test_bad_levels_are_one_line_input_errors(rq1, rq2, rq3):
    for call in (lambda: rq1.machines[0].confidence_interval(95), lambda: rq2.confidence_interval(0), lambda: rq3.confidence_interval(True)):
        with pytest.raises(annalign.InputError, match="strictly between 0 and 1"):
            call()


def _numbers(line: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d+", line)]


def test_summaries_state_the_numbers_of_the_tables(rq1, rq2, rq3):
    machine = rq1.machines[0]
    line = next(x for x in rq1.summary() if x.startswith(f"  {machine.name}: r "))
    assert _numbers(line)[:4] == [round(machine.r, 3), round(machine.ci_low, 3), round(machine.ci_high, 3), round(machine.percentile, 1)]
    part = rq2.per_group[rq2.per_group["machine"] == machine.name].sort_values("r")
    line = next(x for x in rq2.summary() if x.startswith(f"  {machine.name}: lowest "))
    assert f"lowest {part['group'].iloc[0]} r {part['r'].iloc[0]:.3f}" in line and f"highest {part['group'].iloc[-1]} r {part['r'].iloc[-1]:.3f}" in line
    pair = rq3.pairs[0]
    assert f"  {pair.a} - {pair.b}: mean d {pair.mean_difference:.3f}" in rq3.summary()[1]


def test_tables_and_results_sections_keep_their_names(rq1, rq2, rq3):
    assert set(rq1.tables()) == {"rq1_humans", "rq1_machines", "rq1_machine_differences", "rq1_alt_test", "rq1_alt_test_epsilon"}
    assert {"groups", "per_group", "pairwise", "omnibus", "within_group", "variance_share", "rater_r"} == set(rq2.tables())
    assert set(rq3.tables()) == {"rq3_pairs", "rq3_predictions", "rq3_items"}
    assert set(rq1.to_dict()) == {"method", "measurement", "bootstrap", "human", "human_loo_median", "machines", "machine_differences"}
    assert rq3.tables()["rq3_predictions"].equals(rq3.to_frame())
