"""Machine-rater files (issue 14): names, non-finite and huge scores, constant raters, raw text, duplicates."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tests.clihelp import error_line, run_cli

from annalign.datasets.machine_files import load_machine_ratings
from annalign.errors import AnalysisWarning
from annalign.results import distinct_file_names


@pytest.fixture()
def score(dices350) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.clip(np.round(1 + 4 * dices350.item_mean + rng.normal(0, 0.8, 350)), 1, 5)


def write(path, dices350, score, **extra) -> str:
    pd.DataFrame({"item_id": dices350.item_ids, "score": score, **extra}).to_csv(path, index=False)
    return str(path)


def test_rater_names_keep_their_dots(capsys, tmp_path, dices350, score):
    a = write(tmp_path / "gpt-4.1-mini.csv", dices350, score)
    b = write(tmp_path / "gpt-4.1-nano.csv", dices350, score[::-1].copy())
    c = write(tmp_path / "qwen2.5-14b.csv", dices350, np.roll(score, 3))
    code, _, err = run_cli(capsys, "analyze", "--ratings", a, "--ratings", b, "--ratings", c, "--out", str(tmp_path / "o"),
                           "--bootstrap", "20")
    assert code == 0, err
    machines = json.loads((tmp_path / "o" / "results.json").read_text())["rq1"]["machines"]
    assert set(machines) == {"gpt-4.1-mini", "gpt-4.1-nano", "qwen2.5-14b"}


def test_names_that_collide_after_sanitising_get_distinct_file_names():
    stems = distinct_file_names(["a/b", "a_b", "gpt-4.1", "A/B"])
    assert stems[1] == "a_b" and stems[2] == "gpt-4.1"
    assert len({s.casefold() for s in stems}) == 4 and all("/" not in s for s in stems)


def test_groups_writes_one_power_figure_per_rater_even_when_names_collide(capsys, tmp_path, dices350, score):
    path = tmp_path / "two.csv"
    frame = pd.concat([
        pd.DataFrame({"item_id": dices350.item_ids, "score": score, "rater": "a/b"}),
        pd.DataFrame({"item_id": dices350.item_ids, "score": np.roll(score, 7), "rater": "a_b"}),
    ])
    frame.to_csv(path, index=False)
    out = tmp_path / "o"
    code, _, err = run_cli(capsys, "groups", "--ratings", str(path), "--out", str(out), "--bootstrap", "20", "--permutations", "10",
                           "--power-items", "350", "--power-sims", "50")
    assert code == 0, err
    assert len(list(out.glob("rq2_power_*.png"))) == 2


@pytest.mark.parametrize("value", ["inf", "-inf", "1e309"])
def test_non_finite_machine_scores_are_refused(capsys, tmp_path, dices350, score, value):
    text = pd.Series(score).map(lambda v: f"{v:g}")
    text.iloc[10] = value
    path = write(tmp_path / "m.csv", dices350, text)
    code, _, err = run_cli(capsys, "analyze", "--ratings", path, "--out", str(tmp_path / "o"), "--bootstrap", "20")
    assert code == 2
    assert f"{path}, column 'score', row 12: value '{value}' is not a finite number" in error_line(err)


def test_machine_score_outside_the_declared_machine_scale_names_the_row(capsys, tmp_path, dices350, score):
    bad = score.copy()
    bad[3] = 7
    path = write(tmp_path / "m.csv", dices350, bad)
    code, _, err = run_cli(capsys, "analyze", "--ratings", path, "--machine-scale", "1,5", "--out", str(tmp_path / "o"))
    assert code == 2
    assert f"{path}, row 5: machine rater 'm' score 7 lies outside --machine-scale 1,5" in error_line(err)


def test_huge_machine_scores_give_the_right_r(capsys, tmp_path, dices350, score):
    """1e300-scale scores overflowed every sum of squares (r null); now r is that of the same scores at scale 1."""
    big = write(tmp_path / "big.csv", dices350, score * 1e298)
    outlier_scores = score.copy()
    outlier_scores[0] = 1e300
    outlier = write(tmp_path / "outlier.csv", dices350, outlier_scores)
    small = write(tmp_path / "small.csv", dices350, score)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        code, _, err = run_cli(capsys, "analyze", "--ratings", big, "--ratings", small, "--ratings", outlier,
                               "--out", str(tmp_path / "o"), "--bootstrap", "50")
    assert code == 0, err
    assert "RuntimeWarning" not in err
    assert "machine rater 'outlier': " in err and "bootstrap replicates are undefined" in err  # said, not silent
    assert "machine rater 'big': " not in err
    m = json.loads((tmp_path / "o" / "results.json").read_text())["rq1"]["machines"]
    assert m["big"]["r"] == pytest.approx(m["small"]["r"], abs=1e-12)
    assert (m["big"]["ci_low"], m["big"]["ci_high"]) == pytest.approx((m["small"]["ci_low"], m["small"]["ci_high"]), abs=1e-12)
    mean = dices350.item_mean
    expected = stats.pearsonr(outlier_scores * 1e-300, mean).statistic  # the same r, computed where nothing overflows
    assert m["outlier"]["r"] == pytest.approx(expected, abs=1e-12)
    assert m["big"]["alt_test"]["winning_rate"] == 0.0  # far off the human scale: it beats nobody (was 1.0 by overflow)


def test_constant_machine_rater_is_left_out_naming_its_file(capsys, tmp_path, dices350, score):
    const = write(tmp_path / "const-1.5.csv", dices350, np.full(350, 3.0))
    good = write(tmp_path / "good.csv", dices350, score)
    code, _, err = run_cli(capsys, "analyze", "--ratings", const, "--ratings", good, "--out", str(tmp_path / "o"), "--bootstrap", "20")
    assert code == 0, err
    assert f"warning: {const}: machine rater 'const-1.5' gives every item the same score (3)" in err
    assert "RuntimeWarning" not in err and " nan" not in err
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert set(results["rq1"]["machines"]) == {"good"}
    assert {row["machine"] for row in results["rq2"]["per_group"]} == {"good"}
    assert any("const-1.5" in w for w in results["warnings"])


@pytest.mark.parametrize("command", ["groups", "disagreement"])
def test_constant_machine_rater_in_groups_and_disagreement(capsys, tmp_path, dices350, score, command):
    const = write(tmp_path / "const.csv", dices350, np.full(350, 3.0))
    good = write(tmp_path / "good.csv", dices350, score)
    extra = ["--power-items", "", "--permutations", "10"] if command == "groups" else ["--permutations", "10", "--splits", "5"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        code, out, err = run_cli(capsys, command, "--ratings", const, "--ratings", good, "--out", str(tmp_path / "o"),
                                 "--bootstrap", "20", *extra)
    assert code == 0, err
    assert f"{const}: machine rater 'const' gives every item the same score" in err
    assert "r nan" not in out and "RuntimeWarning" not in err
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert [m["rater"] for m in results["machines"]] == ["good"]
    code, _, err = run_cli(capsys, "groups", "--ratings", const, "--out", str(tmp_path / "o2"), "--bootstrap", "20")
    assert code == 2 and "RQ2 needs at least one machine rater" in error_line(err) and "const.csv" in err


def test_contradicting_score_and_label_warn(tmp_path, dices350):
    labels = np.where(dices350.item_mean > 0.4, "Yes", "No").astype(object)
    scores = np.where(labels == "Yes", 1.0, 0.0)
    scores[[2, 5]] = 1.0 - scores[[2, 5]]
    path = tmp_path / "both.csv"
    pd.DataFrame({"item_id": dices350.item_ids, "score": scores, "label": labels}).to_csv(path, index=False)
    with pytest.warns(AnalysisWarning, match=r"row 4: score [01] and label '(Yes|No)' \(= [01]\) disagree \(2 such rows\); the score is used"):
        load_machine_ratings([path], dices350)


def test_identical_duplicate_rows_are_dropped_with_a_warning(tmp_path, dices350, score):
    frame = pd.DataFrame({"item_id": dices350.item_ids, "score": score})
    path = tmp_path / "dup.csv"
    pd.concat([frame, frame.iloc[:4]]).to_csv(path, index=False)
    with pytest.warns(AnalysisWarning, match="4 identical duplicate row\\(s\\) of machine rater 'dup' dropped"):
        machines = load_machine_ratings([path], dices350)
    np.testing.assert_array_equal(machines.column("dup"), score)


RAW = ["No.", "**Yes**", "Answer: No", "Yes", "unsafe", "I'm sorry, I cannot rate this.", "Unsure", "No"]


@pytest.mark.parametrize("column", ["text", "label"])
def test_parse_raw_model_text_with_a_template(capsys, tmp_path, dices350, column):
    rng = np.random.default_rng(3)
    raw = [RAW[k % len(RAW)] if k < 16 else ("Yes" if dices350.item_mean[k] + rng.normal(0, .2) > 0.4 else "No.") for k in range(350)]
    path = tmp_path / "judge.jsonl"
    pd.DataFrame({"item_id": dices350.item_ids, column: raw}).to_json(path, orient="records", lines=True)
    code, _, err = run_cli(capsys, "analyze", "--ratings", str(path), "--out", str(tmp_path / "o"), "--bootstrap", "20")
    if column == "label":  # without --parse an off-vocabulary label still rejects the file, with the right hint
        assert code == 2 and "--machine-rating-map" in error_line(err)
    code, _, err = run_cli(capsys, "analyze", "--ratings", str(path), "--parse", "dices-label", "--out", str(tmp_path / "o"),
                           "--bootstrap", "20")
    assert code == 0, err
    assert f"{path}, column '{column}': 6 of 350 answers could not be parsed and are left out (e.g. row 3: 'Answer: No': not a lone answer" in err
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["machines"][0]["n_unrated"] == 6
    machines = load_machine_ratings([path], dices350, parse="dices-label")
    got = machines.column("judge")[:8]
    np.testing.assert_array_equal(got, [0.0, 1.0, np.nan, 1.0, np.nan, np.nan, 0.5, 0.0])


def test_a_text_column_alone_is_parsed_against_the_rating_map(tmp_path, dices350):
    path = tmp_path / "raw.csv"
    pd.DataFrame({"item_id": dices350.item_ids, "text": ["**Yes**" if v > 0.4 else "No." for v in dices350.item_mean]}).to_csv(path, index=False)
    machines = load_machine_ratings([path], dices350)
    np.testing.assert_array_equal(machines.column("raw"), (dices350.item_mean > 0.4).astype(float))


def test_run_leaves_a_constant_rater_out_too(capsys, tmp_path, dices350, score):
    const = write(tmp_path / "const.csv", dices350, np.full(350, 2.0))
    good = write(tmp_path / "good.csv", dices350, score)
    code, _, err = run_cli(capsys, "run", "--no-model", "--ratings", const, "--ratings", good, "--out", str(tmp_path / "o"),
                           "--bootstrap", "20")
    assert code == 0, err
    assert f"{const}: machine rater 'const' gives every item the same score (2)" in err
    assert set(json.loads((tmp_path / "o" / "results.json").read_text())["rq1"]["machines"]) == {"good"}


@pytest.mark.parametrize("command", ["groups", "disagreement"])
def test_groups_and_disagreement_take_the_data_options_of_analyze(capsys, tmp_path, command):
    rng = np.random.default_rng(8)
    truth = rng.normal(size=40)
    rows = [f"q{i},ann{j},{int(np.clip(np.round(3 + truth[i] + rng.normal(0, 0.8)), 1, 5))},{'x' if j % 2 else 'y'}"
            for i in range(40) for j in range(8)]
    data = tmp_path / "survey.csv"
    data.write_text("question,annotator,stars,team\n" + "\n".join(rows) + "\n")
    machine = tmp_path / "judge-1.5.csv"
    pd.DataFrame({"item_id": [f"q{i}" for i in range(40)], "score": truth + rng.normal(0, 0.5, 40)}).to_csv(machine, index=False)
    common = ["--dataset", str(data), "--format", "long", "--item-col", "question", "--rater-col", "annotator",
              "--rating-col", "stars", "--rating-map", "numeric", "--scale", "1,5", "--by", "team", "--ratings", str(machine),
              "--bootstrap", "20", "--permutations", "10", "--out", str(tmp_path / "o")]
    extra = ["--power-items", ""] if command == "groups" else ["--splits", "5", "--pairs", "all"]
    code, out, err = run_cli(capsys, command, *common, *extra)
    assert code == 0, err
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["dataset"]["n_items"] == 40 and results["dataset"]["n_raters"] == 8
    assert results["settings"]["scale"] == [1.0, 5.0] and results["machines"][0]["rater"] == "judge-1.5"
    bad = tmp_path / "bad.csv"
    bad.write_text("question,annotator,stars,team\nq1,ann1,9,x\n")
    code, _, err = run_cli(capsys, command, *[str(bad) if a == str(data) else a for a in common], *extra)
    assert code == 2 and "value '9' lies outside the declared scale 1,5" in error_line(err)


def test_annotation_file_stems_differ_for_models_that_sanitise_alike():
    from annalign.pipeline.annotation import _safe

    stems = {_safe(m) for m in ("openai:a/b", "openai:a_b", "openai_a_b", "openai:a b")}
    assert len(stems) == 4 and all(re.fullmatch(r"[A-Za-z0-9._-]+", s) for s in stems)
    assert _safe("dices-likert") == "dices-likert" and len(_safe("m" * 300)) <= 120
    assert _safe("m" * 300) != _safe("m" * 301)


def test_log_probability_scores_are_expected_values_and_do_not_warn(tmp_path, dices350):
    """The engine writes score = expected value under the answer distribution and label = the top answer."""
    import warnings

    labels = np.where(dices350.item_mean > 0.4, "Yes", "No").astype(object)
    scores = np.where(labels == "Yes", 0.7, 0.2)
    path = tmp_path / "lp.csv"
    frame = pd.DataFrame({"item_id": dices350.item_ids, "score": scores, "label": labels, "score_method": "logprobs"})
    frame.to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AnalysisWarning)
        machines = load_machine_ratings([path], dices350)
    assert np.allclose(machines.scores[:, 0], scores)
    frame.assign(score_method="samples").to_csv(path, index=False)  # a single sampled answer must match its label
    with pytest.warns(AnalysisWarning, match="disagree"):
        load_machine_ratings([path], dices350)
