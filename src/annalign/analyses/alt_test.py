"""The alternative annotator test (Calderon, Reichart & Dror, ACL 2025), vectorised over ratings.

For each human rater j, every item i that j rated is scored twice against the *other* raters of
i: how well the machine's rating represents them (S_f) and how well j's own rating does (S_h).
W_f = [S_f >= S_h], W_h = [S_h >= S_f]. A one-sided paired t-test of mean(W_h - W_f) < epsilon
asks whether the machine beats rater j up to the cost allowance epsilon. Benjamini-Yekutieli
across raters controls the false discovery rate; the winning rate omega is the share of raters
beaten (the machine passes when omega >= 0.5) and rho is the mean of the per-rater P(W_f).

Settings follow the authors' code (``alt_test`` in nitaytech/AltTest): epsilon defaults to their
0.2, with their guidance: 0.2 for experts, 0.15 for skilled annotators, 0.1 for crowd workers (and
smaller when the humans agree little); q = 0.05; items count where at least 2 humans rated them;
a rater is t-tested on 30 or more items. Raters with fewer items are left out, or, with
``fallback="wilcoxon"`` (the authors' advice for under 30 items), tested with a one-sided Wilcoxon
signed-rank test of d - epsilon when they have at least ``WILCOXON_MIN_ITEMS``. ``scoring`` may be
a Python callable ``f(prediction, others) -> float`` (the authors' scoring-function signature):
how well one rating represents the list of the other raters' ratings of the item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from annalign.core.annotations import Annotations
from annalign.errors import InputError
from annalign.stats.distributions import t_cdf
from annalign.stats.multitest import false_discovery_control

SCORINGS = ("auto", "accuracy", "neg_rmse")
FALLBACKS = ("none", "wilcoxon")
#: Scores closer than this are ties (both W_f and W_h are 1), guarding against rounding.
TIE_TOLERANCE = 1e-9
#: The authors' default cost allowance (their guidance: 0.2 experts, 0.15 skilled, 0.1 crowd workers).
DEFAULT_EPSILON = 0.2
#: The epsilon values of the winning-rate curve (the grid later ports of the authors' code report).
EPSILON_GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
#: The fewest items the Wilcoxon fallback tests a rater on (below 5 no one-sided p-value reaches 0.05).
WILCOXON_MIN_ITEMS = 5

#: A user scorer: how well ``prediction`` represents ``others`` (the other raters' ratings of the item).
Scorer = Callable[[Any, Sequence[Any]], float]


@dataclass(frozen=True)
class AltTestConfig:
    """The alt-test's cost allowance epsilon, FDR level q, scoring and the items a rater needs to be tested."""

    epsilon: float = DEFAULT_EPSILON
    q: float = 0.05
    scoring: str | Scorer = "auto"
    min_items: int = 30
    #: items count only where at least this many humans rated them (the authors' minimum: 2, so a leave-one-out exists)
    min_humans: int = 2
    #: "wilcoxon": raters under min_items (with at least WILCOXON_MIN_ITEMS) get the Wilcoxon signed-rank test
    fallback: str = "none"


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
    #: winning rate and verdict at each epsilon of EPSILON_GRID (and the run's own), same raters and tests
    epsilon_curve: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["epsilon", "winning_rate", "passed"]))
    fallback: str = "none"
    n_raters_fallback: int = 0
    warnings: list[str] = field(default_factory=list)

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
            "fallback": self.fallback,
            "n_raters_fallback": self.n_raters_fallback,
            "epsilon_curve": [
                {"epsilon": float(e), "winning_rate": float(w), "passed": bool(p)}
                for e, w, p in zip(self.epsilon_curve["epsilon"], self.epsilon_curve["winning_rate"], self.epsilon_curve["passed"], strict=True)
            ],
            "note": self.note,
            "warnings": list(self.warnings),
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
    epsilon: float = DEFAULT_EPSILON,
    q: float = 0.05,
    scoring: str | Scorer = "auto",
    min_items: int = 30,
    min_humans: int = 2,
    fallback: str = "none",
) -> AltTestResult:
    """Run the alt-test for one machine rater (scores aligned to ``data.items``; NaN = unrated)."""
    if fallback not in FALLBACKS:
        raise ValueError(f"unknown alt-test fallback {fallback!r}; use one of {', '.join(FALLBACKS)}")
    if not callable(scoring) and scoring not in SCORINGS:
        raise ValueError(f"unknown alt-test scoring {scoring!r}; use one of {', '.join(SCORINGS)} or a callable")
    label = scoring_name(scoring) if callable(scoring) else (choose_scoring(data) if scoring == "auto" else scoring)
    item, rater = data.item_index, data.rater_index
    f = machine[item]
    use = np.isfinite(f) & (data.item_count[item] >= max(min_humans, 2))
    if callable(scoring):
        s_h, s_f = _custom_scores(data, machine, use, scoring)
    else:
        s_h, s_f = _scores(data, f, use, label)
    rater = rater[use]
    w_f = (s_f >= s_h - TIE_TOLERANCE).astype(float)
    w_h = (s_h >= s_f - TIE_TOLERANCE).astype(float)
    d = w_h - w_f

    n_r = data.n_raters
    n_j = np.bincount(rater, minlength=n_r).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_f = np.bincount(rater, weights=w_f, minlength=n_r) / n_j
        p_h = np.bincount(rater, weights=w_h, minlength=n_r) / n_j
        mean_d = np.bincount(rater, weights=d, minlength=n_r) / n_j
        sd = np.sqrt(np.bincount(rater, weights=(d - mean_d[rater]) ** 2, minlength=n_r) / (n_j - 1))
    by_t = n_j >= max(min_items, 2)
    by_wilcoxon = (fallback == "wilcoxon") & ~by_t & (n_j >= WILCOXON_MIN_ITEMS)
    tested = by_t | by_wilcoxon
    grouped = _rater_rows(rater, d, n_j, by_wilcoxon)

    def p_values(eps: float) -> tuple[np.ndarray, np.ndarray]:
        """The t statistic and one-sided p-value of every rater at cost allowance ``eps`` (Wilcoxon for the fallback raters)."""
        t = _t_statistic(mean_d, sd, n_j, eps)
        p = t_cdf(t, np.maximum(n_j - 1, 1))
        for raters, rows in grouped:
            p[raters] = _wilcoxon_less(rows - eps)
        return t, np.where(tested, p, np.nan)

    t, p = p_values(epsilon)
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
            "test": np.where(by_t, "t", np.where(by_wilcoxon, "wilcoxon", "none")),
        }
    )
    extra = {"fallback": fallback, "n_raters_fallback": int(by_wilcoxon.sum())}
    if tested.sum() == 0:
        per["p_adjusted"] = np.nan
        per["machine_beats_rater"] = False
        fewest = f"{WILCOXON_MIN_ITEMS} (the Wilcoxon fallback's minimum)" if fallback == "wilcoxon" else str(min_items)
        note = f"no rater has {fewest} or more items rated alongside the machine; the alt-test was not run"
        return AltTestResult(label, epsilon, q, float("nan"), float("nan"), False, 0, per, skipped, note, **extra)  # type: ignore[arg-type]
    beats = _beats(p, tested, q)
    per["p_adjusted"] = np.where(tested, _adjusted(p, tested), np.nan)
    per["machine_beats_rater"] = beats
    omega = float(beats.sum() / tested.sum())
    rho = float(np.mean(p_f[tested]))
    curve = _epsilon_curve(lambda e: _beats(p_values(e)[1], tested, q).sum() / tested.sum(), epsilon)
    return AltTestResult(
        label, epsilon, q, omega, rho, omega >= 0.5, int(tested.sum()), per, skipped, epsilon_curve=curve, **extra  # type: ignore[arg-type]
    )


