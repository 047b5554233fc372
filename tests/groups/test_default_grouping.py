"""The DICES grouping is the default for data sets that have its columns only; --by is repeatable on analyze and run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from tests.clihelp import error_line, run_cli


def _survey(tmp_path, n_items: int = 40, n_raters: int = 8) -> tuple[list[str], str]:
    """A long-form survey with team and site attributes (no DICES columns) and a machine-rater file; (data options, machine path)."""
    rng = np.random.default_rng(8)
    truth = rng.normal(size=n_items)
    rows = [f"q{i},ann{j},{int(np.clip(np.round(3 + truth[i] + rng.normal(0, 0.8)), 1, 5))},{'x' if j % 2 else 'y'},{'n' if j < 4 else 's'}"
            for i in range(n_items) for j in range(n_raters)]  # fmt: skip
    data = tmp_path / "survey.csv"
    data.write_text("question,annotator,stars,team,site\n" + "\n".join(rows) + "\n")
    machine = tmp_path / "judge.csv"
    pd.DataFrame({"item_id": [f"q{i}" for i in range(n_items)], "score": truth + rng.normal(0, 0.5, n_items)}).to_csv(machine, index=False)
    config = tmp_path / "fast.toml"
    config.write_text("permutations = 10\npower_items = []\nsplits = 5\n")
    common = ["--dataset", str(data), "--format", "long", "--item-col", "question", "--rater-col", "annotator",
              "--rating-col", "stars", "--rating-map", "numeric", "--scale", "1,5", "--bootstrap", "20", "--config", str(config)]  # fmt: skip
    return common, str(machine)


def test_a_data_set_without_the_dices_columns_gets_no_grouping_and_no_warning(capsys, tmp_path):
    common, machine = _survey(tmp_path)
    code, _, err = run_cli(capsys, "analyze", *common, "--ratings", machine, "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert "grouping" not in err and "skipped" not in err
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["settings"]["groupings"] == [] and not results.get("rq2")


def test_by_is_repeatable_on_analyze_one_grouping_each(capsys, tmp_path):
    common, machine = _survey(tmp_path)
    code, _, err = run_cli(capsys, "analyze", *common, "--ratings", machine, "--by", "team", "--by", "team,site", "--out", str(tmp_path / "o"))
    assert code == 0, err
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["settings"]["groupings"] == [["team"], ["team", "site"]]
    assert {row["group"] for row in results["rq2"]["per_group"]} == {"x", "y"}
    assert set(results["rq2_other_groupings"]) == {"team+site"}


def test_a_grouping_the_user_names_with_an_absent_column_is_still_reported(capsys, tmp_path):
    common, machine = _survey(tmp_path)
    code, _, err = run_cli(capsys, "analyze", *common, "--ratings", machine, "--by", "rater_race", "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert "grouping rater_race skipped (RQ2/RQ3)" in err and "no rater column(s) rater_race" in err


@pytest.mark.parametrize("command", ["groups", "disagreement"])
def test_a_one_grouping_command_without_a_default_asks_for_by(capsys, tmp_path, command):
    common, machine = _survey(tmp_path)
    code, _, err = run_cli(capsys, command, *common, "--ratings", machine, "--out", str(tmp_path / "o"))
    assert code == 2
    assert "has no default grouping of its raters: name rater attribute columns with --by" in error_line(err)


def test_dices_keeps_its_default_grouping():
    from annalign.config import Settings

    assert Settings().groupings is None
    assert Settings().groupings_for(["rater_id", "rater_race", "rater_gender", "rater_age"]) == [["rater_race", "rater_gender"]]
    assert Settings().groupings_for(["team"]) == []
    assert Settings(groupings=[]).groupings_for(["rater_race", "rater_gender"]) == []
