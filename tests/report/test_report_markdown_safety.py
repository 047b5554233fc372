"""report.md (issue 14): hostile text in cells, headings and alt text stays text when rendered as CommonMark/GFM."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import replace

import pandas as pd
import pytest
from reportkit import PAYLOADS, synthetic_data, synthetic_machines

from annalign.config import Settings
from annalign.core.machines import MachineRatings
from annalign.pipeline.run import collect_warnings, run_analyses
from annalign.report import write_report
from annalign.report.render import md_cell, md_line

cmarkgfm = pytest.importorskip("cmarkgfm")
from cmarkgfm.cmark import Options  # noqa: E402

#: Markdown-level attacks: a figure's alt text that closes itself and loads a tracking image, links, raw HTML.
MD_PAYLOADS = [
    "x](http://tracker.example/t.png) ![y",
    "![track](http://tracker.example/pixel.png)",
    "[click](javascript:alert(7))",
    "<https://tracker.example/auto>",
    "see https://tracker.example/bare and www.tracker.example",
    "`code` **bold** _em_ ~~gone~~ | broken | cell",
    "# heading\n- list\n> quote",
    "&lt;script&gt;alert(8)&lt;/script&gt;",
]


def hostile_run(tmp_path):
    data = synthetic_data(payload=True)
    hostile = [*MD_PAYLOADS, *PAYLOADS]
    raters = data.raters.copy()
    raters.index = pd.Index([f"{hostile[k % len(hostile)]} #{k}" for k in range(len(raters))], name="rater_id")
    raters["rater_race"] = raters["rater_race"].map({"Asian": MD_PAYLOADS[0], "Black": PAYLOADS[0], "White": MD_PAYLOADS[2]})
    data = replace(data, raters=raters, name=MD_PAYLOADS[1], source=MD_PAYLOADS[0])
    base = synthetic_machines(data)
    names = [MD_PAYLOADS[0], PAYLOADS[1]]
    machines = MachineRatings(names=names, scores=base.scores, sources=[MD_PAYLOADS[2], PAYLOADS[0]])
    warnings: list[str] = []
    with collect_warnings(warnings):
        run = run_analyses(data, machines, Settings(dataset=MD_PAYLOADS[1], bootstrap=50, alt_min_items=10, permutations=20, power_items=[40]))
    return write_report(replace(run, warnings=(*warnings, *MD_PAYLOADS, *PAYLOADS)), tmp_path)


def test_rendered_markdown_has_no_live_html_links_or_remote_images(tmp_path):
    paths = hostile_run(tmp_path)
    md = paths["markdown"].read_text("utf-8")
    html = cmarkgfm.github_flavored_markdown_to_html(md, options=Options.CMARK_OPT_UNSAFE)  # raw HTML would pass through
    lowered = html.lower()
    for tag in ("<script", "<iframe", "<svg", "<style", "<link", "<b ", "<base", "<textarea"):
        assert tag not in lowered, tag
    images = re.findall(r"<img[^>]*>", html)
    assert images and all(re.search(r'src="figures/[a-z0-9_]+\.png"', img) for img in images), images
    assert len(images) == len(list((tmp_path / "figures").glob("*.png")))
    assert not re.findall(r"<a\s", html), re.findall(r"<a\s[^>]*>", html)
    assert "<del>" not in html and "<code>" not in html and "<blockquote>" not in html
    # The text is still there, readable: the payloads appear literally once unescaped.
    text = html_lib.unescape(re.sub(r"<[^>]+>", "", html))
    assert MD_PAYLOADS[0] in text and PAYLOADS[0] in text and "&lt;script&gt;alert(8)" in text


@pytest.mark.parametrize("payload", MD_PAYLOADS + PAYLOADS)
def test_each_cell_renders_as_its_own_text(payload):
    for cell in (md_cell(payload), md_line(payload)):
        rendered = cmarkgfm.github_flavored_markdown_to_html(f"| a |\n|---|\n| {cell} |\n", options=Options.CMARK_OPT_UNSAFE)
        assert "<a " not in rendered and "<img" not in rendered and "<script" not in rendered
        body = re.search(r"<td>(.*)</td>", rendered, re.S)
        assert body is not None and rendered.count("<td>") == 1  # the pipe did not split the cell
        shown = re.sub(r"<[^>]+>", "", body.group(1))
        assert html_lib.unescape(shown) == payload.replace("\n", " ")


def test_plain_numbers_and_names_stay_readable():
    assert md_cell("0.51 [0.42, 0.60]") == "0.51 \\[0.42, 0.60\\]"
    assert md_cell("rater_race") == "rater_race" and md_cell("-0.12") == "-0.12"
    assert md_line("-0.12") == "\\-0.12" and md_line("1. first") == "1\\. first"
