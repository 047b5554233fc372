"""``annotate_ratings``: an LLM's ratings of a data set as MachineRatings on the humans' scale, with their provenance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from annalign.core.annotations import Annotations
from annalign.core.machines import MachineRatings, rescale
from annalign.engine.api import annotate, default_ledger_path
from annalign.engine.options import AnnotateOptions
from annalign.engine.prompts import resolve_template


@dataclass(frozen=True, eq=False)
class AnnotatedRatings(MachineRatings):
    """MachineRatings made by ``annotate_ratings``; ``frame`` is the per-item table with provenance columns.

    ``provenance`` holds the model spec, template name and hash, the ledger and the run totals
    (requests sent, from the ledger, failed; tokens; estimated cost).
    """

    frame: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    provenance: dict[str, Any] = field(default_factory=dict)


def rating_scale(data: Annotations) -> tuple[float, float]:
    """The scale machine scores are put on: the range of the humans' ratings (0-1 without raters), as ``annalign run`` does."""
    if not data.has_raters:
        return (0.0, 1.0)
    return (float(np.min(data.values)), float(np.max(data.values)))


def annotate_ratings(
    data: Annotations,
    model: str,
    *,
    template: str | Path = "dices-likert",
    options: AnnotateOptions | None = None,
    ledger: str | Path | None = None,
    personas: Sequence[str] | None = None,
) -> AnnotatedRatings:
    """Rate ``data``'s items with ``model`` and return the scores as MachineRatings on the data's rating scale.

    One machine rater per persona (or one without personas), named ``PROVIDER:MODEL/TEMPLATE``
    (``|persona=...`` added); the template's answer values (e.g. Likert 1-5) are mapped linearly
    onto the humans' range, so the alt-test's RMSE compares like with like. Items without a usable
    rating (not requested, failed, unparsed) are NaN and listed in ``unrated``. The engine frame
    (raw outputs, statuses, hashes) is ``.frame``; the run's provenance is ``.provenance``.
    """
    frame = annotate(data, model, template=template, personas=personas, options=options, ledger=ledger)
    tmpl = resolve_template(template, list(personas) if personas else None)
    values = [v for _, v in tmpl.answers]
    info = dict(frame.attrs.get("annotate", {}))
    raw = _ratings_of(frame, data, where=f"{info.get('model', model)} / {tmpl.name}")
    scaled = rescale(raw, (min(values), max(values)), rating_scale(data)) if max(values) > min(values) else raw
    provenance = {**info, "ledger": str(ledger or default_ledger_path()), "scale": list(rating_scale(data))}
    return AnnotatedRatings(
        names=scaled.names,
        scores=scaled.scores,
        sources=scaled.sources,
        unrated=scaled.unrated,
        rating_map=scaled.rating_map,
        frame=frame,
        provenance=provenance,
    )


def _ratings_of(frame: pd.DataFrame, data: Annotations, *, where: str) -> MachineRatings:
    """The engine frame's scores as an (items x raters) matrix aligned to ``data``, NaN where there is none."""
    names = list(dict.fromkeys(frame["rater"].astype(str))) if len(frame) else []
    known = pd.Index([str(i) for i in data.item_ids])
    scores = np.full((data.n_items, len(names)), np.nan)
    unrated: dict[str, list[str]] = {}
    for k, name in enumerate(names):
        part = frame[frame["rater"].astype(str) == name]
        position = known.get_indexer(part["item_id"].astype(str))
        values = pd.to_numeric(part["score"], errors="coerce").to_numpy(dtype=float)
        scores[position[position >= 0], k] = values[position >= 0]
        unrated[name] = [str(i) for i in known[~np.isfinite(scores[:, k])]]
    return MachineRatings(names=names, scores=scores, sources=[where] * len(names), unrated=unrated, rating_map=data.rating_map)
