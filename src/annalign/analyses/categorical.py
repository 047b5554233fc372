"""RQ1 for nominal tasks: accuracy and kappa of each machine against the humans, placed in the humans' own distribution.

Pearson's r on arbitrary label codes means nothing for a nominal task (frame labels, pairwise
preferences), so such a task gets agreement instead: each machine's accuracy and Cohen's kappa
against the majority of the humans and against each human (pooled pairs), with item-bootstrap
intervals (they generalise over items, conditional on these raters), and the same four
statistics for every human against the *other* humans (leave one out), so the machine gets a
percentile among the humans as in RQ1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from annalign.analyses.base import ConfidenceInterval, ResultDisplay, check_level, fmt
from annalign.core.annotations import Annotations
from annalign.core.jsonsafe import jsonable
from annalign.core.machines import MachineRatings
from annalign.errors import warn
from annalign.stats.bootstrap import percentile_interval
from annalign.stats.categorical import (
    STATISTICS,
    CodedRatings,
    bootstrap_machine,
    human_statistics,
    machine_statistics,
    machine_terms,
)
from annalign.stats.ranks import percentile_of_score

LABELS = {
    "accuracy_majority": "accuracy vs the majority",
    "kappa_majority": "kappa vs the majority",
    "accuracy_pairs": "accuracy vs each human",
    "kappa_pairs": "kappa vs each human",
}


@dataclass(frozen=True)
class MachineAgreement(ResultDisplay):
    """One machine's four agreement statistics with intervals, percentiles among the humans, and its replicates."""

    name: str
    values: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    percentiles: dict[str, float]
    n_items: int
    n_off_vocabulary: int
    replicates: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def confidence_interval(self, level: float = 0.95, statistic: str = "kappa_majority") -> ConfidenceInterval:
        """Percentile item-bootstrap interval of one statistic at ``level`` from the kept replicates."""
        return ConfidenceInterval(*percentile_interval(self.replicates[statistic], check_level(level)))

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"n_items": self.n_items, "n_off_vocabulary": self.n_off_vocabulary}
        for k in STATISTICS:
            lo, hi = self.intervals[k]
            out.update({k: self.values[k], f"{k}_ci_low": lo, f"{k}_ci_high": hi, f"{k}_percentile_among_humans": self.percentiles[k]})
        return out

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"machine": self.name, **self.to_dict()}])

    def summary(self) -> list[str]:
        return [machine_agreement_line(self.name, jsonable(self.to_dict()))]


@dataclass(frozen=True, repr=False)
class CategoricalResult(ResultDisplay):
    """Nominal-task RQ1: the humans' leave-one-out agreement and each machine's, with the categories used."""

    categories: list[float]
    n_boot: int
    seed: int
    level: float
    rater_ids: np.ndarray
    humans: dict[str, np.ndarray]
    machines: list[MachineAgreement] = field(default_factory=list)
    generalises_over: str = "items (conditional on these raters)"

    def human_summary(self, statistic: str) -> dict[str, float]:
        """Median, quartiles and range of one statistic over the humans (leave one out)."""
        v = self.humans[statistic][np.isfinite(self.humans[statistic])]
        if len(v) == 0:
            return {"n": 0}
        q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
        return {"n": int(len(v)), "median": float(med), "q1": float(q1), "q3": float(q3), "min": float(v.min()), "max": float(v.max())}

    def to_dict(self) -> dict[str, Any]:
        return jsonable({
            "level": "nominal",
            "categories": self.categories,
            "generalises_over": self.generalises_over,
            "bootstrap": {"n": self.n_boot, "seed": self.seed, "level": self.level},
            "human": {k: self.human_summary(k) for k in STATISTICS},
            "machines": {m.name: m.to_dict() for m in self.machines},
        })  # fmt: skip

    def tables(self) -> dict[str, pd.DataFrame]:
        humans = pd.DataFrame({"rater_id": self.rater_ids, **{k: self.humans[k] for k in STATISTICS}, "n_items": self.humans["n_items"]})
        machines = pd.concat([m.to_frame() for m in self.machines], ignore_index=True) if self.machines else pd.DataFrame(columns=["machine"])
        return {"rq1_nominal_humans": humans, "rq1_nominal_machines": machines}

    def to_frame(self) -> pd.DataFrame:
        return self.tables()["rq1_nominal_machines"]

    def confidence_interval(self, level: float = 0.95) -> pd.DataFrame:
        """Every machine statistic with its percentile interval at ``level`` (kept replicates)."""
        level = check_level(level)
        rows = [{"machine": m.name, "statistic": k, "value": m.values[k], **m.confidence_interval(level, k)._asdict()}
                for m in self.machines for k in STATISTICS]  # fmt: skip
        return pd.DataFrame(rows, columns=["machine", "statistic", "value", "low", "high"]).assign(level=level)

    def summary(self) -> list[str]:
        return categorical_lines(self.to_dict())


