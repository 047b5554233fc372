"""RQ2's section, one per grouping: alignment with each group, the omnibus test, pairwise differences, within-group spread."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from annalign.report.draw import panels, single
from annalign.report.figures import plot_group_alignment, plot_group_raters
from annalign.report.figures.groups import forest_height
from annalign.report.figures.inputs import machines_in
from annalign.report.model import (
    FigureRef,
    Section,
    clean,
    count,
    frame_table,
    num,
    pct,
    pvalue,
    sentence,
)
from annalign.report.sections.power import power_blocks
from annalign.results import safe_file_name

if TYPE_CHECKING:
    from annalign.analyses.group_alignment import GroupResult

#: most machines the strip plot shows (one panel each)
MAX_PANELS = 4
INTRO = ("Correlation between each machine rater and each group's mean rating. Smaller groups have noisier means, which lowers "
         "their raw r; the reliability-adjusted r (r divided by the square root of the reliability of the group mean) corrects for that.")


class Ids:
    """Element ids and figure names of one grouping's section: plain for the first grouping, tagged with its name after."""

    def __init__(self, by: str, position: int) -> None:
        self.tag = "" if position == 0 else safe_file_name(by)

    def table(self, name: str) -> str:
        """The HTML id of a table."""
        return f"table-{name}" + (f"-{self.tag}" if self.tag else "")

    def figure(self, name: str) -> str:
        """A figure's id, also its file name."""
        return "rq2_" + (f"{self.tag}_" if self.tag else "") + name

    @property
    def section(self) -> str:
        """The section's HTML id."""
        return "rq2" + (f"-{self.tag}" if self.tag else "")


