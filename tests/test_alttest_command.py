"""``annalign alttest`` and ``annalign.alt_test``: the alt-test alone gives exactly RQ1's alt-test, with one-line errors."""

from __future__ import annotations

import json
import warnings

import pytest
from tests.clihelp import error_line, run_cli

import annalign
from annalign.errors import AnalysisWarning, InputError

JUDGES = ["docs/data/dices350-judge-a.csv", "tests/fixtures/dices350-judge-b.csv"]


def test_the_alttest_command_equals_rq1s_alt_test(tmp_path, capsys) -> None:
    code, out, err = run_cli(capsys, "alttest", "--dataset", "dices350", "--ratings", JUDGES[0], "--ratings", JUDGES[1],
                             "--alt-epsilon", "0.15", "--alt-scoring", "accuracy", "--out", str(tmp_path / "a"))  # fmt: skip
    assert code == 0, err
    assert "dices350-judge-b: winning rate" in out and "epsilon 0.15" in out
    alone = json.loads((tmp_path / "a" / "alt_test.json").read_text())["machines"]
    data = annalign.load("dices350")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        rq1 = annalign.alignment(data, annalign.load_machines(JUDGES, data), resampling=10,
                                 alt_test=annalign.AltTestOptions(epsilon=0.15, scoring="accuracy"))  # fmt: skip
    for m in rq1.machines:
        assert alone[m.name]["winning_rate"] == pytest.approx(m.alt.winning_rate, abs=0)
        assert alone[m.name]["rho"] == pytest.approx(m.alt.rho, abs=0)
    assert (tmp_path / "a" / "alt_test.csv").read_text().count("\n") == 2 * 123 + 1


def test_alttest_errors_are_one_line(tmp_path, capsys) -> None:
    code, _, err = run_cli(capsys, "alttest", "--dataset", "dices350", "--ratings", JUDGES[0], "--alt-q", "2")
    assert code == 2 and "--alt-q" in error_line(err)
    code, _, err = run_cli(capsys, "alttest", "--dataset", "dices990", "--ratings", JUDGES[0])
    assert code == 2 and "rater identities" in error_line(err)
    with pytest.raises(InputError, match="AltTestOptions"):
        annalign.alt_test(annalign.load("dices350"), annalign.load_machines(JUDGES[0], annalign.load("dices350")), options={"q": 0.1})
