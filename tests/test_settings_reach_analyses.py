"""One mapping from the run's settings to RQ2's and RQ3's configs: analyze/run and the groups/disagreement commands agree."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from tests.clihelp import run_cli

from annalign.analyses.alt_test import AltTestConfig
from annalign.analyses.group_alignment import analyze_groups
from annalign.analyses.group_disagreement import analyze_disagreement
from annalign.api import AltTestOptions
from annalign.config import Settings
from annalign.errors import InputError
from annalign.pipeline.run import (
    disagreement_config,
    group_alignment_config,
    load_data,
    load_machines,
    run_analyses,
)

JUDGE = str(Path(__file__).parent / "fixtures" / "dices350-judge-a.csv")
ASKED = {"bootstrap": 200, "permutations": 30, "splits": 7, "level": 0.9, "power_items": [], "seed": 3}


def test_the_configs_carry_every_setting_that_was_asked_for():
    settings = Settings(dataset="dices350", **ASKED)
    rq2, rq3 = group_alignment_config(settings), disagreement_config(settings)
    assert (rq2.n_boot, rq2.n_perm, rq2.level, rq2.seed, rq2.power_items) == (200, 30, 0.9, 3, None)
    assert (rq3.n_boot, rq3.n_perm, rq3.n_splits, rq3.level, rq3.seed) == (200, 30, 7, 0.9, 3)


def test_analyze_honours_permutations_splits_and_level_in_rq2_and_rq3():
    settings = Settings(dataset="dices350", ratings=[JUDGE], **ASKED)
    data = load_data(settings)
    run = run_analyses(data, load_machines(data, settings), settings)
    group = next(iter(run.rq2.values()))
    assert (group.settings["n_perm"], group.settings["level"]) == (30, 0.9)
    assert (run.rq3.settings["n_perm"], run.rq3.settings["n_splits"], run.rq3.settings["level"]) == (30, 7, 0.9)


def test_the_groups_and_disagreement_commands_write_the_same_settings(tmp_path, capsys):
    common = ["--dataset", "dices350", "--ratings", JUDGE, "--bootstrap", "200", "--permutations", "30", "--seed", "3"]
    code, _, err = run_cli(capsys, "groups", *common, "--power-items", "", "--out", str(tmp_path / "g"))
    assert code == 0, err
    code, _, err = run_cli(capsys, "disagreement", *common, "--out", str(tmp_path / "d"))
    assert code == 0, err
    rq2 = json.loads((tmp_path / "g" / "results.json").read_text())["rq2"]["settings"]
    rq3 = json.loads((tmp_path / "d" / "results.json").read_text())["rq3"]["settings"]
    assert (rq2["n_perm"], rq2["seed"], rq3["n_perm"], rq3["seed"]) == (30, 3, 30, 3)


def test_an_unknown_analysis_setting_is_one_line_naming_it():
    with pytest.raises(InputError, match="unknown RQ2 setting 'n_bootstrap'"):
        analyze_groups(None, None, n_bootstrap=5)  # type: ignore[arg-type]


def test_the_public_alt_test_options_default_to_the_analysis_defaults():
    assert dataclasses.asdict(AltTestOptions()) == dataclasses.asdict(AltTestConfig())


def test_resample_reaches_rq2_from_cli_config_and_python(tmp_path, capsys):
    """--resample items gives RQ2's item-only intervals (and says so); the default counts the raters too."""
    args = ["groups", "--dataset", "dices350", "--ratings", JUDGE, "--bootstrap", "200", "--permutations", "0", "--power-items", ""]
    code, _, err = run_cli(capsys, *args, "--out", str(tmp_path / "crossed"))
    assert code == 0, err
    code, _, err = run_cli(capsys, *args, "--resample", "items", "--out", str(tmp_path / "items"))
    assert code == 0, err
    crossed, items = (json.loads((tmp_path / name / "results.json").read_text("utf-8"))["rq2"] for name in ("crossed", "items"))
    assert (crossed["settings"]["resample"], items["settings"]["resample"]) == ("crossed", "items")
    assert items["per_group"][0]["generalises_to"] == "items (conditional on these raters)"
    assert crossed["per_group"][0]["generalises_to"] == "items and raters"
    widths = [[row["adjusted_ci_high"] - row["adjusted_ci_low"] for row in part["per_group"]] for part in (crossed, items)]
    assert all(c >= i - 1e-12 for c, i in zip(*widths, strict=True)) and widths[0] != widths[1]
    assert [row["r"] for row in crossed["per_group"]] == [row["r"] for row in items["per_group"]]


