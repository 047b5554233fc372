"""The annotation step of ``annalign run``: rate the items with each model and template via the ledger.

It turns engine output into MachineRatings on the humans' scale, writes each model's machine-rater
file into the output folder, and records model specs and template hashes for provenance.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from annalign.config import Settings
from annalign.core.annotations import Annotations
from annalign.core.grouping import parse_label
from annalign.core.machines import MachineRatings, linear_map
from annalign.core.raters import format_persona_rater, parse_persona_rater
from annalign.datasets.machine_files import machine_ratings_from_frame
from annalign.redaction import redact
from annalign.results import file_stem

#: The model ``annalign run`` uses when none is given: offline, in-process, no key needed.
DEFAULT_MODEL = "local:smollm2-135m"


def persona_text(data: Annotations, by: list[str], label: str) -> str:
    """How a persona prompt names a group, e.g. 'a woman who identifies as Black/African American'."""
    attrs = dict(zip(by, parse_label(label), strict=False))
    if set(attrs) == {"rater_race", "rater_gender"}:
        return f"a {attrs['rater_gender'].lower()} who identifies as {attrs['rater_race']}"
    return "an annotator with " + ", ".join(f"{k.removeprefix('rater_')} {v}" for k, v in attrs.items())


def _persona_rater(name: str, group: str) -> str:
    """The engine's rater name (its persona tag names the prompt text) renamed to the group's label."""
    parsed = parse_persona_rater(name)
    return format_persona_rater(name if parsed is None else parsed[0], group)


def _safe(name: str) -> str:
    """The file-name stem of a model or template name, distinct for names that sanitise alike."""
    return file_stem(name)


def estimate_cost(data: Annotations, model: str, template_text: str, n_requests: int) -> tuple[float, float]:
    """(input tokens, USD) a run of ``n_requests`` would cost at list prices; roughly 4 characters per token."""
    from annalign.engine.runner import price_of
    from annalign.engine.spec import parse_model_spec

    chars = [len(str(data.items[c].iloc[i])) for c in ("context", "response") if c in data.items for i in range(min(len(data.items), 200))]
    per_item = (sum(chars) / max(1, min(len(data.items), 200)) + len(template_text)) / 4
    price_in, price_out = price_of(parse_model_spec(model))
    tokens = per_item * n_requests
    return tokens, (tokens * price_in + 2 * n_requests * price_out) / 1e6


def annotate_for_run(
    data: Annotations,
    settings: Settings,
    out_dir: Path,
    personas: list[str] | None = None,
    say: Callable[[str], None] = print,
) -> tuple[list[MachineRatings], dict[str, Any]]:
    """Annotate with every configured model x template; persona runs when ``personas`` (group labels) given."""
    from annalign.engine import AnnotateOptions, annotate
    from annalign.engine.frames import write_machine_file
    from annalign.engine.prompts import builtin_names, persona_variant, resolve_template

    ledger = Path(settings.ledger) if settings.ledger else out_dir / "ledger.sqlite"
    ledger.parent.mkdir(parents=True, exist_ok=True)
    target = (float(np.min(data.values)), float(np.max(data.values))) if data.has_raters else (0.0, 1.0)
    parts: list[MachineRatings] = []
    provenance: dict[str, Any] = {"models": [], "templates": {}, "ledger": str(ledger), "annotation_runs": []}
    by = settings.groupings_for(data.raters.columns)[0] if personas else []
    for model in settings.models:
        provenance["models"].append(redact(model))
        for template in settings.templates:
            jobs = [(None, template)]
            if personas:
                jobs.append((personas, persona_variant(template) if template in builtin_names() else template))
            for group_labels, name in jobs:
                texts = [persona_text(data, by, g) for g in group_labels] if group_labels else None
                tmpl = resolve_template(name, texts)
                n_requests = (settings.limit or data.n_items) * len(texts or [None]) * settings.samples
                tokens, cost = estimate_cost(data, model, tmpl.system + tmpl.user, n_requests)
                shown = redact(model)
                say(
                    f"{shown} / {name}: {n_requests} requests, about {tokens / 1e6:.2f}M input tokens, "
                    f"estimated ${cost:.2f} at list prices; requests already in the ledger are free"
                )
                options = AnnotateOptions(
                    samples=settings.samples, temperature=settings.temperature, concurrency=settings.concurrency,
                    limit=settings.limit, threads=settings.threads,
                )  # fmt: skip
                frame = annotate(data, model, template=name, personas=texts, options=options, ledger=ledger, notify=say)
                info = dict(frame.attrs.get("annotate", {}))
                provenance["annotation_runs"].append(info)
                provenance["templates"][info.get("template", name)] = info.get("template_hash")
                if group_labels:
                    back = dict(zip(texts, group_labels, strict=True))
                    frame["rater"] = [_persona_rater(r, back.get(p, p)) for r, p in zip(frame["rater"], frame["persona"], strict=True)]
                write_machine_file(frame, out_dir / "annotations" / f"{_safe(shown)}__{_safe(name)}.csv")
                values = [v for _, v in tmpl.answers]
                scaled = frame.copy()
                scaled["score"] = linear_map(scaled["score"].to_numpy(), (min(values), max(values)), target)
                scaled = scaled.drop(columns=[c for c in ("label",) if c in scaled.columns])
                scaled["_row"] = np.arange(len(scaled)) + 2
                parts.append(
                    machine_ratings_from_frame(scaled, data, where=f"{shown} / {name}", default_name=f"{shown}/{name}")
                )
    return parts, provenance
