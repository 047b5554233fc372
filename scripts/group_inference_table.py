"""Write the DICES-350 tables of docs/group-inference.md: RQ2 with crossed and item-only intervals side by side, and power.

Usage: python scripts/group_inference_table.py [MACHINE_FILE] [--bootstrap N]
(default: tests/fixtures/dices350-judge-a.csv, 10,000 replicates). Prints Markdown.
"""

from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path

import annalign
from annalign.analyses.group_alignment import GroupResult, analyze_groups

ROOT = Path(__file__).resolve().parents[1]


def _ci(low: float, high: float) -> str:
    return f"[{low:.3f}, {high:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("machine", nargs="?", default=str(ROOT / "tests" / "fixtures" / "dices350-judge-a.csv"))
    parser.add_argument("--bootstrap", type=int, default=10_000)
    args = parser.parse_args()
    data = annalign.load("dices350")
    machines = annalign.load_machines(args.machine, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = {scheme: analyze_groups(data, machines, n_boot=args.bootstrap, resample=scheme, power_items=(350, 1000, 3000, 10_000),
                                       power_raters=(20, 40)) for scheme in ("crossed", "items")}  # fmt: skip
    crossed, items = runs["crossed"], runs["items"]
    print(f"Machine rater: `{Path(args.machine).name}`; {args.bootstrap:,} replicates, seed 0.\n")
    print("| group | raters | r | r CI crossed | r CI items only | reliability | adjusted r | adjusted CI crossed | adjusted CI items only |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (_, c), (_, i) in zip(crossed.per_group.iterrows(), items.per_group.iterrows(), strict=True):
        print(f"| {c['group']} | {c['n_raters']} | {c['r']:.3f} | {_ci(c['ci_low'], c['ci_high'])} | {_ci(i['ci_low'], i['ci_high'])} | "
              f"{c['reliability']:.3f} | {c['adjusted_r']:.3f} | {_ci(c['adjusted_ci_low'], c['adjusted_ci_high'])} | "
              f"{_ci(i['adjusted_ci_low'], i['adjusted_ci_high'])} |")
    print("\n| group A | group B | adjusted difference | disparity p crossed (Holm) | disparity p items only (Holm) | "
          "raters exchangeable p (Holm) | equivalence bound (crossed) |")
    print("|---|---|---|---|---|---|---|")
    pairs = crossed.pairwise.assign(items_p=items.pairwise["p_adjusted"], items_holm=items.pairwise["p_adjusted_holm"])
    for _, row in pairs.sort_values("p_adjusted").iterrows():
        print(f"| {row['group_a']} | {row['group_b']} | {row['diff_adjusted']:+.3f} | {row['p_adjusted']:.3f} ({row['p_adjusted_holm']:.3f}) | "
              f"{row['items_p']:.3f} ({row['items_holm']:.3f}) | {row['p_perm']:.3f} ({row['p_perm_holm']:.3f}) | {row['equivalence_bound']:.3f} |")
    _power_table(crossed)
    omni = crossed.omnibus.iloc[0]
    print(f"\nOmnibus (all adjusted r equal, crossed covariance): chi2 {omni['adjusted_chi2']:.2f} on {omni['adjusted_df']} df, "
          f"p = {omni['p_adjusted']:.3f}; items only p = {items.omnibus.iloc[0]['p_adjusted']:.3f}.")


def _whole(value: float) -> str:
    return f"{math.ceil(value):,}" if math.isfinite(value) else "n/a"


def _power_table(crossed: GroupResult) -> None:
    """Per pair (observed raters): detectable difference, and items / raters per group for 80% power at a true difference of 0.1."""
    need = crossed.power_items_needed
    obs = need[need["raters_per_group"].astype(str) == "observed"].sort_values("mde_observed_items")
    alpha = float(crossed.power["alpha_family"].iloc[0])
    print(f"\nPower of the disparity test (crossed; all pairs: alpha {alpha:.2g} = 0.05 / 45, Holm's first step; one pair: 0.05). "
          "Detectable: the true adjusted difference found with 80% power at the observed 350 items and raters. Items: for 80% power at a "
          "true difference of 0.1 with the observed raters per group; raters: per group, for it at 350 items.\n")
    print("| group A | group B | raters | detectable, all pairs | detectable, one pair | items for 0.1, all pairs | items for 0.1, one pair | "
          "raters per group for 0.1, all pairs | raters per group for 0.1, one pair |")
    print("|---|---|---|---|---|---|---|---|---|")
    for _, row in obs.iterrows():
        sizes = crossed.groups.set_index("group")["n_raters"]
        print(f"| {row['group_a']} | {row['group_b']} | {sizes[row['group_a']]} + {sizes[row['group_b']]} | {row['mde_observed_items']:.3f} | "
              f"{row['mde_observed_items_per_pair']:.3f} | {_whole(row['items_for_80_power_diff_0.1'])} | "
              f"{_whole(row['items_for_80_power_per_pair_diff_0.1'])} | {_whole(row['raters_for_80_power_diff_0.1'])} | "
              f"{_whole(row['raters_for_80_power_per_pair_diff_0.1'])} |")
    planned = int((obs["planning_diff"] > 0).sum())
    at_40 = need[need["raters_per_group"].astype(str) == "40"]["mde_observed_items"].median()
    at_40_many = crossed.power.query("n_items == 10000 and raters_per_group == 40")["mde"].median()
    print(f"\n{planned} of {len(obs)} pairs have a 95% interval of the adjusted difference that excludes 0 (a difference to plan for). "
          f"With 40 raters per group, the detectable difference (all pairs) is {at_40:.3f} at 350 items and {at_40_many:.3f} at 10,000 "
          "items (medians over pairs).")


if __name__ == "__main__":
    main()
