"""RQ2 on DICES-350 with a synthetic machine rater: exact per-group r, group sizes, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from annalign.analyses.group_alignment import analyze_groups
from annalign.core.grouping import make_groups
from annalign.core.operators import group_means
from annalign.datasets.machine_files import load_machine_ratings
from annalign.stats.bootstrap import bootstrap_many, resample_indices

SIZES = {
    ("Asian/Asian subcontinent", "Man"): 16,
    ("Asian/Asian subcontinent", "Woman"): 10,
    ("Black/African American", "Man"): 12,
    ("Black/African American", "Woman"): 17,
    ("LatinX, Latino, Hispanic or Spanish Origin", "Man"): 10,
    ("LatinX, Latino, Hispanic or Spanish Origin", "Woman"): 12,
    ("Multiracial", "Man"): 12,
    ("Multiracial", "Woman"): 4,
    ("White", "Man"): 11,
    ("White", "Woman"): 19,
}


@pytest.fixture(scope="module")
def machines(dices350, tmp_path_factory):
    rng = np.random.default_rng(7)
    path = tmp_path_factory.mktemp("rq2") / "mach.csv"
    score = dices350.item_mean + rng.normal(0, 0.25, dices350.n_items)
    score[:5] = np.nan  # a few unrated items
    pd.DataFrame({"item_id": dices350.item_ids, "score": score}).to_csv(path, index=False)
    with pytest.warns(UserWarning):
        return load_machine_ratings([path], dices350)


@pytest.fixture(scope="module")
def result(dices350, machines):
    return analyze_groups(dices350, machines, n_boot=300, n_perm=200, power_items=(350, 1000), power_raters=(5,), power_sims=200, seed=1)


def test_group_sizes(dices350, result):
    got = {(row.rater_race, row.rater_gender): row.n_raters for row in result.groups.itertuples()}
    assert got == SIZES
    assert len(result.groups) == 10
    assert "Black/African American × Woman" in set(result.groups["group"])


def test_per_group_r_matches_scipy(dices350, machines, result):
    x = machines.scores[:, 0]
    for row in result.per_group.itertuples():
        raters = dices350.raters
        keep = ((raters["rater_race"] == row.rater_race) & (raters["rater_gender"] == row.rater_gender)).to_numpy()
        dense = dices350.dense()[:, keep]
        mean = np.nanmean(dense, axis=1)
        ok = np.isfinite(x) & np.isfinite(mean)
        assert row.r == pytest.approx(stats.pearsonr(x[ok], mean[ok]).statistic, abs=1e-9)
        assert row.n_items == ok.sum()
        assert row.ci_low < row.r < row.ci_high
        assert 0 < row.reliability < 1
        assert row.adjusted_r == pytest.approx(row.r / np.sqrt(row.reliability), abs=1e-12)


def test_shared_replicates_match_scipy_on_resampled_items(dices350, machines):
    """Group r replicates equal scipy's pearsonr on the explicitly resampled items of each replicate."""
    grouping = make_groups(dices350.raters)
    y, _ = group_means(dices350, grouping.code, grouping.n_groups)
    x = np.repeat(machines.scores, grouping.n_groups, axis=1)
    (mine,) = bootstrap_many([(x, y)], dices350.n_items, 40, 3)
    idx = resample_indices(dices350.n_items, 40, 3)
    for b in range(40):
        for g in range(grouping.n_groups):
            xs, ys = x[idx[b], g], y[idx[b], g]
            keep = np.isfinite(xs) & np.isfinite(ys)
            assert mine[b, g] == pytest.approx(stats.pearsonr(xs[keep], ys[keep]).statistic, abs=1e-9)


def test_pairwise_and_adjustments(result):
    pw = result.pairwise
    assert len(pw) == 45
    row = pw.iloc[0]
    per = result.per_group.set_index("group")
    assert row["diff"] == pytest.approx(per.loc[row.group_a, "r"] - per.loc[row.group_b, "r"])
    assert (pw["p_perm_holm"] >= pw["p_perm"] - 1e-15).all()
    assert (pw["p_perm_bh"] <= pw["p_perm_holm"] + 1e-15).all()
    assert pw[["p_perm", "p_boot", "p_adjusted", "p_delta"]].notna().all().all()
    assert len(result.omnibus) == 1 and 0 < result.omnibus["p_perm"].iloc[0] <= 1


