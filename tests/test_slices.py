"""Item slices: per-slice r against scipy, multi-valued fields counted in each value, bad fields."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tests.conftest import make_annotations

from annalign.analyses.slices import analyze_slices, slice_members
from annalign.core.machines import MachineRatings
from annalign.errors import InputError


def _data(seed: int = 0, n_items: int = 60, n_raters: int = 8):
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=n_items)
    dense = truth[:, None] + rng.normal(size=(n_items, n_raters)) * rng.uniform(0.5, 1.5, n_raters)
    dense[rng.random(dense.shape) < 0.3] = np.nan
    data = make_annotations(dense)
    harm = np.array(
        ["Health,Misinformation", "Health", "Bias", "Misinformation,Bias"], dtype=object
    )[np.arange(n_items) % 4]
    level = np.array(["Low", "High", "Extreme"], dtype=object)[rng.integers(0, 3, n_items)]
    data.items["harm_type"] = harm
    data.items["degree_of_harm"] = level
    machine = truth + rng.normal(size=n_items) * 0.8
    return data, MachineRatings(names=["m"], scores=machine[:, None], sources=["sim"])


def test_per_slice_r_equals_scipy_pearsonr_on_the_slice_items() -> None:
    data, machines = _data()
    result = analyze_slices(data, machines, ["degree_of_harm"], n_boot=200, seed=1)
    human = np.nanmean(data.dense(), axis=1)
    for row in result.to_frame().itertuples():
        keep = data.items["degree_of_harm"].to_numpy() == row.slice
        assert row.n_items == keep.sum()
        assert row.r == pytest.approx(
            stats.pearsonr(machines.scores[keep, 0], human[keep])[0], abs=1e-10
        )
        assert row.ci_low < row.r < row.ci_high


def test_per_slice_human_reference_equals_a_plain_leave_one_out_loop() -> None:
    data, machines = _data(seed=3)
    result = analyze_slices(data, machines, ["degree_of_harm"], n_boot=50, seed=1)
    dense = data.dense()
    for row in result.to_frame().itertuples():
        keep = data.items["degree_of_harm"].to_numpy() == row.slice
        sub = dense[keep]
        loo = []
        for j in range(sub.shape[1]):
            others = np.delete(sub, j, axis=1)
            has = np.isfinite(sub[:, j]) & (np.isfinite(others).sum(axis=1) >= 1)
            if has.sum() >= 3:
                rest = np.nanmean(others[has], axis=1)
                if np.ptp(sub[has, j]) > 0 and np.ptp(rest) > 0:
                    loo.append(stats.pearsonr(sub[has, j], rest)[0])
        assert row.n_raters == len(loo)
        assert row.human_median_loo_r == pytest.approx(np.median(loo), abs=1e-10)
        assert row.percentile_among_humans == pytest.approx(stats.percentileofscore(loo, row.r, kind="mean"), abs=1e-9)


def test_rq2_per_slice_equals_group_alignment_on_the_slice_alone() -> None:
    from annalign.analyses.group_alignment import analyze_groups

    data, machines = _data(seed=4, n_items=90, n_raters=12)
    data.raters["side"] = np.where(np.arange(12) < 5, "a", "b")
    result = analyze_slices(data, machines, ["degree_of_harm"], n_boot=100, seed=2, groupings=["side"])
    assert len(result.groups) == 3 * 2 and "slices_groups" in result.tables()
    for label in ("Low", "High", "Extreme"):
        keep = data.items["degree_of_harm"].to_numpy() == label
        alone = analyze_groups(data.select_items(keep), MachineRatings(["m"], machines.scores[keep], ["sim"]), ["side"],
                               n_boot=100, seed=2, power_items=None).per_group  # fmt: skip
        got = result.groups[result.groups["slice"] == label]
        assert got["r"].tolist() == pytest.approx(alone["r"].tolist(), abs=1e-12)
        assert got["ci_low"].tolist() == pytest.approx(alone["ci_low"].tolist(), abs=1e-12)
        assert (got["generalises_to"] == "items and raters").all()
        human = np.nanmean(data.dense()[keep][:, :5], axis=1)
        assert got["r"].iloc[0] == pytest.approx(stats.pearsonr(machines.scores[keep, 0], human)[0], abs=1e-10)


def test_select_items_keeps_the_ratings_of_the_kept_items() -> None:
    data, _ = _data(seed=5)
    keep = np.arange(data.n_items) % 3 == 0
    sub = data.select_items(keep)
    assert np.array_equal(sub.dense(), data.dense()[keep], equal_nan=True)
    assert list(sub.item_ids) == list(data.item_ids[keep]) and sub.n_raters == data.n_raters


def test_multi_valued_harm_types_count_an_item_in_each_type() -> None:
    data, _ = _data()
    members = slice_members(data.items, "harm_type")
    expected: dict[str, set[int]] = {}
    for pos, value in enumerate(data.items["harm_type"]):
        for part in value.split(","):
            expected.setdefault(part, set()).add(pos)
    assert {k: set(v.tolist()) for k, v in members.items()} == expected


def test_single_valued_fields_are_not_split_and_small_slices_have_no_interval() -> None:
    data, machines = _data(n_items=12)
    data.items["kind"] = ["a b"] * 10 + ["c"] * 2
    frame = analyze_slices(data, machines, ["kind"], sep=" ", n_boot=100).to_frame()
    assert sorted(frame["slice"]) == ["a", "b", "c"]  # ' ' occurs, so split
    small = frame[frame["slice"] == "c"].iloc[0]
    assert small.n_items == 2 and np.isnan(small.ci_low) and small.note
    assert set(slice_members(pd.DataFrame({"f": ["x,y", "x"]}), "f", sep=";")) == {"x,y", "x"}


def test_an_unknown_field_is_a_one_line_error_naming_it_and_the_item_fields() -> None:
    data, machines = _data()
    with pytest.raises(InputError) as err:
        analyze_slices(data, machines, ["nope"])
    message = str(err.value)
    assert "\n" not in message and "'nope'" in message and "harm_type" in message


def test_top_gaps_are_the_largest_absolute_differences_in_the_slice() -> None:
    data, machines = _data()
    result = analyze_slices(data, machines, ["degree_of_harm"], n_boot=0)
    human = np.nanmean(data.dense(), axis=1)
    for label, group in result.gaps.groupby("slice"):
        keep = np.flatnonzero(data.items["degree_of_harm"].to_numpy() == label)
        gap = np.abs(machines.scores[keep, 0] - human[keep])
        assert sorted(group["gap"], reverse=True) == pytest.approx(np.sort(gap)[::-1][:5])
    three = result.largest_gaps(3)
    assert (three.groupby("slice").size() == 3).all()
    assert three["gap"].tolist() == result.gaps.groupby("slice", sort=False).head(3)["gap"].tolist()


def test_slices_run_from_the_command_line_into_results_and_report(capsys, tmp_path) -> None:
    import json

    from tests.clihelp import error_line, run_cli

    out_dir = tmp_path / "o"
    code, out, err = run_cli(capsys, "analyze", "--dataset", "dices350", "--ratings", "docs/data/dices350-judge-a.csv",
                             "--slice-by", "degree_of_harm", "--out", str(out_dir), "--bootstrap", "200")  # fmt: skip
    assert code == 0, err
    results = json.loads((out_dir / "results.json").read_text())
    rows = results["slices"]["slices"]
    assert {row["slice"] for row in rows} == {"Benign", "Debatable", "Moderate", "Extreme"}
    assert sum(row["n_items"] for row in rows) == 350
    assert all(row["n_raters"] > 100 and 0 < row["human_median_loo_r"] < 1 for row in rows)
    groups = pd.read_csv(out_dir / "slices_groups.csv")  # DICES's default grouping: RQ2 per slice
    assert set(groups["slice"]) == {"Benign", "Debatable", "Moderate", "Extreme"} and groups["ci_low"].notna().all()
    assert (
        "## slices" in (out_dir / "report.md").read_text()
        and (out_dir / "slices_gaps.csv").exists()
    )
    code, _, err = run_cli(capsys, "analyze", "--dataset", "dices350", "--ratings", "docs/data/dices350-judge-a.csv",
                           "--slice-by", "degre_of_harm", "--out", str(tmp_path / "p"), "--bootstrap", "20")  # fmt: skip
    line = error_line(err)
    assert code == 2 and "'degre_of_harm'" in line and "degree_of_harm" in line


@pytest.mark.slow
def test_slice_interval_covers_the_slice_r_on_unlimited_items() -> None:
    """Item-bootstrap 95% CI of an 80-item slice covers the population r of machine vs mean human in 93-97% of sims."""
    n_raters, n_sims, slice_n = 6, 600, 80
    rng = np.random.default_rng(12)
    skill = rng.uniform(0.5, 1.5, n_raters)  # rater heterogeneity

    def draw(n: int):
        truth = rng.normal(size=n)
        dense = truth[:, None] + rng.normal(size=(n, n_raters)) * skill
        dense[rng.random(dense.shape) < 0.25] = np.nan
        dense[np.isnan(dense).all(axis=1), 0] = truth[np.isnan(dense).all(axis=1)]
        return truth + rng.normal(size=n), dense

    big_m, big_h = draw(200_000)
    target = stats.pearsonr(big_m, np.nanmean(big_h, axis=1))[0]
    hits = 0
    for s in range(n_sims):
        machine, dense = draw(slice_n * 2)
        data = make_annotations(dense)
        data.items["part"] = ["in"] * slice_n + ["out"] * slice_n
        frame = analyze_slices(
            data, MachineRatings(["m"], machine[:, None], ["sim"]), ["part"], n_boot=400, seed=s
        ).to_frame()
        row = frame[frame["slice"] == "in"].iloc[0]
        hits += row.ci_low <= target <= row.ci_high
    assert 0.93 <= hits / n_sims <= 0.97, hits / n_sims


def test_confidence_interval_at_another_level_comes_from_the_kept_replicates() -> None:
    import annalign

    data = annalign.load("dices350")
    judge = annalign.load_machines("docs/data/dices350-judge-a.csv", data)
    result = annalign.slices(data, judge, by="degree_of_harm", resampling=400)
    at95 = result.confidence_interval(0.95)
    at80 = result.confidence_interval(0.80)
    assert np.allclose(at95["low"], result.table["ci_low"], equal_nan=True)
    big = at95["n_items"] >= 10
    assert ((at80["low"] >= at95["low"]) & (at80["high"] <= at95["high"]))[big].all()
    assert (at80["high"] - at80["low"])[big].lt((at95["high"] - at95["low"])[big]).all()
