"""Peer file formats: each fixture loads with the items, raters and values a plain parse of the file gives."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import annalign
from annalign.errors import InputError

PEER = Path(__file__).parent / "fixtures" / "peer"


def _pairs(data: annalign.Annotations) -> dict[tuple[str, str], float]:
    """(item, rater) -> value of loaded data."""
    items = list(data.items.index)
    raters = list(data.raters.index)
    return {
        (items[i], raters[r]): float(v)
        for i, r, v in zip(data.item_index, data.rater_index, data.values, strict=True)
    }


def test_wide_csv_matches_a_plain_csv_parse() -> None:
    path = PEER / "wide.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = {
        (row["item_id"], rater): float(value)
        for row in rows
        for rater, value in row.items()
        if rater != "item_id" and value != ""
    }
    data = annalign.load(path, format="wide", rating_map="numeric")
    assert _pairs(data) == expected
    assert set(data.raters.index) == {"r1", "r2", "r3", "r4"}


def test_wide_csv_without_an_item_column_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("name,r1,r2\na,1,0\n")
    with pytest.raises(InputError, match="bad.csv") as info:
        annalign.load(path, format="wide", rating_map="numeric")
    assert "\n" not in str(info.value)
