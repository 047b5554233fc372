"""Whole-process times of two non-DICES-default jobs a user waits for, each against a plain reference in this script:

- item slices: ``annalign analyze --dataset dices350 --slice-by degree_of_harm --slice-by harm_type`` (RQ1 per
  slice with bootstrap CIs, the humans' leave-one-out r per slice, RQ2 per slice, the report), against a plain
  pandas script computing the per-slice r, its bootstrap by a loop over replicates and the humans' LOO r per slice;
- a nominal task: ``annalign analyze`` on a synthetic 3-label task (5,000 items, 200 raters, 5 ratings per item)
  with a machine rater (accuracy and Cohen's kappa against the majority and against each human, item-bootstrap
  CIs, each human's leave-one-out kappa, the alt-test, the report), against a plain script computing kappa
  against the majority, its bootstrap by a loop over replicates and each human's leave-one-out kappa by a loop.

    python benchmarks/bench_tasks.py [--runs 3] [--replicates 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from timing import timed

ROOT = Path(__file__).resolve().parents[1]
JUDGE = ROOT / "tests" / "fixtures" / "dices350-judge-a.csv"

#: plain slices: per-slice r, a loop over bootstrap replicates, and each rater's LOO r on the slice by a loop
SLICES_REFERENCE = r'''
import sys, numpy as np, pandas as pd
from scipy import stats
from annalign.datasets.bundled import load_dataset
n_boot, judge = int(sys.argv[1]), sys.argv[2]
data = load_dataset("dices350")
wide = pd.DataFrame({"i": data.item_index, "r": data.rater_index, "v": data.values}).pivot(index="i", columns="r", values="v")
x = pd.read_csv(judge).set_index("item_id").reindex(data.item_ids)["score"].to_numpy()
mean = wide.mean(axis=1).to_numpy()
rng = np.random.default_rng(0)
for field in ("degree_of_harm", "harm_type"):
    labels = data.items[field].astype(str).str.split(",")
    for label in sorted({p.strip() for ls in labels for p in ls}):
        rows = np.flatnonzero([label in [p.strip() for p in ls] for ls in labels])
        if len(rows) < 3:
            continue
        r = stats.pearsonr(x[rows], mean[rows]).statistic
        if len(rows) >= 10:
            reps = [np.corrcoef(x[s], mean[s])[0, 1] for s in rows[rng.integers(0, len(rows), (n_boot, len(rows)))]]
        sub = wide.iloc[rows]
        loo = [stats.pearsonr(sub[c], sub.drop(columns=c).mean(axis=1)).statistic for c in sub.columns]
'''

#: plain nominal agreement: kappa against the majority, a loop over replicates, each human's LOO kappa by a loop
NOMINAL_REFERENCE = r'''
import sys, numpy as np, pandas as pd
n_boot = int(sys.argv[1]); long = pd.read_csv(sys.argv[2]); judge = pd.read_csv(sys.argv[3]).set_index("item_id")["label"]
def kappa(a, b):
    labels = sorted(set(a) | set(b)); po = np.mean(a == b)
    pe = sum(np.mean(a == k) * np.mean(b == k) for k in labels)
    return (po - pe) / (1 - pe)
majority = long.groupby("item_id")["rating"].agg(lambda s: s.value_counts().index[0])
m = judge.reindex(majority.index).to_numpy(); y = majority.to_numpy()
k = kappa(m, y)
rng = np.random.default_rng(0)
reps = [kappa(m[s], y[s]) for s in rng.integers(0, len(y), (n_boot, len(y)))]
for rater, own in long.groupby("rater_id"):
    rest = long[(long["item_id"].isin(own["item_id"])) & (long["rater_id"] != rater)]
    maj = rest.groupby("item_id")["rating"].agg(lambda s: s.value_counts().index[0])
    own = own.set_index("item_id")["rating"].reindex(maj.index)
    kappa(own.to_numpy(), maj.to_numpy())
'''


def nominal_task(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """A synthetic 3-label task: item truths, raters who agree with it at varying rates, a machine at 70%."""
    rng = np.random.default_rng(seed)
    n_items, n_raters, per_item = 5000, 200, 5
    labels = np.array(["support", "oppose", "neutral"])
    truth = rng.integers(0, 3, n_items)
    skill = rng.uniform(0.4, 0.9, n_raters)
    raters = np.stack([rng.choice(n_raters, per_item, replace=False) for _ in range(n_items)])
    right = rng.random((n_items, per_item)) < skill[raters]
    codes = np.where(right, truth[:, None], rng.integers(0, 3, (n_items, per_item)))
    long = pd.DataFrame({"item_id": np.repeat([f"i{i}" for i in range(n_items)], per_item),
                         "rater_id": [f"a{r}" for r in raters.ravel()], "rating": labels[codes.ravel()]})  # fmt: skip
    machine = np.where(rng.random(n_items) < 0.7, truth, rng.integers(0, 3, n_items))
    data_path, judge_path = folder / "nominal.csv", folder / "nominal-judge.csv"
    long.to_csv(data_path, index=False)
    pd.DataFrame({"item_id": [f"i{i}" for i in range(n_items)], "label": labels[machine]}).to_csv(judge_path, index=False)
    return data_path, judge_path


def main() -> None:
    """Time each job and its reference; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args()
    annalign = [sys.executable, "-m", "annalign.cli.commands"]
    reps = str(args.replicates)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data_path, judge_path = nominal_task(folder)
        rows = [
            ("analyze --slice-by degree_of_harm,harm_type (DICES-350)",
             timed([*annalign, "analyze", "--dataset", "dices350", "--ratings", str(JUDGE), "--slice-by", "degree_of_harm",
                    "--slice-by", "harm_type", "--bootstrap", reps, "--out", str(folder / "s")], args.runs),
             "plain slices r + bootstrap + LOO r", timed([sys.executable, "-c", SLICES_REFERENCE, reps, str(JUDGE)], args.runs)),
            ("analyze, nominal task (5,000 items x 200 raters)",
             timed([*annalign, "analyze", "--dataset", str(data_path), "--rating-map", "nominal:support,oppose,neutral",
                    "--ratings", str(judge_path), "--bootstrap", reps, "--out", str(folder / "n")], args.runs),
             "plain kappa + bootstrap + LOO kappa", timed([sys.executable, "-c", NOMINAL_REFERENCE, reps, str(data_path), str(judge_path)], args.runs)),
        ]  # fmt: skip
    print(f"median of {args.runs} whole-process runs, {args.replicates} bootstrap replicates, {Path(sys.executable).name}")
    print(f"{'command':<58} {'seconds':>8}   {'reference':<36} {'seconds':>8} {'ratio':>6}")
    for name, seconds, ref_name, ref_seconds in rows:
        print(f"{name:<58} {seconds:8.2f}   {ref_name:<36} {ref_seconds:8.2f} {seconds / ref_seconds:6.2f}")


if __name__ == "__main__":
    main()
