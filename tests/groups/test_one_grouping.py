"""One grouping for RQ2 and RQ3: the same --by gives the same groups, whatever the missing-attribute mode.

The data set has missing attributes (None, NaN) and blank ones ("", whitespace): blanks count as
missing, raters with a missing attribute follow --missing-attr, and groups under --min-group-size
are left out of both analyses.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from tests.clihelp import run_cli
from tests.conftest import make_annotations

from annalign.analyses.group_alignment import analyze_groups
from annalign.analyses.group_disagreement import analyze_disagreement
from annalign.core.grouping import canonical_label, format_label, make_groups, parse_label
from annalign.core.machines import MachineRatings
from annalign.core.raters import format_persona_rater, is_persona_rater, parse_persona_rater
from annalign.errors import InputError

#: 15 raters: team is missing for 4 (None, NaN, whitespace, empty), site is blank for one.
TEAM = ["A"] * 4 + ["B"] * 4 + ["C"] * 3 + [None, np.nan, "  ", ""]
SITE = ["x", "y", "x", "y", "x", "y", "x", "y", "x", "y", " ", "x", "y", "x", "y"]
N_ITEMS = 40
FAST = {"n_boot": 20, "n_perm": 10}

#: (by, missing_attr) -> (labels, sizes, excluded labels): worked out by hand from TEAM and SITE.
EXPECTED = {
    (("team",), "unknown"): (["A", "B", "C", "unknown"], [4, 4, 3, 4], []),
    (("team",), "drop"): (["A", "B", "C"], [4, 4, 3], []),
    (("team", "site"), "unknown"): (
        ["A × x", "A × y", "B × x", "B × y", "unknown × x", "unknown × y"],
        [2, 2, 2, 2, 2, 2],
        ["C × unknown", "C × x", "C × y"],
    ),
    (("team", "site"), "drop"): (["A × x", "A × y", "B × x", "B × y"], [2, 2, 2, 2], ["C × x", "C × y"]),
}


@pytest.fixture(scope="module")
def panel():
    """Ratings with a shared signal on a 0 / 0.5 / 1 scale, and a machine rater that follows it."""
    rng = np.random.default_rng(3)
    truth = rng.normal(size=N_ITEMS)
    dense = np.clip(np.round(1 + truth[:, None] + rng.normal(0, 0.8, (N_ITEMS, len(TEAM)))), 0, 2) / 2
    data = make_annotations(dense, attrs={"team": TEAM, "site": SITE})
    machine = truth + rng.normal(0, 0.5, N_ITEMS)
    return data, machine


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


@pytest.mark.parametrize(("by", "mode"), list(EXPECTED))
def test_rq2_and_rq3_form_the_same_groups(panel, by, mode):
    data, machine = panel
    labels, sizes, excluded = EXPECTED[(by, mode)]
    grouping = _quiet(make_groups, data.raters, by, missing_attr=mode)
    assert grouping.labels == labels and list(grouping.sizes) == sizes
    assert [e["group"] for e in grouping.excluded] == excluded
    machines = MachineRatings(names=["m"], scores=machine[:, None], sources=["t"])
    rq2 = _quiet(analyze_groups, data, machines, by, missing_attr=mode, power_items=None, noise_boot=0, **FAST)
    rq3 = _quiet(analyze_disagreement, data, baseline=machine, by=by, missing_attr=mode, n_splits=5, **FAST).to_dict()
    assert list(rq2.groups["group"]) == list(rq3["groups"]) == labels
    assert list(rq2.groups["n_raters"]) == list(rq3["groups"].values()) == sizes
    assert rq2.excluded_groups == rq3["excluded_groups"] == grouping.excluded
    assert rq2.settings["missing_attribute_counts"] == rq3["settings"]["missing_attribute_counts"] == grouping.n_missing
    # "rest" is every other grouped rater: raters left out (missing or in a small group) are in no group.
    for pair in rq3["pairs"]:
        if pair["b"] == "rest":
            assert pair["n_raters_a"] + pair["n_raters_b"] == sum(sizes)


def test_blank_and_whitespace_attributes_count_as_missing(panel):
    data, _ = panel
    with pytest.warns(UserWarning, match="'team' is missing for 4 raters; they form an 'unknown' group"):
        grouping = make_groups(data.raters, "team")
    assert grouping.n_missing == {"team": 4}
    assert list(grouping.code[-4:]) == [grouping.labels.index("unknown")] * 4
    with pytest.warns(UserWarning, match="'site' is missing for 1 raters; they are dropped"):
        grouping = make_groups(data.raters, "site", missing_attr="drop")
    assert grouping.labels == ["x", "y"] and grouping.code[10] == -1 and (grouping.code >= 0).sum() == 14


def test_error_mode_refuses_the_same_data_in_rq2_and_rq3(panel):
    data, machine = panel
    machines = MachineRatings(names=["m"], scores=machine[:, None], sources=["t"])
    message = "rater attribute 'team' is missing for 4 of 15 raters; use --missing-attr unknown or drop"
    with pytest.raises(InputError, match=message):
        analyze_groups(data, machines, "team", missing_attr="error", power_items=None, **FAST)
    with pytest.raises(InputError, match=message):
        analyze_disagreement(data, baseline=machine, by="team", missing_attr="error", **FAST)
    with pytest.raises(InputError, match="unknown --missing-attr 'skip'"):
        analyze_disagreement(data, baseline=machine, by="team", missing_attr="skip", **FAST)
    with pytest.raises(InputError, match="--min-group-size must be a whole number of at least 2"):
        analyze_disagreement(data, baseline=machine, by="team", min_group_size=1, **FAST)


def test_min_group_size_leaves_the_same_groups_out_of_both(panel):
    data, machine = panel
    machines = MachineRatings(names=["m"], scores=machine[:, None], sources=["t"])
    rq2 = _quiet(analyze_groups, data, machines, "team", min_group_size=4, power_items=None, noise_boot=0, **FAST)
    rq3 = _quiet(analyze_disagreement, data, baseline=machine, by="team", min_group_size=4, n_splits=5, **FAST)
    assert list(rq2.groups["group"]) == rq3.groups.labels == ["A", "B", "unknown"]
    assert rq2.excluded_groups == rq3.to_dict()["excluded_groups"] == [{"group": "C", "n_raters": 3, "reason": "fewer than 4 raters"}]


def test_labels_have_one_output_format_and_accept_the_old_spellings(dices350):
    assert format_label(["White", "Woman"]) == "White × Woman"
    for spelling in ("White × Woman", "White|Woman", " White | Woman ", "White×Woman"):
        assert parse_label(spelling) == ("White", "Woman")
    assert canonical_label("WHITE|woman") == canonical_label("White × Woman") == "white × woman"
    grouping = make_groups(dices350.raters)
    assert all(" × " in label and "|" not in label for label in grouping.labels)
    position = grouping.index("Black/African American × Woman")
    assert grouping.index("Black/African American|Woman") == grouping.index("black/african american|WOMAN") == position
    assert grouping.find("Black|Woman") == -1
    single = make_groups(dices350.raters, "rater_gender")
    assert single.labels == ["Man", "Woman"] and single.index("woman") == 1


def test_persona_rater_names_round_trip_in_both_spellings():
    name = format_persona_rater("gpt-4o", "White × Woman")
    assert name == "gpt-4o|persona=White × Woman" and is_persona_rater(name)
    assert parse_persona_rater(name) == ("gpt-4o", "White × Woman")
    assert parse_persona_rater(" m |persona= White|Woman ") == ("m", "White|Woman")  # the old label spelling, read as is
    assert parse_persona_rater("gpt-4o") is None and not is_persona_rater("gpt-4o/dices-likert")


def _write_long(tmp_path, panel) -> tuple[str, str]:
    data, machine = panel
    dense = data.dense()
    rows = [
        {"item_id": f"q{i}", "rater_id": f"r{j}", "rating": dense[i, j], "team": TEAM[j], "site": SITE[j]}
        for i in range(N_ITEMS)
        for j in range(len(TEAM))
    ]
    survey, judge = tmp_path / "survey.csv", tmp_path / "judge.csv"
    pd.DataFrame(rows).to_csv(survey, index=False)
    pd.DataFrame({"item_id": [f"q{i}" for i in range(N_ITEMS)], "score": machine}).to_csv(judge, index=False)
    return str(survey), str(judge)


@pytest.mark.parametrize("mode", ["unknown", "drop"])
def test_cli_groups_disagreement_and_analyze_agree_on_the_groups(capsys, tmp_path, panel, mode):
    """--by and --missing-attr mean the same in `annalign groups`, `annalign disagreement` and `annalign analyze`."""
    survey, judge = _write_long(tmp_path, panel)
    config = tmp_path / "fast.toml"
    config.write_text("permutations = 10\nsplits = 5\npower_items = []\n", "utf-8")
    common = ["--dataset", survey, "--format", "long", "--rating-map", "numeric", "--ratings", judge, "--config", str(config),
              "--by", "team,site", "--missing-attr", mode, "--bootstrap", "20"]  # fmt: skip
    labels, sizes, excluded = EXPECTED[(("team", "site"), mode)]
    seen = {}
    for command in ("groups", "disagreement", "analyze"):
        out = tmp_path / command
        code, _, err = run_cli(capsys, command, *common, "--out", str(out))
        assert code == 0, err[-2000:]
        results = json.loads((out / "results.json").read_text("utf-8"))
        assert results["settings"]["missing_attr"] == mode and results["settings"]["groupings"] == [["team", "site"]]
        if "rq2" in results:
            rq2 = results["rq2"]
            seen[f"{command} rq2"] = ([g["group"] for g in rq2["groups"]], [g["n_raters"] for g in rq2["groups"]],
                                      [e["group"] for e in rq2["excluded_groups"]])  # fmt: skip
        if "rq3" in results:
            rq3 = results["rq3"]
            seen[f"{command} rq3"] = (list(rq3["groups"]), list(rq3["groups"].values()), [e["group"] for e in rq3["excluded_groups"]])
    assert set(seen) == {"groups rq2", "disagreement rq3", "analyze rq2", "analyze rq3"}
    assert all(found == (labels, sizes, excluded) for found in seen.values()), seen
