"""Machine raters in memory: one score per item and rater, named, with where each came from; combining and rescaling them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from annalign.core.annotations import Annotations
from annalign.core.ratingmap import RatingMap
from annalign.errors import InputError, warn


@dataclass(frozen=True, eq=False)
class MachineRatings:
    """Scores of one or more machine raters, aligned to the items of an Annotations set.

    ``scores`` is (n_items, n_machines) with NaN where the machine gave no usable rating.
    ``distributions`` holds, for raters whose file gave ``p_<label>`` columns, their label shares
    (n_items, n_labels; NaN rows where none), labels in ``distribution_labels`` order.
    """

    names: list[str]
    scores: np.ndarray
    sources: list[str]
    unrated: dict[str, list[str]] = field(default_factory=dict)
    rating_map: RatingMap | None = None
    distributions: dict[str, np.ndarray] = field(default_factory=dict)
    distribution_labels: tuple[str, ...] = ()

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
            {n: self.distributions[n] for n in names if n in self.distributions},
            self.distribution_labels,
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

def drop_constant(machines: MachineRatings | None, data: Annotations) -> MachineRatings | None:
    """Leave out machine raters whose scores do not vary on the items the humans rated, with a warning naming the file.

    Every correlation with such a rater is undefined (0/0), so it would break RQ1, RQ2 and RQ3;
    the other raters are analysed as usual. Returns None when no rater is left.
    """
    if machines is None:
        return None
    human = np.isfinite(data.item_mean)
    keep = []
    for k, name in enumerate(machines.names):
        score = machines.scores[:, k]
        valid = np.isfinite(score) & human
        if valid.sum() >= 1 and np.ptp(score[valid]) == 0:
            also = (" (its label distribution too; annalign.load_machines(..., keep_constant=True) keeps it for "
                    "annalign.distribution)") if name in machines.distributions else ""  # fmt: skip
            warn(
                f"{machines.sources[k]}: machine rater {name!r} gives every item the same score "
                f"({score[valid][0]:g}); its correlations are undefined, so it is left out of the analyses{also}"
            )
        else:
            keep.append(name)
    if len(keep) == machines.n_machines:
        return machines
    return machines.select(keep) if keep else None


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
        distributions={k: v for p in parts for k, v in p.distributions.items()},
        distribution_labels=next((p.distribution_labels for p in parts if p.distributions), ()),
    )


def linear_map(values: np.ndarray, source: tuple[float, float], target: tuple[float, float]) -> np.ndarray:
    """Values mapped linearly from the ``source`` range onto the ``target`` range: the one Likert rescaling.

    For example a 1-5 Likert answer onto DICES's 0-1 scale: 1 -> 0, 3 -> 0.5, 5 -> 1.
    """
    (lo, hi), (t_lo, t_hi) = source, target
    if not hi > lo:
        raise InputError(f"a rating scale needs LO < HI, got {lo:g},{hi:g}")
    return t_lo + (np.asarray(values, dtype=float) - lo) * (t_hi - t_lo) / (hi - lo)


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
        scores[:, k] = linear_map(scores[:, k], source, target)
    return replace(machines, scores=scores)
