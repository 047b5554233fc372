"""Nominal tasks: accuracy and kappa against plain loops, the leave-one-out human distribution, levels of measurement, polarity."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from tests.clihelp import error_line, run_cli
from tests.conftest import make_annotations

import annalign
from annalign.analyses.alignment import analyze_rq1
from annalign.analyses.categorical import analyze_categorical
from annalign.core.machines import MachineRatings
from annalign.core.ratingmap import RatingMap
from annalign.errors import AnalysisWarning, InputError
from annalign.stats.categorical import (
    CodedRatings,
    human_statistics,
    machine_statistics,
    machine_terms,
)


def cohen_kappa(a: list, b: list) -> float:
    """Cohen's kappa of two label lists, by the textbook formula (what scikit-learn's cohen_kappa_score computes)."""
    n = len(a)
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    p_e = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / n / n
    return (p_o - p_e) / (1 - p_e)


def soft_majority_loop(labels: list) -> dict:
    """The modal labels of a list, each with share 1/k for k tied modes."""
    counts = Counter(labels)
    top = max(counts.values())
    modes = [k for k, v in counts.items() if v == top]
    return {k: 1 / len(modes) for k in modes}


def nominal_panel(seed: int, n_items: int = 70, n_raters: int = 9, categories: int = 4, missing: float = 0.3) -> np.ndarray:
    """Items x raters labels 0..C-1: a true label per item, each rater right with their own probability, missing ratings."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, categories, n_items)
    skill = rng.uniform(0.3, 0.9, n_raters)
    right = rng.random((n_items, n_raters)) < skill
    labels = np.where(right, truth[:, None], rng.integers(0, categories, (n_items, n_raters))).astype(float)
    labels[rng.random((n_items, n_raters)) < missing] = np.nan
    return labels


def nominal(dense: np.ndarray):
    return replace(make_annotations(dense), rating_map=RatingMap(numeric=True, name="codes", level="nominal"))


def plain_statistics(candidate: dict, others: dict) -> dict:
    """The four statistics of a candidate {item: label} against {item: [other labels]}, by loops."""
    items = [i for i in candidate if others.get(i)]
    soft = {i: soft_majority_loop(others[i]) for i in items}
    acc_major = np.mean([soft[i].get(candidate[i], 0.0) for i in items])
    own = Counter(candidate[i] for i in items)
    major = Counter()
    for i in items:
        for k, v in soft[i].items():
            major[k] += v
    p_e = sum(own[k] * major[k] for k in set(own) | set(major)) / len(items) ** 2
    a = [candidate[i] for i in items for _ in others[i]]
    b = [x for i in items for x in others[i]]
    return {"accuracy_majority": acc_major, "kappa_majority": (acc_major - p_e) / (1 - p_e),
            "accuracy_pairs": np.mean([x == y for x, y in zip(a, b, strict=True)]), "kappa_pairs": cohen_kappa(a, b)}  # fmt: skip


def test_machine_statistics_equal_plain_loops_with_ties_and_missing_ratings() -> None:
    dense = nominal_panel(3)
    machine = nominal_panel(4, n_raters=1, missing=0.1)[:, 0]
    coded = CodedRatings.of(*np.nonzero(np.isfinite(dense)), dense[np.isfinite(dense)], *dense.shape)
    got = {k: float(v[0]) for k, v in machine_statistics(machine_terms(coded, coded.codes_of(machine))).items()}
    candidate = {i: machine[i] for i in range(len(machine)) if np.isfinite(machine[i])}
    others = {i: [x for x in dense[i] if np.isfinite(x)] for i in range(len(dense))}
    want = plain_statistics(candidate, others)
    assert any(len(soft_majority_loop(v)) > 1 for v in others.values() if v)  # the data have tied majorities
    for k in want:
        assert got[k] == pytest.approx(want[k], abs=1e-12), k


