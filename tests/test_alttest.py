"""The alt-test against a hand-checked example, a plain-loop reference, and a false-pass simulation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats
from tests.conftest import make_annotations, random_sparse

from annalign.analyses.alt_test import alt_test
from annalign.core.ratingmap import RatingMap


def test_hand_checked_example():
    # items x raters A, B, C (categorical 0/1); the machine copies rater A.
    dense = np.array([[1, 1, 0], [0, 0, 0], [1, 0, 1], [0, 1, 1]], dtype=float)
    machine = np.array([1, 0, 1, 0], dtype=float)
    data = make_annotations(dense)
    object.__setattr__(data, "rating_map", __import__("annalign").RatingMap.parse("a=1,b=0"))
    res = alt_test(data, machine, epsilon=0.1, q=0.05, scoring="accuracy", min_items=2)
    per = res.per_rater.set_index("rater_id")
    # Rater A: identical to the machine -> every item a tie, d = 0, t = -inf, p = 0.
    assert per.loc["r0", "p_machine_wins"] == 1 and per.loc["r0", "p_human_wins"] == 1 and per.loc["r0", "p_value"] == 0
    # Raters B and C: the machine wins one item outright and ties three: d = (0, 0, -1, 0).
    p_bc = stats.t.cdf((-0.25 - 0.1) / (0.5 / 2), df=3)
    for r in ("r1", "r2"):
        assert per.loc[r, "p_human_wins"] == 0.75 and per.loc[r, "p_machine_wins"] == 1
        assert per.loc[r, "p_value"] == pytest.approx(p_bc, abs=1e-12)
    # BY with m = 3: c(3) = 11/6; only A's null is rejected.
    assert per.loc["r1", "p_adjusted"] == pytest.approx(p_bc * 11 / 6, abs=1e-12)
    assert per["machine_beats_rater"].tolist() == [True, False, False]
    assert res.winning_rate == pytest.approx(1 / 3) and res.rho == 1.0 and not res.passed


def reference_alt_test(dense, machine, eps, q, scoring, min_items):
    """The published procedure, written as a plain loop over raters and items."""
    n_items, n_raters = dense.shape
    pvals, rhos, raters = [], [], []
    for j in range(n_raters):
        wf, wh = [], []
        for i in range(n_items):
            if np.isnan(dense[i, j]) or np.isnan(machine[i]):
                continue
            rest = [dense[i, k] for k in range(n_raters) if k != j and not np.isnan(dense[i, k])]
            if not rest:
                continue
            if scoring == "accuracy":
                sf = np.mean([machine[i] == v for v in rest])
                sh = np.mean([dense[i, j] == v for v in rest])
            else:
                sf = -np.sqrt(np.mean([(machine[i] - v) ** 2 for v in rest]))
                sh = -np.sqrt(np.mean([(dense[i, j] - v) ** 2 for v in rest]))
            wf.append(float(sf >= sh - 1e-9))
            wh.append(float(sh >= sf - 1e-9))
        if len(wf) < min_items:
            continue
        d = np.array(wh) - np.array(wf)
        if d.std() == 0:
            p = 0.0 if d.mean() < eps else 1.0
        else:
            p = stats.ttest_1samp(d, eps, alternative="less").pvalue
        pvals.append(p)
        rhos.append(np.mean(wf))
        raters.append(j)
    adjusted = stats.false_discovery_control(pvals, method="by")
    return np.mean(adjusted <= q), np.mean(rhos), dict(zip(raters, pvals, strict=True))


@pytest.mark.parametrize("scoring", ["accuracy", "neg_rmse"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_plain_loop_on_sparse_data(scoring, seed):
    dense = random_sparse(seed, n_items=60, n_raters=9, density=0.7, levels=3)
    rng = np.random.default_rng(seed + 100)
    machine = np.clip(np.round(np.nanmean(dense, axis=1) + rng.normal(0, 0.4, 60)), 0, 2)
    machine[:4] = np.nan
    data = make_annotations(dense)
    res = alt_test(data, machine, epsilon=0.1, q=0.05, scoring=scoring, min_items=20)
    omega, rho, pvals = reference_alt_test(dense, machine, 0.1, 0.05, scoring, 20)
    assert res.winning_rate == pytest.approx(omega, abs=1e-12)
    assert res.rho == pytest.approx(rho, abs=1e-12)
    per = res.per_rater
    for j, p in pvals.items():
        assert per.loc[j, "p_value"] == pytest.approx(p, abs=1e-9)


def test_dices_scoring_is_the_data_sets_not_the_machines(dices350):
    """DICES is interval (its codes are averaged), so every machine is scored by negative RMSE unless accuracy is asked for."""
    machine = np.where(dices350.item_mean > 0.5, 1.0, np.where(dices350.item_mean > 0.3, 0.5, 0.0))
    assert alt_test(dices350, machine).scoring == "neg_rmse"
    res = alt_test(dices350, machine, scoring="accuracy")
    assert res.scoring == "accuracy" and res.n_raters_tested == 123
    assert 0 <= res.winning_rate <= 1 and 0 <= res.rho <= 1


def plain_alt_test_accuracy(dense: np.ndarray, machine: np.ndarray, epsilon: float, min_items: int) -> dict[int, tuple[float, float]]:
    """The authors' procedure by loops, accuracy scoring: per rater, (mean of W_h - W_f, P(W_f)) over the items they rated."""
    out = {}
    for j in range(dense.shape[1]):
        d, wf = [], []
        for i in range(dense.shape[0]):
            others = [dense[i, h] for h in range(dense.shape[1]) if h != j and np.isfinite(dense[i, h])]
            if not np.isfinite(dense[i, j]) or not others or not np.isfinite(machine[i]):
                continue
            s_h = np.mean([dense[i, j] == o for o in others])
            s_f = np.mean([machine[i] == o for o in others])
            d.append(float(s_h >= s_f) - float(s_f >= s_h))
            wf.append(float(s_f >= s_h))
        if len(d) >= min_items:
            out[j] = (float(np.mean(d)), float(np.mean(wf)))
    return out


