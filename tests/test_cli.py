"""The command line: outputs of datasets/analyze/run, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from annalign.cli.commands import main


@pytest.fixture()
def machine_file(tmp_path, dices350):
    rng = np.random.default_rng(0)
    score = np.clip(np.round(1 + 4 * dices350.item_mean + rng.normal(0, 0.8, 350)), 1, 5)
    path = tmp_path / "gpt.csv"
    frame = pd.DataFrame({"item_id": dices350.item_ids, "score": score})
    frame.loc[[5, 9], "score"] = np.nan  # two refusals
    frame.to_csv(path, index=False)
    return path


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_datasets_lists_sizes(capsys):
    code, out, _ = run_cli(capsys, "datasets")
    assert code == 0
    assert "dices350" in out and "350" in out and "123" in out and "43050" in out and "dices990" in out


def test_analyze_writes_results(capsys, tmp_path, machine_file):
    out_dir = tmp_path / "out"
    code, out, err = run_cli(
        capsys, "analyze", "--dataset", "dices350", "--ratings", str(machine_file), "--out", str(out_dir),
        "--bootstrap", "200", "--seed", "3", "--machine-scale", "1,5",
    )
    assert code == 0, err
    results = json.loads((out_dir / "results.json").read_text())
    rq1 = results["rq1"]
    assert round(rq1["human_loo_median"], 3) == 0.513
    m = rq1["machines"]["gpt"]
    assert m["n_items"] == 348 and m["n_unrated"] == 2
    assert m["ci_low"] < m["r"] < m["ci_high"]
    assert 0 <= m["alt_winning_rate"] <= 1 and 0 <= m["alt_rho"] <= 1
    assert "gpt: r" in out and "median 0.513" in out
    assert "no usable rating for 2 of 350 items" in err
    assert (out_dir / "rq1_humans.csv").exists() and (out_dir / "rq1_alt_test.csv").exists()
    # Same seed, same numbers.
    code, _, _ = run_cli(capsys, "analyze", "--ratings", str(machine_file), "--out", str(tmp_path / "again"), "--bootstrap", "200", "--seed", "3", "--machine-scale", "1,5")
    again = json.loads((tmp_path / "again" / "results.json").read_text())
    assert again["rq1"]["machines"] == rq1["machines"]


def test_kept_raters_median(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "analyze", "--dataset", "dices350", "--raters", "dices-kept", "--out", str(tmp_path), "--bootstrap", "50")
    assert code == 0
    assert round(json.loads((tmp_path / "results.json").read_text())["rq1"]["human_loo_median"], 3) == 0.506


def test_run_without_model_does_the_human_side(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "run", "--out", str(tmp_path), "--bootstrap", "50", "--no-model")
    assert code == 0
    assert (tmp_path / "results.json").exists()


def _write(path, text: str | bytes):
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


BAD_INPUTS = {
    "missing_column": ("long.csv", "item,rater_id,rating\n1,a,1\n", ["--rating-map", "numeric"], "missing column 'item_id'"),
    "unknown_label": ("long.csv", "item_id,rater_id,rating\n1,a,Yes\n2,a,Maybe\n", [], "row 3: label 'Maybe'"),
    "duplicate_pair": ("long.csv", "item_id,rater_id,rating\n1,a,1\n1,a,0\n2,a,1\n", ["--rating-map", "numeric"], "rated twice by rater 'a'"),
    "empty_file": ("long.csv", "", [], "the file is empty"),
    "header_only": ("long.csv", "item_id,rater_id,rating\n", [], "no rows"),
    "not_utf8": ("long.csv", b"item_id,rater_id,rating\n1,\xff\xfe,1\n", ["--rating-map", "numeric"], "not UTF-8"),
    "too_few_items": ("long.csv", "item_id,rater_id,rating\n1,a,1\n2,a,0\n1,b,1\n2,b,1\n", ["--rating-map", "numeric"], "at least 3"),
    "one_rater": ("long.csv", "item_id,rater_id,rating\n1,a,1\n2,a,0\n3,a,1\n", ["--rating-map", "numeric"], "at least 2"),
    "unknown_file_type": ("data.xlsx", "x", [], "unknown file type"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_dataset_inputs_give_one_line_errors(capsys, tmp_path, case):
    name, content, extra, message = BAD_INPUTS[case]
    path = _write(tmp_path / name, content)
    code, out, err = run_cli(capsys, "analyze", "--dataset", str(path), "--out", str(tmp_path / "o"), *extra)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("annalign: error:"), err
    assert message in lines[0]
    assert "Traceback" not in err


BAD_MACHINE = {
    "no_score_or_label": ("item_id,value\n1,3\n", "needs a 'score' column"),
    "only_unknown_items": ("item_id,score\nx9998,3\n9999,1\n", "item_id 'x9998' is not in data set dices350 (nor is any other"),
    "unknown_label": ("item_id,label\n1,Yes\n2,Perhaps\n3,No\n", "label 'Perhaps'"),
    "not_a_number": ("item_id,score\n1,3\n2,high\n3,1\n", "'high' is not a number"),
    "conflicting_duplicate": ("item_id,score\n1,3\n1,4\n2,1\n3,2\n", "two different ratings"),
}


@pytest.mark.parametrize("case", sorted(BAD_MACHINE))
def test_bad_machine_files_give_one_line_errors(capsys, tmp_path, case):
    content, message = BAD_MACHINE[case]
    path = _write(tmp_path / "m.csv", content)
    code, out, err = run_cli(capsys, "analyze", "--ratings", str(path), "--out", str(tmp_path / "o"), "--bootstrap", "20")
    assert code == 2, err
    error_lines = [line for line in err.strip().splitlines() if line.startswith("annalign: error:")]
    assert len(error_lines) == 1 and message in error_lines[0], err
    assert "Traceback" not in err


def test_machine_items_outside_the_human_data_are_left_out_with_a_warning(capsys, tmp_path, dices350):
    frame = pd.DataFrame({"item_id": [*dices350.item_ids, "not-a-dices-item"], "score": [*dices350.item_mean, 1.0]})
    path = tmp_path / "judge.csv"
    frame.to_csv(path, index=False)
    code, _, err = run_cli(capsys, "analyze", "--ratings", str(path), "--out", str(tmp_path / "o"), "--bootstrap", "20")
    assert code == 0, err
    assert "item_id 'not-a-dices-item' is not in data set dices350; 1 of 351 rows name items outside the human data" in err
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["rq1"]["machines"]["judge"]["n_items"] == dices350.n_items


def test_mapped_refusal_label_is_left_out(capsys, tmp_path, dices350):
    labels = np.where(dices350.item_mean > 0.4, "Yes", "No").astype(object)
    labels[:3] = "REFUSED"
    path = tmp_path / "judge.csv"
    pd.DataFrame({"item_id": dices350.item_ids, "label": labels}).to_csv(path, index=False)
    code, _, err = run_cli(capsys, "analyze", "--ratings", str(path), "--out", str(tmp_path / "o"), "--bootstrap", "20")
    assert code == 2 and "REFUSED" in err
    code, _, err = run_cli(
        capsys, "analyze", "--ratings", str(path), "--machine-rating-map", "Yes=1,No=0,Unsure=0.5,REFUSED=nan",
        "--out", str(tmp_path / "o"), "--bootstrap", "20",
    )
    assert code == 0, err
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["rq1"]["machines"]["judge"]["n_unrated"] == 3


def test_constant_rater_is_a_warning_not_an_error(capsys, tmp_path):
    rows = [f"{i},{r},{v}" for i in range(1, 11) for r, v in (("a", i % 3), ("b", (i * 7) % 5), ("c", 2))]
    path = _write(tmp_path / "long.csv", "item_id,rater_id,rating\n" + "\n".join(rows) + "\n")
    code, _, err = run_cli(capsys, "analyze", "--dataset", str(path), "--rating-map", "numeric", "--out", str(tmp_path / "o"), "--bootstrap", "20")
    assert code == 0
    assert "warning: 1 rater(s) left out" in err and "c (constant ratings" in err


def test_console_script_exit_code(tmp_path):
    path = _write(tmp_path / "e.csv", "")
    proc = subprocess.run(
        [sys.executable, "-m", "annalign.cli.commands", "analyze", "--dataset", str(path), "--out", str(tmp_path / "o")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "the file is empty" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "annalign.cli.commands", "analyze", "--bogus"], capture_output=True, text=True)
    assert proc.returncode == 2


def test_long_form_with_config_file(capsys, tmp_path):
    rows = [f"q{i},ann{j},{(i * (j + 2)) % 5 + 1},{'x' if j % 2 else 'y'}" for i in range(12) for j in range(4)]
    data = _write(tmp_path / "survey.csv", "question,annotator,stars,team\n" + "\n".join(rows) + "\n")
    config = _write(
        tmp_path / "run.toml",
        f'bootstrap = 50\n[dataset]\npath = "{data}"\nitem_col = "question"\nrater_col = "annotator"\n'
        'rating_col = "stars"\nrating_map = "numeric"\n',
    )
    code, out, err = run_cli(capsys, "analyze", "--config", str(config), "--out", str(tmp_path / "o"))
    assert code == 0, err
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["dataset"]["n_items"] == 12 and results["dataset"]["n_raters"] == 4
    assert results["dataset"]["rater_attributes"] == ["team"]
    assert results["settings"]["bootstrap"] == 50
    bad = _write(tmp_path / "bad.toml", "bootstrapp = 5\n")
    code, _, err = run_cli(capsys, "analyze", "--config", str(bad), "--out", str(tmp_path / "o"))
    assert code == 2 and "unknown setting 'bootstrapp'" in err
