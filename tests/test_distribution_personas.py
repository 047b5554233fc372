"""Persona distributions against their own group's: the statistics equal scipy and a plain loop, the table, CLI and report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from tests.clihelp import run_cli

import annalign
from annalign.analyses.distribution_personas import ALL_GROUPS, PersonaModel, persona_statistics
from annalign.core.grouping import make_groups
from annalign.core.labelcodes import crowd_of
from annalign.stats import distributional as D
from annalign.stats.multitest import holm

LABELS = ("yes", "unsure", "no")


def _js(p: np.ndarray, q: np.ndarray) -> float:
    """scipy's JSD in bits (squared distance), NaN where either side is undefined."""
    return float(jensenshannon(p, q, base=2) ** 2) if np.isfinite(p).all() and np.isfinite(q).all() else np.nan


def test_per_cell_statistics_equal_scipy_and_a_plain_loop_with_zero_shares_and_a_missing_persona():
    rng = np.random.default_rng(5)
    n_groups, n_items = 4, 30
    dirichlet = lambda *shape: rng.dirichlet([0.6, 0.6, 0.6], size=shape)  # noqa: E731
    personas = dirichlet(n_groups, n_items)
    personas[:, :5, 1] = 0.0  # zero-probability labels
    personas[:, :5] /= personas[:, :5].sum(axis=2, keepdims=True)
    personas[2] = np.nan  # group 2 has no persona
    personas[1, 7] = np.nan  # a failed request
    names = ("m|persona=a", "m|persona=b", None, "m|persona=d")
    model = PersonaModel("m", personas, names, dirichlet(n_items))
    shares = dirichlet(n_groups * n_items)
    shares[3] = [0.0, 0.0, 1.0]
    got = persona_statistics(model, shares, np.arange(n_groups * n_items), n_items)
    for g in range(n_groups):
        for i in range(n_items):
            q = shares[g * n_items + i]
            own, base = _js(personas[g, i], q), _js(model.baseline[i], q)
            others = [_js(personas[h, i], q) for h in (0, 1, 3) if h != g and np.isfinite(personas[h, i]).all()]
            want = [own, base, own - base, own - np.mean(others)]
            np.testing.assert_allclose(got[g * n_items + i], want, atol=1e-12, equal_nan=True)
    # replicates broadcast: the same cells under two replicate share arrays
    twice = persona_statistics(model, np.stack([shares, shares[::-1]]), np.arange(n_groups * n_items), n_items)
    np.testing.assert_allclose(twice[0], got, atol=1e-12, equal_nan=True)


def _persona_file(tmp_path, data, distributions: dict[str, np.ndarray]) -> str:
    """A machine-rater file with one rater per key and its p_<label> columns."""
    frames = [pd.DataFrame({"item_id": data.item_ids, "rater": name, **{f"p_{lab}": d[:, k] for k, lab in enumerate(LABELS)}})
              for name, d in distributions.items()]  # fmt: skip
    path = tmp_path / "personas.csv"
    pd.concat(frames).to_csv(path, index=False)
    return str(path)


