"""Property-based (hypothesis): random malformed long-form tables, machine files and configs give a result or an InputError.

Never another exception: no KeyError, TypeError, ValueError or numpy error escapes the loaders,
the settings or RQ1 on what they accept.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annalign.analyses.alignment import analyze_rq1
from annalign.config import RULES, Settings, load_settings
from annalign.datasets.bundled import load_dataset
from annalign.datasets.machine_files import load_machine_ratings
from annalign.errors import InputError

CELLS = st.one_of(
    st.none(),
    st.integers(-3, 8),
    st.sampled_from([1.0, 2.5, -0.0, 1e300, 1e309, math.inf, -math.inf, math.nan, 0.1]),
    st.sampled_from(["", " ", "1", "1.0", "01", "nan", "NA", "inf", "1e309", "Yes", "No", "Unsure", "x;y", "a,b", "é", "\t", "\"q"]),
    st.booleans(),
    st.text(max_size=6),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 3), max_size=1),
)
COLUMNS = st.sampled_from(["item_id", "rater_id", "rating", "rater_race", "context", "score", "label", "text", "rater", "x"])
SUFFIXES = st.sampled_from([".csv", ".tsv", ".jsonl", ".json", ".parquet", ".csv.gz"])
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


RATINGS = st.one_of(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.sampled_from(["Yes", "No", "Unsure"]), CELLS)
ITEMS = st.one_of(st.sampled_from(["1", "2", "3", "4", "5", "6", "1.0", "01", 2, 3.0, "x7"]), CELLS)


@st.composite
def long_tables(draw) -> pd.DataFrame:
    """A mostly well-formed long-form table (items x raters) with some hostile cells, ids and columns."""
    n_items, raters = draw(st.integers(2, 7)), draw(st.lists(st.sampled_from(["a", "b", "c", "d", "a ", 7, "07"]), min_size=1, max_size=4))
    noise = draw(st.integers(0, 3))  # how often a cell is replaced by a hostile one (x/30)

    def cell(good: object, bad: st.SearchStrategy) -> object:
        return draw(bad) if draw(st.integers(0, 29)) < noise else good

    rows = []
    for i in range(n_items):
        for r in raters:
            if draw(st.integers(0, 9)) == 0:
                continue
            rows.append({"item_id": cell(str(i + 1), ITEMS), "rater_id": cell(r, CELLS), "rating": cell(draw(st.integers(1, 5)), CELLS),
                         "rater_race": f"g{len(str(r)) % 2}", "context": f"c{i}", "score": cell(draw(st.integers(1, 5)), CELLS),
                         "label": cell(draw(st.sampled_from(["Yes", "No", "Unsure"])), st.sampled_from(["unsafe", None, True, "1"])),
                         "text": draw(st.sampled_from(["No.", "**Yes**", "Answer: No", "I cannot", "", None]))})
    frame = pd.DataFrame(rows, dtype=object)
    drop = draw(st.lists(st.sampled_from(list(frame.columns) or ["x"]), max_size=2, unique=True)) if noise else []
    return frame.drop(columns=[c for c in drop if c in frame.columns])


@st.composite
def raw_tables(draw) -> pd.DataFrame:
    """A small frame of any of the known columns, filled with hostile cells."""
    columns = draw(st.lists(COLUMNS, min_size=1, max_size=5, unique=True))
    if draw(st.booleans()):
        columns = list(dict.fromkeys(["item_id", "rater_id", "rating", *columns]))
    n = draw(st.integers(0, 12))
    return pd.DataFrame({c: draw(st.lists(CELLS, min_size=n, max_size=n)) for c in columns}, dtype=object)


def tables() -> st.SearchStrategy[pd.DataFrame]:
    """Mostly well-formed long tables, sometimes anything."""
    return st.one_of(long_tables(), long_tables(), raw_tables())


def write(frame: pd.DataFrame, path) -> None:
    """Write the frame in the format the suffix names (failures to write are not what is tested)."""
    name = path.name
    if name.endswith(".parquet"):
        frame.astype(str).to_parquet(path)
    elif name.endswith(".jsonl"):
        path.write_text("\n".join(json.dumps(r, default=str) for r in frame.to_dict("records")))
    elif name.endswith(".json"):
        path.write_text(json.dumps(frame.to_dict("records"), default=str))
    else:
        frame.to_csv(path, index=False, sep="\t" if name.endswith(".tsv") else ",")


def outcome_is_result_or_input_error(call) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call()
        except InputError as exc:
            assert "\n" not in str(exc), str(exc)
            return exc


@FAST
@given(frame=tables(), suffix=SUFFIXES, rating_map=st.sampled_from([None, "numeric", "numeric:1,5", "Yes=1,No=0", "dices"]))
def test_long_form_loader_gives_a_result_or_an_input_error(tmp_path, frame, suffix, rating_map):
    path = tmp_path / f"data{suffix}"
    write(frame, path)

    def load_and_analyse():
        data = load_dataset(path, rating_map=rating_map, fmt="long")
        assert np.isfinite(data.values).all()
        return analyze_rq1(data, n_boot=10)

    outcome_is_result_or_input_error(load_and_analyse)


@FAST
@given(frame=tables(), suffix=SUFFIXES, parse=st.sampled_from([None, "dices-label", "dices-likert"]))
def test_machine_file_loader_gives_a_result_or_an_input_error(tmp_path, dices350, frame, suffix, parse):
    frame = frame.copy()
    if "item_id" in frame.columns and len(frame):
        frame["item_id"] = [dices350.item_ids[int(v)] if isinstance(v, str) and v.isdigit() and int(v) < 350 else v
                            for v in frame["item_id"]]
        if "rater_id" in frame.columns and "rater" not in frame.columns:
            frame = frame.rename(columns={"rater_id": "rater"})
    path = tmp_path / f"m{suffix}"
    write(frame, path)
    results: list[object] = []

    def load():
        machines = load_machine_ratings([path], dices350, parse=parse)
        assert not np.isinf(machines.scores).any()
        results.append(machines)
        return machines

    outcome_is_result_or_input_error(load)


TOML_VALUES = st.recursive(
    st.one_of(
        st.integers(-5, 20000), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
        st.sampled_from(["", "lots", "pearson", "rater_race", "file.csv", "1,5", "dices", "numeric", "auto", "all", "drop"]),
    ),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)


def toml_value(value: object) -> str:
    """A TOML literal for a generated value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "[" + ", ".join(toml_value(v) for v in value) + "]"


