"""The power reading's first item count reaching 80% per pair matches a plain loop over the pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from annalign.report.figures.power import TARGET
from annalign.report.sections.power import first_reached


def _loop(part: pd.DataFrame) -> dict[str, int | None]:
    """The reference: per pair in order of appearance, the smallest n_items with power >= 80%."""
    out: dict[str, int | None] = {}
    for pair in dict.fromkeys(part["groups"]):
        rows = part[part["groups"] == pair]
        hits = [int(n) for n, p in zip(rows["n_items"], rows["power"], strict=True) if p >= TARGET]
        out[str(pair)] = min(hits) if hits else None
    return out


def test_first_reached_matches_a_loop_with_unsorted_counts_and_pairs_that_never_reach():
    rng = np.random.default_rng(3)
    pairs = [f"g{a} vs g{b}" for a in range(5) for b in range(a + 1, 5)]
    counts = [1000, 350, 10000, 3000]  # not sorted
    rows = [{"groups": p, "n_items": n, "power": float(rng.uniform(0, 1))} for p in pairs for n in counts]
    rows += [{"groups": "never vs reached", "n_items": n, "power": 0.1} for n in counts]
    rows += [{"groups": "at vs once", "n_items": n, "power": TARGET} for n in counts]
    part = pd.DataFrame(rows).sample(frac=1.0, random_state=1)
    got = first_reached(part)
    assert got == _loop(part) and list(got) == list(_loop(part))
    assert got["never vs reached"] is None and got["at vs once"] == 350
    assert all(isinstance(v, int) for v in got.values() if v is not None)