def test_a_machine_label_no_human_used_is_scored_by_accuracy_on_a_nominal_task():
    """An off-vocabulary answer ("Ignore", coded 9 here) no longer flips the machine to RMSE on label codes: it matches no one."""
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 3, 80)
    dense = np.where(rng.random((80, 6)) < 0.7, truth[:, None], rng.integers(0, 3, (80, 6))).astype(float)
    dense[rng.random(dense.shape) < 0.2] = np.nan
    data = replace(make_annotations(dense), rating_map=RatingMap(numeric=True, name="codes", level="nominal"))
    machine = np.where(rng.random(80) < 0.8, truth, 9.0).astype(float)
    res = alt_test(data, machine, epsilon=0.1, min_items=30)
    assert res.scoring == "accuracy"
    want = plain_alt_test_accuracy(dense, machine, 0.1, 30)
    per = res.per_rater.set_index("rater_id")
    for j, (mean_d, p_f) in want.items():
        assert per.loc[f"r{j}", "mean_d"] == pytest.approx(mean_d, abs=1e-12)
        assert per.loc[f"r{j}", "p_machine_wins"] == pytest.approx(p_f, abs=1e-12)


@pytest.mark.slow
def test_false_pass_rate_of_a_worse_machine_is_controlled():
    """A machine noisier than every human must not pass (omega >= 0.5) in more than 5% of data sets."""
    rng = np.random.default_rng(7)
    n_sims, n_items, n_raters = 500, 60, 8
    passes, rejections, tests = 0, 0, 0
    for _ in range(n_sims):
        truth = rng.normal(size=n_items)
        dense = truth[:, None] + rng.normal(scale=0.5, size=(n_items, n_raters))
        machine = truth + rng.normal(scale=0.6, size=n_items)  # slightly worse than each human
        dense[rng.random(dense.shape) < 0.1] = np.nan
        res = alt_test(make_annotations(dense), machine, epsilon=0.0, scoring="neg_rmse", min_items=30)
        passes += res.passed
        rejections += int(res.per_rater["machine_beats_rater"].sum())
        tests += res.n_raters_tested
    assert passes / n_sims <= 0.05
    assert rejections / tests <= 0.05


def test_min_humans_leaves_out_items_with_fewer_ratings_as_if_they_were_not_there():
    dense = random_sparse(21, n_items=120, n_raters=10, density=0.35, levels=3)
    machine = np.nanmean(dense, axis=1) + np.random.default_rng(3).normal(0, 0.3, 120)
    counts = np.isfinite(dense).sum(axis=1)
    kept = counts >= 4
    got = alt_test(make_annotations(dense), machine, min_humans=4, min_items=5, scoring="neg_rmse")
    plain = alt_test(make_annotations(np.where(kept[:, None], dense, np.nan)), np.where(kept, machine, np.nan), min_items=5, scoring="neg_rmse")
    assert (counts < 4).any() and (counts >= 4).any()
    assert got.winning_rate == plain.winning_rate and got.rho == pytest.approx(plain.rho)
    assert got.per_rater["n_items"].tolist() == plain.per_rater["n_items"].tolist()


