"""write_report without a browser: files, sections present only when their results are, escaping, Markdown."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape
from reportkit import EVIL_MACHINE, PAYLOADS, make_run

from annalign.report import CSP, write_report
from annalign.report.model import flatten, num, pvalue
from annalign.report.sections import rq2_sections, rq3_sections

FIGURES = ["rq1_human_distribution", "rq2_group_forest", "rq2_group_strip", "rq2_power", "rq3_predictions", "rq3_scatter"]


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    results, tables, data, machines = make_run()
    return out, write_report(out, results, tables, data, machines)


def test_writes_html_markdown_and_every_figure(full_report):
    out, paths = full_report
    assert paths["html"] == out / "report.html" and paths["markdown"] == out / "report.md"
    for name in FIGURES:
        png, svg = paths[f"{name}.png"], paths[f"{name}.svg"]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert svg.read_text("utf-8").lstrip().startswith("<?xml")
        assert png.parent == out / "figures"


def test_html_is_self_contained(full_report):
    text = full_report[1]["html"].read_text("utf-8")
    assert f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">' in text
    assert "<script" not in text.lower()
    assert "<link" not in text.lower()
    assert not re.search(r"""<[a-z]+[^<>]*\ssrc=(?!["']?data:)""", text), "every src must be a data: URL"
    assert len(re.findall(r'<img id="fig-', text)) == len(FIGURES)
    assert "@import" not in text and "url(" not in text


def test_html_has_readings_tables_examples_and_provenance(full_report):
    text = full_report[1]["html"].read_text("utf-8")
    assert "likert-model correlates with the average rater at r = " in text
    assert "Table 1. Model comparison" in text and "winning rate" in text
    assert 'id="table-groups"' in text and 'id="table-rq3"' in text and 'id="table-power"' in text
    assert "<details id=\"examples-details\">" in text and "Content warning" in text
    assert "mapped linearly onto it" in text  # the 1-5 machine is compared on the human scale
    assert "annalign version" in text and "bootstrap replicates" in text


def test_markdown_has_the_same_tables(full_report):
    text = full_report[1]["markdown"].read_text("utf-8")
    assert "| machine rater | r | 95% CI |" in text
    assert "![Histogram of" in text and "figures/rq1_human_distribution.png" in text
    assert "Table 4. Per-group alignment" in text and "Table 9. Predicting group differences" in text


def test_sections_appear_only_when_present(tmp_path):
    results, tables, data, machines = make_run(groups=False)
    paths = write_report(tmp_path, results, tables)
    text = paths["html"].read_text("utf-8")
    assert 'id="rq2"' not in text and 'id="rq3"' not in text
    assert set(paths) == {"html", "markdown", "rq1_human_distribution.png", "rq1_human_distribution.svg"}
    assert "Not shown: the report was written without the item texts" in text
    assert "DICES dataset by Google LLC" not in text  # synthetic data: no DICES attribution


def test_dices_attribution(tmp_path):
    results, tables, data, machines = make_run(groups=False)
    results["dataset"]["name"], results["dataset"]["source"] = "dices350", "bundled:dices350"
    text = write_report(tmp_path, results, tables)["html"].read_text("utf-8")
    assert "DICES dataset by Google LLC" in text and "https://creativecommons.org/licenses/by/4.0/" in text
    assert "Creative Commons Attribution 4.0" in text


def test_hostile_text_is_escaped(tmp_path):
    results, tables, data, machines = make_run(payload=True)
    paths = write_report(tmp_path, results, tables, data, machines)
    text = paths["html"].read_text("utf-8")
    assert "<script" not in text.lower()
    assert "<img src=x" not in text and "<iframe" not in text and "<base" not in text and "<svg" not in text
    for payload in PAYLOADS:
        assert str(escape(payload)) in text
    assert str(escape(EVIL_MACHINE)) in text
    md = paths["markdown"].read_text("utf-8")
    assert "\\<b onmouseover" not in md  # names pass through as text in Markdown tables, pipes escaped


def test_no_machines_and_no_rq1(tmp_path):
    results, tables, data, _ = make_run(groups=False)
    results["rq1"]["machines"] = {}
    results["rq1"]["machine_differences"] = []
    results["machines"] = []
    tables = {k: v for k, v in tables.items() if k == "rq1_humans"}
    text = write_report(tmp_path, results, tables, data, None)["html"].read_text("utf-8")
    assert 'id="fig-rq1_human_distribution"' in text
    del results["rq1"]
    text = write_report(tmp_path / "b", results, {})["html"].read_text("utf-8")
    assert "Data, raters and settings" in text


def test_rq2_shape_from_results_json():
    results = {
        "rq1": {"machines": {"m1": {}}},
        "rq2": {
            "groups": {"A": {"m1": {"r": 0.5, "ci_low": 0.4, "ci_high": 0.6, "size": 3}},
                       "B": {"m1": {"r": 0.6, "ci_low": 0.5, "ci_high": 0.7, "size": 5}}},
            "power": [{"group_a": "A", "group_b": "B", "n_items": 350, "power": 0.2}],
        },
    }
    found = rq2_sections(results, {})
    assert list(found["groups"]["group"]) == ["A", "B"] and list(found["groups"]["machine"]) == ["m1", "m1"]
    assert found["power"]["power"].tolist() == [0.2]
    assert rq3_sections({"rq3": {"pairs": [{"a": "A", "b": "B", "r": 0.1}]}}, {})["summary"]["group_a"].tolist() == ["A"]


def test_formatting_helpers():
    assert num(None) == "n/a" and num(float("nan")) == "n/a" and num(0.12345) == "0.12" and num(43050) == "43050"
    assert pvalue(0.0) == "< 0.001" and pvalue(0.0456) == "0.046"
    assert flatten({"a": {"b": [1, 2]}, "c": None}) == [("a.b", "1, 2"), ("c", "(none)")]