def test_kappa_against_the_majority_is_cohens_kappa_when_no_majority_is_tied() -> None:
    rng = np.random.default_rng(8)
    dense = (rng.random((120, 7)) < np.linspace(0.2, 0.8, 120)[:, None]).astype(float)  # 7 raters, 2 labels: no ties
    machine = (rng.random(120) < np.linspace(0.1, 0.9, 120)).astype(float)
    coded = CodedRatings.of(*np.nonzero(np.isfinite(dense)), dense.ravel(), *dense.shape)
    got = machine_statistics(machine_terms(coded, coded.codes_of(machine)))["kappa_majority"][0]
    majority = (dense.sum(axis=1) > 3.5).astype(float)
    assert got == pytest.approx(cohen_kappa(list(machine), list(majority)), abs=1e-12)


def test_each_humans_leave_one_out_statistics_equal_a_plain_loop() -> None:
    dense = nominal_panel(5, n_items=50, n_raters=7)
    coded = CodedRatings.of(*np.nonzero(np.isfinite(dense)), dense[np.isfinite(dense)], *dense.shape)
    got = human_statistics(coded)
    for j in range(dense.shape[1]):
        candidate = {i: dense[i, j] for i in range(len(dense)) if np.isfinite(dense[i, j])}
        others = {i: [dense[i, h] for h in range(dense.shape[1]) if h != j and np.isfinite(dense[i, h])] for i in candidate}
        want = plain_statistics(candidate, others)
        for k in want:
            assert got[k][j] == pytest.approx(want[k], abs=1e-12), (j, k)


