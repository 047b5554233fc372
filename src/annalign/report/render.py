"""Write report.html (one self-contained file, no scripts, strict CSP), report.md and the figures (PNG, each drawn once)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from annalign.redaction import redact
from annalign.report import CSP
from annalign.report.draw import Predrawn, draw_all
from annalign.report.examples import largest_disagreements
from annalign.report.model import clean
from annalign.report.sections import figures_in, report_sections
from annalign.report.sections.alignment import headline
from annalign.report.sections.data import (
    CC_BY,
    DICES_ATTRIBUTION,
    DICES_URL,
    is_dices,
    notice_text,
    provenance_section,
)

if TYPE_CHECKING:
    from annalign.results import RunResult


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
    run: RunResult, fig_dir: Path, n_examples: int = 5, workers: int | None = None, drawn: Predrawn | None = None
) -> dict[str, Any]:
    """Everything the templates show, with every figure drawn once (PNG) into fig_dir (or taken from ``drawn``)."""
    sections = report_sections(run, drawn.section if drawn is not None else None)
    draw_all(figures_in(sections), fig_dir, workers, drawn)
    examples, notes = ([], [])
    if run.machines is not None and run.machines.n_machines:
        examples, notes = largest_disagreements(run.data, run.machines, per_machine=n_examples)
    dataset = redact(run.data.describe())
    dices = is_dices(run)
    return {
        "title": f"annalign report: {clean(run.data.name)}",
        "csp": CSP,
        "version": clean(run.version),
        "dataset": dataset,
        "headline": headline(run.rq1),
        "sections": sections,
        "examples": examples,
        "example_notes": notes,
        "examples_available": run.machines is not None,
        "warnings": [clean(w) for w in run.warnings],
        "provenance": provenance_section(run),
        "dices": dices,
        "attribution": DICES_ATTRIBUTION,
        "cc_by": CC_BY,
        "dices_url": DICES_URL,
        "notice": notice_text() if dices else "",
    }


def write_report(run: RunResult, out_dir: str | Path, *, workers: int | None = None, drawn: Predrawn | None = None) -> dict[str, Path]:
    """Write DIR/report.html, DIR/report.md and DIR/figures/*.png; returns name -> path of everything written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    context = build_context(run, out / "figures", workers=workers, drawn=drawn)
    written: dict[str, Path] = {}
    html_path, md_path = out / "report.html", out / "report.md"
    for path, name, html in ((html_path, "report.html.j2", True), (md_path, "report.md.j2", False)):
        text = environment(html).get_template(name).render(**context)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, "utf-8")
        tmp.replace(path)
    written["html"], written["markdown"] = html_path, md_path
    for figure in figures_in(context["sections"]):
        written[f"{figure.id}.png"] = out / figure.png_name
    return written
