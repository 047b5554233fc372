"""Distributional statistics at two sizes, each against a plain implementation in this same script.

1. DICES-350 (123 raters per item) with a synthetic distribution judge and 1,000 bootstrap replicates:
   annalign's ``analyze_distribution`` (JSD/TV/Wasserstein/log loss with CIs, split-half ceiling, entropy
   tracking, k curve and k*) against plain loops (per-item scipy ``jensenshannon``/``wasserstein_distance``,
   a Python loop over replicates for the CIs, per-item random halves and random k raters by loops), timed
   with the item-only intervals (what the loops compute) and with the default crossed ones (items and raters).
2. 100,000 items x 10 ratings from 1,000 raters (sparse, 3 labels): the same, with the plain reference
   timed on 2,000 items and scaled linearly to 100,000 (the loops are linear in items), labelled so.
3. Whole processes, what a user waits for (median of ``--runs``): ``annalign analyze --dataset dices350 --ratings
   <distribution judge>`` (RQ1-RQ3, the distribution analysis with crossed intervals, the report with its figures),
   the same with the judge's expected score only (no ``p_`` columns, so no distribution analysis), and the plain
   loops of 1. run as a process of their own.

    python benchmarks/bench_distribution.py [--replicates 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from annalign.analyses.distribution import K_MAX, N_DRAWS, N_SPLITS, analyze_distribution
from annalign.core.annotations import Annotations
from annalign.core.labelcodes import crowd_of
from annalign.core.machines import MachineRatings
from annalign.core.ratingmap import RatingMap
from timing import timed as process_seconds


def sparse_panel(n_items: int, n_raters: int = 1000, per_item: int = 10, seed: int = 0) -> tuple[Annotations, MachineRatings]:
    """A 3-label sparse crowd (item-specific label shares, rater leniency) and a machine stating noisy shares."""
    rng = np.random.default_rng(seed)
    truth = rng.dirichlet([1.0, 0.5, 2.0], n_items)
    item = np.repeat(np.arange(n_items), per_item)
    rater = (rng.integers(0, n_raters, n_items)[:, None] + np.arange(per_item)[None, :]).ravel() % n_raters
    cum = np.cumsum(truth[item], axis=1)
    codes = (rng.random(len(item))[:, None] > cum).sum(axis=1).clip(0, 2)
    values = np.array([1.0, 0.5, 0.0])[codes]
    data = Annotations(
        name="sparse", items=pd.DataFrame(index=pd.Index([f"i{j}" for j in range(n_items)], name="item_id")),
        raters=pd.DataFrame(index=pd.Index([f"r{j}" for j in range(n_raters)], name="rater_id")),
        item_index=item.astype(np.int64), rater_index=rater.astype(np.int64), values=values, rating_map=RatingMap.dices(),
    )  # fmt: skip
    model = np.stack([rng.dirichlet(8 * t + 0.3) for t in truth])
    return data, machine_of(data, model)


def machine_of(data: Annotations, model: np.ndarray) -> MachineRatings:
    """A MachineRatings carrying ``model`` as its label distribution (labels in the data set's order)."""
    _, coded = crowd_of(data)
    return MachineRatings(["machine"], (model @ coded.positions)[:, None], ["synthetic"], distributions={"machine": model},
                          distribution_labels=coded.labels)  # fmt: skip


def dices_panel() -> tuple[Annotations, MachineRatings]:
    """DICES-350 and a judge stating the raters' shares blurred (as scripts/make_dist_fixture.py)."""
    import annalign

    data = annalign.load("dices350")
    crowd, _ = crowd_of(data)
    rng = np.random.default_rng(350)
    model = 0.7 * np.stack([rng.dirichlet(4 * p + 0.3) for p in crowd.distributions]) + 0.3 * crowd.counts.sum(0) / crowd.counts.sum()
    return data, machine_of(data, model)


def plain(data: Annotations, model: np.ndarray, n_boot: int, seed: int = 0) -> float:
    """The same statistics by loops (scipy per item, a loop over replicates, loops over splits and k); the k* it finds."""
    crowd, coded = crowd_of(data)
    ratings: dict[int, list[int]] = {}
    for i, c in zip(crowd.item_index.tolist(), crowd.codes.tolist(), strict=True):
        ratings.setdefault(i, []).append(c)
    n_labels = len(coded.labels)

    def shares(labels: list[int]) -> np.ndarray:
        return np.bincount(labels, minlength=n_labels) / len(labels)

    items = sorted(ratings)
    human = {i: shares(ratings[i]) for i in items}
    per_item = {i: [jensenshannon(model[i], human[i], base=2) ** 2, 0.5 * np.abs(model[i] - human[i]).sum(),
                    stats.wasserstein_distance(coded.positions, coded.positions, model[i], human[i]),
                    -np.sum(human[i] * np.log2(np.maximum(model[i], 1e-6)))] for i in items}  # fmt: skip
    table = np.array([per_item[i] for i in items])
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):  # item bootstrap of the four means
        table[rng.integers(0, len(items), len(items))].mean(axis=0)
    for _ in range(N_SPLITS):  # split halves
        for i in items:
            order = rng.permutation(ratings[i])
            half = len(order) // 2
            jensenshannon(shares(list(order[:half])), shares(list(order[half:])), base=2)
    k_max = min(K_MAX, min(len(r) for r in ratings.values()) - 1)
    curve = np.zeros(k_max)
    for _ in range(N_DRAWS):  # k curve: k random raters pooled against the rest
        for i in items:
            order = rng.permutation(ratings[i])
            for k in range(1, k_max + 1):
                curve[k - 1] += jensenshannon(shares(list(order[:k])), shares(list(order[k:])), base=2) ** 2
    curve /= N_DRAWS * len(items)
    return float(np.interp(-table[:, 0].mean(), -curve, np.arange(1, k_max + 1)))


