"""Levels of measurement (nominal, ordinal, interval): declared in the rating map or inferred from it and the ratings.

The level decides which statistics are meaningful: nominal tasks (frame labels, pairwise
preferences) get agreement (accuracy, kappa) rather than correlations of arbitrary label codes;
ordinal tasks get rank correlations; interval tasks Pearson's r on the numbers.
"""

from __future__ import annotations

import numpy as np

from annalign.errors import InputError

LEVELS = ("nominal", "ordinal", "interval")
#: A numeric task with at most this many distinct whole-number ratings is a rating scale (ordinal).
MAX_ORDINAL_POINTS = 11
#: the RQ1 correlation each level calls for when ``method`` is "auto"
METHOD_FOR_LEVEL = {"nominal": "pearson", "ordinal": "spearman", "interval": "pearson"}


def check_level(level: str | None, where: str = "level of measurement") -> str | None:
    """``level`` lower-cased when it is one of LEVELS (or None / "auto" for inferred); a one-line InputError otherwise."""
    if level is None:
        return None
    text = str(level).strip().casefold()
    if text == "auto":
        return None
    if text not in LEVELS:
        raise InputError(f"{where}: {level!r} is not a level of measurement; use one of auto, {', '.join(LEVELS)}")
    return text


def infer_level(declared: str | None, numeric: bool, name: str, categories: tuple[float, ...], values: np.ndarray) -> tuple[str, str]:
    """(level, why) for a data set: the declared level, else a rule on its rating map and ratings.

    DICES's own map is interval by declaration (Movva et al. average its 0 / 0.5 / 1 codes and use
    Pearson); a label map with two values is interval (a mean is a proportion, all levels agree);
    with more, ordinal (numbers given to labels state an order, not distances); numeric ratings
    with few whole-number values are a rating scale (ordinal), other numbers interval.
    """
    if declared is not None:
        return declared, "declared"
    if name == "dices":
        return "interval", "DICES map (Yes=1, Unsure=0.5, No=0) averaged as numbers, as in Movva et al."
    if not numeric:
        if len(categories) <= 2:
            return "interval", f"label map with {len(categories)} values (binary: a mean is a proportion)"
        return "ordinal", f"label map with {len(categories)} ordered values"
    finite = values[np.isfinite(values)]
    distinct = np.unique(finite)
    if 2 < len(distinct) <= MAX_ORDINAL_POINTS and np.all(distinct == np.round(distinct)):
        return "ordinal", f"numeric ratings with {len(distinct)} whole-number values (a rating scale)"
    return "interval", f"numeric ratings with {len(distinct)} distinct values"
