"""``annalign disagreement --model``: the command annotates the personas itself, through the ledger, and pays nothing twice."""

from __future__ import annotations

import json
import sqlite3

from tests.clihelp import error_line, run_cli


def _requests(ledger) -> int:
    with sqlite3.connect(ledger) as db:
        return db.execute("select count(*) from requests").fetchone()[0]


def test_disagreement_model_annotates_personas_and_a_baseline_through_the_ledger(tmp_path, capsys) -> None:
    args = ["disagreement", "--model", "fake:hash", "--limit", "12", "--bootstrap", "20", "--permutations", "0",
            "--ledger", str(tmp_path / "ledger.sqlite")]  # fmt: skip
    code, out, err = run_cli(capsys, *args, "--out", str(tmp_path / "a"))
    assert code == 0, err
    results = json.loads((tmp_path / "a" / "results.json").read_text())
    raters = [m["rater"] for m in results["machines"]]
    groups = results["rq3"]["groups"]
    assert "fake:hash/dices-likert" in raters  # the plain rating: a baseline
    assert sorted(r.split("|persona=")[1] for r in raters if "|persona=" in r) == sorted(groups)  # one persona per group
    kinds = {p["kind"] for pair in results["rq3"]["pairs"] for p in pair["predictions"]}
    assert kinds == {"persona", "baseline"}, kinds
    assert all(p["n_items"] == 12 for pair in results["rq3"]["pairs"] for p in pair["predictions"])
    assert (tmp_path / "a" / "annotations").is_dir() and "persona" in err
    paid = _requests(tmp_path / "ledger.sqlite")
    assert paid == 12 * (1 + len(groups))
    code, _, err = run_cli(capsys, *args, "--out", str(tmp_path / "b"))  # the same run again: every answer from the ledger
    assert code == 0, err
    assert _requests(tmp_path / "ledger.sqlite") == paid
    again = json.loads((tmp_path / "b" / "results.json").read_text())
    assert again["rq3"]["pairs"] == results["rq3"]["pairs"]


def test_disagreement_with_a_bad_model_spec_is_a_one_line_error(tmp_path, capsys) -> None:
    code, _, err = run_cli(capsys, "disagreement", "--model", "nosuch:thing", "--limit", "3", "--out", str(tmp_path / "o"))
    assert code == 2 and "nosuch" in error_line(err)
