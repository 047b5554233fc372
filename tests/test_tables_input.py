"""Reading tables (issue 14): true byte offsets, JSON arrays, truncated gzip, delimiter hints, id spellings, ratings."""

from __future__ import annotations

import gzip
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from tests.clihelp import error_line, run_cli

from annalign.core.ratingmap import RatingMap
from annalign.datasets.bundled import load_dataset
from annalign.datasets.tables import ids_as_text, read_table, table_stem
from annalign.errors import AnalysisWarning, InputError


def long_rows(n_items: int = 8, raters: tuple[str, ...] = ("a", "b", "c")) -> list[str]:
    return [f"{i},{r},{(i * (k + 2)) % 5 + 1}" for i in range(1, n_items + 1) for k, r in enumerate(raters)]


def test_not_utf8_names_the_true_byte_offset_and_row(tmp_path):
    # Far beyond pandas' read buffer, where the chunk-relative offset it reports is wrong.
    lines = ["item_id,rater_id,rating"] + long_rows(20000, ("a", "b"))
    head = ("\n".join(lines) + "\n").encode()
    path = tmp_path / "big.csv"
    path.write_bytes(head + b"9999,\xff\xfe,1\n")
    with pytest.raises(InputError) as exc:
        read_table(path)
    message = str(exc.value)
    assert f"row {len(lines) + 1}:" in message and f"byte {len(head) + 5} of the file" in message


def test_not_utf8_inside_a_gzip_file(tmp_path):
    path = tmp_path / "r.csv.gz"
    path.write_bytes(gzip.compress(b"item_id,rater_id,rating\n1,a,1\n2,\xe9,1\n"))
    with pytest.raises(InputError, match=r"row 3: not UTF-8 text \(byte 32 of the decompressed text"):
        read_table(path)


def test_json_array_is_read_as_json_not_json_lines(tmp_path):
    records = [{"item_id": i, "rater_id": r, "rating": (i + len(r)) % 3} for i in range(1, 6) for r in ("a", "bb", "ccc")]
    path = tmp_path / "ratings.json"
    path.write_text(json.dumps(records, indent=2))
    frame = read_table(path)
    assert len(frame) == 15 and frame["_row"].tolist() == list(range(1, 16))
    data = load_dataset(path, rating_map="numeric")
    assert (data.n_items, data.n_raters, data.n_ratings) == (5, 3, 15)
    lines = tmp_path / "lines.json"
    lines.write_text("\n".join(json.dumps(r) for r in records) + "\n")  # JSON Lines under .json still work
    assert len(read_table(lines)) == 15
    bad = tmp_path / "bad.json"
    bad.write_text('[{"item_id": 1}, 3]')
    with pytest.raises(InputError, match="element 2 of the JSON array is not an object"):
        read_table(bad)


