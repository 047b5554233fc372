"""The alternative annotator test (Calderon, Reichart & Dror, ACL 2025), vectorised over ratings.

For each human rater j, every item i that j rated is scored twice against the *other* raters of
i: how well the machine's rating represents them (S_f) and how well j's own rating does (S_h).
W_f = [S_f >= S_h], W_h = [S_h >= S_f]. A one-sided paired t-test of mean(W_h - W_f) < epsilon
asks whether the machine beats rater j up to the cost allowance epsilon. Benjamini-Yekutieli
across raters controls the false discovery rate; the winning rate omega is the share of raters
beaten (the machine passes when omega >= 0.5) and rho is the mean of the per-rater P(W_f).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from annalign.core.annotations import Annotations
from annalign.stats.distributions import t_cdf
from annalign.stats.multitest import false_discovery_control

SCORINGS = ("auto", "accuracy", "neg_rmse")
#: Scores closer than this are ties (both W_f and W_h are 1), guarding against rounding.
TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class AltTestConfig:
    """The alt-test's cost allowance epsilon, FDR level q, scoring and the items a rater needs to be tested."""

    epsilon: float = 0.1
    q: float = 0.05
    scoring: str = "auto"
    min_items: int = 30
    #: items count only where at least this many humans rated them (the authors' minimum: 2, so a leave-one-out exists)
    min_humans: int = 2


@dataclass(frozen=True)
class AltTestResult:
    """Outcome of the alt-test for one machine rater (frozen: RQ1 adds its notes with ``dataclasses.replace``)."""

    scoring: str
    epsilon: float
    q: float
    winning_rate: float
    rho: float
    passed: bool
    n_raters_tested: int
    per_rater: pd.DataFrame
    skipped_raters: list[str] = field(default_factory=list)
    note: str = ""
    trivial_winning_rate: float | None = None
    trivial_rho: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "scoring": self.scoring,
            "epsilon": self.epsilon,
            "q": self.q,
            "winning_rate": self.winning_rate,
            "rho": self.rho,
            "passed": self.passed,
            "n_raters_tested": self.n_raters_tested,
            "n_raters_skipped": len(self.skipped_raters),
            "constant_answer_winning_rate": self.trivial_winning_rate,
            "constant_answer_rho": self.trivial_rho,
            "note": self.note,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per human rater: who the machine beats, with the test statistics."""
        return self.per_rater


def choose_scoring(data: Annotations) -> str:
    """The scoring for a data set, from its level of measurement, never from a machine's answers.

    Nominal tasks: accuracy; interval tasks: negative RMSE; ordinal tasks: accuracy for labels,
    negative RMSE for numbers. (Choosing per machine flipped a machine to RMSE on arbitrary label
    codes as soon as it used a label no human used; under accuracy such a label simply matches no one.)
    """
    level = data.level
    if level == "nominal" or (level == "ordinal" and not data.rating_map.numeric):
        return "accuracy"
    return "neg_rmse"


def rms_to_others(v: np.ndarray, x: np.ndarray, m: np.ndarray, ss: np.ndarray, n: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Root mean squared distance of ``v`` from an item's other ratings (all n but the rater's own x).

    sum over the others of (v - x_o)^2 = n (v - m)^2 + ss - (v - x)^2, with m the item mean and
    ss the squares about it; computed in units of k = max(1, |v - m|, |v - x|) so a score near the
    float limit (1e300) gives a huge distance, not an overflow.
    """
    k = np.maximum(1.0, np.maximum(np.abs(v - m), np.abs(v - x)))
    q = n * ((v - m) / k) ** 2 + ss / k / k - ((v - x) / k) ** 2
    return k * np.sqrt(np.maximum(q, 0.0) / others)