def test_alt_test_settings_reach_it_from_the_command_line_and_are_checked(capsys, tmp_path):
    import json

    from tests.clihelp import error_line, run_cli

    args = ["analyze", "--dataset", "dices350", "--ratings", "tests/fixtures/dices350-judge-b.csv", "--bootstrap", "20", "--by", "rater_gender"]
    code, _, err = run_cli(capsys, *args, "--alt-q", "0.2", "--alt-min-items", "40", "--alt-min-humans", "3", "--out", str(tmp_path / "o"))
    assert code == 0, err
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    alt = results["rq1"]["machines"]["dices350-judge-b"]["alt_test"]
    assert alt["q"] == 0.2 and results["settings"]["alt_min_humans"] == 3 and results["settings"]["alt_min_items"] == 40
    code, _, err = run_cli(capsys, *args, "--alt-q", "1.5", "--out", str(tmp_path / "p"))
    assert code == 2 and "--alt-q" in error_line(err)


def _exchangeable_panel(rng: np.random.Generator, n_items: int, n_raters: int, ordinal: bool) -> tuple[np.ndarray, np.ndarray]:
    """Humans and a machine drawn from one rater process: item truth and item-specific noise, ratings missing at random.

    The machine is exchangeable with every human, so E[W_h - W_f] = 0 for each rater: with epsilon 0 each
    rater's null holds with equality (the boundary), where a correct one-sided test rejects at its level.
    """
    truth = rng.normal(size=n_items)
    noise = rng.gamma(4.0, 0.15, size=n_items)  # items differ in how much raters disagree
    panel = truth[:, None] + noise[:, None] * rng.standard_normal((n_items, n_raters + 1))
    if ordinal:
        panel = np.clip(np.round(panel + 2), 0, 4)
    dense, machine = panel[:, :n_raters], panel[:, n_raters].copy()
    dense[rng.random(dense.shape) < 0.15] = np.nan
    machine[rng.random(n_items) < 0.05] = np.nan
    return dense, machine


@pytest.mark.parametrize("scoring", ["neg_rmse", "accuracy"])
def test_each_raters_test_rejects_at_its_level_at_the_null_boundary(scoring):
    """At the boundary (a machine exchangeable with the humans, epsilon 0) the unadjusted per-rater p-values reject
    in about 5% of tests (two-sided bound, so a test that is too liberal or too conservative fails), and the machine
    passes the alt-test (BY, omega >= 0.5) in at most 5% of data sets."""
    rng = np.random.default_rng(2025)
    rejected = tested = passes = 0
    n_sims = 400
    for _ in range(n_sims):
        dense, machine = _exchangeable_panel(rng, 70, 6, ordinal=scoring == "accuracy")
        data = make_annotations(dense)
        if scoring == "accuracy":
            data = replace(data, rating_map=RatingMap(numeric=True, name="codes", level="ordinal"))
        res = alt_test(data, machine, epsilon=0.0, scoring=scoring, min_items=30)
        per = res.per_rater[res.per_rater["tested"]]
        rejected += int((per["p_value"] <= 0.05).sum())
        tested += len(per)
        passes += res.passed
    rate = rejected / tested
    # t-tests of discrete differences at n about 60; 2,400 correlated tests: SE about 0.006
    assert 0.03 <= rate <= 0.07, rate
    assert passes / n_sims <= 0.05


def test_epsilon_curve_matches_separate_runs_and_includes_the_runs_own():
    dense = random_sparse(5, n_items=90, n_raters=8, density=0.8, levels=5)
    machine = np.nanmean(dense, axis=1) + np.random.default_rng(9).normal(0, 0.5, 90)
    data = make_annotations(dense)
    res = alt_test(data, machine, epsilon=0.12, scoring="neg_rmse", min_items=30)
    curve = res.epsilon_curve.set_index("epsilon")
    assert 0.12 in curve.index and 0.0 in curve.index and 0.3 in curve.index
    for eps, row in curve.iterrows():
        alone = alt_test(data, machine, epsilon=float(eps), scoring="neg_rmse", min_items=30)
        assert row["winning_rate"] == alone.winning_rate and row["passed"] == alone.passed
    assert curve.loc[0.12, "winning_rate"] == res.winning_rate
    assert curve["winning_rate"].is_monotonic_increasing
    assert [p["epsilon"] for p in res.to_dict()["epsilon_curve"]] == list(curve.index)