def test_truncated_gzip_is_an_input_error_exit_2(capsys, tmp_path):
    full = gzip.compress(("item_id,rater_id,rating\n" + "\n".join(long_rows(400)) + "\n").encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(full[: len(full) // 2])
    code, _, err = run_cli(capsys, "analyze", "--dataset", str(path), "--rating-map", "numeric", "--out", str(tmp_path / "o"))
    assert code == 2
    assert "compressed file is truncated or corrupt" in error_line(err) and "interrupted" not in err


@pytest.mark.parametrize(("sep", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_delimiter_hint_for_a_csv_that_is_not_comma_separated(capsys, tmp_path, sep, name):
    path = tmp_path / "semi.csv"
    path.write_text(sep.join(["item_id", "rater_id", "rating"]) + "\n" + "\n".join(r.replace(",", sep) for r in long_rows()) + "\n")
    code, _, err = run_cli(capsys, "analyze", "--dataset", str(path), "--rating-map", "numeric", "--out", str(tmp_path / "o"))
    assert code == 2
    line = error_line(err)
    assert "missing column" in line and f"looks {name}-separated" in line


def test_id_spellings_1_and_1_0_are_one_item_with_a_warning(capsys, tmp_path):
    """The issue's case: an 8-item CSV whose ids are written '1' by one rater and '1.0' by another."""
    rng = np.random.default_rng(4)
    truth = rng.normal(size=8)
    rows = []
    for k, rater in enumerate("abcd"):
        for i in range(8):
            spelled = f"{i + 1}.0" if k % 2 else str(i + 1)
            rows.append(f"{spelled},{rater},{truth[i] + rng.normal(0, 0.5):.3f}")
    path = tmp_path / "mixed.csv"
    path.write_text("item_id,rater_id,rating\n" + "\n".join(rows) + "\n")
    with pytest.warns(AnalysisWarning, match=r"item id spellings '1', '1.0' are read as one id '1'"):
        data = load_dataset(path, rating_map="numeric")
    assert data.n_items == 8 and data.n_raters == 4 and sorted(data.item_ids, key=int) == [str(i) for i in range(1, 9)]
    code, _, err = run_cli(capsys, "analyze", "--dataset", str(path), "--rating-map", "numeric", "--out", str(tmp_path / "o"),
                           "--bootstrap", "20")
    assert code == 0 and "read as one id" in err
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert results["dataset"]["n_items"] == 8


def test_canonical_ids_are_the_same_in_every_format(tmp_path):
    ids = ["1", "1.0", "2.50", "01", "x7", " 3 "]
    assert ids_as_text(pd.Series(ids)).tolist() == ["1", "1", "2.5", "01", "x7", "3"]
    assert ids_as_text(pd.Series([1, 1.0, 2.5, np.int64(3), None], dtype=object)).tolist() == ["1", "1", "2.5", "3", None]
    frame = pd.DataFrame({"item_id": [1.0, 2.0, 3.0], "rater_id": ["a", "a", "b"], "rating": [1, 2, 3]})
    frame.to_parquet(tmp_path / "r.parquet")
    frame.to_csv(tmp_path / "r.csv", index=False)  # written as 1.0, 2.0, 3.0
    (tmp_path / "r.jsonl").write_text("\n".join(json.dumps(r) for r in frame.to_dict("records")))
    got = {ext: ids_as_text(read_table(tmp_path / f"r.{ext}")["item_id"]).tolist() for ext in ("parquet", "csv", "jsonl")}
    assert got == {"parquet": ["1", "2", "3"], "csv": ["1", "2", "3"], "jsonl": ["1", "2", "3"]}


def test_leading_zeros_stay_distinct_with_a_warning():
    with pytest.warns(AnalysisWarning, match="differ only by leading zeros"):
        out = ids_as_text(pd.Series(["01", "1", "2"]), where="f.csv")
    assert out.tolist() == ["01", "1", "2"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ids_as_text(pd.Series(["1", "2", "3"]), where="f.csv")  # one spelling each: no warning


@pytest.mark.parametrize(
    ("name", "stem"),
    [("gpt-4.1-mini.csv", "gpt-4.1-mini"), ("qwen2.5-14b.csv.gz", "qwen2.5-14b"), ("claude-3.5.jsonl", "claude-3.5"),
     ("m.v2.parquet", "m.v2"), ("judge.tsv", "judge"), ("x.1.json", "x.1"), ("a.jsonl.gz", "a"), ("model.v1.txt", "model.v1.txt")],
)
def test_rater_names_cut_only_known_table_suffixes(name, stem):
    assert table_stem(name) == stem


BAD_RATINGS = {
    "inf": ("inf", [], "value 'inf' is not a finite number"),
    "1e309": ("1e309", [], "value '1e309' is not a finite number"),
    "minus_inf": ("-inf", [], "value '-inf' is not a finite number"),
    "out_of_declared_scale": ("7", ["--scale", "1,5"], "value '7' lies outside the declared scale 1,5"),
    "negative_under_scale": ("-2", ["--scale", "1,5"], "value '-2' lies outside the declared scale 1,5 (negative)"),
    "scale_in_rating_map": ("6", ["--rating-map", "numeric:1,5"], "value '6' lies outside the declared scale 1,5"),
}


@pytest.mark.parametrize("case", sorted(BAD_RATINGS))
def test_non_finite_and_out_of_scale_human_ratings_are_refused(capsys, tmp_path, case):
    value, extra, message = BAD_RATINGS[case]
    rows = long_rows()
    rows[4] = f"2,c,{value}"  # data row 5 is line 6 of the file
    path = tmp_path / "h.csv"
    path.write_text("item_id,rater_id,rating\n" + "\n".join(rows) + "\n")
    code, _, err = run_cli(capsys, "analyze", "--dataset", str(path), *(extra or ["--rating-map", "numeric"]),
                           *(["--rating-map", "numeric"] if extra and extra[0] == "--scale" else []), "--out", str(tmp_path / "o"))
    assert code == 2
    line = error_line(err)
    assert f"{path}, column 'rating', row 6: {message}" in line


def test_declared_scale_in_a_rating_map_file(tmp_path):
    rmap = tmp_path / "map.toml"
    rmap.write_text('rating_map = "numeric"\nscale = [1, 5]\n')
    parsed = RatingMap.parse(str(rmap))
    assert parsed.numeric and parsed.scale == (1.0, 5.0)
    with pytest.raises(InputError, match="row 4: value 0 lies outside the declared scale 1,5"):
        parsed.apply(pd.Series([1, 5, 0]), where="f.csv", rows=[2, 3, 4])
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"rating_map": {"Safe": 1, "Unsafe": 9}, "scale": [1, 5]}))
    with pytest.raises(InputError, match="label 'Unsafe' = 9 lies outside the declared scale 1,5"):
        RatingMap.parse(str(labels))


@pytest.mark.parametrize("spec", ["Yes=inf,No=0", "Yes=1e309,No=0", "Yes=-inf,No=0"])
def test_rating_map_values_must_be_finite(spec):
    with pytest.raises(InputError, match="not a finite number"):
        RatingMap.parse(spec)


def test_values_in_messages_are_plain_python_not_numpy_reprs(tmp_path, dices350):
    frame = pd.DataFrame({"item_id": dices350.item_ids[:5], "label": np.array([True, False, True, True, False])})
    path = tmp_path / "bools.parquet"
    frame.to_parquet(path)
    from annalign.datasets.machine_files import load_machine_ratings

    with pytest.raises(InputError) as exc:
        load_machine_ratings([path], dices350)
    assert "label True is not in the rating map" in str(exc.value) and "np." not in str(exc.value)
    assert "map it with --machine-rating-map" in str(exc.value)


@pytest.mark.parametrize("value", ["inf", "1e309", "-1", "2.5", "many"])
def test_vote_counts_must_be_finite_whole_numbers(tmp_path, value):
    path = tmp_path / "votes.csv"
    path.write_text(f"item_id,n_yes,n_no,n_unsure\n1,3,2,1\n2,{value},1,0\n3,1,1,1\n")
    with pytest.raises(InputError, match=rf"row 3: column n_yes must be a non-negative whole count, got '{value}'"):
        load_dataset(path, fmt="votes")


def test_id_spellings_give_the_numbers_of_the_clean_file(capsys, tmp_path):
    """'1' and '1.0' for one item: r and the human median are those of the file with one spelling (was 16 items)."""
    rng = np.random.default_rng(9)
    truth = rng.normal(size=8)
    ratings = {(i, r): round(float(truth[i] + rng.normal(0, 0.7)), 2) for i in range(8) for r in "abcd"}
    clean = tmp_path / "clean.csv"
    mixed = tmp_path / "mixed.csv"
    clean.write_text("item_id,rater_id,rating\n" + "".join(f"{i + 1},{r},{v}\n" for (i, r), v in ratings.items()))
    mixed.write_text("item_id,rater_id,rating\n" + "".join(f"{i + 1}{'.0' if r in 'bd' else ''},{r},{v}\n" for (i, r), v in ratings.items()))
    medians = []
    for path in (clean, mixed):
        code, _, err = run_cli(capsys, "analyze", "--dataset", str(path), "--rating-map", "numeric", "--out", str(tmp_path / path.stem),
                               "--bootstrap", "20")
        assert code == 0, err
        results = json.loads((tmp_path / path.stem / "results.json").read_text())
        medians.append((results["dataset"]["n_items"], results["rq1"]["human_loo_median"]))
    assert medians[0] == medians[1] and medians[0][0] == 8


def test_nested_json_cells_are_text_not_a_crash(tmp_path):
    path = tmp_path / "nested.jsonl"
    rows = [{"item_id": [1, 2] if i == 0 else i, "rater_id": r, "rating": 1 + (i + len(r)) % 3, "meta": {"k": i}}
            for i in range(4) for r in ("a", "bb")]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    data = load_dataset(path, rating_map="numeric")
    assert "[1, 2]" in data.item_ids and data.n_items == 4
