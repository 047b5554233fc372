"""Print docs/distribution.md's persona table: each persona's JSD to its own group, against the baseline and the other personas.

    python scripts/persona_distribution_table.py MACHINE_FILE [MACHINE_FILE ...] [--by rater_race,rater_gender] [--bootstrap N]

The files hold a model's plain rater and its persona raters (``MODEL|persona=GROUP``, as ``annalign run --personas``
writes them); both resampling schemes are shown, the crossed one (items and raters) first.
"""

from __future__ import annotations

import argparse
import time
import warnings

import annalign


def _cell(row) -> str:  # noqa: ANN001
    p = "" if row["p_holm"] is None or row["p_holm"] != row["p_holm"] else f", Holm p {row['p_holm']:.2g}"
    p = p or ("" if row["p"] is None or row["p"] != row["p"] else f", p {row['p']:.2g}")
    return f"{row['jsd']:.4f} [{row['ci_low']:.4f}, {row['ci_high']:.4f}]{p}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("machines", nargs="+")
    parser.add_argument("--by", default="rater_race,rater_gender")
    parser.add_argument("--bootstrap", type=int, default=10_000)
    args = parser.parse_args()
    data = annalign.load("dices350")
    machines = annalign.load_machines(args.machines, data)
    tables = {}
    for scheme in ("crossed", "items"):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = annalign.distribution(data, machines, by=args.by.split(","), resampling=annalign.Resampling(n_boot=args.bootstrap, resample=scheme))
        print(f"{scheme}: {time.perf_counter() - start:.1f} s")
        tables[scheme] = result.personas.set_index(["model", "group", "statistic"])
    sizes = data.raters.groupby(args.by.split(",")).size()
    for model in dict.fromkeys(tables["crossed"].index.get_level_values(0)):
        print(f"\n{model}\n| group | raters | persona | baseline | persona - baseline | persona - other personas | (items only) p - b | p - o |")
        print("|---|---:|---|---|---|---|---|---|")
        crossed, items = tables["crossed"].loc[model], tables["items"].loc[model]
        for group in dict.fromkeys(crossed.index.get_level_values(0)):
            n = "" if group == "all groups" else int(sizes[tuple(v.strip() for v in group.split("×"))])
            cells = [_cell(crossed.loc[(group, s)]) for s in ("persona", "baseline", "persona - baseline", "persona - other personas")]
            cells += [_cell(items.loc[(group, s)]) for s in ("persona - baseline", "persona - other personas")]
            print(f"| {group} | {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
