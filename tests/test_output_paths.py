"""Output paths (issue 14): an --out that cannot be written is a one-line error with exit code 2, before any work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.clihelp import error_line, run_cli


def _cases(tmp_path: Path) -> dict[str, tuple[str, str]]:
    a_file = tmp_path / "afile.txt"
    a_file.write_text("x")
    cases = {
        "out_is_a_file": (str(a_file), "is a file, not a folder"),
        "out_under_a_file": (str(a_file / "sub"), "cannot create the folder: Not a directory"),
    }
    if Path("/sys").is_dir() and not os.access("/sys", os.W_OK) or Path("/sys/kernel").is_dir():
        cases["unwritable"] = ("/sys/annalign-out", "cannot create the folder")
    return cases


@pytest.mark.parametrize("case", ["out_is_a_file", "out_under_a_file", "unwritable"])
@pytest.mark.parametrize("command", [["analyze"], ["run", "--no-model"], ["groups", "--ratings", "m.csv"], ["disagreement"]])
def test_bad_out_is_a_one_line_error_exit_2(capsys, tmp_path, case, command):
    cases = _cases(tmp_path)
    if case not in cases:
        pytest.skip("no unwritable system folder here")
    out, message = cases[case]
    code, stdout, err = run_cli(capsys, *command, "--out", out, "--bootstrap", "20")
    assert code == 2
    line = error_line(err)
    assert f"--out {out}: {message}" in line
    assert "dices350" not in stdout  # refused before the data were loaded


def test_write_errors_during_output_are_one_line(monkeypatch, capsys, tmp_path):
    import pandas as pd

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "o" / "x.csv"))

    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk)
    code, _, err = run_cli(capsys, "analyze", "--out", str(tmp_path / "o"), "--bootstrap", "20")
    assert code == 2
    assert "cannot write the results" in error_line(err) and "No space left on device" in error_line(err)
