"""An analysis registered from outside the package runs in annalign.run and lands in results.json under its name."""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.api.conftest import JUDGES

import annalign
from annalign.analyses import registered, unregister


@dataclass(frozen=True)
class CoverageResult:
    """Toy result: items each machine rater scored."""

    rated: dict[str, int]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"machine": list(self.rated), "n_rated": list(self.rated.values())})

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"coverage": self.to_frame()}

    def to_dict(self) -> dict[str, object]:
        return {"rated": self.rated}

    def summary(self) -> list[str]:
        return [f"coverage: {m} rated {n} items" for m, n in self.rated.items()]

    def confidence_interval(self, level: float = 0.95) -> pd.DataFrame:
        return self.to_frame()


@pytest.fixture
def coverage():
    @annalign.analysis("coverage")
    def coverage_analysis(data, machines, settings):
        scores = machines.scores if machines is not None else np.zeros((data.n_items, 0))
        names = machines.names if machines is not None else []
        return CoverageResult({n: int(np.isfinite(scores[:, k]).sum()) for k, n in enumerate(names)})

    yield coverage_analysis
    unregister("coverage")


FAST = {"dataset": "dices350", "ratings": [str(p) for p in JUDGES], "bootstrap": 20, "groupings": []}


def test_a_registered_analysis_lands_in_results_json(coverage, tmp_path):
    assert "coverage" in registered()
    run = annalign.run(FAST, tmp_path, analyses=["coverage"])
    assert isinstance(run.extra["coverage"], CoverageResult)
    saved = json.loads((tmp_path / "results.json").read_text("utf-8"))
    assert saved["coverage"] == {"rated": {"dices350-judge-a": 350, "dices350-judge-b": 350}}
    assert saved["settings"]["analyses"] == ["coverage"] and "rq1" in saved
    assert pd.read_csv(tmp_path / "coverage.csv")["n_rated"].tolist() == [350, 350]
    assert "coverage: dices350-judge-a rated 350 items" in run.summary()


def test_an_analysis_not_asked_for_does_not_run(coverage, tmp_path):
    run = annalign.run(FAST)
    assert run.extra == {} and "coverage" not in run.to_dict()


def test_the_analyses_setting_comes_from_a_toml_file(coverage, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('dataset = "dices350"\nbootstrap = 20\ngroupings = []\nanalyses = ["coverage"]\n', "utf-8")
    run = annalign.run(config, ratings=FAST["ratings"])
    assert run.to_dict()["coverage"]["rated"]["dices350-judge-b"] == 350


def test_unknown_and_reserved_names_are_input_errors(coverage):
    with pytest.raises(annalign.InputError, match=r"unknown analysis 'coverag' \(did you mean 'coverage'\?"):
        annalign.run(FAST, analyses=["coverag"])
    with pytest.raises(annalign.InputError, match="names 'coverage' twice"):
        annalign.run(FAST, analyses=["coverage", "coverage"])
    with pytest.raises(annalign.InputError, match="'rq1' is taken by results.json"):
        annalign.analysis("rq1")
    with pytest.raises(annalign.InputError, match="letters, digits and '_'"):
        annalign.analysis("my analysis")


def test_a_result_without_the_protocol_is_named(tmp_path):
    annalign.analysis("broken")(lambda data, machines, settings: {"n": 1})
    try:
        with pytest.raises(annalign.InputError, match=r"analysis 'broken' returned a dict, which lacks to_dict\(\) and tables\(\)"):
            annalign.run(FAST, analyses=["broken"])
    finally:
        unregister("broken")


def test_the_recipe_file_registers_an_analysis_that_a_run_writes(tmp_path, ann, judges):
    recipe = (Path(__file__).parent.parent.parent / "docs" / "recipes" / "add-an-analysis.md").read_text("utf-8")
    source = re.search(r"^```python\n(.*?)^```", recipe, re.S | re.M).group(1)
    (tmp_path / "offset_recipe.py").write_text(source, "utf-8")
    spec = importlib.util.spec_from_file_location("offset_recipe", tmp_path / "offset_recipe.py")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        run = annalign.run(FAST, tmp_path / "out", analyses=["offset"])
    finally:
        unregister("offset")
    expected = float(np.nanmean(judges.scores[:, 0] - ann.item_mean))
    saved = json.loads((tmp_path / "out" / "results.json").read_text("utf-8"))
    assert saved["offset"]["offsets"]["dices350-judge-a"] == pytest.approx(expected)
    table = pd.read_csv(tmp_path / "out" / "offset.csv")
    assert (table["low"] < table["offset"]).all() and (table["offset"] < table["high"]).all()
    assert run.extra["offset"].summary()[0].startswith("offset dices350-judge-a: ")
