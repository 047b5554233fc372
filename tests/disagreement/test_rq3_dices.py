"""RQ3 on DICES-350 with a synthetic machine rater, checked against plain-loop computations."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from annalign.analyses.group_disagreement import REST, analyze_disagreement
from annalign.cli.disagreement import disagreement
from annalign.core.grouping import make_groups
from annalign.core.raters import format_persona_rater
from annalign.datasets.bundled import load_dataset
from annalign.stats.bootstrap import resample_indices

N_BOOT, N_PERM, N_SPLITS, SEED = 1000, 1000, 100, 0
#: Between the values of a group label in every output.
SEP = " × "


@pytest.fixture(scope="module")
def dices():
    return load_dataset("dices350")


@pytest.fixture(scope="module")
def machine(dices):
    """A synthetic LLM: a noisy plain rating, and discrete persona ratings that lean towards each group."""
    rng = np.random.default_rng(42)
    dense = dices.dense()
    groups = make_groups(dices.raters)
    overall = np.nanmean(dense, axis=1)
    baseline = np.clip(overall + rng.normal(0, 0.15, dices.n_items), 0, 1)
    personas = {}
    for j, label in enumerate(groups.labels):
        lean = overall + 0.5 * (np.nanmean(dense[:, groups.code == j], axis=1) - overall)
        personas[label] = np.clip(np.round(2 * (lean + rng.normal(0, 0.15, dices.n_items))) / 2, 0, 1)
    baseline[[3, 17]] = np.nan  # two refusals
    return baseline, personas


@pytest.fixture(scope="module")
def result(dices, machine):
    baseline, personas = machine
    return analyze_disagreement(dices, personas, baseline, n_boot=N_BOOT, n_perm=N_PERM, n_splits=N_SPLITS, seed=SEED)


def _group_means(dices) -> pd.DataFrame:
    """Plain pandas: mean rating per item and race|gender group, and per item over all raters."""
    long = dices.to_long()
    long["group"] = long["rater_race"].astype(str) + SEP + long["rater_gender"].astype(str)
    return long.pivot_table(index="item_id", columns="group", values="rating", aggfunc="mean").reindex(dices.item_ids)


def _reference_difference(dices, a: str, b: str) -> np.ndarray:
    long = dices.to_long()
    long["group"] = long["rater_race"].astype(str) + SEP + long["rater_gender"].astype(str)
    in_a = long["group"] == a
    in_b = ~in_a if b == REST else long["group"] == b
    mean_a = long[in_a].groupby("item_id")["rating"].mean().reindex(dices.item_ids)
    mean_b = long[in_b].groupby("item_id")["rating"].mean().reindex(dices.item_ids)
    return (mean_a - mean_b).to_numpy()


def _reference_auc(pred: np.ndarray, d: np.ndarray) -> float:
    pos, neg = pred[d > 0], pred[d < 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    total = 0.0
    for p in pos:
        for q in neg:
            total += 1.0 if p > q else 0.5 if p == q else 0.0
    return total / (len(pos) * len(neg))


def test_default_table_on_dices(result, dices, machine, capsys):
    baseline, personas = machine
    table = result.tables()
    pairs, preds = table["rq3_pairs"], table["rq3_predictions"]
    # 10 race x gender groups vs the rest, and men vs women within each of 5 races.
    assert len(pairs) == 15
    assert (pairs["comparison"] == "vs rest").sum() == 10 and (pairs["comparison"] == "within").sum() == 5
    within = pairs[pairs["comparison"] == "within"]
    assert all(a.endswith(SEP + "Man") and b.endswith(SEP + "Woman") and a.split(SEP)[0] == b.split(SEP)[0] for a, b in zip(within["a"], within["b"], strict=True))
    assert len(preds) == 30 and set(preds["kind"]) == {"persona", "baseline"}
    means = _group_means(dices)
    np.testing.assert_allclose(result.pairs[-1].difference, (means["White × Man"] - means["White × Woman"]).to_numpy())

    for pr in result.pairs:
        d_ref = _reference_difference(dices, pr.a, pr.b)
        np.testing.assert_allclose(pr.difference, d_ref, atol=1e-12)
        assert pr.mean_difference == pytest.approx(np.mean(d_ref))
        assert pr.threshold == pytest.approx(np.quantile(np.abs(d_ref), 0.75))
        clear = np.abs(d_ref) >= pr.threshold
        for q in pr.predictions:
            if q.kind == "persona":
                score_b = personas[pr.b] if pr.b != REST else None
                if score_b is None:  # rater-weighted mean of the other groups' persona scores
                    others = [lab for lab in personas if lab != pr.a]
                    weights = np.array([(dices.raters["rater_race"] + SEP + dices.raters["rater_gender"] == lab).sum() for lab in others])
                    score_b = np.column_stack([personas[lab] for lab in others]) @ weights / weights.sum()
                pred = personas[pr.a] - score_b
                center = 0.0
            else:
                pred = baseline
                center = np.nanmean(baseline)
            ok = np.isfinite(pred) & np.isfinite(d_ref)
            r_ref = stats.pearsonr(pred[ok], d_ref[ok]).statistic
            assert q.r == pytest.approx(r_ref, abs=1e-10)
            assert q.n_items == ok.sum()
            assert q.ci_low < q.r < q.ci_high
            assert 1 / (N_PERM + 1) <= q.p_value <= 1
            if np.isfinite(pr.noise_ceiling):
                assert q.r_over_ceiling == pytest.approx(q.r / pr.noise_ceiling)
            else:
                assert np.isnan(q.r_over_ceiling)
            sel = clear & ok & (d_ref != 0)
            x, y = pred[sel] - center, d_ref[sel]
            acc_ref = np.mean([0.5 if xi == 0 else float((xi > 0) == (yi > 0)) for xi, yi in zip(x, y, strict=True)])
            assert q.accuracy == pytest.approx(acc_ref)
            auc_ref = _reference_auc(x, y)
            assert (np.isnan(q.auc) and np.isnan(auc_ref)) or q.auc == pytest.approx(auc_ref)
            assert q.n_clear == sel.sum()

    with capsys.disabled():
        show = preds[["a", "b", "kind", "r", "ci_low", "ci_high", "p_value", "r_over_ceiling", "accuracy", "auc", "n_clear"]]
        print("\nRQ3 on DICES-350 (synthetic machine rater)\n")
        print(pairs[["a", "b", "n_raters_a", "n_raters_b", "mean_difference", "sd_difference", "reliability", "noise_ceiling", "threshold"]].round(3).to_string())
        print(show.round(3).to_string())


def test_bootstrap_and_permutation_match_loops(dices, machine):
    """Item-only: the interval equals a plain loop over the same item resamples; p agrees with a loop of permutations."""
    baseline, personas = machine
    result = analyze_disagreement(dices, personas, baseline, n_boot=N_BOOT, n_perm=N_PERM, seed=SEED, resample="items")
    assert result.settings["generalises_to"] == "items (conditional on these raters)"
    pr = next(p for p in result.pairs if p.comparison == "within" and p.a.startswith("Black"))
    q = next(x for x in pr.predictions if x.kind == "baseline")
    finite = np.isfinite(pr.difference)
    d, x = pr.difference[finite], baseline[finite]
    idx = resample_indices(len(d), N_BOOT, SEED)
    reps = []
    for row in idx:
        xs, ds = x[row], d[row]
        ok = np.isfinite(xs)
        reps.append(stats.pearsonr(xs[ok], ds[ok]).statistic)
    lo, hi = np.quantile(reps, [0.025, 0.975])
    assert q.ci_low == pytest.approx(lo, abs=1e-9) and q.ci_high == pytest.approx(hi, abs=1e-9)

    rng = np.random.default_rng(123)
    ok = np.isfinite(x)
    xv, dv = x[ok], d[ok]
    r_obs = abs(stats.pearsonr(xv, dv).statistic)
    hits = sum(abs(stats.pearsonr(xv[rng.permutation(len(xv))], dv).statistic) >= r_obs for _ in range(2000))
    p_loop = (1 + hits) / 2001
    se = np.sqrt(p_loop * (1 - p_loop) / N_PERM) + 1 / N_PERM
    assert abs(q.p_value - p_loop) < 4 * se


def _side_noise(dense: np.ndarray, members: np.ndarray, items: np.ndarray) -> float:
    """s2 x mean over items of 1 / n_i, by plain loops: s2 is the mean within-item variance (ddof 1) of rater-centred ratings."""
    part = dense[:, members]
    centred = part - np.nanmean(part, axis=0)
    within = [np.var(row[np.isfinite(row)], ddof=1) for row in centred if np.isfinite(row).sum() >= 2]
    inverse = [1 / np.isfinite(part[i]).sum() for i in items]
    return float(np.mean(within) * np.mean(inverse))


def test_reliability_matches_plain_loop(result, dices):
    """1 - (s2_A mean 1/n_A + s2_B mean 1/n_B) / var(d), recomputed with plain loops over dense ratings."""
    groups = make_groups(dices.raters)
    dense = dices.dense()
    for pr in result.pairs[:2] + result.pairs[-2:]:
        a = groups.labels.index(pr.a)
        in_a = np.flatnonzero(groups.code == a)
        in_b = np.flatnonzero(((groups.code >= 0) & (groups.code != a)) if pr.b == REST else groups.code == groups.labels.index(pr.b))
        items = np.flatnonzero(np.isfinite(pr.difference))
        noise = _side_noise(dense, in_a, items) + _side_noise(dense, in_b, items)
        rel = 1 - noise / np.var(pr.difference[items])
        assert pr.reliability == pytest.approx(rel, abs=1e-10)
        assert pr.split_half_r == pytest.approx(rel / (2 - rel), abs=1e-10)
        if pr.reliability > 0:
            assert pr.noise_ceiling == pytest.approx(np.sqrt(pr.reliability))
        assert pr.reliability_ci_low < pr.reliability < pr.reliability_ci_high


def test_all_pairs_explicit_pairs_and_no_predictor(dices):
    groups = make_groups(dices.raters)
    res = analyze_disagreement(dices, by=("rater_gender",), pairs="all", n_boot=50, n_perm=50, n_splits=10)
    assert [(p.a, p.b) for p in res.pairs] == [("Man", "Woman")]
    assert res.pairs[0].predictions == []
    res = analyze_disagreement(dices, pairs=[("White|Woman", "rest"), ("White × Man", "Black/African American|Woman")], n_boot=50, n_perm=50, n_splits=10)
    assert [(p.a, p.b) for p in res.pairs] == [("White × Woman", REST), ("White × Man", "Black/African American × Woman")]
    res = analyze_disagreement(dices, by=("rater_race",), pairs="all", n_boot=50, n_perm=50, n_splits=10)
    assert len(res.pairs) == len(list(combinations(range(5), 2)))
    assert res.to_dict()["persona_requests_per_model"] == 5 * 350
    assert make_groups(dices.raters).n_groups * 350 == 3500 == groups.n_groups * 350
    out = json.dumps(res.to_dict(), allow_nan=False)
    assert '"pairs"' in out


def test_persona_only_and_baseline_only(dices, machine):
    baseline, personas = machine
    only_p = analyze_disagreement(dices, personas, n_boot=50, n_perm=50, n_splits=10)
    assert {q.kind for p in only_p.pairs for q in p.predictions} == {"persona"}
    only_b = analyze_disagreement(dices, baseline={"plain": baseline}, n_boot=50, n_perm=50, n_splits=10)
    assert {(q.kind, q.predictor) for p in only_b.pairs for q in p.predictions} == {("baseline", "plain")}
    json.dumps(only_b.to_dict(), allow_nan=False)


def test_cli_writes_results_and_tables(tmp_path, dices, machine):
    baseline, personas = machine
    ids = dices.item_ids
    pd.DataFrame({"item_id": ids, "score": baseline, "rater": "synth"}).to_csv(tmp_path / "plain.csv", index=False)
    # A persona file written before issue 10, with labels spelled 'White|Man': still read.
    rows = [pd.DataFrame({"item_id": ids, "score": s, "rater": format_persona_rater("synth", lab.replace(SEP, "|"))}) for lab, s in personas.items()]
    pd.concat(rows).to_csv(tmp_path / "persona.csv", index=False)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        disagreement,
        ["--dataset", "dices350", "--ratings", str(tmp_path / "plain.csv"), "--persona-ratings", str(tmp_path / "persona.csv"),
         "--groups", "White|Man", "White|Woman", "--groups", "Multiracial|Woman", "rest",
         "--bootstrap", "100", "--permutations", "100", "--splits", "20", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert "10 groups x 350 items = 3,500 requests per model" in res.output
    results = json.loads((out / "results.json").read_text())
    rq3 = results["rq3"]
    assert [(p["a"], p["b"]) for p in rq3["pairs"]] == [("White × Man", "White × Woman"), ("Multiracial × Woman", "rest")]
    assert {(q["kind"], q["predictor"]) for q in rq3["pairs"][0]["predictions"]} == {("persona", "synth"), ("baseline", "synth")}
    for name in ("rq3_pairs", "rq3_predictions", "rq3_items"):
        assert (out / f"{name}.csv").exists()
    items = pd.read_csv(out / "rq3_items.csv")
    assert len(items) == 2 * 350 and "persona:synth" in items.columns
