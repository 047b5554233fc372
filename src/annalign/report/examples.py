"""The items where a machine rater is furthest from the mean human rating, with their text."""

from __future__ import annotations

import numpy as np

from annalign.core.annotations import Annotations
from annalign.core.machines import MachineRatings
from annalign.report.model import Example, clean, num

#: item columns shown first, in this order; other text columns follow.
TEXT_FIELDS = ("context", "response")
MAX_FIELD_CHARS = 4000


def human_range(data: Annotations) -> tuple[float, float]:
    """The human rating scale's observed range (for putting machine scores on it)."""
    if data.has_raters and len(data.values):
        return float(np.min(data.values)), float(np.max(data.values))
    mean = data.item_mean[np.isfinite(data.item_mean)]
    mapping = data.rating_map.to_dict().get("mapping") or {}
    values = [float(v) for v in mapping.values()] if mapping else [float(mean.min()), float(mean.max())]
    return min(values), max(values)


def on_human_scale(score: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, bool]:
    """Machine scores as they are when they lie on the human scale, else linearly mapped onto it by their own range."""
    finite = score[np.isfinite(score)]
    if len(finite) == 0 or (finite.min() >= lo - 1e-9 and finite.max() <= hi + 1e-9):
        return score, False
    span = np.ptp(finite)
    if span == 0:
        return np.full_like(score, (lo + hi) / 2), True
    return lo + (score - finite.min()) * (hi - lo) / span, True


def item_fields(data: Annotations, position: int) -> list[tuple[str, str]]:
    """(name, text) of an item's text columns, conversation first, long texts cut."""
    row = data.items.iloc[position]
    names = [c for c in TEXT_FIELDS if c in data.items.columns]
    names += [c for c in data.items.columns if c not in names and data.items[c].dtype == object]
    out = []
    for name in names:
        value = row[name]
        if value is None or (isinstance(value, float) and not np.isfinite(value)):
            continue
        text = clean(value)
        if len(text) > MAX_FIELD_CHARS:
            text = text[:MAX_FIELD_CHARS] + " [...]"
        out.append((clean(name), text))
    return out


def largest_disagreements(data: Annotations, machines: MachineRatings, per_machine: int = 5, max_machines: int = 4) -> tuple[list[Example], list[str]]:
    """Up to ``per_machine`` items per machine with the largest |machine - human mean|, and notes on rescaling."""
    lo, hi = human_range(data)
    examples: list[Example] = []
    notes: list[str] = []
    human = data.item_mean
    for k, name in enumerate(machines.names[:max_machines]):
        raw = machines.scores[:, k]
        scaled, rescaled = on_human_scale(raw, lo, hi)
        if rescaled:
            notes.append(f"{clean(name)}'s scores lie outside the human scale [{lo:g}, {hi:g}]; they are mapped linearly onto it by their own range before comparing.")
        gap = np.abs(scaled - human)
        order = [i for i in np.argsort(-np.nan_to_num(gap, nan=-1.0), kind="stable") if np.isfinite(gap[i])][:per_machine]
        for i in order:
            examples.append(
                Example(
                    machine=clean(name),
                    item_id=clean(data.item_ids[i]),
                    human_mean=num(float(human[i]), 2),
                    machine_score=num(float(raw[i]), 2),
                    machine_on_human_scale=num(float(scaled[i]), 2),
                    gap=num(float(gap[i]), 2),
                    fields=item_fields(data, int(i)),
                )
            )
    return examples, notes