def categorical_lines(section: dict[str, Any]) -> list[str]:
    """The terminal lines of the nominal-task agreement (results.json "rq1" -> "categorical")."""
    h = section["human"]["kappa_majority"]
    lines = [f"RQ1 agreement (nominal task; {section['bootstrap']['n']} item-bootstrap replicates, generalises over {section['generalises_over']})"]
    if h.get("n"):
        a = section["human"]["accuracy_majority"]
        lines.append(f"  humans vs the majority of the others (n={h['n']}): kappa median {fmt(h['median'])} (IQR {fmt(h['q1'])}-{fmt(h['q3'])}), "
                     f"accuracy median {fmt(a['median'])}")  # fmt: skip
    lines += [machine_agreement_line(name, m) for name, m in section["machines"].items()]
    return lines


def machine_agreement_line(name: str, m: dict[str, Any]) -> str:
    """One machine's agreement line: kappa and accuracy vs the majority and vs each human, with intervals and percentile."""
    parts = [f"{LABELS[k]} {fmt(m[k])} [{fmt(m[k + '_ci_low'])}, {fmt(m[k + '_ci_high'])}]" for k in STATISTICS]
    return f"  {name}: " + ", ".join(parts) + f" on {m['n_items']} items; kappa percentile among humans {fmt(m['kappa_majority_percentile_among_humans'], 1)}"


def analyze_categorical(data: Annotations, machines: MachineRatings | None, *, n_boot: int, seed: int, level: float) -> CategoricalResult:
    """Accuracy and kappa of every human (leave one out) and every machine against the humans of ``data``."""
    coded = CodedRatings.of(data.item_index, data.rater_index, data.values, data.n_items, data.n_raters)
    humans = human_statistics(coded)
    out = []
    for k in range(machines.n_machines if machines is not None else 0):
        name, scores = machines.names[k], machines.scores[:, k]
        codes = coded.codes_of(scores)
        off = int((codes == len(coded.categories)).sum())
        if off > 0.5 * (codes >= 0).sum():
            warn(f"machine rater {name!r}: {off} of {int((codes >= 0).sum())} scores are not labels the humans used (continuous "
                 "scores?); accuracy and kappa need its labels, so they are not computed for it")  # fmt: skip
            codes = np.full_like(codes, -1)
        elif off:
            warn(f"machine rater {name!r}: {off} item(s) carry a label no human used; they count as disagreeing with every human")
        terms = machine_terms(coded, codes)
        values = {k2: float(v[0]) for k2, v in machine_statistics(terms).items()}
        reps = bootstrap_machine(terms, n_boot, seed)
        intervals = {k2: percentile_interval(reps[k2], level) for k2 in STATISTICS}
        percentiles = {k2: _percentile(humans[k2], values[k2]) for k2 in STATISTICS}
        _warn_if_below_chance(name, values["kappa_majority"], intervals["kappa_majority"], level)
        for v in reps.values():
            v.setflags(write=False)
        out.append(MachineAgreement(name, values, intervals, percentiles, int(terms["use"].sum()), off, reps))
    return CategoricalResult([float(c) for c in coded.categories], n_boot, seed, level, data.rater_ids, humans, out)


def _percentile(humans: np.ndarray, value: float) -> float:
    finite = humans[np.isfinite(humans)]
    return percentile_of_score(finite, value) if len(finite) and np.isfinite(value) else float("nan")


def _warn_if_below_chance(name: str, kappa: float, interval: tuple[float, float], level: float) -> None:
    """A machine that agrees with the majority less than chance would may have its labels swapped or inverted."""
    if not kappa < 0:
        return
    lo, hi = interval
    clearly = np.isfinite(hi) and hi < 0
    warn(
        f"machine rater {name!r}: kappa with the human majority is {kappa:.3f} [{lo:.3f}, {hi:.3f}] ({level:.0%} CI"
        f"{', below 0' if clearly else ''}), below chance agreement; its labels may be inverted or swapped: check its "
        "rating map (--machine-rating-map) against the humans'"
    )
