"""Whole-process times of what a user waits for: `annalign --help`, `annalign datasets`, and `annalign analyze`
on DICES-350 with three machine-rater files and 10,000 bootstrap replicates; each against a plain reference
run in this same script (a bare Python start-up; a plain pandas-and-loops script computing RQ1 and the
ten group r with the same 10,000 replicates). A last row times ``run_settings`` alone (the analyses,
no report, no start-up) inside a fresh process. Prints medians of several runs and the ratios;
measured figures before and after the analysis fast paths are in docs/speed.md.

    python benchmarks/bench_cli.py [--runs 3] [--replicates 10000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import timed

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"

#: the plain reference for analyze: what one would write with pandas, scipy and loops over replicates
REFERENCE = r'''
import sys, numpy as np, pandas as pd
from scipy import stats
from annalign.datasets.bundled import load_dataset
n_boot = int(sys.argv[1]); files = sys.argv[2:]
data = load_dataset("dices350")
long = pd.DataFrame({"item": data.item_index, "rater": data.rater_index, "rating": data.values})
wide = long.pivot(index="item", columns="rater", values="rating")
mean = wide.mean(axis=1).to_numpy()
machines = []
for f in files:
    m = pd.read_csv(f)
    col = m["score"] if "score" in m else m["label"].map({"Yes": 1.0, "Unsure": 0.5, "No": 0.0})
    machines.append(col.to_numpy(dtype=float))
loo = [stats.pearsonr(wide[c], wide.drop(columns=c).mean(axis=1)).statistic for c in wide.columns]
rng = np.random.default_rng(0)
idx = rng.integers(0, len(mean), (n_boot, len(mean)))
attrs = data.raters[["rater_race", "rater_gender"]].astype(str).agg(" x ".join, axis=1).to_numpy()
groups = {g: wide.iloc[:, np.flatnonzero(attrs == g)].mean(axis=1).to_numpy() for g in sorted(set(attrs))}
for x in machines:
    r = stats.pearsonr(x, mean).statistic
    reps = [np.corrcoef(x[i], mean[i])[0, 1] for i in idx]
    for g, y in groups.items():
        gr = [np.corrcoef(x[i], y[i])[0, 1] for i in idx]
print(len(loo), len(groups))
'''


#: the analyses alone, in one process (no report, no start-up): ``run_settings`` timed around the call
#: (``annalign.cli`` first, so numpy gets the command line's one BLAS thread)
ANALYSES = r'''
import sys, time
import annalign.cli
from annalign.config import Settings
from annalign.pipeline.run import run_settings
settings = Settings(dataset="dices350", ratings=sys.argv[2:], bootstrap=int(sys.argv[1]))
start = time.perf_counter(); run_settings(settings); print(time.perf_counter() - start)
'''


def analyses_seconds(files: list[str], replicates: int, runs: int) -> float:
    """Median seconds of ``run_settings`` itself (each run in a fresh process, timed inside it)."""
    times = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", ANALYSES, str(replicates), *files], capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            raise SystemExit(f"run_settings failed: {proc.stderr[-2000:]}")
        times.append(float(proc.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> None:
    """Time each command and its reference; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--replicates", type=int, default=10_000)
    args = parser.parse_args()
    annalign = [sys.executable, "-m", "annalign.cli.commands"]
    with tempfile.TemporaryDirectory() as tmp:
        third = Path(tmp) / "judge-c.csv"
        subprocess.run([sys.executable, "-c", (
            "import numpy as np, pandas as pd, sys; a = pd.read_csv(sys.argv[1]); rng = np.random.default_rng(3); "
            "a['score'] = np.clip(a['score'] + rng.normal(0, 0.2, len(a)), 0, 1).round(4); a.to_csv(sys.argv[2], index=False)"
        ), str(FIXTURES / "dices350-judge-a.csv"), str(third)], check=True)
        files = [str(FIXTURES / "dices350-judge-a.csv"), str(FIXTURES / "dices350-judge-b.csv"), str(third)]
        ratings = [a for f in files for a in ("--ratings", f)]
        bare = timed([sys.executable, "-c", "pass"], args.runs)
        rows = [
            ("annalign --help", timed([*annalign, "--help"], args.runs), "python -c pass", bare),
            ("annalign datasets", timed([*annalign, "datasets"], args.runs), "python -c pass", bare),
            (
                f"annalign analyze (3 machines, {args.replicates} replicates)",
                timed([*annalign, "analyze", "--dataset", "dices350", "--bootstrap", str(args.replicates), "--out", str(Path(tmp) / "out"), *ratings], args.runs),
                "plain pandas/loops RQ1 + 10 group r",
                reference := timed([sys.executable, "-c", REFERENCE, str(args.replicates), *files], args.runs),
            ),
            ("run_settings only (in process, no report)", analyses_seconds(files, args.replicates, args.runs),
             "plain pandas/loops RQ1 + 10 group r", reference),
        ]  # fmt: skip
    print(f"median of {args.runs} whole-process runs, {Path(sys.executable).name}")
    print(f"{'command':<52} {'seconds':>8}   {'reference':<38} {'seconds':>8} {'ratio':>6}")
    for name, seconds, ref_name, ref_seconds in rows:
        print(f"{name:<52} {seconds:8.2f}   {ref_name:<38} {ref_seconds:8.2f} {seconds / ref_seconds:6.2f}")


if __name__ == "__main__":
    main()
