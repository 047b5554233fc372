"""Krippendorff's alpha on 1,000,000 sparse ratings: annalign's agreement analysis against the krippendorff package.

Data: 100,000 items x 10 of 1,000 raters each (5-level ratings, per-rater leniency), one machine
rater on the same 5 levels. annalign computes alpha at three levels, a bootstrap interval for each
and the machine put in place of each of the 1,000 humans (with its bootstrap); the reference is the
krippendorff package fed the per-item value counts (its sparse-friendly input; a raters x items
matrix would need 100 million cells), one call per alpha, timed for the point estimates and for
20 bootstrap replicates, then scaled to the same number of replicates. Both in this process.

    python benchmarks/bench_agreement.py [--replicates 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from annalign.analyses.agreement import analyze_agreement
from annalign.core.annotations import Annotations
from annalign.core.machines import MachineRatings
from annalign.stats.agreement import LEVELS


def synthetic(n_items: int = 100_000, n_raters: int = 1_000, per_item: int = 10, seed: int = 0) -> tuple[Annotations, np.ndarray]:
    """A sparse 5-level panel: shared truth, per-rater leniency, noise; and a machine on the same levels."""
    rng = np.random.default_rng(seed)
    truth = rng.standard_normal(n_items)
    rater = (rng.integers(0, n_raters, n_items)[:, None] + rng.permutation(n_raters)[:per_item][None, :]) % n_raters
    item = np.repeat(np.arange(n_items), per_item)
    rater = rater.ravel()
    leniency = rng.normal(0, 0.4, n_raters)
    cuts = [-1.2, -0.4, 0.4, 1.2]
    values = np.digitize(truth[item] + leniency[rater] + rng.standard_normal(len(item)), cuts) + 1.0
    data = Annotations(
        name="synthetic", items=pd.DataFrame(index=pd.Index([f"i{j}" for j in range(n_items)], name="item_id")),
        raters=pd.DataFrame(index=pd.Index([f"r{j}" for j in range(n_raters)], name="rater_id")),
        item_index=item.astype(np.int64), rater_index=rater.astype(np.int64), values=values,
    )  # fmt: skip
    machine = np.digitize(truth + 0.8 * rng.standard_normal(n_items), cuts) + 1.0
    return data, machine


def reference(data: Annotations, n_boot: int, seed: int) -> tuple[dict[str, float], float, float]:
    """The krippendorff package on value counts: alphas, seconds for the points, seconds per bootstrap replicate (all levels)."""
    import krippendorff

    counts = pd.crosstab(data.item_index, data.values).to_numpy()
    start = time.perf_counter()
    points = {lv: float(krippendorff.alpha(value_counts=counts, level_of_measurement=lv)) for lv in LEVELS}
    point_s = time.perf_counter() - start
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for _ in range(n_boot):
        draw = counts[rng.integers(0, len(counts), len(counts))]
        for lv in LEVELS:
            krippendorff.alpha(value_counts=draw, level_of_measurement=lv)
    return points, point_s, (time.perf_counter() - start) / n_boot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicates", type=int, default=200)
    args = parser.parse_args()
    data, machine = synthetic()
    machines = MachineRatings(["machine"], machine[:, None], ["synthetic"])
    print(f"{len(data.values):,} ratings, {data.n_items:,} items, {data.n_raters:,} raters; {args.replicates} bootstrap replicates")
    start = time.perf_counter()
    humans_only = analyze_agreement(data, n_boot=args.replicates, seed=0)
    humans_s = time.perf_counter() - start
    start = time.perf_counter()
    analyze_agreement(data, machines, n_boot=args.replicates, seed=0)
    full_s = time.perf_counter() - start
    points, point_s, per_rep = reference(data, 20, 0)
    ours = dict(zip(humans_only.humans["level"], humans_only.humans["alpha"], strict=True))
    print("alpha (annalign / krippendorff): " + ", ".join(f"{lv} {ours[lv]:.6f} / {points[lv]:.6f}" for lv in LEVELS))
    ref_total = point_s + per_rep * args.replicates
    print(f"{'humans: 3 alphas + bootstrap':<58} annalign {humans_s:7.2f} s   krippendorff {ref_total:7.2f} s   ratio {humans_s / ref_total:5.2f}")
    print(f"{'+ machine in place of each of 1,000 humans (3 levels)':<58} annalign {full_s:7.2f} s   (no reference: "
          f"{data.n_raters * 3 * (1 + args.replicates):,} alphas, about {data.n_raters * 3 * (1 + args.replicates) * point_s / 3:,.0f} s "
          "one call each)")  # fmt: skip


if __name__ == "__main__":
    main()