def _epsilon_curve(winning_rate: Callable[[float], float], epsilon: float) -> pd.DataFrame:
    """Winning rate and verdict at each epsilon of EPSILON_GRID and the run's own."""
    grid = sorted({*EPSILON_GRID, float(epsilon)})
    rates = [float(winning_rate(e)) for e in grid]
    return pd.DataFrame({"epsilon": grid, "winning_rate": rates, "passed": [r >= 0.5 for r in rates]})


def scoring_name(scorer: Scorer) -> str:
    """How a user scorer is named in results: ``custom:<function name>``."""
    return f"custom:{getattr(scorer, '__name__', type(scorer).__name__)}"


def _scores(data: Annotations, f: np.ndarray, use: np.ndarray, scoring: str) -> tuple[np.ndarray, np.ndarray]:
    """S_h and S_f of every used rating under a built-in scoring, vectorised over ratings."""
    item, x, f = data.item_index[use], data.values[use], f[use]
    others = data.item_count[item] - 1
    if scoring == "accuracy":
        cats, codes = np.unique(data.values, return_inverse=True)
        table = np.zeros((data.n_items, len(cats)))
        np.add.at(table, (data.item_index, codes), 1.0)
        own = codes[use]
        f_code = np.clip(np.searchsorted(cats, f), 0, len(cats) - 1)
        f_known = cats[f_code] == f  # a label no human used matches no one
        s_h = (table[item, own] - 1) / others
        s_f = (np.where(f_known, table[item, f_code], 0.0) - (f == x)) / others
        return s_h, s_f
    n = data.item_count[item]
    m = data.item_sum[item] / n
    ss = np.maximum(data.item_sumsq[item] - data.item_sum[item] * m, 0.0)  # squares about the item mean
    return -rms_to_others(x, x, m, ss, n, others), -rms_to_others(f, x, m, ss, n, others)


