"""Machine-rater files: an LLM's (or any model's) ratings of the items of a data set.

Format (CSV, JSONL or Parquet): ``item_id`` and either a numeric ``score`` or a ``label`` mapped by a
rating map; optionally a ``rater`` column for several machine raters in one file. A blank score or
label is an item the machine did not rate (a refusal, a parse failure): it is reported and left
out, never filled in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from annalign.errors import InputError, warn
from annalign.matrix import Annotations
from annalign.ratingmap import RatingMap
from annalign.tables import ids_as_text, read_table, require_columns


@dataclass(frozen=True, eq=False)
class MachineRatings:
    """Scores of one or more machine raters, aligned to the items of an Annotations set.

    ``scores`` is (n_items, n_machines) with NaN where the machine gave no usable rating.
    """

    names: list[str]
    scores: np.ndarray
    sources: list[str]
    unrated: dict[str, list[str]] = field(default_factory=dict)
    rating_map: RatingMap | None = None

    @property
    def n_machines(self) -> int:
        return len(self.names)

    def column(self, name: str) -> np.ndarray:
        return self.scores[:, self.names.index(name)]

    def select(self, names: Sequence[str]) -> MachineRatings:
        """The named machine raters only, in the given order."""
        cols = [self.names.index(n) for n in names]
        return MachineRatings(
            list(names),
            self.scores[:, cols],
            [self.sources[c] for c in cols],
            {n: self.unrated.get(n, []) for n in names},
            self.rating_map,
        )

    def summary(self) -> list[dict[str, object]]:
        """Per machine: items rated, items left out and a few of their ids."""
        out = []
        for k, name in enumerate(self.names):
            rated = int(np.isfinite(self.scores[:, k]).sum())
            missing = self.unrated.get(name, [])
            out.append(
                {
                    "rater": name,
                    "source": self.sources[k],
                    "n_rated": rated,
                    "n_unrated": len(missing),
                    "unrated_examples": missing[:10],
                }
            )
        return out


def machine_ratings_from_frame(
    frame: pd.DataFrame,
    data: Annotations,
    *,
    where: str,
    default_name: str,
    rating_map: RatingMap | None = None,
) -> MachineRatings:
    """Align one machine-rater table to ``data``; see the module docstring for the format."""
    require_columns(frame, ["item_id"], where)
    has_score, has_label = "score" in frame.columns, "label" in frame.columns
    if not (has_score or has_label):
        raise InputError(f"{where}: needs a 'score' column (numbers) or a 'label' column (mapped by the rating map)")
    frame = frame.copy()
    frame["item_id"] = ids_as_text(frame["item_id"])
    if frame["item_id"].isna().any():
        raise InputError(f"{where}, row {int(frame.loc[frame['item_id'].isna(), '_row'].iloc[0])}: item_id is empty")
    if has_score:
        values = RatingMap.numeric_scale().apply(frame["score"], where=f"{where}, column 'score'", rows=frame["_row"].tolist())
        if has_label:  # rows with no score may still carry a label
            label_values = (rating_map or data.rating_map).apply(
                frame["label"], where=f"{where}, column 'label'", rows=frame["_row"].tolist()
            )
            values = np.where(np.isnan(values), label_values, values)
    else:
        rmap = rating_map or data.rating_map
        values = rmap.apply(frame["label"], where=f"{where}, column 'label'", rows=frame["_row"].tolist())
    frame["_value"] = values
    if "rater" in frame.columns:
        frame["rater"] = frame["rater"].astype(object).where(frame["rater"].notna(), default_name).astype(str)
    else:
        frame["rater"] = default_name

    known = pd.Index(data.item_ids)
    position = known.get_indexer(frame["item_id"])
    if (position < 0).any():
        bad = frame.loc[position < 0]
        raise InputError(
            f"{where}, row {int(bad['_row'].iloc[0])}: item_id {bad['item_id'].iloc[0]!r} is not in data set {data.name} "
            f"({len(bad)} rows with unknown items; is this the right --dataset?)"
        )
    frame["_pos"] = position
    names = list(dict.fromkeys(frame["rater"]))
    scores = np.full((data.n_items, len(names)), np.nan)
    unrated: dict[str, list[str]] = {}
    for k, name in enumerate(names):
        part = frame[frame["rater"] == name]
        dup = part.duplicated("_pos", keep=False)
        if dup.any():
            conflict = part.loc[dup].groupby("_pos")["_value"].nunique(dropna=False)
            if (conflict > 1).any():
                item = data.item_ids[int(conflict[conflict > 1].index[0])]
                raise InputError(f"{where}: machine rater {name!r} gives item {item!r} two different ratings")
            part = part.drop_duplicates("_pos")
        scores[part["_pos"].to_numpy(), k] = part["_value"].to_numpy()
        missing = data.item_ids[~np.isfinite(scores[:, k])]
        unrated[name] = [str(i) for i in missing]
        blank_rows = int(part["_value"].isna().sum())
        if len(missing):
            warn(
                f"{where}: machine rater {name!r} has no usable rating for {len(missing)} of {data.n_items} items "
                f"({blank_rows} blank or unparsed in the file, {len(missing) - blank_rows} absent); they are left out"
            )
        if np.isfinite(scores[:, k]).sum() < 3:
            raise InputError(f"{where}: machine rater {name!r} rated fewer than 3 items of {data.name}; correlations need at least 3")
    return MachineRatings(names=names, scores=scores, sources=[where] * len(names), unrated=unrated, rating_map=rating_map)


def load_machine_ratings(
    paths: Sequence[str | Path], data: Annotations, *, rating_map: RatingMap | str | None = None
) -> MachineRatings:
    """Read and align several machine-rater files; rater names must be unique across files."""
    rmap = RatingMap.parse(rating_map) if rating_map is not None else None
    parts = [
        machine_ratings_from_frame(read_table(p), data, where=str(p), default_name=Path(p).name.split(".")[0], rating_map=rmap)
        for p in paths
    ]
    return combine(parts)


def combine(parts: Sequence[MachineRatings]) -> MachineRatings:
    """Put several MachineRatings side by side (same data set)."""
    if not parts:
        raise InputError("no machine ratings given")
    names: list[str] = []
    for part in parts:
        for name in part.names:
            if name in names:
                raise InputError(f"machine rater name {name!r} appears in more than one ratings file; rename one (rater column)")
            names.append(name)
    return MachineRatings(
        names=names,
        scores=np.concatenate([p.scores for p in parts], axis=1),
        sources=[s for p in parts for s in p.sources],
        unrated={k: v for p in parts for k, v in p.unrated.items()},
        rating_map=parts[0].rating_map,
    )


def rescale(
    machines: MachineRatings, source: tuple[float, float], target: tuple[float, float], only: Sequence[str] | None = None
) -> MachineRatings:
    """Map machine scores linearly from ``source`` (e.g. a 1-5 Likert) onto ``target`` (e.g. 0-1).

    ``only`` limits it to the named machine raters. Correlations do not change; the alt-test's
    negative RMSE needs machine and humans on one scale.
    """
    lo, hi = source
    if not hi > lo:
        raise InputError(f"--machine-scale needs LO < HI, got {lo:g},{hi:g}")
    if only is not None:
        unknown = [n for n in only if n not in machines.names]
        if unknown:
            raise InputError(f"--machine-scale names machine rater {unknown[0]!r}, which is not among {', '.join(machines.names)}")
    scores = machines.scores.copy()
    t_lo, t_hi = target
    for k, name in enumerate(machines.names):
        if only is not None and name not in only:
            continue
        finite = scores[np.isfinite(scores[:, k]), k]
        if len(finite) and (finite.min() < lo - 1e-9 or finite.max() > hi + 1e-9):
            raise InputError(
                f"machine rater {name!r} scores range over [{finite.min():g}, {finite.max():g}], outside --machine-scale {lo:g},{hi:g}"
            )
        scores[:, k] = t_lo + (scores[:, k] - lo) * (t_hi - t_lo) / (hi - lo)
    return MachineRatings(machines.names, scores, machines.sources, machines.unrated, machines.rating_map)
