"""Issue 11's cost targets: RQ1 + RQ2 + RQ3 with crossed replicates against item-only, on DICES-350 and 1,000,000 ratings.

Each case runs in a fresh child process (peak RSS is that process's high-water mark) and times
the three analyses as the CLI runs them (``analyze_rq1``, ``analyze_groups``, ``analyze_disagreement``
with their defaults: permutations, power, the crossed headline), without loading, report or figures
(``bench_cli.py`` times the whole ``annalign analyze``).

- DICES-350: the bundled data, race x gender, three machines (judge-a, judge-b, judge-a with noise), 10,000 replicates.
- 1,000,000 sparse ratings: 100,000 items, 2,000 raters in 10 groups, 10 ratings per item, one machine, 1,000 replicates.

    python benchmarks/bench_crossed.py [--quick] [--no-dices]   (--quick: 100,000 ratings instead of 1,000,000)

The sparse set runs twice: with the analyses' default permutations (1,000 per pair in RQ2 and RQ3),
then without them, which leaves the replicates (and RQ2's power) whose scheme is being compared.

Prints times and memory; never asserts them.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from timing import in_child, peak_rss_mb

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"


def _dices() -> tuple:
    from annalign.core.machines import MachineRatings
    from annalign.datasets.bundled import load_dataset
    from annalign.pipeline.run import machines_from_files

    data = load_dataset("dices350")
    machines = machines_from_files(data, [str(FIXTURES / "dices350-judge-a.csv"), str(FIXTURES / "dices350-judge-b.csv")])
    noisy = np.clip(machines.scores[:, 0] + np.random.default_rng(3).normal(0, 0.15, data.n_items), 0, 1)
    scores = np.column_stack([machines.scores, noisy])
    return data, MachineRatings(names=[*machines.names, "judge-c"], scores=scores, sources=["fixture"] * 3), None


def _sparse(n_ratings: int) -> tuple:
    from annalign.core.machines import MachineRatings
    from annalign.testing.panels import sparse_annotations

    data, x = sparse_annotations(n_ratings // 10, 2000, 10, 10, seed=1)
    return data, MachineRatings(names=["m"], scores=x[:, None], sources=["synthetic"]), "rater_group"


def _case(which: str, n_ratings: int, n_boot: int, resample: str, permutations: bool, queue: mp.Queue) -> None:
    """Time RQ1, RQ2 and RQ3 for one data set and scheme; put (seconds per analysis, peak RSS MB, data RSS MB)."""
    warnings.simplefilter("ignore")
    from annalign.analyses.alignment import analyze_rq1
    from annalign.analyses.group_alignment import analyze_groups
    from annalign.analyses.group_disagreement import analyze_disagreement

    data, machines, by = _dices() if which == "dices" else _sparse(n_ratings)
    grouping = {} if by is None else {"by": by}
    if not permutations:
        grouping["n_perm"] = 0
    baseline = {name: machines.scores[:, k] for k, name in enumerate(machines.names)}
    base = peak_rss_mb()
    times = []
    t = time.perf_counter()
    analyze_rq1(data, machines, n_boot=n_boot, seed=0, resample=resample)
    times.append(time.perf_counter() - t)
    t = time.perf_counter()
    analyze_groups(data, machines, n_boot=n_boot, seed=0, resample=resample, **grouping)
    times.append(time.perf_counter() - t)
    t = time.perf_counter()
    analyze_disagreement(data, baseline=baseline, n_boot=n_boot, seed=0, resample=resample, **grouping)
    times.append(time.perf_counter() - t)
    queue.put((times, peak_rss_mb(), base))


def main() -> None:
    n_ratings = 100_000 if "--quick" in sys.argv else 1_000_000
    cases = [("dices", 0, 10_000, "DICES-350, 3 machines, 10,000 replicates"),
             ("sparse", n_ratings, 1_000, f"{n_ratings:,} sparse ratings, 10 groups, 1,000 replicates")]  # fmt: skip
    if "--no-dices" in sys.argv:
        cases = cases[1:]
    for (which, n, n_boot, label), permutations in [(c, True) for c in cases] + [(cases[-1], False)]:
        totals = {}
        if not permutations:
            label += ", RQ2 and RQ3 without permutations"
        for scheme in ("crossed", "items"):
            (t1, t2, t3), peak, base = in_child(_case, which, n, n_boot, scheme, permutations)
            totals[scheme] = t1 + t2 + t3
            print(f"{label}, {scheme:7s}: RQ1 {t1:.2f} s, RQ2 {t2:.2f} s, RQ3 {t3:.2f} s, total {t1 + t2 + t3:.2f} s; "
                  f"peak RSS {peak:.0f} MB (data {base:.0f} MB)")  # fmt: skip
        print(f"  crossed / items only: {totals['crossed'] / totals['items']:.2f}x")


if __name__ == "__main__":
    main()
