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
