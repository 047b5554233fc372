"""Measure, through the public analyses, how often RQ2's disparity test rejects a true null and how often intervals cover.

The numbers of docs/group-inference.md's calibration tables, on more simulated data sets and
more seed streams than the test suite can afford. Data: ``annalign.testing.panels.CrossedModel``
(per-rater loadings on the group truth and on a second item dimension, leniency, 3-level ratings,
15% missing), the machine aligned equally with every group in the population.

    python scripts/group_calibration.py groups --sizes 10,10 --share 1.0 --sets 2000 --stream 3
    python scripts/group_calibration.py headline --raters 30 --sets 500 --stream 21

``groups`` runs ``analyze_groups`` per set (crossed and item-only) and prints the rejection rate of
``p_adjusted`` at 0.05 and the coverage of each group's adjusted-r interval of the population
group r. ``headline`` runs ``analyze_rq1`` and prints the coverage of the headline difference's and
the percentile's intervals of their values at infinitely many items and raters (brute force on
30,000 items and 1,000 raters). Each line gives the Monte Carlo standard error of a 5% rate.
"""

from __future__ import annotations

import argparse
import math
import warnings

import numpy as np

from annalign.analyses.alignment import analyze_rq1
from annalign.analyses.group_alignment import analyze_groups
from annalign.testing.panels import (
    CrossedModel,
    crossed_data,
    population_group_r,
    population_headline_and_percentile,
)


def groups(sizes: tuple[int, ...], share: float, n_sets: int, stream: int, n_boot: int) -> None:
    """Rejection rate of the disparity test and coverage of the adjusted-r intervals, crossed and item-only."""
    model = CrossedModel(sizes=sizes, share=share)
    truth = population_group_r(model)
    reject = {s: np.zeros(n_sets, dtype=bool) for s in ("crossed", "items")}
    covered = {s: np.zeros((n_sets, len(sizes)), dtype=bool) for s in ("crossed", "items")}
    for k in range(n_sets):
        data, machine = crossed_data(model, np.random.default_rng([stream, k]))
        for scheme in reject:
            res = analyze_groups(data, machine, by="rater_group", n_boot=n_boot, n_perm=0, power_items=None, noise_boot=0,
                                 seed=k, resample=scheme)  # fmt: skip
            reject[scheme][k] = res.pairwise["p_adjusted"].iloc[0] < 0.05
            g = res.per_group
            covered[scheme][k] = (g["adjusted_ci_low"] <= truth) & (truth <= g["adjusted_ci_high"])
    se = math.sqrt(0.05 * 0.95 / n_sets)
    for scheme in reject:
        print(f"sizes {sizes} share {share} stream {stream}, {n_sets} sets, {scheme}: disparity test rejects "
              f"{reject[scheme].mean():.4f} (MC SE {se:.4f}); adjusted-r interval covers {covered[scheme].mean(axis=0).round(4)}")


def headline(n_raters: int, n_sets: int, stream: int, n_boot: int) -> None:
    """Coverage of RQ1's headline difference and percentile intervals of their values at infinite items and raters."""
    model = CrossedModel(sizes=(n_raters,))
    truth_diff, truth_pct = population_headline_and_percentile(model, n_items=30_000, n_raters=1_000)
    diff, pct, point = np.zeros(n_sets, dtype=bool), np.zeros(n_sets, dtype=bool), np.zeros(n_sets)
    for s in range(n_sets):
        data, machine = crossed_data(model, np.random.default_rng([stream, s]))
        e = analyze_rq1(data, machine, n_boot=n_boot, seed=s).to_dict()["machines"]["machine"]
        diff[s] = e["vs_median_human_ci_low"] <= truth_diff <= e["vs_median_human_ci_high"]
        pct[s] = e["percentile_ci_low"] <= truth_pct <= e["percentile_ci_high"]
        point[s] = e["percentile_among_humans"]
    print(f"{n_raters} raters, stream {stream}, {n_sets} sets: difference (truth {truth_diff:.4f}) covered {diff.mean():.4f}; "
          f"percentile (truth {truth_pct:.1f}, mean estimate {point.mean():.1f}) covered {pct.mean():.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("groups", "headline"))
    parser.add_argument("--sizes", default="10,10")
    parser.add_argument("--share", type=float, default=1.0)
    parser.add_argument("--raters", type=int, default=30)
    parser.add_argument("--sets", type=int, default=1000)
    parser.add_argument("--stream", type=int, default=1)
    parser.add_argument("--replicates", type=int, default=500)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.what == "groups":
            groups(tuple(int(s) for s in args.sizes.split(",")), args.share, args.sets, args.stream, args.replicates)
        else:
            headline(args.raters, args.sets, args.stream, args.replicates)


if __name__ == "__main__":
    main()
