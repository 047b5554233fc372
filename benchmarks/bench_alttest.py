"""The alternative annotator test on 1,000,000 sparse ratings: annalign's vectorised alt-test against a plain one.

Data: bench_agreement's panel (100,000 items x 10 of 1,000 raters each, 5-level ratings with per-rater
leniency) and one machine rater on the same levels. annalign runs ``alt_test`` (accuracy and negative
RMSE scoring, epsilon 0.2, the epsilon curve included); the reference is the authors' procedure written
plainly (Calderon, Reichart & Dror 2025, nitaytech/AltTest): for every rating, loops over the item's
other ratings for S_f and S_h, then per rater scipy's one-sided ``ttest_1samp`` of d against epsilon and
scipy's Benjamini-Yekutieli. Both in this process; the script checks they agree (winning rate, rho and
every p-value to 1e-9) before printing the times.

    python benchmarks/bench_alttest.py [--items 100000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annalign.analyses.alt_test import alt_test  # noqa: E402
from annalign.core.annotations import Annotations  # noqa: E402
from bench_agreement import synthetic  # noqa: E402


def plain_alt_test(data: Annotations, machine: np.ndarray, epsilon: float, scoring: str, min_items: int = 30) -> tuple[float, float, dict[int, float]]:
    """The published procedure by loops: (winning rate, rho, {rater position: p-value}), q = 0.05."""
    by_item: dict[int, list[tuple[int, float]]] = {}
    for i, j, v in zip(data.item_index.tolist(), data.rater_index.tolist(), data.values.tolist(), strict=True):
        by_item.setdefault(i, []).append((j, v))
    d_of: dict[int, list[float]] = {}
    wf_of: dict[int, list[float]] = {}
    for i, ratings in by_item.items():
        f = float(machine[i])
        if len(ratings) < 2 or f != f:
            continue
        for k, (j, x) in enumerate(ratings):
            others = [v for m, (_, v) in enumerate(ratings) if m != k]
            if scoring == "accuracy":
                s_f = sum(f == o for o in others) / len(others)
                s_h = sum(x == o for o in others) / len(others)
            else:
                s_f = -(sum((f - o) ** 2 for o in others) / len(others)) ** 0.5
                s_h = -(sum((x - o) ** 2 for o in others) / len(others)) ** 0.5
            w_f, w_h = float(s_f >= s_h - 1e-9), float(s_h >= s_f - 1e-9)
            d_of.setdefault(j, []).append(w_h - w_f)
            wf_of.setdefault(j, []).append(w_f)
    raters = sorted(j for j, d in d_of.items() if len(d) >= min_items)
    pvals = []
    for j in raters:
        d = np.array(d_of[j])
        if d.std() == 0:
            pvals.append(0.0 if d.mean() < epsilon else 1.0)
        else:
            pvals.append(float(stats.ttest_1samp(d, epsilon, alternative="less").pvalue))
    adjusted = stats.false_discovery_control(pvals, method="by")
    omega = float(np.mean(adjusted <= 0.05))
    rho = float(np.mean([np.mean(wf_of[j]) for j in raters]))
    return omega, rho, dict(zip(raters, pvals, strict=True))


def check(ours: object, plain: tuple[float, float, dict[int, float]]) -> None:
    """Stop unless annalign and the plain procedure agree on winning rate, rho and every p-value."""
    omega, rho, pvals = plain
    per = ours.per_rater  # type: ignore[attr-defined]
    got = per["p_value"].to_numpy()
    worst = max(abs(got[j] - p) for j, p in pvals.items())
    if ours.winning_rate != omega or abs(ours.rho - rho) > 1e-9 or worst > 1e-9:  # type: ignore[attr-defined]
        raise SystemExit(f"annalign and the plain alt-test disagree: omega {ours.winning_rate} vs {omega}, "  # type: ignore[attr-defined]
                         f"rho {ours.rho} vs {rho}, largest p-value difference {worst:g}")  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    data, machine = synthetic(n_items=args.items)
    print(f"{len(data.values):,} ratings, {data.n_items:,} items, {data.n_raters:,} raters; epsilon 0.2, q 0.05")
    for scoring in ("accuracy", "neg_rmse"):
        start = time.perf_counter()
        ours = alt_test(data, machine, epsilon=0.2, scoring=scoring)
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        plain = plain_alt_test(data, machine, 0.2, scoring)
        plain_s = time.perf_counter() - start
        check(ours, plain)
        print(f"{scoring:<9} winning rate {ours.winning_rate:.3f}, rho {ours.rho:.3f} (equal to the plain loop)   "
              f"annalign {ours_s:6.2f} s (with the 7-point epsilon curve)   plain {plain_s:6.2f} s   ratio {ours_s / plain_s:5.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