def test_a_nominal_task_gets_agreement_with_intervals_and_the_humans_distribution() -> None:
    dense = nominal_panel(6, n_items=150, n_raters=10)
    data = nominal(dense)
    truthful = MachineRatings(["good"], np.nanmax(np.where(np.isnan(dense), -1, dense), axis=1)[:, None], ["sim"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        result = analyze_rq1(data, truthful, method="auto", n_boot=300, seed=1)
    assert result.measurement[0] == "nominal"
    cat = result.categorical
    m = cat.machines[0]
    lo, hi = m.intervals["kappa_majority"]
    assert lo < m.values["kappa_majority"] < hi
    assert cat.tables()["rq1_nominal_humans"].shape[0] == 10
    section = result.to_dict()
    assert section["categorical"]["machines"]["good"]["kappa_majority"] == pytest.approx(m.values["kappa_majority"])
    assert result.summary()[0].startswith("RQ1 agreement (nominal task")


def test_below_chance_agreement_warns_for_a_swapped_judge_and_not_for_a_sound_one() -> None:
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 2, 200).astype(float)
    dense = np.where(rng.random((200, 9)) < 0.8, truth[:, None], 1 - truth[:, None])
    data = nominal(dense)
    sound = np.where(rng.random(200) < 0.85, truth, 1 - truth)
    judges = MachineRatings(["sound", "swapped"], np.column_stack([sound, 1 - sound]), ["sim", "sim"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnalysisWarning)
        analyze_rq1(data, judges, method="auto", n_boot=200, seed=0)
    below = [str(w.message) for w in caught if "below chance" in str(w.message)]
    assert len(below) == 1 and "'swapped'" in below[0] and "kappa" in below[0]


def test_levels_are_declared_or_inferred_and_choose_the_correlation() -> None:
    assert annalign.load("dices350").level == "interval"
    likert = make_annotations(np.random.default_rng(0).integers(1, 6, (30, 5)).astype(float))
    assert likert.measurement[0] == "ordinal" and "whole-number" in likert.measurement[1]
    assert analyze_rq1(likert, method="auto", n_boot=10).method == "spearman"
    continuous = make_annotations(np.random.default_rng(0).normal(size=(30, 5)))
    assert continuous.level == "interval"
    assert RatingMap.parse("nominal:frame a,frame b,other").level == "nominal"
    assert RatingMap.parse("Low=0,Mid=1,High=2").with_level("interval").level == "interval"


def test_a_bad_level_gets_the_same_one_line_error_from_python_toml_and_cli(tmp_path, capsys) -> None:
    with pytest.raises(InputError, match="measurement"):
        annalign.load("dices350", measurement="categorical")
    config = tmp_path / "c.toml"
    config.write_text('measurement = "categorical"\n')
    code, _, err = run_cli(capsys, "analyze", "--config", str(config), "--out", str(tmp_path / "o"))
    assert code == 2 and "measurement" in error_line(err)
    code, _, err = run_cli(capsys, "analyze", "--measurement", "categorical", "--out", str(tmp_path / "o"))
    assert code == 2 and "--measurement" in error_line(err)
    bad_map = tmp_path / "map.json"
    bad_map.write_text(json.dumps({"level": "categorical", "A": 0, "B": 1}))
    with pytest.raises(InputError, match="key 'level'"):
        RatingMap.parse(str(bad_map))


def test_a_nominal_data_set_runs_end_to_end_from_a_long_table(tmp_path, capsys) -> None:
    dense = nominal_panel(9, n_items=60, n_raters=8, categories=3)
    names = np.array(["support", "oppose", "neutral"])
    rows = [{"item_id": f"i{i}", "rater_id": f"r{j}", "rating": names[int(dense[i, j])]}
            for i in range(60) for j in range(8) if np.isfinite(dense[i, j])]  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "frames.csv", index=False)
    machine = np.where(np.isfinite(dense[:, 0]), dense[:, 0], dense[:, 1])
    machine = np.where(np.isfinite(machine), machine, 0).astype(int)
    pd.DataFrame({"item_id": [f"i{i}" for i in range(60)], "label": names[machine]}).to_csv(tmp_path / "judge.csv", index=False)
    code, out, err = run_cli(capsys, "analyze", "--dataset", str(tmp_path / "frames.csv"), "--rating-map", "nominal:support,oppose,neutral",
                             "--ratings", str(tmp_path / "judge.csv"), "--bootstrap", "100", "--out", str(tmp_path / "o"))  # fmt: skip
    assert code == 0, err
    assert "RQ1 agreement (nominal task" in out
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["rq1"]["measurement"]["level"] == "nominal"
    assert "kappa_majority" in results["rq1"]["categorical"]["machines"]["judge"]
    assert (tmp_path / "o" / "rq1_nominal_machines.csv").exists()


def test_the_report_shows_the_nominal_agreement_table(tmp_path, capsys) -> None:
    test_a_nominal_data_set_runs_end_to_end_from_a_long_table(tmp_path, capsys)
    report = (tmp_path / "o" / "report.md").read_text()
    assert "Agreement on a nominal task" in report and "kappa vs majority" in report
    assert "The task is nominal" in report and "judge agrees with the human majority at kappa" in report


def _population(rng: np.random.Generator, n_items: int, skill: np.ndarray, machine_skill: float, missing: float):
    """Items with a true label out of 4 (unequal shares); raters of their own skill (fixed), missing ratings; a machine of its own skill."""
    truth = rng.choice(4, n_items, p=[0.4, 0.3, 0.2, 0.1])
    noise = rng.choice(4, (n_items, len(skill)), p=[0.25, 0.25, 0.25, 0.25])
    dense = np.where(rng.random((n_items, len(skill))) < skill, truth[:, None], noise).astype(float)
    dense[rng.random(dense.shape) < missing] = np.nan
    machine = np.where(rng.random(n_items) < machine_skill, truth, rng.choice(4, n_items)).astype(float)
    return dense, machine


@pytest.mark.slow
def test_the_item_bootstrap_intervals_of_kappa_and_accuracy_cover_the_truth() -> None:
    """Conditional on these raters (the interval's stated scope): the truth is the statistic over a very large item population."""
    rng = np.random.default_rng(2024)
    skill = rng.uniform(0.25, 0.85, 9)
    big, big_machine = _population(rng, 200_000, skill, 0.6, 0.35)
    coded = CodedRatings.of(*np.nonzero(np.isfinite(big)), big[np.isfinite(big)], *big.shape)
    truth = {k: float(v[0]) for k, v in machine_statistics(machine_terms(coded, coded.codes_of(big_machine))).items()}
    hits = {k: 0 for k in truth}
    sims = 400
    for s in range(sims):
        dense, machine = _population(rng, 120, skill, 0.6, 0.35)
        data = nominal(dense)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AnalysisWarning)
            result = analyze_categorical(data, MachineRatings(["m"], machine[:, None], ["sim"]), n_boot=400, seed=s, level=0.95)
        for k, (lo, hi) in result.machines[0].intervals.items():
            hits[k] += lo <= truth[k] <= hi
    coverage = {k: v / sims for k, v in hits.items()}
    print(coverage)
    assert all(0.925 <= c <= 0.975 for c in coverage.values()), coverage
