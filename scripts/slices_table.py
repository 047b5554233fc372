"""Write the DICES-350 tables of docs/slices-dices350.md: RQ1 per degree_of_harm and per harm_type slice with 95% CIs.

Usage: python scripts/slices_table.py [MACHINE_FILE] [--bootstrap N] [--seed S]
(default: docs/data/dices350-judge-a.csv, 10,000 replicates, seed 0). Prints Markdown.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import annalign

ROOT = Path(__file__).resolve().parents[1]


def _cell(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "machine", nargs="?", default=str(ROOT / "docs" / "data" / "dices350-judge-a.csv")
    )
    parser.add_argument("--bootstrap", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = annalign.load("dices350")
    machines = annalign.load_machines(args.machine, data)
    for field in ("degree_of_harm", "harm_type"):
        result = annalign.slices(
            data, machines, by=field, resampling=args.bootstrap, seed=args.seed
        )
        print(f"\n### {field}\n")
        print("| slice | items | r | 95% CI | humans' median LOO r | above % of humans |")
        print("|---|---:|---:|---|---:|---:|")
        for row in result.to_frame().sort_values("n_items", ascending=False).itertuples():
            ci = (
                f"[{_cell(row.ci_low)}, {_cell(row.ci_high)}]"
                if math.isfinite(row.ci_low)
                else "n < 10: no interval"
            )
            print(f"| {row.slice} | {row.n_items} | {_cell(row.r)} | {ci} | {_cell(row.human_median_loo_r)} "
                  f"| {'-' if not math.isfinite(row.percentile_among_humans) else f'{row.percentile_among_humans:.0f}'} |")  # fmt: skip
    result = annalign.slices(data, machines, by="degree_of_harm", resampling=args.bootstrap, seed=args.seed,
                             groups=["rater_gender"])  # fmt: skip
    print("\n### RQ2 per degree_of_harm slice, by rater_gender (crossed item-and-rater intervals)\n")
    print("| slice | group | raters | items | r | 95% CI |")
    print("|---|---|---:|---:|---:|---|")
    for row in result.groups.itertuples():
        print(f"| {row.slice} | {row.group} | {row.n_raters} | {row.n_items} | {_cell(row.r)} | [{_cell(row.ci_low)}, {_cell(row.ci_high)}] |")


if __name__ == "__main__":
    main()
