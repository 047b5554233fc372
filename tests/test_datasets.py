"""Loaders: bundled sets, the official DICES layout, long-form files, rating maps, rater filters."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from annalign.core.ratingmap import RatingMap
from annalign.datasets.bundled import load_dataset
from annalign.datasets.catalog import BUNDLED, ColumnMap, data_path, list_bundled
from annalign.errors import InputError


def test_bundled_dices350_shape(dices350):
    assert (dices350.n_items, dices350.n_raters, dices350.n_ratings) == (350, 123, 43050)
    assert set(dices350.raters.columns) >= {"rater_gender", "rater_race", "rater_age", "rater_removed"}
    assert {"context", "response", "safety_gold", "degree_of_harm", "harm_type"} <= set(dices350.items.columns)
    sizes = dices350.raters.groupby(["rater_race", "rater_gender"]).size()
    assert sizes.tolist() == [16, 10, 12, 17, 10, 12, 12, 4, 11, 19]


def test_bundled_values_match_the_shipped_file(dices350):
    raw = pd.read_csv(data_path("dices350", "ratings.csv.gz"))
    expected = raw.assign(v=raw.Q_overall.map({"Yes": 1.0, "Unsure": 0.5, "No": 0.0})).pivot(index="item_id", columns="rater_id", values="v")
    dense = dices350.dense()
    got = pd.DataFrame(dense, index=dices350.item_ids.astype(int), columns=dices350.rater_ids.astype(np.int64))
    pd.testing.assert_frame_equal(got.loc[expected.index, expected.columns], expected, check_names=False)


def test_dices_kept_filter(dices350):
    kept = dices350.filter_raters("dices-kept")
    assert kept.n_raters == 104
    assert kept.n_ratings == 104 * 350
    assert not kept.raters["rater_removed"].astype(str).eq("True").any()


def test_min_ratings_filter():
    from tests.conftest import make_annotations

    dense = np.full((5, 3), np.nan)
    dense[:, 0] = [1, 2, 3, 4, 5]
    dense[:2, 1] = [1, 2]
    dense[:, 2] = [2, 2, 3, 5, 1]
    data = make_annotations(dense).filter_raters("all", min_ratings=3)
    assert data.rater_ids.tolist() == ["r0", "r2"]
    np.testing.assert_array_equal(data.dense(), dense[:, [0, 2]])


def test_dices990_votes():
    data = load_dataset("dices990")
    raw = pd.read_csv(data_path("dices990", "items_votes.csv.gz"))
    assert data.n_items == 990 and not data.has_raters
    expected = (raw.n_yes + 0.5 * raw.n_unsure) / (raw.n_yes + raw.n_no + raw.n_unsure)
    np.testing.assert_allclose(data.item_mean, expected.to_numpy(), atol=1e-12)
    assert data.n_ratings == int(raw.n_ratings.sum())


def test_list_bundled_states_the_sizes_of_the_shipped_files():
    names = {row["name"]: row for row in list_bundled()}
    assert set(names) == set(BUNDLED)
    for name, row in names.items():  # the recorded sizes are those of the data as loaded
        data = load_dataset(name)
        assert (row["items"], row["raters"], row["ratings"]) == (data.n_items, data.n_raters if data.has_raters else None, data.n_ratings)
    assert names["dices350"]["items"] == 350 and names["dices350"]["raters"] == 123


def test_listing_the_bundled_sets_imports_no_pandas():
    code = "import sys; from annalign.datasets.catalog import list_bundled; list_bundled(); print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def _official_layout(tmp_path, n_items=20):
    """An official-style DICES CSV: every column Google publishes, including per-rating Q2 answers."""
    ratings = pd.read_csv(data_path("dices350", "ratings.csv.gz"))
    items = pd.read_csv(data_path("dices350", "items.csv"))
    frame = ratings[ratings.item_id <= n_items].merge(items, on="item_id")
    frame["rater_education"] = np.where(frame.rater_id % 2 == 0, "College degree or higher", "High school or below")
    frame["Q2_harmful_content_overall"] = frame["Q_overall"]
    frame["id"] = np.arange(len(frame))
    path = tmp_path / "diverse_safety_adversarial_dialog_350.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_official_dices_csv_keeps_every_column(tmp_path):
    path, frame = _official_layout(tmp_path)
    data = load_dataset(path)
    assert data.n_items == 20 and data.n_raters == 123
    assert "rater_education" in data.raters.columns
    assert {"context", "response", "degree_of_harm", "harm_type"} <= set(data.items.columns)
    assert "Q2_harmful_content_overall" not in data.items.columns  # varies per rating, not an item field
    # Another question can be analysed by naming its column.
    q2 = load_dataset(path, columns=ColumnMap(rating="Q2_harmful_content_overall"), fmt="long")
    np.testing.assert_array_equal(np.sort(q2.values), np.sort(data.values))


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_long_form_with_column_mapping(tmp_path, suffix):
    rng = np.random.default_rng(0)
    rows = [(f"q{i}", f"ann{j}", int(rng.integers(1, 6)), "grp" + str(j % 2)) for i in range(10) for j in range(4) if (i + j) % 3]
    frame = pd.DataFrame(rows, columns=["question", "who", "stars", "team"])
    path = tmp_path / f"long.{suffix}"
    if suffix == "csv":
        frame.to_csv(path, index=False)
    elif suffix == "parquet":
        frame.to_parquet(path)
    else:
        frame.to_json(path, orient="records", lines=True)
    data = load_dataset(path, rating_map="numeric", columns=ColumnMap(item="question", rater="who", rating="stars"))
    assert data.n_ratings == len(frame)
    assert data.raters.columns.tolist() == ["team"]
    dense = data.dense()
    for q, w, s, _ in rows:
        i = data.item_ids.tolist().index(q)
        j = data.rater_ids.tolist().index(w)
        assert dense[i, j] == s
    assert np.isnan(dense).sum() == 10 * 4 - len(rows)


def test_rating_map_parsing_and_missing_words():
    rmap = RatingMap.parse("Yes=1, No=0, Refused=nan")
    values = rmap.apply(pd.Series(["yes", " NO", "refused", ""]), where="x")
    np.testing.assert_array_equal(np.isnan(values), [False, False, True, True])
    assert values[0] == 1 and values[1] == 0
    with pytest.raises(InputError, match="row 3: label 'maybe'"):
        rmap.apply(pd.Series(["yes", "maybe"]), where="f.csv", rows=[2, 3])
    assert RatingMap.parse("numeric").apply(pd.Series(["1", "4.5"]), where="x").tolist() == [1.0, 4.5]