def test_resample_reaches_the_rq1_headline_from_cli_and_python(tmp_path, capsys):
    """--resample items (CLI) and Resampling(resample="items") (Python) make RQ1's headline item-only, and it says so."""
    import annalign

    args = ["analyze", "--dataset", "dices350", "--ratings", JUDGE, "--bootstrap", "200"]
    code, _, err = run_cli(capsys, *args, "--resample", "items", "--out", str(tmp_path / "items"))
    assert code == 0, err
    machine = json.loads((tmp_path / "items" / "results.json").read_text("utf-8"))["rq1"]["machines"]["dices350-judge-a"]
    assert machine["vs_median_human_generalises_to"] == "items (conditional on these raters)"
    data = annalign.load("dices350")
    machines = annalign.load_machines(JUDGE, data)
    python = annalign.alignment(data, machines, resampling=annalign.Resampling(n_boot=200, resample="items"))
    assert python.to_dict()["machines"]["dices350-judge-a"]["vs_median_human_generalises_to"] == "items (conditional on these raters)"
    assert python.to_dict()["machines"]["dices350-judge-a"]["vs_median_human_ci_low"] == pytest.approx(machine["vs_median_human_ci_low"])


def test_a_bad_resample_is_one_line_from_every_source(tmp_path, capsys):
    from annalign.api import Resampling
    from annalign.config import load_settings

    code, _, err = run_cli(capsys, "groups", "--dataset", "dices350", "--ratings", JUDGE, "--resample", "raters", "--out", str(tmp_path))
    assert code == 2 and "--resample must be one of crossed, items" in err and len(err.strip().splitlines()) == 1
    config = tmp_path / "a.toml"
    config.write_text('dataset = "dices350"\nresample = "both"\n', "utf-8")
    with pytest.raises(InputError, match="a.toml: setting 'resample' must be one of crossed, items"):
        load_settings(config, {})
    with pytest.raises(InputError, match="Resampling resample must be one of crossed, items"):
        Resampling(resample="pigeonhole")
    data = load_data(Settings(dataset="dices350"))
    with pytest.raises(InputError, match="resample must be one of crossed, items"):
        analyze_groups(data, load_machines(data, Settings(dataset="dices350", ratings=[JUDGE])), resample="raters")


def test_resample_reaches_rq3_from_cli_and_python(tmp_path, capsys):
    """--resample items gives RQ3's item-only intervals (and says so in every row); the default counts the raters too."""
    import annalign
    from annalign.api import Resampling

    args = ["disagreement", "--dataset", "dices350", "--ratings", JUDGE, "--bootstrap", "200", "--permutations", "0"]
    for name, extra in (("crossed", []), ("items", ["--resample", "items"])):
        code, _, err = run_cli(capsys, *args, *extra, "--out", str(tmp_path / name))
        assert code == 0, err
    crossed, items = (json.loads((tmp_path / name / "results.json").read_text("utf-8"))["rq3"] for name in ("crossed", "items"))
    assert (crossed["settings"]["resample"], items["settings"]["resample"]) == ("crossed", "items")
    assert {p["generalises_to"] for p in items["pairs"]} == {"items (conditional on these raters)"}
    assert {q["generalises_to"] for p in crossed["pairs"] for q in p["predictions"]} == {"items and raters"}
    width = [[p["reliability_ci_high"] - p["reliability_ci_low"] for p in part["pairs"]] for part in (crossed, items)]
    assert sum(c > i for c, i in zip(*width, strict=True)) >= 12  # the raters' share widens (nearly) every pair's interval
    assert [p["reliability"] for p in crossed["pairs"]] == [p["reliability"] for p in items["pairs"]]
    data = load_data(Settings(dataset="dices350"))
    machines = load_machines(data, Settings(dataset="dices350", ratings=[JUDGE]))
    res = annalign.disagreement(data, baselines=machines, resampling=Resampling(n_boot=100, n_perm=0, resample="items"))
    assert res.settings["resample"] == "items"
    with pytest.raises(InputError, match="resample must be one of crossed, items"):
        analyze_disagreement(data, resample="raters")
