"""Peer file formats: each fixture loads with the items, raters and values a plain parse of the file gives."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from tests.clihelp import error_line, run_cli

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


# --- peer JSON layouts (alt-test, JUDGE-BENCH, LeWiDi): fixtures shaped like the published files ---

ALT_HUMAN = PEER / "alttest_human_annotations.json"
ALT_LLM = PEER / "alttest_llm_annotations.json"
JUDGEBENCH = PEER / "judgebench_summaries.json"
LEWIDI_2023 = PEER / "HS-Brexit_dev.json"
LEWIDI_2025 = PEER / "MP_dev.json"
YES_NO = {"yes": 1.0, "no": 0.0}


def _json(path: Path) -> object:
    return json.loads(path.read_text("utf-8"))


def _expected_alttest() -> dict[tuple[str, str], float]:
    return {(item, rater): YES_NO[label] for rater, labels in _json(ALT_HUMAN).items() for item, label in labels.items()}


def _expected_judgebench(metric: str) -> dict[tuple[str, str], float]:
    out = {}
    for instance in _json(JUDGEBENCH)["instances"]:
        for k, score in enumerate(instance["annotations"][metric]["individual_human_scores"], start=1):
            if score is not None:
                out[(str(instance["id"]), f"h{k}")] = float(score)
    return out


def _expected_lewidi_2023() -> dict[tuple[str, str], float]:
    out = {}
    for item, entry in _json(LEWIDI_2023).items():
        for rater, label in zip(entry["annotators"].split(","), entry["annotations"].split(","), strict=True):
            out[(item, rater)] = float(label)
    return out


def _expected_lewidi_2025() -> dict[tuple[str, str], float]:
    return {(item, rater): float(label) for item, entry in _json(LEWIDI_2025).items() for rater, label in entry["annotations"].items()}


def test_alttest_human_file_matches_a_plain_json_parse() -> None:
    data = annalign.load(ALT_HUMAN, format="alttest")
    assert _pairs(data) == _expected_alttest()
    assert set(data.raters.index) == set(_json(ALT_HUMAN))
    assert len(_expected_alttest()) < data.n_items * len(data.raters)  # the fixture has missing ratings


def test_alttest_llm_file_is_a_machine_rater_file_with_one_rater_per_key() -> None:
    data = annalign.load(ALT_HUMAN, format="alttest")
    with pytest.warns(annalign.AnalysisWarning, match="gpt4o"):
        machines = annalign.load_machines(ALT_LLM, data)
    llm = _json(ALT_LLM)
    assert machines.names == list(llm)
    items = list(data.items.index)
    for k, name in enumerate(machines.names):
        for i, item in enumerate(items):
            expected = YES_NO[llm[name][item]] if item in llm[name] else None
            got = machines.scores[i, k]
            assert (expected is None and np.isnan(got)) or got == expected, (name, item)


def test_alttest_numeric_labels_load_on_a_numeric_map(tmp_path: Path) -> None:
    path = tmp_path / "human_annotations.json"
    doc = {"a": {"x": 1, "y": 5, "z": 3}, "b": {"x": 2, "y": 4}, "c": {"y": 5, "z": "2"}}
    path.write_text(json.dumps(doc))
    data = annalign.load(path)  # auto: an alt-test object; numbers: a numeric map without --rating-map
    assert data.rating_map.numeric
    assert _pairs(data) == {(i, r): float(v) for r, labels in doc.items() for i, v in labels.items()}


def test_judgebench_reads_the_chosen_metric_and_its_declared_scale() -> None:
    data = annalign.load(JUDGEBENCH, format="judgebench", columns=annalign.ColumnMap(rating="Fluency"))
    assert _pairs(data) == _expected_judgebench("Fluency")
    assert data.rating_map.numeric and data.rating_map.scale == (1.0, 5.0)
    assert data.items.loc["1", "instance"] == _json(JUDGEBENCH)["instances"][0]["instance"]


def test_judgebench_with_several_metrics_reads_the_first_and_says_so() -> None:
    with pytest.warns(annalign.AnalysisWarning, match="Coherence, Fluency"):
        data = annalign.load(JUDGEBENCH, format="judgebench")
    expected = _expected_judgebench("Coherence")
    assert _pairs(data) == expected
    assert len(expected) < sum(len(i["annotations"]["Coherence"]["individual_human_scores"]) for i in _json(JUDGEBENCH)["instances"])


def test_lewidi_2023_pairs_and_the_annotator_group_attribute() -> None:
    data = annalign.load(LEWIDI_2023, format="lewidi")
    assert _pairs(data) == _expected_lewidi_2023()
    first = _json(LEWIDI_2023)["1"]
    groups = dict(zip(first["annotators"].split(","), first["other_info"]["annotators group"].split(","), strict=True))
    for rater, group in groups.items():
        assert data.raters.loc[rater, "group"] == first["other_info"][group]


def test_lewidi_2025_pairs_and_annotator_metadata_as_rater_attributes() -> None:
    data = annalign.load(LEWIDI_2025, format="lewidi")
    assert _pairs(data) == _expected_lewidi_2025()
    meta = _json(PEER / "MP_annotators_meta.json")
    for rater in data.raters.index:  # the data names "Ann3", the metadata file "3"
        for key, value in meta[rater.removeprefix("Ann")].items():
            assert data.raters.loc[rater, key] == value
    assert {"Gender", "Age"} <= set(data.raters.columns)


@pytest.mark.parametrize(
    ("path", "fmt"),
    [(ALT_HUMAN, "alttest"), (LEWIDI_2023, "lewidi"), (LEWIDI_2025, "lewidi"), (JUDGEBENCH, "judgebench")],
)
def test_auto_detects_each_layout(path: Path, fmt: str) -> None:
    from annalign.datasets.peer_formats import detect

    assert detect(_json(path)) == fmt
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", annalign.AnalysisWarning)
        assert _pairs(annalign.load(path)) == _pairs(annalign.load(path, format=fmt))


def test_auto_still_reads_json_arrays_as_tables(tmp_path: Path) -> None:
    path = tmp_path / "long.json"
    path.write_text(json.dumps([{"item_id": "a", "rater_id": "r", "rating": 1}, {"item_id": "b", "rater_id": "r", "rating": 0}]))
    assert _pairs(annalign.load(path, rating_map="numeric")) == {("a", "r"): 1.0, ("b", "r"): 0.0}


def _one_line_error(path: Path, match: str, **kwargs: object) -> None:
    with pytest.raises(InputError, match=match) as info:
        annalign.load(path, **kwargs)
    assert path.name in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("doc", "fmt", "match"),
    [
        ({"results": [1, 2]}, "auto", "tried judgebench, lewidi, alttest"),
        ({}, "alttest", "alt-test file is an object"),
        ({"w1": ["yes"]}, "alttest", "annotator 'w1'"),
        ({"w1": {"i1": ["yes"]}}, "alttest", "annotator 'w1', item 'i1'"),
        ({"w1": {"i1": None}}, "alttest", "no ratings"),
        ({"annotations": [{"metric": "m"}], "instances": [{"id": 1, "annotations": {"m": {"mean_human": 2}}}]}, "judgebench",
         "item '1', metric 'm': key 'individual_human_scores'"),
        ({"annotations": [], "instances": []}, "judgebench", "declares no metric"),
        ({"annotations": [{"metric": "m"}], "instances": [{"annotations": {}}]}, "judgebench", r"instances\[0\]: each instance needs an 'id'"),
        ({"7": {"annotators": "Ann1,Ann2", "annotations": "0"}}, "lewidi", "item '7': 2 annotators but 1 annotations"),
        ({"7": {"annotations": "0,1"}}, "lewidi", "item '7': key 'annotators'"),
        ({"7": {"annotations": 3}}, "lewidi", "item '7': key 'annotations'"),
        ({"7": {"annotators": "", "annotations": ""}}, "lewidi", "no ratings"),
        ({"w1": {"i1": "yes"}}, "judgebench", "'annotations' list"),
    ],
)
def test_bad_peer_files_are_one_line_errors_naming_the_file(tmp_path: Path, doc: object, fmt: str, match: str) -> None:
    path = tmp_path / "peer.json"
    path.write_text(json.dumps(doc))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", annalign.AnalysisWarning)
        _one_line_error(path, match, format=fmt)


def test_invalid_json_and_an_unknown_metric_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"w1": {"i1": "yes",,}}')
    _one_line_error(path, "line 1: not valid JSON", format="alttest")
    _one_line_error(JUDGEBENCH, "no metric 'Relevance'", format="judgebench", columns=annalign.ColumnMap(rating="Relevance"))


# --- end to end through the CLI ---


def test_cli_alttest_on_the_alttest_pair(tmp_path: Path, capsys) -> None:
    code, out, err = run_cli(capsys, "alttest", "--dataset", str(ALT_HUMAN), "--format", "alttest", "--ratings", str(ALT_LLM),
                             "--alt-min-items", "5", "--out", str(tmp_path / "a"))  # fmt: skip
    assert code == 0, err
    result = json.loads((tmp_path / "a" / "alt_test.json").read_text())
    assert set(result["machines"]) == set(_json(ALT_LLM))
    for machine in result["machines"].values():  # every human annotator of the file is tested against each LLM
        assert machine["n_raters_tested"] == len(_json(ALT_HUMAN))


@pytest.mark.parametrize(
    ("dataset", "fmt", "ratings", "extra"),
    [
        (JUDGEBENCH, "judgebench", "judgebench_judge.csv", ["--rating-col", "Fluency"]),
        (LEWIDI_2023, "lewidi", "lewidi_judge.csv", ["--by", "group"]),
        (LEWIDI_2025, "auto", "MP_judge.csv", ["--by", "Gender"]),
        (ALT_HUMAN, "auto", "alttest_llm_annotations.json", []),
    ],
)
def test_cli_analyze_runs_on_each_layout(tmp_path: Path, capsys, dataset: Path, fmt: str, ratings: str, extra: list[str]) -> None:
    out_dir = tmp_path / "out"
    code, _, err = run_cli(capsys, "analyze", "--dataset", str(dataset), "--format", fmt, "--ratings", str(PEER / ratings),
                           "--bootstrap", "20", "--out", str(out_dir), *extra)  # fmt: skip
    assert code == 0, err
    assert (out_dir / "results.json").is_file()


def test_cli_reports_an_unknown_json_layout_on_one_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "mystery.json"
    path.write_text(json.dumps({"results": [1, 2]}))
    code, _, err = run_cli(capsys, "analyze", "--dataset", str(path), "--out", str(tmp_path / "o"))
    assert code != 0
    line = error_line(err)
    assert "mystery.json" in line and "judgebench, lewidi, alttest" in line


def test_judgebench_categorical_labels_take_the_declared_labels_list_in_order(tmp_path: Path) -> None:
    labels = ["Not medical", "Non-serious", "Serious", "Critical"]
    doc = {
        "dataset": "medical-safety (shape)",
        "annotations": [{"metric": "query risk level", "category": "categorical", "labels_list": labels}],
        "instances": [
            {"id": f"q{k}", "instance": {"query": "...", "response": "..."},
             "annotations": {"query risk level": {"majority_human": s[0], "individual_human_scores": s}}}
            for k, s in enumerate([["Serious", "Critical"], ["Not medical"], ["Non-serious", "Serious", "Serious"]])
        ],
    }  # fmt: skip
    path = tmp_path / "data.json"
    path.write_text(json.dumps(doc))
    data = annalign.load(path)
    expected = {
        (i["id"], f"h{k}"): float(labels.index(s))
        for i in doc["instances"]
        for k, s in enumerate(i["annotations"]["query risk level"]["individual_human_scores"], start=1)
    }
    assert _pairs(data) == expected
    assert data.rating_map.level == "nominal"