def test_default_epsilon_is_the_authors():
    import annalign
    from annalign.analyses.alt_test import AltTestConfig
    from annalign.config import Settings

    assert AltTestConfig().epsilon == annalign.AltTestOptions().epsilon == Settings().alt_epsilon == 0.2


def test_wilcoxon_fallback_matches_scipy_per_rater_and_joins_the_fdr_set():
    rng = np.random.default_rng(11)
    dense = random_sparse(12, n_items=50, n_raters=9, density=0.9, levels=3)
    dense[20:, :4] = np.nan  # raters 0-3 rate only 20 items (under min_items 30); one rates 3
    dense[3:, 0] = np.nan
    machine = np.clip(np.round(np.nanmean(dense, axis=1) + rng.normal(0, 0.3, 50)), 0, 2)
    data = make_annotations(dense)
    plain = alt_test(data, machine, epsilon=0.1, scoring="neg_rmse", min_items=30)
    res = alt_test(data, machine, epsilon=0.1, scoring="neg_rmse", min_items=30, fallback="wilcoxon")
    per = res.per_rater
    assert plain.n_raters_tested == 5 and res.n_raters_tested == 8 and res.n_raters_fallback == 3
    assert per["test"].tolist() == ["none", "wilcoxon", "wilcoxon", "wilcoxon", "t", "t", "t", "t", "t"]
    # the plain computation: each fallback rater's d, by loops, through scipy's Wilcoxon signed-rank test
    for j in (1, 2, 3):
        d = []
        for i in range(50):
            if np.isnan(dense[i, j]):
                continue
            rest = [dense[i, k] for k in range(9) if k != j and not np.isnan(dense[i, k])]
            s_f = -np.sqrt(np.mean([(machine[i] - v) ** 2 for v in rest]))
            s_h = -np.sqrt(np.mean([(dense[i, j] - v) ** 2 for v in rest]))
            d.append(float(s_h >= s_f - 1e-9) - float(s_f >= s_h - 1e-9))
        want = stats.wilcoxon(np.array(d) - 0.1, alternative="less").pvalue
        assert per.loc[j, "p_value"] == pytest.approx(want, abs=1e-12)
    tested = per["tested"].to_numpy()
    assert np.allclose(per.loc[tested, "p_adjusted"], stats.false_discovery_control(per.loc[tested, "p_value"], method="by"))
    assert res.winning_rate == pytest.approx(per["machine_beats_rater"].sum() / 8)


def test_a_user_scorer_gives_the_built_in_results():
    dense = random_sparse(3, n_items=70, n_raters=7, density=0.75, levels=3)
    machine = np.clip(np.round(np.nanmean(dense, axis=1) + np.random.default_rng(1).normal(0, 0.5, 70)), 0, 2)
    data = make_annotations(dense)

    def agreement(prediction, others):
        return float(np.mean([prediction == o for o in others]))

    def closeness(prediction, others):
        return -float(np.sqrt(np.mean([(prediction - o) ** 2 for o in others])))

    for scorer, built_in in ((agreement, "accuracy"), (closeness, "neg_rmse")):
        got = alt_test(data, machine, scoring=scorer, min_items=30)
        want = alt_test(data, machine, scoring=built_in, min_items=30)
        assert got.scoring == f"custom:{scorer.__name__}"
        assert got.winning_rate == want.winning_rate and got.rho == pytest.approx(want.rho, abs=1e-12)
        assert np.allclose(got.per_rater["p_value"], want.per_rater["p_value"], atol=1e-12, equal_nan=True)


def test_a_user_scorer_that_returns_no_number_is_a_one_line_error():
    from annalign.errors import InputError

    data = make_annotations(random_sparse(3, n_items=10, n_raters=4, density=1.0, levels=3))
    with pytest.raises(InputError, match="custom:<lambda> returned 'high'"):
        alt_test(data, np.zeros(10), scoring=lambda p, o: "high", min_items=5)


def test_a_constant_machine_gets_a_result_with_a_warning(dices350):
    """Always "Yes" (unsafe) beats no DICES rater; always "No", the majority label, beats most on accuracy: both are results."""
    import annalign

    scores = np.column_stack([np.ones(dices350.n_items), np.zeros(dices350.n_items)])
    machines = annalign.MachineRatings(["always-yes", "always-no"], scores, ["test", "test"])
    with pytest.warns(UserWarning, match="gives every item the same answer"):
        results = annalign.alt_test(dices350, machines, annalign.AltTestOptions(scoring="accuracy"))
    yes, no = results["always-yes"], results["always-no"]
    assert yes.winning_rate < 0.5 and yes.n_raters_tested == 123 and not yes.passed
    assert any("same answer (1)" in w for w in yes.warnings) and "same answer" in yes.to_dict()["note"]
    assert no.winning_rate > 0.5 and any("same answer (0)" in w for w in no.warnings)


