"""Time the whole RQ1 analysis on DICES-350 with 10,000 bootstrap replicates against a plain reference.

The reference is what one would write with pandas and loops: per-rater leave-one-out with
scipy.stats.pearsonr, a Python loop over bootstrap replicates, and the alt-test as a double loop.
Both run in this process on the same data; the script prints both times and the ratio.

    python benchmarks/bench_rq1.py [--replicates 10000]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from annalign.analyses.alignment import analyze_rq1
from annalign.analyses.alt_test import AltTestConfig
from annalign.core.machines import MachineRatings
from annalign.datasets.bundled import load_dataset


def reference_rq1(long: pd.DataFrame, machine: pd.Series, n_boot: int, seed: int, eps: float = 0.1) -> dict:
    """Plain pandas/loop RQ1: LOO r, machine r + bootstrap CI, alt-test (neg RMSE)."""
    wide = long.pivot(index="item_id", columns="rater_id", values="rating")
    loo = {}
    for rater in wide.columns:
        others = wide.drop(columns=rater).mean(axis=1)
        pair = pd.concat([wide[rater], others], axis=1).dropna()
        if pair.iloc[:, 0].nunique() > 1:
            loo[rater] = stats.pearsonr(pair.iloc[:, 0], pair.iloc[:, 1]).statistic
    human_mean = wide.mean(axis=1)
    m = machine.reindex(wide.index)
    r = stats.pearsonr(m, human_mean).statistic
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(m), len(m))
        reps.append(stats.pearsonr(m.iloc[idx], human_mean.iloc[idx]).statistic)
    ci = np.quantile(reps, [0.025, 0.975])
    pvals, rhos = [], []
    values = wide.to_numpy()
    mv = m.to_numpy()
    for j in range(values.shape[1]):
        wf, wh = [], []
        for i in range(values.shape[0]):
            rest = [values[i, k] for k in range(values.shape[1]) if k != j and not np.isnan(values[i, k])]
            sf = -np.sqrt(np.mean([(mv[i] - v) ** 2 for v in rest]))
            sh = -np.sqrt(np.mean([(values[i, j] - v) ** 2 for v in rest]))
            wf.append(sf >= sh)
            wh.append(sh >= sf)
        d = np.array(wh, float) - np.array(wf, float)
        pvals.append(stats.ttest_1samp(d, eps, alternative="less").pvalue)
        rhos.append(np.mean(wf))
    adjusted = stats.false_discovery_control(np.nan_to_num(pvals, nan=1.0), method="by")
    return {"median_loo": np.median(list(loo.values())), "r": r, "ci": ci, "omega": np.mean(adjusted <= 0.05), "rho": np.mean(rhos)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    data = load_dataset("dices350")
    rng = np.random.default_rng(0)
    score = np.clip(data.item_mean + rng.normal(0, 0.2, data.n_items), 0, 1)
    machines = MachineRatings(["synthetic"], score[:, None], ["benchmark"])

    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = analyze_rq1(data, machines, n_boot=args.replicates, seed=0, alt=AltTestConfig(scoring="neg_rmse"))
        times.append(time.perf_counter() - start)
    fast = min(times)
    m = result.machines[0]

    long = data.to_long()
    start = time.perf_counter()
    ref = reference_rq1(long, pd.Series(score, index=data.item_ids.astype(type(long.item_id.iloc[0]))), args.replicates, 0)
    slow = time.perf_counter() - start

    print(f"DICES-350: {data.n_items} items x {data.n_raters} raters, {args.replicates} bootstrap replicates")
    print(f"annalign RQ1 (LOO + r + CI + alt-test): {fast:.3f} s (best of {args.repeats})")
    print(f"plain pandas/loop reference:           {slow:.3f} s")
    print(f"speed-up: {slow / fast:.0f}x")
    print(
        f"check: median LOO {result.human_summary['median']:.6f} vs {ref['median_loo']:.6f}; "
        f"r {m.r:.6f} vs {ref['r']:.6f}; CI [{m.ci_low:.3f}, {m.ci_high:.3f}] vs [{ref['ci'][0]:.3f}, {ref['ci'][1]:.3f}]; "
        f"alt omega {m.alt.winning_rate:.3f} vs {ref['omega']:.3f}, rho {m.alt.rho:.4f} vs {ref['rho']:.4f}"
    )


if __name__ == "__main__":
    main()
