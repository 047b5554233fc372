"""What a user waits for at scale: the whole `annalign analyze` process on 1,000,000 sparse ratings, CSV to report.

The data set (100,000 items, 2,000 raters in 10 groups, 10 ratings per item; ``testing.panels.sparse_annotations``)
and one machine file are written as long-form CSV into a temporary folder, then timed as whole processes:

- ``annalign analyze`` with the defaults (1,000 crossed replicates, RQ2's and RQ3's permutation tests, the report);
- the same with ``permutations = 0`` in a config file (the bootstrap tests only);
- a plain reference in the same script: pandas reads the two files, takes each item's mean rating and
  the machine's r with it, and 1,000 item-bootstrap replicates of that r with numpy (RQ1's first line,
  nothing else).

    python benchmarks/bench_analyze_large.py [--ratings 1000000]

Prints seconds, peak RSS of each child process and the ratios; never asserts them.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WRITE = r'''
import sys, numpy as np, pandas as pd
from annalign.testing.panels import sparse_annotations
n, out = int(sys.argv[1]), sys.argv[2]
data, x = sparse_annotations(n // 10, 2000, 10, 10, seed=1)
pd.DataFrame({"item_id": data.items.index.to_numpy()[data.item_index], "rater_id": data.raters.index.to_numpy()[data.rater_index],
              "rating": data.values, "rater_group": data.raters["rater_group"].to_numpy()[data.rater_index]}).to_csv(f"{out}/ratings.csv", index=False)
pd.DataFrame({"item_id": data.items.index.to_numpy(), "score": x}).to_csv(f"{out}/machine.csv", index=False)
'''

REFERENCE = r'''
import sys, numpy as np, pandas as pd
ratings, machine = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
mean = ratings.groupby("item_id")["rating"].mean()
x = machine.set_index("item_id")["score"].reindex(mean.index).to_numpy()
y = mean.to_numpy()
r = np.corrcoef(x, y)[0, 1]
rng = np.random.default_rng(0)
reps = [np.corrcoef(x[i], y[i])[0, 1] for i in (rng.integers(0, len(y), len(y)) for _ in range(1000))]
print(r, np.quantile(reps, [0.025, 0.975]))
'''


def run(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one child process, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed: {proc.stderr[-2000:]}")
    # RUSAGE_CHILDREN's high-water mark is that of the largest child so far: the cases run smallest first
    return seconds, max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-c", WRITE, str(args.ratings), tmp], check=True, cwd=ROOT)
        (Path(tmp) / "no-permutations.toml").write_text("permutations = 0\n", "utf-8")
        data, machine = f"{tmp}/ratings.csv", f"{tmp}/machine.csv"
        analyze = [sys.executable, "-m", "annalign.cli.commands", "analyze", "--dataset", data, "--rating-map", "numeric",
                   "--ratings", machine, "--by", "rater_group"]  # fmt: skip
        reference = run([sys.executable, "-c", REFERENCE, data, machine])
        rows = [
            ("plain pandas/numpy: item means, r, 1,000 item replicates", reference),
            ("annalign analyze, no permutations (config)", run([*analyze, "--config", f"{tmp}/no-permutations.toml", "--out", f"{tmp}/a"])),
            ("annalign analyze, defaults", run([*analyze, "--out", f"{tmp}/b"])),
        ]  # fmt: skip
    print(f"{args.ratings:,} sparse ratings ({args.ratings // 10:,} items x 10 ratings, 2,000 raters in 10 groups), whole processes")
    for name, (seconds, rss) in rows:
        print(f"  {name:<58} {seconds:7.1f} s  peak RSS so far {rss:6.0f} MB  ({seconds / reference[0]:.1f}x the reference)")


if __name__ == "__main__":
    main()
