"""Benchmark RQ2 (and RQ1): 1,000,000 sparse ratings, growth from 100,000, DICES-350 at 10,000 replicates.

Run: .venv/bin/python benchmarks/bench_groups.py [--quick]. Prints wall time and peak memory (RSS high
water mark of a fresh child process per case); never asserts times.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
import warnings

import numpy as np

from timing import in_child, peak_rss_mb


def _sparse_case(n_ratings: int, n_boot: int, queue: mp.Queue, n_perm: int = 200, power: bool = True, resample: str = "crossed") -> None:
    """RQ1 + RQ2 on a synthetic sparse set with 10 ratings per item and 2,000 raters in 10 groups."""
    warnings.simplefilter("ignore")
    from annalign.analyses.group_alignment import analyze_groups
    from annalign.core.machines import MachineRatings
    from annalign.testing.panels import sparse_annotations

    n_items = n_ratings // 10
    data, x = sparse_annotations(n_items, 2000, 10, 10, seed=1)
    machines = MachineRatings(names=["m"], scores=x[:, None], sources=["synthetic"])
    base = peak_rss_mb()
    t0 = time.perf_counter()
    rq1_note = "RQ1 not available"
    try:
        from annalign.analyses.alignment import analyze_rq1

        analyze_rq1(data, machines, n_boot=n_boot, seed=0)
        rq1_note = "RQ1"
    except ImportError:
        pass
    t1 = time.perf_counter()
    power_items = (1000, 10000) if power else None
    analyze_groups(data, machines, "rater_group", n_boot=n_boot, seed=0, n_perm=n_perm, power_items=power_items, power_sims=200,
                   resample=resample)  # fmt: skip
    t2 = time.perf_counter()
    queue.put((rq1_note, t1 - t0, t2 - t1, peak_rss_mb(), base))


def _dices_case(n_boot: int, queue: mp.Queue, resample: str = "crossed") -> None:
    warnings.simplefilter("ignore")
    from annalign.analyses.group_alignment import analyze_groups
    from annalign.core.machines import MachineRatings
    from annalign.datasets.bundled import load_dataset

    data = load_dataset("dices350")
    x = data.item_mean + np.random.default_rng(0).normal(0, 0.25, data.n_items)
    machines = MachineRatings(names=["m"], scores=x[:, None], sources=["synthetic"])
    t0 = time.perf_counter()
    analyze_groups(data, machines, n_boot=n_boot, seed=0, resample=resample)
    queue.put(("", 0.0, time.perf_counter() - t0, peak_rss_mb(), 0.0))


def _loop_reference(n_boot: int) -> None:
    """Plain-loop per-group bootstrap of r (resample item indices, recompute group means) vs the vectorised one."""
    from annalign.core.grouping import make_groups
    from annalign.core.operators import group_means
    from annalign.stats.bootstrap import bootstrap_many
    from annalign.testing.panels import sparse_annotations

    data, x = sparse_annotations(2000, 200, 10, 10, seed=3)
    grouping = make_groups(data.raters, "rater_group")
    y, _ = group_means(data, grouping.code, grouping.n_groups)
    t0 = time.perf_counter()
    bootstrap_many([(np.repeat(x[:, None], 10, axis=1), y)], data.n_items, n_boot, 0)
    fast = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(n_boot):
        idx = rng.integers(0, data.n_items, data.n_items)
        for g in range(10):
            yy, xx = y[idx, g], x[idx]
            ok = np.isfinite(yy)
            np.corrcoef(xx[ok], yy[ok])
    slow = time.perf_counter() - t0
    print(f"small case (2,000 items, 10 groups, {n_boot} replicates): vectorised {fast:.3f} s, plain loop {slow:.2f} s, ratio {slow / fast:.0f}x")


def main() -> None:
    quick = "--quick" in sys.argv
    n_boot = 1000
    sizes = [100_000, 1_000_000] if not quick else [100_000]
    print(f"synthetic sparse sets: 2,000 raters in 10 groups, 10 ratings per item, {n_boot} bootstrap replicates, 200 permutations, power 2 x 200 sims")
    times = {}
    for n in sizes:
        note, t_rq1, t_rq2, peak, base = in_child(_sparse_case, n, n_boot)
        times[n] = t_rq1 + t_rq2
        print(f"  {n:>9,} ratings: {note} {t_rq1:.1f} s, RQ2 {t_rq2:.1f} s, total {t_rq1 + t_rq2:.1f} s; peak RSS {peak:.0f} MB (data {base:.0f} MB)")
    for n in sizes:
        for scheme in ("crossed", "items"):
            note, t_rq1, t_rq2, peak, _ = in_child(_sparse_case, n, n_boot, n_perm=0, power=False, resample=scheme)
            print(f"  {n:>9,} ratings without permutations and power, {scheme}: {note} {t_rq1:.1f} s, RQ2 {t_rq2:.1f} s; "
                  f"peak RSS {peak:.0f} MB")
    if len(times) == 2:
        print(f"  growth 100k -> 1M ratings: x{times[1_000_000] / times[100_000]:.1f} time for x10 data")
    for scheme in ("crossed", "items"):
        _, _, t, peak, _ = in_child(_dices_case, 10_000, resample=scheme)
        print(f"DICES-350 RQ2, 10,000 replicates {scheme} (1000 permutations, power 4 x 1000 sims): {t:.2f} s, peak RSS {peak:.0f} MB")
    _loop_reference(200)


if __name__ == "__main__":
    main()