def timed(function, *args) -> tuple[float, object]:  # noqa: ANN001
    """Seconds and result of one call."""
    start = time.perf_counter()
    out = function(*args)
    return time.perf_counter() - start, out


ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "dices350-judge-dist.csv"


def whole_processes(replicates: int, runs: int) -> None:
    """Part 3: annalign analyze with and without the distribution, and the plain loops as a process."""
    annalign = [sys.executable, "-m", "annalign"]
    with tempfile.TemporaryDirectory() as tmp:
        scores = Path(tmp) / "judge-scores.csv"
        judge = pd.read_csv(FIXTURE)
        total = judge[["p_yes", "p_unsure", "p_no"]].sum(axis=1)
        expected = (judge["p_yes"] + 0.5 * judge["p_unsure"]) / total  # the DICES map's expected value, as the loader computes it
        judge.assign(score=expected).drop(columns=["p_yes", "p_unsure", "p_no"]).to_csv(scores, index=False)
        common = ["analyze", "--dataset", "dices350", "--bootstrap", str(replicates)]
        with_dist = process_seconds([*annalign, *common, "--ratings", str(FIXTURE), "--out", f"{tmp}/a"], runs)
        without = process_seconds([*annalign, *common, "--ratings", str(scores), "--out", f"{tmp}/b"], runs)
        loops = process_seconds([sys.executable, __file__, "--plain-process", "--replicates", str(replicates)], runs)
    print(f"whole processes, median of {runs}, {replicates} replicates: annalign analyze with the distribution judge {with_dist:6.2f} s, "
          f"with its expected score only {without:6.2f} s (the distribution analysis and its report section add "
          f"{with_dist - without:5.2f} s)   plain distribution loops as a process (items only) {loops:6.2f} s   "
          f"ratio added / plain {(with_dist - without) / loops:5.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--plain-process", action="store_true", help="only the plain loops on DICES-350 (part 3's reference)")
    args = parser.parse_args()
    if args.plain_process:
        data, machines = dices_panel()
        plain(data, machines.distributions["machine"], args.replicates)
        return
    data, machines = dices_panel()
    items_s, ours = timed(lambda: analyze_distribution(data, machines, n_boot=args.replicates, seed=0, resample="items"))
    crossed_s, _ = timed(lambda: analyze_distribution(data, machines, n_boot=args.replicates, seed=0))
    plain_s, k_plain = timed(plain, data, machines.distributions["machine"], args.replicates)
    k_ours = float(ours.machines.query("machine == 'machine'").set_index("statistic").loc["k_star", "value"])
    print(f"DICES-350, {data.n_ratings:,} ratings, {args.replicates} replicates: annalign crossed {crossed_s:6.2f} s, items only "
          f"{items_s:6.2f} s   plain loops (items only) {plain_s:7.2f} s   ratio {items_s / plain_s:5.3f}   "
          f"(k* {k_ours:.2f}; the plain loop's {k_plain:.2f}, other random draws)")  # fmt: skip
    big, big_machines = sparse_panel(100_000)
    items_s, _ = timed(lambda: analyze_distribution(big, big_machines, n_boot=args.replicates, seed=0, resample="items"))
    crossed_s, _ = timed(lambda: analyze_distribution(big, big_machines, n_boot=args.replicates, seed=0))
    small, small_machines = sparse_panel(2_000)
    plain_small, _ = timed(plain, small, small_machines.distributions["machine"], args.replicates)
    scaled = plain_small * 50
    print(f"100,000 items x 10 ratings, {args.replicates} replicates: annalign crossed {crossed_s:6.2f} s, items only {items_s:6.2f} s   "
          f"plain loops (items only) {scaled:7.2f} s (timed on 2,000 items: {plain_small:.2f} s, x 50)   ratio {items_s / scaled:5.3f}")  # fmt: skip
    whole_processes(args.replicates, args.runs)


if __name__ == "__main__":
    main()
