"""write_report without a browser: the files, self-containment, sections only when their results exist, escaping, attribution."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from markupsafe import escape
from reportkit import EVIL_MACHINE, PAYLOADS, make_run

from annalign.report import CSP, write_report

FIGURES = ["rq1_human_distribution", "rq2_group_forest", "rq2_group_strip", "rq2_power", "rq3_predictions", "rq3_scatter"]
#: the second grouping's figures carry its name
SECOND = ["rq2_rater_age_group_forest", "rq2_rater_age_group_strip", "rq2_rater_age_power"]


def test_writes_html_markdown_and_each_figure_once_as_png(dices_report):
    out = dices_report["html"].parent
    assert dices_report["markdown"] == out / "report.md"
    figures = {k.removesuffix(".png") for k in dices_report if k.endswith(".png")}
    assert figures == {*FIGURES, *SECOND}
    for name in figures:
        assert dices_report[f"{name}.png"] == out / "figures" / f"{name}.png"
        assert dices_report[f"{name}.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(f"{n}.png" for n in figures)  # one format: no SVG


def test_html_is_self_contained(dices_report):
    text = dices_report["html"].read_text("utf-8")
    assert f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">' in text
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert not re.search(r"""<[a-z]+[^<>]*\ssrc=(?!["']?data:)""", text), "every src must be a data: URL"
    assert len(re.findall(r'<img id="fig-', text)) == len(FIGURES) + len(SECOND)
    assert "@import" not in text and "url(" not in text


def test_markdown_links_every_figure_file(dices_report):
    md = dices_report["markdown"].read_text("utf-8")
    out = dices_report["markdown"].parent
    links = re.findall(r"!\[[^\]]*\]\((figures/[^)]+)\)", md)
    assert len(links) == len(FIGURES) + len(SECOND)
    assert all((out / link).is_file() for link in links)
    assert "| machine rater | r | 95% CI |" in md and ".svg" not in md


def test_every_grouping_gets_its_section_and_tables(dices, dices_report):
    text = dices_report["html"].read_text("utf-8")
    assert list(dices.rq2) == ["rater_race+rater_gender", "rater_age"]
    for suffix in ("", "-rater_age"):
        assert f'<section id="rq2{suffix}">' in text
        for table in ("groups", "omnibus", "group-pairs", "within", "power"):
            assert f'id="table-{table}{suffix}"' in text, (table, suffix)
    assert "RQ2: alignment with demographic groups (rater_age)" in text
    for group in dices.rq2["rater_age"].per_group["group"]:
        assert f"<td>{escape(group)}</td>" in text


def test_tables_and_figures_are_numbered_in_order(dices_report):
    text = dices_report["html"].read_text("utf-8")
    tables = [int(n) for n in re.findall(r"<strong>Table (\d+)\.", text)]
    figures = [int(n) for n in re.findall(r"<strong>Figure (\d+)\.", text)]
    assert tables == list(range(1, len(tables) + 1)) and len(tables) >= 15
    assert figures == list(range(1, len(FIGURES) + len(SECOND) + 1))


def test_html_has_examples_warnings_provenance_and_the_dices_attribution(dices, dices_report):
    text = dices_report["html"].read_text("utf-8")
    assert '<details id="examples-details">' in text and "Content warning" in text
    assert "annalign version" in text and "bootstrap replicates" in text
    assert "DICES dataset by Google LLC" in text and "https://creativecommons.org/licenses/by/4.0/" in text
    for warning in dices.warnings:
        assert str(escape(warning)) in text


def test_sections_appear_only_when_present(tmp_path):
    run = make_run(groups=False)
    paths = write_report(replace(run, machines=None), tmp_path)
    text = paths["html"].read_text("utf-8")
    assert 'id="rq1"' in text and 'id="rq2"' not in text and 'id="rq3"' not in text
    assert set(paths) == {"html", "markdown", "rq1_human_distribution.png"}
    assert "Not shown: the report was written without the item texts" in text
    assert "DICES dataset by Google LLC" not in text  # synthetic data: no DICES attribution


def test_no_machines(tmp_path):
    run = make_run(groups=False)
    run = replace(run, machines=None, rq1=replace(run.rq1, machines=[], differences=[]))
    text = write_report(run, tmp_path)["html"].read_text("utf-8")
    assert 'id="fig-rq1_human_distribution"' in text and "No machine raters; the median human leave-one-out r is" in text
    assert 'id="table-models"' not in text


def test_hostile_text_is_escaped(tmp_path):
    paths = write_report(make_run(payload=True), tmp_path)
    text = paths["html"].read_text("utf-8")
    assert "<script" not in text.lower()
    assert "<img src=x" not in text and "<iframe" not in text and "<base" not in text and "<svg" not in text
    for payload in PAYLOADS:
        assert str(escape(payload)) in text
    assert str(escape(EVIL_MACHINE)) in text
    assert "\\<b onmouseover" not in paths["markdown"].read_text("utf-8")


def test_the_old_signature_is_refused_with_a_message(tmp_path, dices):
    with pytest.raises(TypeError, match=r"write_report takes \(run, out_dir\)"):
        write_report(tmp_path, dices.to_dict())  # type: ignore[arg-type]


def test_drawing_in_worker_processes_gives_the_same_report(tmp_path):
    run = make_run()
    serial, parallel = write_report(run, tmp_path / "serial", workers=1), write_report(run, tmp_path / "parallel", workers=2)
    assert set(serial) == set(parallel)
    for key in serial:
        assert serial[key].read_bytes() == parallel[key].read_bytes(), key


class ToyResult:
    """A registered analysis's result as the report sees it: to_dict, tables, summary."""

    def to_dict(self) -> dict[str, object]:
        return {"n": 2}

    def tables(self) -> dict[str, object]:
        import pandas as pd

        return {"toy_counts": pd.DataFrame({"label": ["<b>a</b>", "b"], "n": [3, 4]})}

    def summary(self) -> list[str]:
        return ["toy analysis: two labels", "  a detail line"]


def test_extra_analyses_get_a_generic_section(tmp_path):
    run = replace(make_run(groups=False), extra={"toy": ToyResult()})
    text = write_report(run, tmp_path)["html"].read_text("utf-8")
    assert '<section id="extra-toy">' in text and "<p>toy analysis: two labels</p>" in text and "a detail line" in text
    assert 'id="table-toy-toy_counts"' in text and "2 rows; the full table is the CSV file toy_counts.csv." in text
    assert "<td>&lt;b&gt;a&lt;/b&gt;</td>" in text and '<td class="num">4</td>' in text
