"""Settings (issue 14): every value checked once, in annalign.config, with one message whatever its source."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from tests.clihelp import error_line, run_cli

from annalign.config import Settings, load_settings
from annalign.errors import InputError

#: TOML line -> the message after "<file>: ".
BAD_TOML = {
    "alt_epsilon_5": ("alt_epsilon = 5.0", "setting 'alt_epsilon' must be a number from 0 to 1, got 5.0 (a decimal number)"),
    "groupings_string": ('groupings = "rater_race"', "setting 'groupings' must be a list of groupings"),
    "ratings_string": ('ratings = "file.csv"', "setting 'ratings' must be a list of machine-rater file names, got 'file.csv' (a string)"),
    "bootstrap_lots": ('bootstrap = "lots"', "setting 'bootstrap' must be a whole number of at least 10, got 'lots' (a string)"),
    "bootstrap_2_5": ("bootstrap = 2.5", "setting 'bootstrap' must be a whole number of at least 10, got 2.5 (a decimal number)"),
    "bootstrap_true": ("bootstrap = true", "setting 'bootstrap' must be a whole number of at least 10, got True (a boolean)"),
    "bootstrap_0": ("bootstrap = 0", "setting 'bootstrap' must be a whole number of at least 10, got 0 (a whole number)"),
    "bootstrap_minus_3": ("bootstrap = -3", "setting 'bootstrap' must be a whole number of at least 10, got -3 (a whole number)"),
    "seed_1_5": ("seed = 1.5", "setting 'seed' must be a whole number from 0 to"),
    "seed_negative": ("seed = -1", "setting 'seed' must be a whole number from 0 to"),
    "level_2": ("level = 2.0", "setting 'level' must be a number strictly between 0 and 1, got 2.0 (a decimal number)"),
    "method_typo": ('method = "pearsn"', "setting 'method' must be one of auto, pearson, spearman, kendall, got 'pearsn' (a string); did you mean 'pearson'?"),
    "unknown_key": ("bootstrapp = 5", "unknown setting 'bootstrapp' (did you mean 'bootstrap'?"),
    "unknown_key_in_table": ("[analysis]\nsed = 1", "[analysis]: unknown setting 'sed'"),
    "machine_scale_bad": ("machine_scale = [5, 1]", "setting 'machine_scale' must be a scale LO,HI or a table"),
    "scale_string": ('scale = "1-5"', "setting 'scale' must be a scale LO,HI"),
    "power_items_small": ("power_items = [2]", "setting 'power_items' must be a list of whole numbers of at least 4"),
    "not_toml": ("bootstrap = = 3", "not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOML))
def test_bad_config_values_name_the_key_the_file_and_the_type(capsys, tmp_path, case):
    line, message = BAD_TOML[case]
    config = tmp_path / "run.toml"
    config.write_text(line + "\n")
    code, _, err = run_cli(capsys, "analyze", "--config", str(config), "--out", str(tmp_path / "o"))
    assert code == 2
    assert f"annalign: error: {config}" in error_line(err) and message in error_line(err)


#: Command-line option values -> message; the rule's wording is the one the TOML file gets.
BAD_OPTIONS = {
    "bootstrap_lots": (["--bootstrap", "lots"], "--bootstrap must be a whole number of at least 10, got 'lots'"),
    "bootstrap_2_5": (["--bootstrap", "2.5"], "--bootstrap must be a whole number of at least 10, got '2.5'"),
    "bootstrap_0": (["--bootstrap", "0"], "--bootstrap must be a whole number of at least 10, got '0'"),
    "seed_1_5": (["--seed", "1.5"], "--seed must be a whole number from 0 to"),
    "alt_epsilon_5": (["--alt-epsilon", "5"], "--alt-epsilon must be a number from 0 to 1, got '5'"),
    "alt_epsilon_nan": (["--alt-epsilon", "nan"], "--alt-epsilon must be a number from 0 to 1, got 'nan'"),
    "method": (["--method", "pearsn"], "--method must be one of auto, pearson, spearman, kendall, got 'pearsn'; did you mean 'pearson'?"),
    "format": (["--format", "tall"], "--format must be one of auto, dices, long, votes, wide, alttest, judgebench, lewidi, got 'tall'"),
    "min_ratings": (["--min-ratings", "-1"], "--min-ratings must be a whole number of at least 0, got '-1'"),
    "scale": (["--scale", "5,1"], "--scale must be a scale LO,HI"),
}


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
def test_bad_option_values_are_one_line_errors(capsys, tmp_path, case):
    args, message = BAD_OPTIONS[case]
    code, _, err = run_cli(capsys, "analyze", *args, "--out", str(tmp_path / "o"))
    assert code == 2
    assert message in error_line(err)


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("groups", ["--ratings", "m.csv", "--bootstrap", "0"]),
        ("groups", ["--ratings", "m.csv", "--bootstrap", "-3"]),
        ("disagreement", ["--bootstrap", "0"]),
        ("run", ["--no-model", "--bootstrap", "0"]),
    ],
)
def test_every_command_checks_bootstrap_the_same_way(capsys, tmp_path, command, args):
    code, _, err = run_cli(capsys, command, *args, "--out", str(tmp_path / "o"))
    assert code == 2
    assert "--bootstrap must be a whole number of at least 10" in error_line(err)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alt_epsilon": 5.0}, "setting 'alt_epsilon' must be a number from 0 to 1, got 5.0 (a decimal number)"),
        ({"groupings": "rater_race"}, "setting 'groupings' must be a list of groupings"),
        ({"ratings": "file.csv"}, "setting 'ratings' must be a list of machine-rater file names"),
        ({"bootstrap": "lots"}, "setting 'bootstrap' must be a whole number of at least 10, got 'lots' (a string)"),
        ({"bootstrap": True}, "got True (a boolean)"),
        ({"seed": 1.5}, "setting 'seed' must be a whole number"),
        ({"level": 2.0}, "setting 'level' must be a number strictly between 0 and 1"),
        ({"bootstrap": np.int64(5)}, "got 5 (a int64)"),
    ],
)
def test_python_settings_are_checked_with_the_same_rules(kwargs, message):
    with pytest.raises(InputError) as exc:
        Settings(**kwargs)
    assert message in str(exc.value) and "np." not in str(exc.value)


def test_good_values_in_every_form_give_the_same_settings(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('bootstrap = 200\nseed = 3\nlevel = 0.9\nalt_epsilon = 0\ngroupings = [["rater_race"]]\nratings = ["a.csv"]\n')
    from_file = load_settings(config, {})
    from_cli = load_settings(None, {"bootstrap": "200", "seed": "3", "level": "0.9", "alt_epsilon": "0", "groupings": "rater_race",
                                    "ratings": ["a.csv"]})
    from_python = Settings(bootstrap=200, seed=3, level=0.9, alt_epsilon=0, groupings=[["rater_race"]], ratings=["a.csv"])
    assert from_file == from_cli == from_python
    assert from_file.alt_epsilon == 0.0 and isinstance(from_file.alt_epsilon, float)
    assert Settings(groupings=["rater_race", "rater_gender"]).groupings == [["rater_race", "rater_gender"]]


def test_toml_alt_epsilon_no_longer_makes_a_weak_judge_pass(capsys, tmp_path, dices350):
    rng = np.random.default_rng(2)
    path = tmp_path / "weak.csv"
    pd.DataFrame({"item_id": dices350.item_ids, "score": rng.uniform(0, 1, 350)}).to_csv(path, index=False)
    config = tmp_path / "run.toml"
    config.write_text(f'alt_epsilon = 5.0\nbootstrap = 20\nratings = ["{path}"]\n')
    code, _, err = run_cli(capsys, "analyze", "--config", str(config), "--out", str(tmp_path / "o"))
    assert code == 2 and "alt_epsilon" in error_line(err)
    assert not (tmp_path / "o" / "results.json").exists()
    config.write_text(f'alt_epsilon = 0.1\nbootstrap = 20\nratings = ["{path}"]\n')
    code, _, err = run_cli(capsys, "analyze", "--config", str(config), "--out", str(tmp_path / "o"))
    assert code == 0, err
    alt = json.loads((tmp_path / "o" / "results.json").read_text())["rq1"]["machines"]["weak"]["alt_test"]
    assert alt["epsilon"] == 0.1
