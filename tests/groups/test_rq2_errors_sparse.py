"""RQ2 input errors, missing attributes, small groups, and sparse data against plain loops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from annalign.analyses.group_alignment import analyze_groups
from annalign.core.grouping import make_groups
from annalign.core.machines import MachineRatings
from annalign.errors import InputError
from annalign.stats.multitest import benjamini_hochberg, holm


def machine_for(data, seed=0, noise=0.3):
    rng = np.random.default_rng(seed)
    return MachineRatings(names=["m"], scores=(data.item_mean + rng.normal(0, noise, data.n_items))[:, None], sources=["t"])


def test_unknown_column_names_it_and_lists_available(dices350):
    with pytest.raises(InputError, match=r"'rater_height' does not exist; available columns: rater_gender, rater_race"):
        make_groups(dices350.raters, "rater_race,rater_height")


def test_small_group_reported_and_left_out(dices350):
    with pytest.warns(UserWarning, match="Multiracial × Woman"):
        g = make_groups(dices350.raters, min_group_size=5)
    assert g.n_groups == 9
    assert g.excluded == [{"group": "Multiracial × Woman", "n_raters": 4, "reason": "fewer than 5 raters"}]
    with pytest.warns(UserWarning):
        res = analyze_groups(dices350, machine_for(dices350), min_group_size=5, n_boot=50, n_perm=20, power_items=None)
    assert res.to_dict()["excluded_groups"][0]["n_raters"] == 4
    assert "Multiracial × Woman" not in set(res.per_group["group"])
    with pytest.raises(InputError, match="leaves 0 group"), pytest.warns(UserWarning):
        make_groups(dices350.raters, min_group_size=100)


def test_missing_attribute_unknown_drop_error(dices350):
    raters = dices350.raters.copy()
    raters.loc[raters.index[:3], "rater_gender"] = np.nan
    raters.loc[raters.index[3], "rater_gender"] = " "
    with pytest.warns(UserWarning, match="missing for 4 raters; they form an 'unknown' group"):
        g = make_groups(raters, "rater_gender")
    assert g.labels == ["Man", "Woman", "unknown"] and g.sizes[2] == 4
    with pytest.warns(UserWarning, match="dropped"):
        g = make_groups(raters, "rater_gender", missing_attr="drop")
    assert g.labels == ["Man", "Woman"] and (g.code == -1).sum() == 4
    with pytest.raises(InputError, match="'rater_gender' is missing for 4 of 123 raters"):
        make_groups(raters, "rater_gender", missing_attr="error")


def test_holm_and_bh_against_plain_loops():
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = rng.uniform(0, 0.2, rng.integers(1, 15))
        m = len(p)
        order = sorted(range(m), key=lambda i: p[i])
        ref_holm, running = [0.0] * m, 0.0
        for rank, i in enumerate(order):
            running = max(running, min(1.0, (m - rank) * p[i]))
            ref_holm[i] = running
        ref_bh, running = [0.0] * m, 1.0
        for rank in range(m - 1, -1, -1):
            i = order[rank]
            running = min(running, p[i] * m / (rank + 1))
            ref_bh[i] = running
        np.testing.assert_allclose(holm(p), ref_holm, atol=1e-12)
        np.testing.assert_allclose(benjamini_hochberg(p), ref_bh, atol=1e-12)
    assert np.isnan(holm(np.array([0.01, np.nan, 0.02]))[1])


@pytest.fixture(scope="module")
def sparse(dices350):
    rng = np.random.default_rng(5)
    keep = rng.random(dices350.n_ratings) < 0.35
    from dataclasses import replace

    data = replace(dices350, item_index=dices350.item_index[keep], rater_index=dices350.rater_index[keep], values=dices350.values[keep])
    x = dices350.item_mean + rng.normal(0, 0.3, dices350.n_items)
    x[rng.random(350) < 0.05] = np.nan
    return data, MachineRatings(names=["m"], scores=x[:, None], sources=["t"])


def test_sparse_against_plain_loop(sparse):
    data, mach = sparse
    res = analyze_groups(data, mach, by="rater_race", n_boot=100, n_perm=50, power_items=(350,), power_sims=100)
    x = mach.scores[:, 0]
    frame = pd.DataFrame({"item": data.item_index, "rater": data.rater_index, "v": data.values})
    frame["race"] = data.raters["rater_race"].to_numpy()[frame["rater"]]
    for row in res.per_group.itertuples():
        means = np.full(data.n_items, np.nan)
        for item, part in frame[frame["race"] == row.group].groupby("item"):
            means[item] = part["v"].sum() / len(part)
        ok = np.isfinite(x) & np.isfinite(means)
        assert row.n_items == ok.sum() < 350
        assert row.r == pytest.approx(stats.pearsonr(x[ok], means[ok]).statistic, abs=1e-9)
        counts = frame[frame["race"] == row.group].groupby("item").size()
        assert row.raters_per_item == pytest.approx(len(counts) / (1 / counts).sum())
    rr = res.rater_r
    for j in (0, 7, 60):
        part = frame[frame["rater"] == j]
        xs = x[part["item"].to_numpy()]
        ok = np.isfinite(xs)
        got = rr.loc[rr["rater_id"] == data.rater_ids[j], "r"].iloc[0]
        assert got == pytest.approx(stats.pearsonr(xs[ok], part["v"].to_numpy()[ok]).statistic, abs=1e-9)
    assert res.per_group["reliability"].between(0, 1).all()