def _group_shares(data, by: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The groups of ``by``, their label shares (groups, items, labels) and the crowd's overall shares."""
    crowd, coded = crowd_of(data)
    grouping = make_groups(data.raters, [by])
    per_rating = grouping.code[data.rater_index][coded.codes >= 0]
    overall = crowd.counts.sum(axis=0) / crowd.counts.sum()
    return list(grouping.labels), D.group_distributions(crowd, per_rating, grouping.n_groups), overall


def test_the_table_equals_direct_means_holm_and_a_persona_that_knows_its_group_is_closer(tmp_path, dices350):
    labels, shares, overall = _group_shares(dices350, "rater_gender")
    # each persona states its group's shares pulled toward the crowd's overall shares; the baseline states the overall shares
    distributions = {"m": np.tile(overall, (dices350.n_items, 1))}
    for g, label in enumerate(labels):
        distributions[f"m|persona={label}"] = 0.6 * shares[g] + 0.4 * overall
    machines = annalign.load_machines(_persona_file(tmp_path, dices350, distributions), dices350, keep_constant=True)
    result = annalign.distribution(dices350, machines, by="rater_gender", resampling=400, seed=3)
    table = result.personas.set_index(["group", "statistic"])
    for g, label in enumerate(labels):
        own = np.array([_js(distributions[f"m|persona={label}"][i], shares[g, i]) for i in range(dices350.n_items)])
        base = np.array([_js(overall, shares[g, i]) for i in range(dices350.n_items)])
        others = np.nanmean([[_js(distributions[f"m|persona={lab}"][i], shares[g, i]) for i in range(dices350.n_items)]
                             for h, lab in enumerate(labels) if h != g], axis=0)  # fmt: skip
        assert table.loc[(label, "persona"), "jsd"] == pytest.approx(np.nanmean(own), abs=1e-12)
        assert table.loc[(label, "baseline"), "jsd"] == pytest.approx(np.nanmean(base), abs=1e-12)
        assert table.loc[(label, "persona - other personas"), "jsd"] == pytest.approx(np.nanmean(own - others), abs=1e-12)
        assert table.loc[(label, "persona"), "persona_rater"] == f"m|persona={label}"
    for statistic in ("persona - baseline", "persona - other personas"):
        rows = result.personas.query("statistic == @statistic and group != @ALL_GROUPS")
        np.testing.assert_allclose(rows["p_holm"].astype(float), holm(rows["p"].astype(float).to_numpy()))
        overall_row = table.loc[(ALL_GROUPS, statistic)]
        assert overall_row["jsd"] == pytest.approx(rows["jsd"].mean(), abs=1e-3)  # the per-item mean over groups
        # knowing the group's shares brings the persona closer than the baseline and than the other personas, beyond doubt
        assert overall_row["ci_high"] < 0 and overall_row["p"] < 0.01
    assert set(result.personas["generalises_over"]) == {"items and raters"}
    assert result.groups.empty or not result.groups["machine"].str.contains("persona=").any()  # personas live in their own table
    assert result.pairs.empty  # one plain machine: nothing to pair
    assert any(line.startswith("  personas of m") for line in result.summary())


def test_a_persona_equal_to_the_baseline_differs_by_exactly_zero_under_both_schemes(tmp_path, dices350):
    labels, shares, _ = _group_shares(dices350, "rater_gender")
    rng = np.random.default_rng(2)
    base = rng.dirichlet([2, 1, 2], size=dices350.n_items)
    distributions = {"m": base, **{f"m|persona={label}": base for label in labels}}
    machines = annalign.load_machines(_persona_file(tmp_path, dices350, distributions), dices350)
    for scheme in ("crossed", "items"):
        res = annalign.distribution(dices350, machines, by="rater_gender", resampling=annalign.Resampling(n_boot=200, resample=scheme))
        diffs = res.personas[res.personas["statistic"].isin(["persona - baseline", "persona - other personas"])]
        assert np.allclose(diffs[["jsd", "ci_low", "ci_high"]].to_numpy(float), 0.0, atol=1e-12), scheme
        own = res.personas.query("statistic == 'persona'")
        assert (own["ci_high"] > own["ci_low"]).all()
    crossed = res_of(dices350, machines, "crossed").query("statistic == 'persona'")["ci_high"].to_numpy()
    items = res_of(dices350, machines, "items").query("statistic == 'persona'")["ci_high"].to_numpy()
    assert (crossed > items).all()  # the rater part widens a group's interval


def res_of(data, machines, scheme: str) -> pd.DataFrame:
    """The personas table of one scheme."""
    return annalign.distribution(data, machines, by="rater_gender", resampling=annalign.Resampling(n_boot=200, resample=scheme)).personas


def test_personas_of_other_groups_and_without_a_grouping_are_warned_about(tmp_path, dices350):
    labels, shares, overall = _group_shares(dices350, "rater_gender")
    distributions = {"m": shares[0], f"m|persona={labels[0]}": shares[0], "m|persona=Martian": shares[1]}
    machines = annalign.load_machines(_persona_file(tmp_path, dices350, distributions), dices350)
    with pytest.warns(UserWarning, match=r"persona raters of 'm' for labels that are not groups .*: Martian"):
        res = annalign.distribution(dices350, machines, by="rater_gender", resampling=100)
    assert set(res.personas["group"]) == {labels[0], ALL_GROUPS}
    assert set(res.personas["baseline_rater"].dropna()) == {"m"}
    # one persona: nothing to compare it with among the other personas
    assert np.isnan(res.personas.query("statistic == 'persona - other personas'")["jsd"].astype(float)).all()
    with pytest.warns(UserWarning, match=r"compared with their own group only with a grouping"):
        res = annalign.distribution(dices350, machines, resampling=50)
    assert res.personas.empty and "distribution_personas" not in res.tables()


def test_analyze_writes_the_personas_table_results_and_report(capsys, tmp_path, dices350):
    labels, shares, overall = _group_shares(dices350, "rater_gender")
    crowd, _ = crowd_of(dices350)
    distributions = {"m": 0.2 * crowd.distributions + 0.8 * overall,
                     **{f"m|persona={lab}": 0.5 * shares[g] + 0.5 * overall for g, lab in enumerate(labels)}}  # fmt: skip
    out = tmp_path / "o"
    code, _, err = run_cli(capsys, "analyze", "--dataset", "dices350", "--ratings", _persona_file(tmp_path, dices350, distributions),
                           "--by", "rater_gender", "--bootstrap", "200", "--out", str(out))  # fmt: skip
    assert code == 0, err
    section = json.loads((out / "results.json").read_text())["distribution"]
    statistics = {(r["group"], r["statistic"]) for r in section["personas"]}
    assert (ALL_GROUPS, "persona - other personas") in statistics and (labels[0], "persona - baseline") in statistics
    table = pd.read_csv(out / "distribution_personas.csv")
    assert len(table) == len(section["personas"]) and table["generalises_over"].iloc[0] == "items and raters"
    assert "distribution_personas" in (out / "report.md").read_text()


def test_annalign_run_names_find_their_baseline_through_the_template_name(tmp_path, dices350):
    """``annalign run --personas`` writes MODEL/TEMPLATE-persona|persona=G beside MODEL/TEMPLATE: the latter is the baseline."""
    labels, shares, overall = _group_shares(dices350, "rater_gender")
    crowd, _ = crowd_of(dices350)
    distributions = {"local:x/dices-label-v1": 0.3 * crowd.distributions + 0.7 * overall,
                     **{f"local:x/dices-label-persona-v1|persona={lab}": shares[g] for g, lab in enumerate(labels)}}  # fmt: skip
    machines = annalign.load_machines(_persona_file(tmp_path, dices350, distributions), dices350)
    res = annalign.distribution(dices350, machines, by="rater_gender", resampling=100)
    rows = res.personas.query("statistic == 'baseline'")
    assert len(rows) == len(labels) + 1 and set(rows["baseline_rater"]) == {"local:x/dices-label-v1"}
    assert set(res.personas["model"]) == {"local:x/dices-label-persona-v1"}