def test_outputs_are_json_safe(result, tmp_path):
    text = json.dumps(result.to_dict(), allow_nan=False)
    back = json.loads(text)
    assert {"per_group", "pairwise", "omnibus", "power", "within_group", "variance_share"} <= set(back)
    tables = result.tables()
    assert {"per_group", "pairwise", "power", "power_items_needed", "within_group", "rater_r"} <= set(tables)
    assert set(result.power["raters_per_group"].astype(str)) == {"observed", "5"}
    from annalign.report.figures import new_figure, plot_power, save_png

    fig = new_figure(7.2, 3.8)
    plot_power(result, ax=fig.add_subplot())
    assert save_png(fig, tmp_path / "power.png").stat().st_size > 1000


def test_within_group_variation(dices350, machines, result):
    rr = result.rater_r
    x = machines.scores[:, 0]
    dense = dices350.dense()
    for j in (0, 50, 100):
        ok = np.isfinite(x) & np.isfinite(dense[:, j])
        expected = stats.pearsonr(x[ok], dense[ok, j]).statistic if np.ptp(dense[ok, j]) > 0 else np.nan
        got = rr.loc[rr["rater_id"] == dices350.rater_ids[j], "r"].iloc[0]
        assert (np.isnan(expected) and np.isnan(got)) or got == pytest.approx(expected, abs=1e-9)
    wg = result.within_group
    assert ((wg["min_r"] <= wg["mean_r"]) & (wg["mean_r"] <= wg["max_r"])).all()
    assert (wg["sampling_sd"] > 0).all()
    share = result.variance_share.iloc[0]
    assert 0 <= share["between_share"] <= 1 and 0 < share["p_perm"] <= 1


def test_cli_writes_results(dices350, machines, tmp_path):
    from click.testing import CliRunner

    from annalign.cli.groups import groups

    rng = np.random.default_rng(1)
    path = tmp_path / "m.csv"
    pd.DataFrame({"item_id": dices350.item_ids, "score": dices350.item_mean + rng.normal(0, 0.3, 350)}).to_csv(path, index=False)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        groups,
        ["--ratings", str(path), "--out", str(out), "--bootstrap", "100", "--permutations", "50", "--power-items", "350,700", "--power-sims", "50"],
    )
    assert res.exit_code == 0, res.output
    data = json.loads((out / "results.json").read_text())
    assert len(data["rq2"]["per_group"]) == 10
    assert (out / "rq2_pairwise.csv").exists() and (out / "rq2_power_m.png").exists()


def test_equivalence_bound_is_the_larger_end_of_the_tost_interval_of_the_adjusted_difference():
    """TOST at alpha 0.05 excludes every disparity beyond the 90% interval: read the bound off confidence_interval(0.9)."""
    import annalign

    data = annalign.load("dices350")
    machines = annalign.load_machines(str(Path(__file__).parents[1] / "fixtures" / "dices350-judge-a.csv"), data)
    res = analyze_groups(data, machines, n_boot=400, n_perm=0, power_items=None, noise_boot=0)
    ci90 = res.confidence_interval(0.9, of="pairs")
    expected = np.maximum(ci90["adjusted_low"].abs(), ci90["adjusted_high"].abs())
    assert np.allclose(res.pairwise["equivalence_bound"], expected, equal_nan=True)
    assert (res.pairwise["equivalence_bound"] >= res.pairwise["diff_adjusted"].abs() - 1e-12).all()


def test_sampling_baseline_is_the_replicates_within_group_variance_not_the_mean_rater_variance():
    """Raters of a group share items, so their replicate errors correlate: the baseline is below the mean of their variances."""
    import annalign
    from annalign.stats.crossed import sampling_variance

    rng = np.random.default_rng(0)
    reps, r = rng.standard_normal((300, 5)) + rng.standard_normal((300, 1)), rng.standard_normal(5)
    loop = np.mean([np.var(reps[b] - r, ddof=1) for b in range(300)])
    assert sampling_variance(reps, r) == pytest.approx(loop)

    data = annalign.load("dices350")
    machines = annalign.load_machines(str(Path(__file__).parents[1] / "fixtures" / "dices350-judge-a.csv"), data)
    res = analyze_groups(data, machines, n_boot=50, n_perm=0, power_items=None, noise_boot=400)
    per_rater = res.rater_r.groupby("group")["sampling_sd"].apply(lambda s: float(np.mean(s**2)))
    baseline = res.within_group.set_index("group")["sampling_sd"] ** 2
    ratio = baseline / per_rater[baseline.index]
    print("baseline / mean per-rater sampling variance by group:", ratio.round(2).to_dict())
    assert (ratio < 1).all() and ratio.median() < 0.95
