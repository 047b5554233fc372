"""Rating maps from a CSV/TSV table of any size: read exactly, bad rows named, the same from Python and the CLI."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from tests.clihelp import error_line, run_cli

from annalign.core.ratingmap import RatingMap
from annalign.errors import InputError


def test_a_table_of_4000_free_text_labels_is_read_exactly(tmp_path) -> None:
    rng = np.random.default_rng(0)
    labels = [f"free text label {k} ({'ok' if k % 3 else 'refused'})" for k in range(4000)]
    values = rng.integers(0, 3, 4000)
    path = tmp_path / "map.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "value"])
        writer.writerows([[label, int(v)] for label, v in zip(labels, values, strict=True)] + [["no answer", "missing"]])
    rmap = RatingMap.parse(str(path))
    assert len(rmap.mapping) == 4001 and np.isnan(rmap.mapping["no answer"])
    assert [rmap.mapping[label] for label in labels] == [float(v) for v in values]
    got = rmap.apply(["FREE TEXT LABEL 5 (ok)", labels[6]], where="x")
    assert list(got) == [float(values[5]), float(values[6])]


def test_a_tsv_without_header_reads_too(tmp_path) -> None:
    path = tmp_path / "map.tsv"
    path.write_text("Yes\t1\nUnsure\t0.5\nNo\t0\n")
    assert dict(RatingMap.parse(str(path)).mapping) == {"Yes": 1.0, "Unsure": 0.5, "No": 0.0}


@pytest.mark.parametrize(
    ("text", "message"),
    [("label,value\nYes,1\nNo,zero\n", "row 3: value 'zero' for label 'No' is not a number"),
     ("label,value\nYes,1\nYes,0\n", "row 3: label 'Yes' is mapped twice"),
     ("a,b,c\n1,2,3\n", "exactly two columns")],
)  # fmt: skip
def test_bad_tables_name_the_file_and_row(tmp_path, capsys, text, message) -> None:
    path = tmp_path / "map.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        RatingMap.parse(str(path))
    code, _, err = run_cli(capsys, "analyze", "--rating-map", str(path), "--out", str(tmp_path / "o"))
    assert code == 2 and message in error_line(err) and str(path) in error_line(err)
