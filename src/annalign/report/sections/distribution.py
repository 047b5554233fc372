"""The distribution section: the k curve figure, the per-item label shares figure, and the tables."""

from __future__ import annotations

from typing import Any

import numpy as np

from annalign.report.draw import single
from annalign.report.figures.distribution import (
    CURVE_SIZE,
    ITEMS_SIZE,
    plot_item_distributions,
    plot_k_curve,
)
from annalign.report.model import FigureRef, Section, clean, frame_table, num

MAX_ROWS = 60
#: Divergences are hundredths of a bit and their differences thousandths: four decimals.
DIGITS = 4
PERSONA_COLUMNS = {c: c for c in ("model", "group", "statistic", "jsd", "ci_low", "ci_high", "p", "p_holm")}
PERSONA_CAPTION = (" Each persona rater (MODEL|persona=GROUP) against its own group's label shares: persona - baseline below 0 means "
                   "the persona brings the model closer to the group than no persona does; persona - other personas below 0 means it "
                   "is closer to its own group than the model's other personas are (same shares, so group size cancels). Holm over groups.")  # fmt: skip


def k_reading(result: Any) -> str:
    """'judge: JSD 0.035, as close to the crowd as 13.5 humans pooled [11.7, 15.8]; the humans' halves: 0.003.'"""
    stats = result.machines.set_index(["machine", "statistic"])
    parts = []
    for name in dict.fromkeys(result.machines["machine"]):
        k = stats.loc[(name, "k_star")]
        ceiling = stats.loc[(name, "ceiling_jsd"), "value"]
        worth = f"as close to the crowd as {num(k['value'], 1)} humans pooled [{num(k['ci_low'], 1)}, {num(k['ci_high'], 1)}]" \
            if np.isfinite(k["value"]) else "closer to the crowd than any number of humans shown"
        parts.append(f"{clean(name)}: JSD {num(stats.loc[(name, 'jsd'), 'value'], 3)}, {worth}; the noise ceiling is {num(ceiling, 3)}")
    return "; ".join(parts) + "."


def distribution_section(result: Any) -> Section:
    """Distributional alignment: what is compared, two figures and the tables (which intervals generalise over what)."""
    crossed = getattr(result, "resample", "items") == "crossed"
    scope = ("divergences and their differences over items and raters (half-sampled raters), the ceiling, entropy Spearman and k* "
             "over items, conditional on these raters") if crossed else "item bootstrap, conditional on these raters"  # fmt: skip
    section = Section("extra-distribution", "distribution",
                      "Each machine's label distribution against the human raters' label shares per item (Jensen-Shannon divergence in "
                      f"bits, base 2). Intervals ({clean(result.n_boot)} replicates): {scope}.")  # fmt: skip
    section.add(FigureRef("distribution_k_curve", "Human equivalence: the k curve", k_reading(result),
                          "Line chart: divergence of k pooled human raters to the rest, falling with k, with a horizontal line per machine",
                          single(plot_k_curve, result, CURVE_SIZE)))  # fmt: skip
    section.add(FigureRef("distribution_items", "Human and machine label shares on the closest and farthest items",
                          "Stacked bars: for each item the humans' shares above the machine's.",
                          "Stacked horizontal bars of label shares, humans and machine, for ten items", single(plot_item_distributions, result, ITEMS_SIZE)))  # fmt: skip
    for name, frame in result.tables().items():
        if name == "distribution_items":
            continue  # per item: the CSV file
        caption = f"{len(frame)} rows; also {clean(name)}.csv." + (PERSONA_CAPTION if name == "distribution_personas" else "")
        columns = PERSONA_COLUMNS if name == "distribution_personas" else None  # the rater names and scope: in the CSV file
        section.add(frame_table(frame, f"table-{name}", clean(name), caption, columns=columns, digits=DIGITS, max_rows=MAX_ROWS))
    return section
