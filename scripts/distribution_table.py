"""Print docs/distribution.md's DICES-350 tables: each machine's divergences with crossed and item-only intervals.

    python scripts/distribution_table.py [MACHINE_FILE ...] [--raters dices-kept] [--bootstrap N]

Defaults to the synthetic judge tests/fixtures/dices350-judge-dist.csv; by gender and by race x gender.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import annalign

ROOT = Path(__file__).resolve().parents[1]
STATISTICS = ("jsd", "tv", "wasserstein", "log_loss", "ceiling_jsd", "jsd_minus_ceiling", "entropy_spearman", "k_star")


def _ci(row) -> str:
    return f"[{row['ci_low']:.4g}, {row['ci_high']:.4g}]"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("machines", nargs="*", default=[str(ROOT / "tests/fixtures/dices350-judge-dist.csv")])
    parser.add_argument("--raters", default=None)
    parser.add_argument("--bootstrap", type=int, default=10_000)
    args = parser.parse_args()
    data = annalign.load("dices350", raters=args.raters) if args.raters else annalign.load("dices350")
    for path in args.machines:
        machines = annalign.load_machines(path, data)
        results = {}
        for scheme in ("crossed", "items"):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                results[scheme] = annalign.distribution(
                    data, machines, by="rater_gender", resampling=annalign.Resampling(n_boot=args.bootstrap, resample=scheme)
                )
            print(f"{Path(path).name} ({data.n_raters} raters), {scheme}: {time.perf_counter() - start:.1f} s")
        print("| machine | statistic | value | crossed 95% CI (items and raters) | item-only 95% CI |")
        print("|---|---|---:|---|---|")
        crossed, items = (results[s].machines.set_index(["machine", "statistic"]) for s in ("crossed", "items"))
        for (machine, statistic), row in crossed.iterrows():
            if statistic in STATISTICS:
                print(f"| {machine} | {statistic} | {row['value']:.4g} | {_ci(row)} | {_ci(items.loc[(machine, statistic)])} |")
        for by in ("rater_gender", ["rater_race", "rater_gender"]):
            groups = {}
            for scheme in ("crossed", "items"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = annalign.distribution(data, machines, by=by, resampling=annalign.Resampling(n_boot=args.bootstrap, resample=scheme))
                groups[scheme] = res.groups[res.groups["machine"] != "reference: overall label shares"].reset_index(drop=True)
            sizes = data.raters.groupby(by if isinstance(by, list) else [by]).size()
            print(f"\nby {by}: | group or pair | raters | JSD | crossed CI | Holm p | item-only CI | Holm p |")
            for k, row in groups["crossed"].iterrows():
                other = groups["items"].loc[k]
                label = row["comparison"]
                n = sizes.get(tuple(label.split(" × ")) if isinstance(by, list) else label, "")
                p = "" if row["p_holm"] is None or row["p_holm"] != row["p_holm"] else f"{row['p_holm']:.3g}"
                q = "" if other["p_holm"] is None or other["p_holm"] != other["p_holm"] else f"{other['p_holm']:.3g}"
                print(f"| {row['machine']} {label} | {n} | {row['jsd']:.4f} | {_ci(row)} | {p} | {_ci(other)} | {q} |")


if __name__ == "__main__":
    main()