@pytest.mark.parametrize("scoring", ["accuracy", "neg_rmse"])
def test_a_constant_machine_equals_the_plain_loop_and_beats_no_one_with_a_rare_label(scoring):
    dense = random_sparse(8, n_items=80, n_raters=7, density=0.8, levels=3)
    dense = np.where(dense == 2, 1.0, dense)  # label 2 is now rare (never used): a constant 2 matches no one
    dense[:3, 0] = 2.0
    machine = np.full(80, 2.0)
    res = alt_test(make_annotations(dense), machine, epsilon=0.2, scoring=scoring, min_items=30)
    omega, rho, pvals = reference_alt_test(dense, machine, 0.2, 0.05, scoring, 30)
    assert res.winning_rate == omega == 0.0 and res.rho == pytest.approx(rho, abs=1e-12)
    for j, p in pvals.items():
        assert res.per_rater.loc[j, "p_value"] == pytest.approx(p, abs=1e-9)


def test_alttest_command_scores_a_constant_machine_file(capsys, tmp_path, dices350):
    import json

    import pandas as pd
    from tests.clihelp import run_cli

    path = tmp_path / "always-yes.csv"
    pd.DataFrame({"item_id": dices350.item_ids, "label": "Yes"}).to_csv(path, index=False)
    code, out, err = run_cli(capsys, "alttest", "--ratings", str(path), "--alt-scoring", "accuracy", "--out", str(tmp_path / "o"))
    assert code == 0, err
    body = json.loads((tmp_path / "o" / "alt_test.json").read_text())
    rate = body["machines"]["always-yes"]["winning_rate"]
    assert "gives every item the same answer (1)" in err and f"always-yes: winning rate {rate:.3f}" in out
    assert 0 <= rate < 0.5 and any("same answer" in w for w in body["warnings"])
    curve = pd.read_csv(tmp_path / "o" / "alt_test_epsilon.csv")
    assert set(curve["machine"]) == {"always-yes"} and 0.2 in set(curve["epsilon"])


def test_fallback_and_epsilon_reach_the_alt_test_from_cli_and_python_and_are_checked(capsys, tmp_path):
    import json

    from tests.clihelp import error_line, run_cli

    import annalign
    from annalign.errors import InputError

    args = ["alttest", "--ratings", "tests/fixtures/dices350-judge-b.csv"]
    code, _, err = run_cli(capsys, *args, "--alt-fallback", "wilcoxon", "--alt-epsilon", "0.1", "--alt-min-items", "400", "--out", str(tmp_path / "o"))
    assert code == 0, err
    alt = json.loads((tmp_path / "o" / "alt_test.json").read_text())["machines"]["dices350-judge-b"]
    assert alt["fallback"] == "wilcoxon" and alt["epsilon"] == 0.1 and alt["n_raters_fallback"] == alt["n_raters_tested"] == 123
    code, _, err = run_cli(capsys, *args, "--alt-fallback", "sign")
    assert code == 2 and "--alt-fallback" in error_line(err)
    with pytest.raises(InputError, match="fallback"):
        annalign.AltTestOptions(fallback="sign")
    with pytest.raises(InputError, match="scoring"):
        annalign.AltTestOptions(scoring="f1")


def test_report_table_shows_each_machines_epsilon_curve(dices350):
    import annalign
    from annalign.report.sections.alignment import epsilon_table

    judge = annalign.load_machines("tests/fixtures/dices350-judge-b.csv", dices350)
    rq1 = annalign.alignment(dices350, judge, resampling=50, alt_test=annalign.AltTestOptions(epsilon=0.12, scoring="accuracy"))
    table = epsilon_table(rq1)
    curve = rq1.machines[0].alt.epsilon_curve
    assert table.columns[1:] == [f"eps {e:.2f}" + (" (this run)" if e == 0.12 else "") for e in curve["epsilon"]]
    assert table.rows[0][1:] == [f"{w:.2f}" for w in curve["winning_rate"]]
    assert curve["winning_rate"].nunique() > 1  # a curve that moves, so a misplaced column shows
    passing = curve.loc[curve["passed"], "epsilon"]
    assert (f"from epsilon {passing.min():.2f} up" if len(passing) else "at no epsilon") in table.reading