def alt_test(
    data: Annotations,
    machine: np.ndarray,
    *,
    epsilon: float = 0.1,
    q: float = 0.05,
    scoring: str = "auto",
    min_items: int = 30,
    min_humans: int = 2,
) -> AltTestResult:
    """Run the alt-test for one machine rater (scores aligned to ``data.items``; NaN = unrated)."""
    if scoring not in SCORINGS:
        raise ValueError(f"unknown alt-test scoring {scoring!r}; use one of {', '.join(SCORINGS)}")
    if scoring == "auto":
        scoring = choose_scoring(data)
    item, rater, x = data.item_index, data.rater_index, data.values
    count = data.item_count
    f = machine[item]
    use = np.isfinite(f) & (count[item] >= max(min_humans, 2))
    item, rater, x, f = item[use], rater[use], x[use], f[use]
    others = count[item] - 1
    if scoring == "accuracy":
        cats, codes = np.unique(data.values, return_inverse=True)
        table = np.zeros((data.n_items, len(cats)))
        np.add.at(table, (data.item_index, codes), 1.0)
        own = codes[use]
        f_code = np.searchsorted(cats, f)
        f_code = np.clip(f_code, 0, len(cats) - 1)
        f_known = cats[f_code] == f
        s_h = (table[item, own] - 1) / others
        s_f = (np.where(f_known, table[item, f_code], 0.0) - (f == x)) / others
    else:
        n = count[item]
        m = data.item_sum[item] / n
        ss = np.maximum(data.item_sumsq[item] - data.item_sum[item] * m, 0.0)  # squares about the item mean
        s_h = -rms_to_others(x, x, m, ss, n, others)
        s_f = -rms_to_others(f, x, m, ss, n, others)
    w_f = (s_f >= s_h - TIE_TOLERANCE).astype(float)
    w_h = (s_h >= s_f - TIE_TOLERANCE).astype(float)
    d = w_h - w_f

    n_r = data.n_raters
    n_j = np.bincount(rater, minlength=n_r).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_f = np.bincount(rater, weights=w_f, minlength=n_r) / n_j
        p_h = np.bincount(rater, weights=w_h, minlength=n_r) / n_j
        mean_d = np.bincount(rater, weights=d, minlength=n_r) / n_j
        ss = np.bincount(rater, weights=(d - mean_d[rater]) ** 2, minlength=n_r)
        sd = np.sqrt(ss / (n_j - 1))
        t = (mean_d - epsilon) / (sd / np.sqrt(n_j))
    # Zero spread: the t statistic is -inf or +inf (or 0/0 when mean_d == epsilon exactly).
    t = np.where(sd > 0, t, np.where(mean_d < epsilon, -np.inf, np.where(mean_d > epsilon, np.inf, 0.0)))
    p = t_cdf(t, np.maximum(n_j - 1, 1))
    tested = n_j >= max(min_items, 2)
    skipped = [str(r) for r in data.rater_ids[~tested]]
    per = pd.DataFrame(
        {
            "rater_id": data.rater_ids,
            "n_items": n_j.astype(int),
            "p_machine_wins": p_f,
            "p_human_wins": p_h,
            "mean_d": mean_d,
            "t": t,
            "p_value": p,
            "tested": tested,
        }
    )
    if tested.sum() == 0:
        per["p_adjusted"] = np.nan
        per["machine_beats_rater"] = False
        note = f"no rater has {min_items} or more items rated alongside the machine; the alt-test was not run"
        return AltTestResult(scoring, epsilon, q, float("nan"), float("nan"), False, 0, per, skipped, note)
    adjusted = np.full(n_r, np.nan)
    adjusted[tested] = false_discovery_control(p[tested], method="by")
    per["p_adjusted"] = adjusted
    per["machine_beats_rater"] = tested & (adjusted <= q)
    omega = float(per["machine_beats_rater"].sum() / tested.sum())
    rho = float(np.mean(p_f[tested]))
    return AltTestResult(scoring, epsilon, q, omega, rho, omega >= 0.5, int(tested.sum()), per, skipped)
