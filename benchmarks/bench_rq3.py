"""Time RQ3 (analyze_disagreement) on DICES-350 with three machine raters, crossed against item-only.

The default race x gender pairs (15), 10,000 replicates and 1,000 permutations, as ``annalign
analyze --bootstrap 10000`` runs it; the third machine is judge-a with noise. Prints the median
wall and CPU time of ``--repeats`` runs per scheme.

    python benchmarks/bench_rq3.py [--replicates 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

from annalign.analyses.group_disagreement import analyze_disagreement
from annalign.datasets.bundled import load_dataset
from annalign.pipeline.run import machines_from_files

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = load_dataset("dices350")
    machines = machines_from_files(data, [str(FIXTURES / "dices350-judge-a.csv"), str(FIXTURES / "dices350-judge-b.csv")])
    baselines = {name: machines.scores[:, k] for k, name in enumerate(machines.names)}
    noisy = baselines["dices350-judge-a"] + np.random.default_rng(3).normal(0, 0.15, data.n_items)
    baselines["judge-c"] = np.clip(noisy, 0, 1)
    warnings.simplefilter("ignore")
    for scheme in ("crossed", "items"):
        wall, cpu = [], []
        for _ in range(args.repeats):
            t, c = time.perf_counter(), time.process_time()
            analyze_disagreement(data, baseline=baselines, n_boot=args.replicates, n_perm=1000, resample=scheme)
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        print(f"RQ3 {scheme:8s} {args.replicates} replicates: {statistics.median(wall):.3f} s wall, {statistics.median(cpu):.3f} s CPU")


if __name__ == "__main__":
    main()
