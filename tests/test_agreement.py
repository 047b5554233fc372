"""The agreement analysis: the machine put in place of each human against recomputing alpha, the CLI, and CI coverage."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.clihelp import error_line, run_cli
from tests.conftest import make_annotations

from annalign.analyses import agreement as agreement_module
from annalign.analyses.agreement import Substitution, analyze_agreement
from annalign.core.machines import MachineRatings
from annalign.stats.agreement import LEVELS, alpha, unit_terms

FIXTURE = "tests/fixtures/dices350-judge-b.csv"


def _panel(rng: np.random.Generator, n_items: int, n_raters: int, leniency: np.ndarray, noise: np.ndarray, missing: float):
    """(item, rater, value) of a 3-level panel: shared truth, each rater's own leniency and noise, missing ratings."""
    truth = rng.normal(size=n_items)
    latent = truth[:, None] + leniency[None, :] + noise[None, :] * rng.standard_normal((n_items, n_raters))
    values = np.digitize(latent, [-0.6, 0.6]) / 2.0
    keep = rng.random((n_items, n_raters)) >= missing
    item, rater = np.nonzero(keep)
    return item, rater, values[item, rater]


@pytest.mark.parametrize("dense_cells", [0, 10**9], ids=["sparse-scatter", "dense-scatter"])
@pytest.mark.parametrize("level", LEVELS)
def test_each_human_replaced_by_the_machine_equals_recomputing_alpha(level, dense_cells, monkeypatch) -> None:
    monkeypatch.setattr(agreement_module, "DENSE_CELLS", dense_cells)
    rng = np.random.default_rng(11)
    item, rater, value = _panel(rng, 60, 9, rng.normal(0, 0.4, 9), rng.uniform(0.5, 1.2, 9), 0.3)
    machine = np.digitize(rng.normal(size=60), [-0.6, 0.6]) / 2.0
    machine[:5] = np.nan  # items the machine did not rate keep the human's rating
    terms = unit_terms(item, value, 60)
    replaced = np.isfinite(machine[item])
    weights = np.vstack([np.ones(60), np.bincount(rng.integers(0, 60, 60), minlength=60)]).astype(float)
    swap = Substitution.of(terms, (item[replaced], rater[replaced], value[replaced], machine[item[replaced]]), level, 9)
    got = swap.alpha(weights)
    for j in range(9):
        changed = value.copy()
        mine = (rater == j) & replaced
        changed[mine] = machine[item[mine]]
        assert got[:, j] == pytest.approx(alpha(unit_terms(item, changed, 60), level, weights), abs=1e-9)


def test_continuous_machine_scores_get_the_interval_level_only(dices350) -> None:
    score = np.clip(dices350.item_mean + np.random.default_rng(2).normal(0, 0.1, dices350.n_items), 0, 1)
    result = analyze_agreement(dices350, MachineRatings(["m"], score[:, None], ["test"]), n_boot=50)
    assert list(result.machines["level"]) == ["interval"]
    labels = np.digitize(score, [0.25, 0.75]) / 2.0  # on the humans' own values: every level
    assert list(analyze_agreement(dices350, MachineRatings(["m"], labels[:, None], ["test"]), n_boot=50).machines["level"]) == list(LEVELS)


def test_the_agreement_analysis_runs_from_the_command_line(capsys, tmp_path) -> None:
    code, out, err = run_cli(capsys, "analyze", "--dataset", "dices350", "--ratings", FIXTURE, "--analysis", "agreement",
                             "--bootstrap", "20", "--out", str(tmp_path / "o"))  # fmt: skip
    assert code == 0, err
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    humans = [row for row in results["agreement"]["humans"] if row["scope"] == "all raters"]
    assert [row["level"] for row in humans] == list(LEVELS) and all(0.1 < row["alpha"] < 0.3 for row in humans)
    assert (tmp_path / "o" / "agreement_machines.csv").exists() and "Humans' Krippendorff's alpha" in out
    code, _, err = run_cli(capsys, "analyze", "--dataset", "dices350", "--analysis", "agreemnt", "--bootstrap", "20", "--out", str(tmp_path / "p"))
    assert code == 2 and "unknown analysis 'agreemnt' (did you mean 'agreement'?" in error_line(err)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_alpha_interval_covers_the_alpha_of_these_raters_on_unlimited_items(seed) -> None:
    """Raters with their own leniency and noise, 30% of ratings missing, 200 items per set; truth: the same raters on 400,000 items."""
    rng = np.random.default_rng([seed, 77])
    n_raters = 12
    leniency, noise = rng.normal(0, 0.4, n_raters), rng.uniform(0.4, 1.4, n_raters)
    big = _panel(rng, 400_000, n_raters, leniency, noise, 0.3)
    truth = {lv: float(alpha(unit_terms(big[0], big[2], 400_000), lv)[0]) for lv in LEVELS}
    sets = 500
    covered = {lv: 0 for lv in LEVELS}
    for _ in range(sets):
        item, rater, value = _panel(rng, 200, n_raters, leniency, noise, 0.3)
        dense = np.full((200, n_raters), np.nan)
        dense[item, rater] = value
        data = make_annotations(dense)
        result = analyze_agreement(data, n_boot=400, seed=int(rng.integers(1 << 30)))
        for row in result.humans.itertuples():
            covered[row.level] += row.ci_low <= truth[row.level] <= row.ci_high
    se = np.sqrt(0.95 * 0.05 / sets)
    for lv in LEVELS:
        rate = covered[lv] / sets
        print(f"seed {seed} {lv}: truth {truth[lv]:.4f}, coverage {rate:.3f}")
        assert 0.95 - 4 * se <= rate <= 0.95 + 4 * se, (lv, rate)



def test_the_average_rater_replicates_of_large_data_match_the_exact_ones(dices350, monkeypatch) -> None:
    """Beyond DENSE_CELLS the bootstrap uses the average rater's change: on DICES its interval matches the exact one."""
    labels = np.digitize(np.clip(dices350.item_mean + np.random.default_rng(2).normal(0, 0.15, dices350.n_items), 0, 1), [0.25, 0.75]) / 2.0
    machines = MachineRatings(["m"], labels[:, None], ["test"])
    exact = analyze_agreement(dices350, machines, n_boot=300).machines.set_index("level")
    monkeypatch.setattr(agreement_module, "DENSE_CELLS", 0)
    approx = analyze_agreement(dices350, machines, n_boot=300).machines.set_index("level")
    assert approx["change"].to_numpy() == pytest.approx(exact["change"].to_numpy(), abs=1e-12)  # the point is always exact
    width = (exact["ci_high"] - exact["ci_low"]).to_numpy()
    for end in ("ci_low", "ci_high"):
        assert np.all(np.abs(approx[end].to_numpy() - exact[end].to_numpy()) < 0.05 * width)


def test_the_python_api_gives_the_same_alpha_as_the_analysis(dices350) -> None:
    import annalign

    result = annalign.agreement(dices350, by="rater_gender", resampling=50)
    assert isinstance(result, annalign.AgreementResult)
    overall = result.humans[result.humans["scope"] == "all raters"].set_index("level")["alpha"]
    assert overall["ordinal"] == pytest.approx(analyze_agreement(dices350, n_boot=50).humans.set_index("level")["alpha"]["ordinal"])
    assert set(result.humans["group"]) >= {"Man", "Woman"}
    with pytest.raises(annalign.InputError, match="level"):
        annalign.agreement(dices350, level=2)
