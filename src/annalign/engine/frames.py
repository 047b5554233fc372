"""Turn ledger rows into the machine-rater table (one row per item and rater) and write it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from annalign.core.raters import format_persona_rater
from annalign.engine.backends.base import ModelSpec
from annalign.engine.prompts import Template
from annalign.errors import InputError

SUFFIXES = (".csv", ".jsonl", ".parquet")


def rater_label(spec: ModelSpec, template: Template, persona: str | None, prefix: str | None = None) -> str:
    """The machine rater's name: model and template, plus the persona when there is one."""
    base = prefix or f"{spec.provider}:{spec.model}/{template.name}"
    return format_persona_rater(base, persona) if persona else base


def build_frame(
    jobs: Sequence[Any],
    rows: Mapping[str, Mapping[str, Any]],
    template: Template,
    spec: ModelSpec,
    *,
    rater_name: str | None = None,
    item_hashes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Aggregate samples per (item, persona): mean score, modal label, status and reasons.

    With ``item_hashes`` (item id -> text hash, for every item rated) requests are grouped by text:
    items with identical text share their requests (one ledger key) and each gets a row, the first
    with the token counts and the others with none, so nothing is counted twice.
    """
    values = template.answer_values
    ids_of: dict[str, list[str]] = {}
    for item_id, digest in (item_hashes or {}).items():
        ids_of.setdefault(digest, []).append(str(item_id))
    groups: dict[tuple[str, str | None], list[Mapping[str, Any] | None]] = {}
    targets: dict[tuple[str, str | None], list[str]] = {}
    for job in jobs:
        group = (job.item_hash, job.persona) if item_hashes is not None else (job.item_id, job.persona)
        groups.setdefault(group, []).append(rows.get(job.key))
        targets.setdefault(group, ids_of.get(job.item_hash) or [job.item_id])
    out = []
    for group, found in groups.items():
        persona = group[1]
        answered = [r for r in found if r is not None and r["status"] == "ok"]
        parsed = [r for r in answered if r["parse_status"] == "ok"]
        failed = [r for r in found if r is not None and r["status"] == "failed"]
        missing = sum(r is None for r in found)
        scores = [float(r["score"]) for r in parsed if r["score"] is not None]
        score = float(np.mean(scores)) if scores else np.nan
        status = _status(len(found), len(parsed), len(failed), len(answered))
        reasons = list(dict.fromkeys(r["reason"] for r in found if r is not None and r.get("reason")))
        if missing:
            reasons.append(f"{missing} request(s) not made (run stopped)")
        answer = _modal([r["answer"] for r in parsed], score, values)
        methods = sorted({r["score_method"] for r in parsed if r["score_method"]})
        row: dict[str, Any] = {
            "item_id": targets[group][0],
            "rater": rater_label(spec, template, persona, rater_name),
            "score": score,
        }
        if template.kind in ("label", "distribution"):
            row["label"] = answer
            row.update(answer_distribution(parsed, list(values), verbalized=template.kind == "distribution"))
        row.update(
            {
                "status": status,
                "reason": "; ".join(reasons[:3]) or None,
                "answer": answer,
                "score_method": "+".join(methods) or None,
                "n_samples": len(found),
                "n_parsed": len(parsed),
                "n_failed": len(failed),
                "persona": persona,
                "model": str(spec),
                "template": template.name,
                "template_hash": template.sha256,
                "raw_output": answered[0]["raw_output"] if answered else None,
                "prompt_tokens": sum(int(r["prompt_tokens"] or 0) for r in answered),
                "completion_tokens": sum(int(r["completion_tokens"] or 0) for r in answered),
            }
        )
        out.append(row)
        for twin in targets[group][1:]:
            out.append({**row, "item_id": twin, "prompt_tokens": 0, "completion_tokens": 0})
    frame = pd.DataFrame(out)
    if frame.empty:
        frame = pd.DataFrame(columns=["item_id", "rater", "score", "status", "reason"])
    return frame


def answer_distribution(parsed: Sequence[Mapping[str, Any]], answers: Sequence[str], *, verbalized: bool = False) -> dict[str, Any]:
    """The machine's label distribution as ``p_<answer>`` columns and how it was had (``p_method``).

    A distribution template: the mean of its parsed samples' stated shares ("verbalized"). Otherwise, several
    parsed samples: their empirical shares ("samples"); one: its first-step log-probabilities over the allowed
    answers, renormalised over them ("logprobs"; an answer outside the top tokens gets 0). None of these (no
    logprobs, nothing parsed): NaN, so the file says the model gave no distribution.
    """
    probs: dict[str, float] | None = None
    method = None
    if verbalized:
        from annalign.engine.parsing import parse_distribution

        stated = [parse_distribution(r["raw_output"], answers).probs for r in parsed]
        stated = [s for s in stated if s]
        if stated:
            probs, method = {a: float(np.mean([s[a] for s in stated])) for a in answers}, "verbalized"
    elif len(parsed) > 1:
        counts = Counter(r["answer"] for r in parsed)
        probs, method = {a: counts.get(a, 0) / len(parsed) for a in answers}, "samples"
    elif len(parsed) == 1 and parsed[0].get("answer_logprobs"):
        from annalign.engine.parsing import expected_score

        stored = parsed[0]["answer_logprobs"]
        lps = expected_score(json.loads(stored) if isinstance(stored, str) else stored, dict.fromkeys(answers, 0.0))
        if lps is not None:
            probs, method = {a: lps.probs.get(a, 0.0) for a in answers}, "logprobs"
    return {**{f"p_{a}": (probs[a] if probs else np.nan) for a in answers}, "p_method": method}


def _status(n: int, n_parsed: int, n_failed: int, n_answered: int) -> str:
    """A rating's status from its requests: ok (all parsed), partial, failed, unparsed or missing."""
    if n_parsed and n_parsed == n:
        return "ok"
    if n_parsed:
        return "partial"
    if n_failed:
        return "failed"
    return "unparsed" if n_answered else "missing"


def _modal(answers: list[str], score: float, values: Mapping[str, float]) -> str | None:
    """Most frequent answer; ties go to the one whose value is nearest the mean score."""
    if not answers:
        return None
    counts = Counter(answers)
    top = max(counts.values())
    tied = [a for a, c in counts.items() if c == top]
    if len(tied) == 1 or not np.isfinite(score):
        return tied[0]
    return min(tied, key=lambda a: abs(values[a] - score))


def write_machine_file(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a machine-rater table as CSV, JSONL or Parquet (by suffix), creating the folder."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"output {str(path)!r}: use a {', '.join(SUFFIXES)} file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path, index=False)
    return path
