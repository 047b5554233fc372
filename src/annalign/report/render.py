"""Write report.html (one self-contained file, no scripts, strict CSP), report.md and the figures."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from annalign.core.annotations import Annotations
from annalign.core.machines import MachineRatings
from annalign.report import build
from annalign.report.examples import largest_disagreements
from annalign.report.model import Section, Table, clean

#: Forbids scripts, plugins, frames, forms and every remote load; allows only inline CSS and data: images.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def environment(html: bool) -> jinja2.Environment:
    """Jinja environment over the package templates; autoescape always on for HTML."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("annalign.report", "templates"),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_cell
    env.filters["mdline"] = md_line
    return env


#: Characters that start Markdown or HTML syntax inline; "_" only at a word edge (inside a word it is plain).
_MD_SPECIAL = re.compile(r"[\\`*\[\]()!#|~{}$<>&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_HTML_ENTITY = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
#: What GitHub's renderer turns into links by itself: scheme://, www., mailto:/xmpp:.
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(?=://)|(?<=\bwww)(?=\.)|(?<=\bmailto)(?=:)|(?<=\bxmpp)(?=:)")


def md_cell(text: object) -> str:
    """Text for anywhere inline in report.md (cells, headings, alt text): shown as text, never as markup.

    HTML's ``<``, ``>`` and ``&`` become entities (no live tag); Markdown's punctuation is
    backslash-escaped (no link, image, emphasis, code or table break); URLs and ``www.`` lose the
    character that makes GitHub's renderer link them; line breaks are flattened. E-mail addresses
    may still be shown as mailto links by GFM (its e-mail autolinks cannot be escaped).
    """
    flat = clean(text).replace("\r", " ").replace("\n", " ")
    escaped = _MD_SPECIAL.sub(lambda m: _HTML_ENTITY.get(m.group(0), "\\" + m.group(0)), flat)
    return _AUTOLINK.sub("\\\\", escaped)


def md_line(text: object) -> str:
    """``md_cell`` for text that starts a line: a leading list, heading or setext marker is escaped too."""
    text_ = re.sub(r"^(\s*)([-+=])", r"\1\\\2", md_cell(text))
    return re.sub(r"^(\s*\d+)\.", r"\1\\.", text_)


def build_context(
    results: Mapping[str, Any],
    tables: Mapping[str, pd.DataFrame],
    fig_dir: Path,
    data: Annotations | None = None,
    machines: MachineRatings | None = None,
    n_examples: int = 5,
) -> dict[str, Any]:
    """Everything the templates show, with figures already written to fig_dir."""
    sections: list[Section] = [build.data_section(results)]
    headline: list[str] = []
    if results.get("rq1"):
        rq1, headline = build.rq1_section(results, tables, fig_dir)
        sections.append(rq1)
    for make in (build.rq2_section, build.rq3_section):
        section = make(results, tables, fig_dir)
        if section is not None:
            sections.append(section)
    examples, notes = ([], [])
    if data is not None and machines is not None and machines.n_machines:
        examples, notes = largest_disagreements(data, machines, per_machine=n_examples)
    ds = results.get("dataset") or {}
    return {
        "title": f"annalign report: {clean(ds.get('name', 'data set'))}",
        "csp": CSP,
        "version": clean(results.get("annalign_version", "")),
        "dataset": ds,
        "headline": headline,
        "sections": [s for s in sections if s.blocks],
        "examples": examples,
        "example_notes": notes,
        "examples_available": data is not None and machines is not None,
        "warnings": [clean(w) for w in results.get("warnings") or []],
        "provenance": build.provenance_section(results),
        "dices": build.is_dices(results),
        "attribution": build.DICES_ATTRIBUTION,
        "cc_by": build.CC_BY,
        "dices_url": build.DICES_URL,
        "notice": build.notice_text() if build.is_dices(results) else "",
    }


def write_report(
    out_dir: str | Path,
    results: Mapping[str, Any],
    tables: Mapping[str, pd.DataFrame],
    data: Annotations | None = None,
    machines: MachineRatings | None = None,
) -> dict[str, Path]:
    """Write DIR/report.html, DIR/report.md and DIR/figures/*.png|svg; returns name -> path of everything written."""
    out = Path(out_dir)
    fig_dir = out / "figures"
    out.mkdir(parents=True, exist_ok=True)
    context = build_context(results, tables, fig_dir, data, machines)
    written: dict[str, Path] = {}
    html_path, md_path = out / "report.html", out / "report.md"
    for path, name, html in ((html_path, "report.html.j2", True), (md_path, "report.md.j2", False)):
        text = environment(html).get_template(name).render(**context)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, "utf-8")
        tmp.replace(path)
    written["html"], written["markdown"] = html_path, md_path
    for section in context["sections"]:
        for block in section.blocks:
            if not isinstance(block, Table):
                written[f"{block.id}.png"] = out / block.png_name
                written[f"{block.id}.svg"] = out / block.svg_name
    return written