def _custom_scores(data: Annotations, machine: np.ndarray, use: np.ndarray, scorer: Scorer) -> tuple[np.ndarray, np.ndarray]:
    """S_h and S_f from a user scorer, called once per rating and side (a Python call each: user code cannot be vectorised)."""
    idx = np.flatnonzero(use)
    order = np.argsort(data.item_index, kind="stable")
    bounds = np.searchsorted(data.item_index[order], np.arange(data.n_items + 1))
    values = data.values.tolist()
    s_h, s_f = np.empty(len(idx)), np.empty(len(idx))
    for k, pos in enumerate(idx):
        i = int(data.item_index[pos])
        others = [values[j] for j in order[bounds[i] : bounds[i + 1]] if j != pos]
        s_h[k] = _score(scorer, values[pos], others)
        s_f[k] = _score(scorer, float(machine[i]), others)
    return s_h, s_f


def _score(scorer: Scorer, prediction: float, others: list[float]) -> float:
    """One call of a user scorer, whose answer must be a finite number."""
    value = scorer(prediction, others)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(f"alt-test scorer {scoring_name(scorer)} returned {value!r}; it must return a number") from None
    if not np.isfinite(out):
        raise InputError(f"alt-test scorer {scoring_name(scorer)} returned {out!r}; it must return a finite number")
    return out


def _t_statistic(mean_d: np.ndarray, sd: np.ndarray, n_j: np.ndarray, eps: float) -> np.ndarray:
    """(mean d - eps) / (sd / sqrt n); with zero spread -inf or +inf by the side of eps (0 when equal)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (mean_d - eps) / (sd / np.sqrt(n_j))
    return np.where(sd > 0, t, np.where(mean_d < eps, -np.inf, np.where(mean_d > eps, np.inf, 0.0)))


def _rater_rows(rater: np.ndarray, d: np.ndarray, n_j: np.ndarray, chosen: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """For the chosen raters, grouped by their item count: (rater positions, their d values as rows of one matrix)."""
    if not chosen.any():
        return []
    order = np.argsort(rater, kind="stable")
    starts = np.concatenate([[0], np.cumsum(n_j)[:-1]]).astype(int)
    groups = []
    for n in np.unique(n_j[chosen]).astype(int):  # one scipy call per distinct item count (fewer than min_items)
        raters = np.flatnonzero(chosen & (n_j == n))
        groups.append((raters, d[order][starts[raters][:, None] + np.arange(n)]))
    return groups


def _wilcoxon_less(rows: np.ndarray) -> np.ndarray:
    """One-sided Wilcoxon signed-rank p-values (median below 0) of each row; 1 where every value is 0."""
    import warnings

    from scipy import stats  # only on this path: scipy.stats takes about 0.5 s to import

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ties and zeros: scipy switches to its normal approximation and says so
        p = stats.wilcoxon(rows, alternative="less", axis=1).pvalue
    return np.where(np.isfinite(p), p, 1.0)


def _adjusted(p: np.ndarray, tested: np.ndarray) -> np.ndarray:
    """Benjamini-Yekutieli adjusted p-values of the tested raters (NaN elsewhere)."""
    out = np.full(len(p), np.nan)
    out[tested] = false_discovery_control(p[tested], method="by")
    return out


def _beats(p: np.ndarray, tested: np.ndarray, q: float) -> np.ndarray:
    """Which raters the machine beats: tested, with a BY-adjusted p-value at most q."""
    return tested & (np.nan_to_num(_adjusted(p, tested), nan=1.0) <= q)
