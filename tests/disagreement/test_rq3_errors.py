"""RQ3 input errors, small groups and missing ratings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from annalign.analyses.group_disagreement import analyze_disagreement, sign_agreement
from annalign.cli.disagreement import main
from annalign.core.grouping import make_groups
from annalign.datasets.bundled import load_dataset
from annalign.errors import AnalysisWarning, InputError

FAST = {"n_boot": 50, "n_perm": 50, "n_splits": 10}


def _small(make_annotations, n_items: int = 40, seed: int = 0):
    """Three teams: A (4 raters), B (5 raters), C (1 rater)."""
    rng = np.random.default_rng(seed)
    team = ["A"] * 4 + ["B"] * 5 + ["C"]
    ratings = rng.integers(0, 3, (n_items, len(team))) / 2
    return make_annotations(ratings, {"team": team, "site": ["x", "y"] * 5})


def test_unknown_group_label_names_it_and_the_available_labels(make_annotations):
    data = _small(make_annotations)
    with pytest.raises(InputError) as err:
        analyze_disagreement(data, by=("team",), pairs=[("A", "Z")], **FAST)
    message = str(err.value)
    assert "'Z'" in message and "'A'" in message and "'B'" in message and "'C'" not in message  # C: 1 rater, left out
    with pytest.raises(InputError, match="itself"):
        analyze_disagreement(data, by=("team",), pairs=[("A", "A")], **FAST)
    dices = load_dataset("dices350")
    with pytest.raises(InputError, match="Black/African American × Woman"):
        analyze_disagreement(dices, pairs=[("Black|Woman", "rest")], **FAST)


def test_bad_grouping_and_data_without_raters(make_annotations):
    data = _small(make_annotations)
    with pytest.raises(InputError, match="'age' does not exist; available columns: team, site"):
        analyze_disagreement(data, by=("age",), **FAST)
    with pytest.raises(InputError, match="no rater identities"):
        analyze_disagreement(load_dataset("dices990"), **FAST)
    with pytest.raises(InputError, match="one score per item"):
        analyze_disagreement(data, baseline=np.zeros(3), by=("team",), **FAST)


def test_group_with_one_rater_is_left_out_as_in_rq2(make_annotations):
    """Groups under --min-group-size (default 2) are left out of RQ3 too; asking for one says why."""
    data = _small(make_annotations)
    base = np.linspace(0, 1, data.n_items)
    with pytest.warns(AnalysisWarning, match="group 'C' has 1 raters \\(< 2\\); it is left out"):
        res = analyze_disagreement(data, baseline=base, by=("team",), pairs=[("A", "B"), ("A", "rest")], **FAST)
    assert res.groups.labels == ["A", "B"] and res.to_dict()["excluded_groups"][0]["group"] == "C"
    ok, rest = res.pairs
    assert np.isfinite(ok.split_half_r) and rest.n_raters_b == 5  # the rest is B: C's rater is in no group
    np.testing.assert_allclose(rest.difference, ok.difference)
    with pytest.warns(AnalysisWarning), pytest.raises(InputError, match="unknown group 'C' \\(it has 1 rater\\(s\\), fewer than --min-group-size 2\\)"):
        analyze_disagreement(data, baseline=base, by=("team",), pairs=[("C", "A")], **FAST)


def test_missing_ratings_are_left_out(make_annotations):
    rng = np.random.default_rng(5)
    team = ["A"] * 6 + ["B"] * 6
    ratings = rng.integers(0, 3, (60, 12)) / 2
    ratings[rng.random(ratings.shape) < 0.3] = np.nan  # sparse
    ratings[0, :6] = np.nan  # item 0: no rating from team A
    data = make_annotations(ratings, {"team": team})
    base = rng.random(60)
    base[1] = np.nan  # the machine did not rate item 1
    with pytest.warns(AnalysisWarning, match="1 item\\(s\\) lack a rating"):
        res = analyze_disagreement(data, baseline=base, by=("team",), pairs=[("A", "B")], **FAST)
    pr = res.pairs[0]
    assert np.isnan(pr.difference[0]) and pr.n_items == 59
    expected = np.nanmean(ratings[:, :6], 1)[1:] - np.nanmean(ratings[:, 6:], 1)[1:]
    np.testing.assert_allclose(pr.difference[1:], expected)
    assert pr.predictions[0].n_items == 58
    assert np.isfinite(pr.reliability)
    assert res.to_dict()["pairs"][0]["predictions"][0]["n_items"] == 58


def test_persona_scores_missing_for_a_group_skip_that_prediction(make_annotations):
    rng = np.random.default_rng(0)
    data = make_annotations(rng.integers(0, 3, (40, 10)) / 2, {"team": ["A"] * 4 + ["B"] * 4 + ["C"] * 2})
    personas = {"A": np.linspace(0, 1, data.n_items), "B": np.linspace(1, 0, data.n_items)}
    with pytest.warns(AnalysisWarning, match="without persona scores: C"):
        res = analyze_disagreement(data, personas, by=("team",), pairs=[("A", "B"), ("A", "rest")], **FAST)
    assert [q.kind for q in res.pairs[0].predictions] == ["persona"]
    assert res.pairs[1].predictions == []


def test_sign_agreement_ties_and_one_sided():
    pred = np.array([1.0, 0.0, -1.0, 0.5, np.nan])
    d = np.array([0.2, 0.3, -0.1, -0.4, 0.5])
    out = sign_agreement(pred, d)
    assert out["accuracy"] == pytest.approx((1 + 0.5 + 1 + 0) / 4)
    # positives {1, 0}, negatives {-1, 0.5}: pairs won 1 + 1 + 1 + 0 = 3 of 4
    assert out["auc"] == pytest.approx(3 / 4)
    assert np.isnan(sign_agreement(np.array([1.0, 2.0]), np.array([0.1, 0.2]))["auc"])


def test_cli_errors_exit_2(tmp_path, capsys):
    ids = load_dataset("dices350").item_ids
    pd.DataFrame({"item_id": ids, "score": 0.5, "rater": "plain"}).to_csv(tmp_path / "p.csv", index=False)
    code = main(["--persona-ratings", str(tmp_path / "p.csv"), "--out", str(tmp_path / "o")])
    assert code == 2 and "not a persona rater" in capsys.readouterr().err
    code = main(["--groups", "Nobody", "rest", "--out", str(tmp_path / "o")])
    assert code == 2 and "unknown group 'Nobody'" in capsys.readouterr().err


def test_labels_match_across_separators_and_case(dices350):
    """Outputs spell 'White × Woman'; inputs may also use RQ3's old 'White|Woman' and any case."""
    groups = make_groups(dices350.raters)
    assert groups.index("White × Woman") == groups.index("white|woman") == groups.index(" WHITE | Woman ")
    assert groups.labels[groups.index("White|Woman")] == "White × Woman"
    n = dices350.n_items
    personas = {"White × Man": np.linspace(0, 1, n), "white|woman": np.linspace(1, 0, n)}
    res = analyze_disagreement(dices350, personas, pairs=[("White × Man", "White|Woman")], **FAST)
    assert (res.pairs[0].a, res.pairs[0].b) == ("White × Man", "White × Woman")
    assert [q.kind for q in res.pairs[0].predictions] == ["persona"]