@FAST
@given(config=st.dictionaries(st.sampled_from([*RULES, "bootstrapp", "dataset"]), TOML_VALUES, max_size=5))
def test_config_files_give_settings_or_an_input_error(tmp_path, config):
    path = tmp_path / "run.toml"
    path.write_text("".join(f"{k} = {toml_value(v)}\n" for k, v in config.items()), "utf-8")
    outcome = outcome_is_result_or_input_error(lambda: load_settings(path, {}))
    if isinstance(outcome, Settings):  # what is accepted is what the rules accept, in canonical form
        assert outcome == Settings(**outcome.to_dict())
        assert isinstance(outcome.bootstrap, int) and outcome.bootstrap >= 10 and 0 <= outcome.alt_epsilon <= 1
        assert outcome.groupings is None or all(isinstance(by, list) and all(isinstance(c, str) for c in by) for by in outcome.groupings)


@FAST
@given(options=st.dictionaries(st.sampled_from(sorted(RULES)), st.one_of(st.text(max_size=8), st.sampled_from(["10", "0", "-1", "1,5", "2.5", "nan"])), max_size=4))
def test_command_line_text_gives_settings_or_an_input_error(options):
    outcome_is_result_or_input_error(lambda: load_settings(None, options))


@pytest.mark.parametrize("value", [None, 1, "x", [1], {"a": 1}, 1.5, True])
def test_python_values_for_every_setting(value):
    for name in RULES:
        outcome_is_result_or_input_error(lambda name=name: Settings(**{name: value}))
