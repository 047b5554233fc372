"""Distributional alignment end to end: p_<label> machine files, the analysis equal to direct statistics, CLI and report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from tests.clihelp import error_line, run_cli

import annalign
from annalign.errors import InputError
from annalign.stats import distributional as D

FIXTURE = Path(__file__).parent / "fixtures" / "dices350-judge-dist.csv"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "judge.csv"
    path.write_text(text)
    return path


def test_p_columns_load_as_a_distribution_and_its_expected_score(dices350):
    machines = annalign.load_machines(FIXTURE, dices350)
    frame = pd.read_csv(FIXTURE)
    shares = frame[["p_yes", "p_unsure", "p_no"]].to_numpy()
    shares = shares / shares.sum(axis=1, keepdims=True)
    got = machines.distributions["dices350-judge-dist"]
    order = pd.Index(dices350.item_ids).get_indexer(frame["item_id"].astype(str))
    assert machines.distribution_labels == ("Yes", "Unsure", "No")
    assert np.allclose(got[order], shares, atol=1e-12)
    # the score is the expected value under the DICES map, Yes = 1, Unsure = 0.5, No = 0
    assert np.allclose(machines.scores[order, 0], shares[:, 0] + 0.5 * shares[:, 1], atol=1e-12)
    kept = machines.select(["dices350-judge-dist"])
    assert kept.distributions["dices350-judge-dist"] is not None and kept.distribution_labels == machines.distribution_labels


def test_shares_that_do_not_sum_to_one_are_normalised_with_a_warning(tmp_path, dices350):
    rows = "item_id,P_Yes,p_UNSURE,p_no\n" + "".join(f"{i},2,1,{1 + k % 2}\n" for k, i in enumerate(dices350.item_ids[:20]))
    with pytest.warns(UserWarning, match=r"shares of 20 row\(s\) do not sum to 1 \(row 2: 4\)"):
        machines = annalign.load_machines(_write(tmp_path, rows), dices350)
    assert np.allclose(machines.distributions["judge"][:20:2], [0.5, 0.25, 0.25])
    assert np.allclose(machines.distributions["judge"][1:20:2], [0.4, 0.2, 0.4])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("item_id,p_yes,p_unsure,p_no\n1,0.5,0.6,-0.1\n", "row 2: a share is negative"),
        ("item_id,p_yes,p_unsure,p_no\n1,0.5,,0.5\n", "row 2: some p_ columns are blank and others not"),
        ("item_id,p_yes,p_unsure,p_no\n1,0,0,0\n", "row 2: the shares sum to 0"),
        ("item_id,p_yes,p_unsure,p_no\n1,half,0.2,0.3\n", "row 2, column 'p_yes': 'half' is not a number"),
        ("item_id,p_yes,p_maybe,p_no\n1,0.5,0.2,0.3\n", "column 'p_maybe': 'maybe' is not a label of data set dices350"),
        ("item_id,p_yes,p_no\n1,0.5,0.5\n", "none for label 'Unsure'"),
    ],
)
def test_bad_shares_are_one_line_errors_naming_the_file_and_row_or_column(tmp_path, dices350, body, message):
    with pytest.raises(InputError, match="judge.csv") as info:
        annalign.load_machines(_write(tmp_path, body), dices350)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_the_analysis_equals_direct_statistics_and_scipy(dices350):
    from annalign.core.labelcodes import crowd_of

    machines = annalign.load_machines(FIXTURE, dices350)
    result = annalign.distribution(dices350, machines, by="rater_gender", resampling=300, seed=4)
    crowd, coded = crowd_of(dices350)
    human, model = crowd.distributions, machines.distributions["dices350-judge-dist"]
    jsd = np.array([jensenshannon(model[i], human[i], base=2) ** 2 for i in range(dices350.n_items)])
    judge = result.machines[result.machines["machine"] == "dices350-judge-dist"]
    row = judge.set_index("statistic")
    assert row.loc["jsd", "value"] == pytest.approx(jsd.mean(), abs=1e-12)
    ref = result.machines[result.machines["machine"] == "reference: overall label shares"].set_index("statistic")
    overall = crowd.counts.sum(axis=0) / crowd.counts.sum()
    assert ref.loc["jsd", "value"] == pytest.approx(np.mean([jensenshannon(overall, h, base=2) ** 2 for h in human]), abs=1e-12)
    assert row.loc["jsd", "ci_high"] < ref.loc["jsd", "value"] and row.loc["k_star", "value"] > ref.loc["k_star", "value"]
    assert row.loc["tv", "value"] == pytest.approx(0.5 * np.abs(model - human).sum(axis=1).mean(), abs=1e-12)
    direct = D.mean_ci(D.log_loss(human, model), 300, 4)
    items_only = annalign.distribution(dices350, machines, resampling=annalign.Resampling(n_boot=300, resample="items"), seed=4)
    conditional = items_only.machines.query("machine == 'dices350-judge-dist'").set_index("statistic")
    assert conditional.loc["log_loss", "ci_low"] == pytest.approx(direct.low[0])
    assert row.loc["log_loss", "value"] == pytest.approx(direct.estimate[0])
    # the crossed interval adds the raters' part to the same item replicates: wider, about the same point
    assert row.loc["log_loss", "ci_low"] < direct.low[0] and row.loc["log_loss", "ci_high"] > direct.high[0]
    ceiling = D.split_half(crowd, 50, 4).ceiling
    assert row.loc["ceiling_jsd", "value"] == pytest.approx(ceiling.mean(), abs=1e-12)
    assert row.loc["jsd_minus_ceiling", "value"] == pytest.approx((jsd - ceiling).mean(), abs=1e-12)
    assert row.loc["jsd", "ci_low"] < row.loc["jsd", "value"] < row.loc["jsd", "ci_high"]
    assert 1 <= row.loc["k_star", "value"] <= 30 and row.loc["k_star", "ci_low"] <= row.loc["k_star", "value"] <= row.loc["k_star", "ci_high"]
    groups = result.groups.set_index("comparison")
    man = dices350.raters["rater_gender"].to_numpy()[dices350.rater_index] == "Man"
    man_shares = D.human_distributions(dices350.item_index[man], coded.codes[man], dices350.n_items, 3)
    assert groups.loc["Man", "jsd"] == pytest.approx(np.mean(D.jensen_shannon(model, man_shares)), abs=1e-12)
    assert groups["closest"].sum() == 1 and groups.loc["Man - Woman", "p_holm"] is not None
    again = result.confidence_interval(0.95).query("machine == 'dices350-judge-dist'").set_index("statistic")
    assert again.loc["jsd", "low"] == pytest.approx(row.loc["jsd", "ci_low"])


def test_a_closer_machine_has_a_smaller_divergence_and_the_pair_is_tested(tmp_path, dices350):
    from annalign.core.labelcodes import crowd_of

    crowd, _ = crowd_of(dices350)
    frame = pd.DataFrame({"item_id": dices350.item_ids, "rater": "exact",
                          **{f"p_{lab}": crowd.distributions[:, k] for k, lab in enumerate(["yes", "unsure", "no"])}})  # fmt: skip
    flat = frame.assign(rater="flat", p_yes=1 / 3, p_unsure=1 / 3, p_no=1 / 3)
    path = tmp_path / "two.csv"
    pd.concat([frame, flat]).to_csv(path, index=False)
    result = annalign.distribution(dices350, annalign.load_machines(path, dices350, keep_constant=True), resampling=200)
    jsd = result.machines[result.machines["statistic"] == "jsd"].set_index("machine")["value"]
    assert jsd["exact"] == pytest.approx(0, abs=1e-12) and jsd["flat"] > 0.1
    assert list(result.pairs["difference"]) == ["exact - flat"]  # the reference is not paired
    pair = result.pairs.iloc[0]
    assert pair["difference"] == "exact - flat" and pair["ci_high"] < 0


def test_analyze_runs_it_for_a_rater_with_a_distribution_into_results_tables_and_report(capsys, tmp_path):
    out = tmp_path / "o"
    code, stdout, err = run_cli(capsys, "analyze", "--dataset", "dices350", "--ratings", str(FIXTURE), "--bootstrap", "200", "--out", str(out))
    assert code == 0, err
    section = json.loads((out / "results.json").read_text())["distribution"]
    assert section["labels"] == ["Yes", "Unsure", "No"] and section["generalises_over"].startswith("items")
    assert {r["statistic"] for r in section["machines"]} >= {"jsd", "tv", "wasserstein", "log_loss", "ceiling_jsd", "k_star"}
    for name in ("distribution_machines", "distribution_items", "distribution_groups", "distribution_k_curve"):
        assert (out / f"{name}.csv").exists(), name
    report = (out / "report.md").read_text()
    assert "## distribution" in report and "Human equivalence: the k curve" in report
    k_star = next(r for r in section["machines"] if r["statistic"] == "k_star")["value"]
    assert f"as close to the crowd as {k_star:.1f} humans pooled" in report
    assert (out / "figures" / "distribution_k_curve.png").exists() and (out / "figures" / "distribution_items.png").exists()
    items = pd.read_csv(out / "distribution_items.csv")
    assert np.allclose(items[["humans_p_Yes", "humans_p_Unsure", "humans_p_No"]].sum(axis=1), 1.0)
    assert "Distributional alignment" in stdout
    code, _, err = run_cli(capsys, "analyze", "--dataset", "dices350", "--ratings", "tests/fixtures/dices350-judge-a.csv",
                           "--analysis", "distribution", "--bootstrap", "20", "--out", str(tmp_path / "p"))  # fmt: skip
    assert code == 2 and "label distribution" in error_line(err)


def test_a_constant_expected_score_with_a_varying_distribution_is_named_and_can_be_kept(tmp_path, dices350):
    """(0.5, 0, 0.5) and (0, 1, 0) both have expected score 0.5: left out of the correlations, with a warning saying how to keep it."""
    rows = "item_id,p_yes,p_unsure,p_no\n" + "".join(f"{i},{0.5 * (k % 2)},{1 - k % 2},{0.5 * (k % 2)}\n" for k, i in enumerate(dices350.item_ids))
    path = _write(tmp_path, rows)
    with pytest.warns(UserWarning, match=r"same score \(0.5\).*its label distribution too; .*keep_constant=True"):
        with pytest.raises(InputError, match="gives every item the same score; nothing to compare"):
            annalign.load_machines(path, dices350)
    kept = annalign.load_machines(path, dices350, keep_constant=True)
    result = annalign.distribution(dices350, kept, resampling=50)
    assert np.isfinite(result.machines.query("machine == 'judge' and statistic == 'jsd'")["value"]).all()