def by_machine(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(machine, its rows) in order of appearance."""
    return [(m, frame[frame["machine"].astype(str) == m]) for m in machines_in(frame)]


def range_reading(per_group: pd.DataFrame) -> str:
    """Per machine: its lowest and highest group r, and whether all group intervals overlap."""
    parts = []
    for machine, part in by_machine(per_group):
        part = part[np.isfinite(part["r"].to_numpy(dtype=float))]
        if part.empty:
            continue
        lo, hi = part.loc[part["r"].idxmin()], part.loc[part["r"].idxmax()]
        overlap = "all group intervals overlap" if part["ci_low"].max() <= part["ci_high"].min() else "not all group intervals overlap"
        parts.append(f"for {clean(machine)}, r ranges from {num(lo['r'])} ({clean(lo['group'])}) to {num(hi['r'])} ({clean(hi['group'])}) "
                     f"and {overlap}")
    return sentence(parts, "; open markers show the reliability-adjusted r")


def omnibus_reading(omnibus: pd.DataFrame) -> str:
    """'Test that all groups share one alignment: m: permutation p = 0.081, adjusted-r chi-square p = 0.157; ...'"""
    parts = [f"{clean(machine)}: permutation p = {pvalue(p_perm)}, adjusted-r chi-square p = {pvalue(p_adjusted)}"
             for machine, p_perm, p_adjusted in zip(omnibus["machine"], omnibus["p_perm"], omnibus["p_adjusted"], strict=True)]
    return "Test that all groups share one alignment: " + "; ".join(parts) + "."


def pairs_reading(pairwise: pd.DataFrame, generalises_to: str) -> str:
    """Per machine: how many pairs differ in adjusted alignment (disparity test, Holm over every pair and machine)."""
    parts = []
    for machine, part in by_machine(pairwise):
        n_sig = int((part["p_adjusted_holm"].to_numpy(dtype=float) < 0.05).sum())
        parts.append(f"for {clean(machine)}, {count(n_sig)} of {count(len(part))} pairs of groups differ in reliability-adjusted "
                     "alignment (disparity test, Holm-adjusted p < 0.05)")
    return sentence(parts, f"; the tests and intervals generalise to {clean(generalises_to)}")


def spread_reading(rater_r: pd.DataFrame, within: pd.DataFrame, variance_share: pd.DataFrame | None) -> str:
    """Per machine: the span of the per-rater r, within- against between-group SD, and the between-group share of variance."""
    share = variance_share.set_index("machine") if variance_share is not None else None
    parts = []
    within_by = dict(by_machine(within))
    for machine, part in by_machine(rater_r):
        r = part["r"].to_numpy(dtype=float)
        groups = within_by[machine]
        within, between = float(np.nanmean(groups["sd_r"])), float(np.nanstd(groups["mean_r"], ddof=1))
        text = (f"for {clean(machine)}, individual raters' r spans {num(np.nanmin(r))} to {num(np.nanmax(r))} and the typical SD within a "
                f"group ({num(within)}) {'exceeds' if within > between else 'is smaller than'} the SD of the group means ({num(between)})")
        if share is not None and machine in share.index:
            row = share.loc[machine]
            text += f"; {pct(100 * row['between_share'])} of the variance lies between groups (permutation p = {pvalue(row['p_perm'])})"
        parts.append(text)
    return sentence(parts)


def within_reading(within: pd.DataFrame) -> str:
    """Per machine: the group whose raters spread most beyond what item sampling explains."""
    parts = []
    for machine, part in by_machine(within):
        top = part.loc[part["real_sd"].idxmax()]
        parts.append(f"for {clean(machine)}, the SD beyond item sampling is largest in {clean(top['group'])} ({num(top['real_sd'])})")
    return sentence(["Spread of the per-rater r in each group next to the spread item sampling alone would produce", *parts])


GROUP_COLUMNS = {"machine": "machine rater", "group": "group", "n_raters": "raters", "r": "r", "ci_low": "CI low", "ci_high": "CI high",
                 "reliability": "reliability", "adjusted_r": "adjusted r", "adjusted_ci_low": "adj. CI low", "adjusted_ci_high": "adj. CI high"}
OMNIBUS_COLUMNS = {"machine": "machine rater", "n_groups": "groups", "sd_fisher_z": "SD of Fisher z across groups",
                   "p_perm": "p (permutation)", "p_adjusted": "p (adjusted r, chi-square)"}
PAIR_COLUMNS = {"machine": "machine rater", "groups": "groups", "diff": "difference in r", "ci_low": "CI low", "ci_high": "CI high",
                "diff_adjusted": "adjusted difference", "adjusted_ci_low": "adj. CI low", "adjusted_ci_high": "adj. CI high",
                "p_adjusted": "disparity p", "p_adjusted_holm": "disparity p (Holm)", "p_adjusted_bh": "disparity p (BH)",
                "p_perm_holm": "raters exchangeable p (Holm)"}
WITHIN_COLUMNS = {"machine": "machine rater", "group": "group", "n_raters": "raters", "mean_r": "mean r", "sd_r": "SD", "min_r": "min",
                  "max_r": "max", "sampling_sd": "SD from item sampling", "real_sd": "SD beyond sampling"}


def alignment_blocks(section: Section, rq2: GroupResult, ids: Ids) -> None:
    """The forest plot, the per-group table and the omnibus test."""
    reading = range_reading(rq2.per_group)
    n_machines = len(machines_in(rq2.per_group))
    section.add(FigureRef(ids.figure("group_forest"), "Alignment with each group", reading,
                          "Forest plot of r with confidence interval per group and machine rater, with reliability-adjusted r",
                          single(plot_group_alignment, rq2, (7.2, forest_height(len(rq2.groups), n_machines)))))
    section.add(frame_table(rq2.per_group, ids.table("groups"), "Per-group alignment", reading, GROUP_COLUMNS))
    section.add(frame_table(rq2.omnibus, ids.table("omnibus"), "Any difference among groups (omnibus test)",
                            omnibus_reading(rq2.omnibus), OMNIBUS_COLUMNS))
    pairs = rq2.pairwise.assign(groups=rq2.pairwise["group_a"].astype(str) + " vs " + rq2.pairwise["group_b"].astype(str))
    reading = pairs_reading(rq2.pairwise, str(rq2.settings.get("generalises_to", "items")))
    section.add(frame_table(pairs.sort_values("p_adjusted_holm", kind="stable"), ids.table("group-pairs"),
                            "Differences between groups (smallest disparity p first)", reading, PAIR_COLUMNS, max_rows=30))


def spread_blocks(section: Section, rq2: GroupResult, ids: Ids) -> None:
    """The strip plot of per-rater r (one panel per machine) and the within-group table."""
    if rq2.rater_r is None or rq2.within_group is None:
        return
    machines = machines_in(rq2.rater_r)[:MAX_PANELS]
    width = 7.2 if len(machines) == 1 else 3.6
    section.add(FigureRef(ids.figure("group_strip"), "Individual raters within each group", spread_reading(rq2.rater_r, rq2.within_group, rq2.variance_share),
                          "Strip plot of each rater's r with the machine rater, by group",
                          panels(plot_group_raters, rq2, [{"machine": m} for m in machines], (width, 0.38 * len(rq2.groups) + 1.6), columns=MAX_PANELS,
                                 share=True)))
    section.add(frame_table(rq2.within_group, ids.table("within"), "Variation within groups", within_reading(rq2.within_group),
                            WITHIN_COLUMNS))


def excluded_note(rq2: GroupResult) -> list[str]:
    """A note naming the groups left out, when any were."""
    if not rq2.excluded_groups:
        return []
    return ["Left out: " + "; ".join(f"{clean(g['group'])} ({count(g['n_raters'])} raters: {clean(g['reason'])})" for g in rq2.excluded_groups)]


def rq2_section(by: str, rq2: GroupResult, position: int = 0) -> Section:
    """RQ2 for one grouping: figures and tables, every one of them from the GroupResult's own tables."""
    ids = Ids(by, position)
    attributes = " × ".join(clean(a) for a in rq2.settings["by"])
    section = Section(ids.section, f"RQ2: alignment with demographic groups ({attributes})", INTRO)
    section.notes = [*excluded_note(rq2), *(clean(n) for n in rq2.notes)]
    alignment_blocks(section, rq2, ids)
    spread_blocks(section, rq2, ids)
    for block in power_blocks(rq2, ids.figure("power"), ids.table("power")):
        section.add(block)
    return section
