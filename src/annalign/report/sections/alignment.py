"""RQ1's section: the headline figure, the model comparison, paired machine differences and the human distribution."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from annalign.report.draw import single
from annalign.report.figures import plot_alignment
from annalign.report.model import (
    FigureRef,
    Section,
    Table,
    ci,
    clean,
    count,
    is_number,
    num,
    pct,
    pvalue,
)

if TYPE_CHECKING:
    from annalign.analyses.alignment import MachineAlignment, MachineDifference, RQ1Result


def n_humans(rq1: RQ1Result) -> int:
    """Human raters with a defined leave-one-out r."""
    return int(np.isfinite(np.asarray(rq1.human_r, dtype=float)).sum())


def machine_reading(m: MachineAlignment, humans: int) -> str:
    """'m1 correlates with the average rater at r = 0.62 [0.55, 0.68], above 88% of the 122 individual raters'."""
    text = f"{clean(m.name)} correlates with the average rater at r = {num(m.r)} {ci(m.ci_low, m.ci_high)}"
    if is_number(m.percentile) and humans:
        text += f", above {pct(m.percentile)} of the {count(humans)} individual raters"
    return text


def headline(rq1: RQ1Result) -> list[str]:
    """One reading per machine rater (on a nominal task, its kappa with the human majority rather than r on label codes)."""
    if rq1.categorical is not None:
        return [f"{clean(m.name)} agrees with the human majority at kappa {num(m.values['kappa_majority'])} "
                f"{ci(*m.intervals['kappa_majority'])}, above {pct(m.percentiles['kappa_majority'])} of the individual raters"
                for m in rq1.categorical.machines]  # fmt: skip
    return [machine_reading(m, n_humans(rq1)) for m in rq1.machines]


def figure_reading(rq1: RQ1Result) -> str:
    """The headline readings, and the human median."""
    lines = headline(rq1)
    median = rq1.human_summary.get("median")
    if not lines:
        return f"No machine raters; the median human leave-one-out r is {num(median)}."
    return "; ".join(lines) + (f" (median human leave-one-out r = {num(median)})." if n_humans(rq1) else ".")


def comparison_reading(rq1: RQ1Result) -> str:
    """Which machine has the highest r, and which pass the alt-test."""
    best = max(rq1.machines, key=lambda m: m.r if is_number(m.r) else -np.inf)
    text = f"{clean(best.name)} has the highest r ({num(best.r)}); "
    tested = [m for m in rq1.machines if m.alt is not None]
    if not tested:
        return text + "the alt-test needs rater identities and was not run."
    passed = [clean(m.name) for m in tested if m.alt is not None and m.alt.passed]
    verdict = f"{', '.join(passed)} pass(es) the alt-test" if passed else "no machine rater passes the alt-test"
    return text + f"{verdict} at epsilon {num(tested[0].alt.epsilon if tested[0].alt else None, 2)}."


def comparison_table(rq1: RQ1Result) -> Table:
    """Table: per machine r, CI, items, percentile and the alt-test."""
    rows = []
    for m in rq1.machines:
        alt = m.alt
        verdict = "n/a" if alt is None else ("passes" if alt.passed else "fails")
        rows.append([clean(m.name), num(m.r), ci(m.ci_low, m.ci_high), count(m.n_items), pct(m.percentile),
                     clean(alt.scoring) if alt else "n/a", num(alt.winning_rate) if alt else "n/a", num(alt.rho) if alt else "n/a", verdict])
    notes = " ".join(f"{clean(m.name)}: {clean(m.alt.note)}" for m in rq1.machines if m.alt is not None and m.alt.note)
    level = num(100 * rq1.level, 0)
    return Table("table-models", "Model comparison", comparison_reading(rq1),
                 ["machine rater", "r", f"{level}% CI", "items", "above % of humans", "alt-test scoring", "winning rate", "rho", "alt-test"],
                 rows, note=notes)


def median_human_reading(rq1: RQ1Result) -> str:
    """'1 of 2 machine raters correlate with the crowd clearly better than the median human; the intervals generalise to ...'."""
    tested = [m for m in rq1.machines if m.headline is not None]
    above = [m for m in tested if is_number(m.headline.ci_low) and m.headline.ci_low > 0]
    below = [m for m in tested if is_number(m.headline.ci_high) and m.headline.ci_high < 0]
    text = f"{count(len(above))} of {count(len(tested))} machine raters correlate with the crowd clearly better than the median human"
    if below:
        text += f", {count(len(below))} clearly worse"
    if not tested:
        return text + "."
    return text + f"; the intervals generalise to {clean(tested[0].headline.generalises_to)}."


def _percent_interval(low: object, high: object) -> str:
    """A percentile's interval as '[66%, 98%]'."""
    return f"[{pct(low)}, {pct(high)}]" if is_number(low) and is_number(high) else "n/a"


def median_human_table(rq1: RQ1Result) -> Table:
    """Table: each machine's r minus the median human leave-one-out r, and its percentile among the humans, with intervals."""
    rows = []
    for m in rq1.machines:
        h = m.headline
        if h is not None:
            rows.append([clean(m.name), num(h.difference), ci(h.ci_low, h.ci_high), pvalue(h.p_value),
                         pct(m.percentile), _percent_interval(h.percentile_ci_low, h.percentile_ci_high)])  # fmt: skip
    notes = " ".join(f"{clean(m.name)}: {clean(m.headline.note)}" for m in rq1.machines if m.headline is not None and m.headline.note)
    level = num(100 * rq1.level, 0)
    return Table("table-median-human", "Machine raters against the median human", median_human_reading(rq1),
                 ["machine rater", "r minus median human r", f"{level}% CI", "p", "above % of humans", f"{level}% CI"], rows,
                 note=notes)  # fmt: skip


def clear_differences(diffs: list[MachineDifference]) -> list[MachineDifference]:
    """The differences whose interval excludes 0."""
    return [d for d in diffs if is_number(d.ci_low) and is_number(d.ci_high) and (d.ci_low > 0 or d.ci_high < 0)]


def differences_reading(diffs: list[MachineDifference]) -> str:
    """'1 of 1 pairwise differences have an interval that excludes 0, e.g. a - b = -0.05.'"""
    clear = clear_differences(diffs)
    example = f", e.g. {clean(clear[0].a)} - {clean(clear[0].b)} = {num(clear[0].difference)}" if clear else ""
    return f"{count(len(clear))} of {count(len(diffs))} pairwise differences have an interval that excludes 0{example}."


def differences_table(rq1: RQ1Result) -> Table:
    """Table: paired bootstrap differences between machine raters."""
    rows = [[f"{clean(d.a)} - {clean(d.b)}", num(d.difference), ci(d.ci_low, d.ci_high), pvalue(d.p_value), count(d.n_items)]
            for d in rq1.differences]
    return Table("table-machine-differences", "Paired differences between machine raters", differences_reading(rq1.differences),
                 ["difference in r", "value", "CI", "p", "items"], rows)


def humans_reading(rq1: RQ1Result) -> str:
    """'Half of the raters agree with the others at r between 0.42 and 0.57.'"""
    h = rq1.human_summary
    return f"Half of the raters agree with the others at r between {num(h.get('q1'))} and {num(h.get('q3'))}."


def humans_table(rq1: RQ1Result) -> Table:
    """Table: the human leave-one-out distribution, with the raters left out of it."""
    h = rq1.human_summary
    rows = [[count(h["n"]), num(h["median"]), f"{num(h['q1'])} to {num(h['q3'])}", f"{num(h['min'])} to {num(h['max'])}"]]
    left = rq1.excluded_raters
    note = ("Left out: " + "; ".join(f"{clean(k)} ({clean(v)})" for k, v in list(left.items())[:10])
            + (f" and {len(left) - 10} more" if len(left) > 10 else "")) if left else ""
    return Table("table-humans", "Human leave-one-out r", humans_reading(rq1), ["raters", "median", "interquartile range", "range"], rows, note=note)


def nominal_table(rq1: RQ1Result) -> Table:
    """Table (nominal tasks): each machine's accuracy and kappa against the humans, and the humans' own medians."""
    cat = rq1.categorical
    assert cat is not None
    rows = []
    for m in cat.machines:
        rows.append([clean(m.name), num(m.values["kappa_majority"]), ci(*m.intervals["kappa_majority"]), num(m.values["accuracy_majority"]),
                     num(m.values["kappa_pairs"]), ci(*m.intervals["kappa_pairs"]), num(m.values["accuracy_pairs"]),
                     pct(m.percentiles["kappa_majority"]), count(m.n_items)])  # fmt: skip
    human = {k: cat.human_summary(k).get("median") for k in ("kappa_majority", "accuracy_majority", "kappa_pairs", "accuracy_pairs")}
    rows.append(["humans (median, each against the others)", num(human["kappa_majority"]), "", num(human["accuracy_majority"]),
                 num(human["kappa_pairs"]), "", num(human["accuracy_pairs"]), "", ""])  # fmt: skip
    best = max(cat.machines, key=lambda m: m.values["kappa_majority"] if is_number(m.values["kappa_majority"]) else -np.inf, default=None)
    reading = (f"A nominal task: agreement replaces r on label codes. {clean(best.name)} agrees with the human majority at kappa "
               f"{num(best.values['kappa_majority'])}, above {pct(best.percentiles['kappa_majority'])} of the humans (each against the "
               f"majority of the others; median {num(human['kappa_majority'])})." if best else "A nominal task; no machine raters.")  # fmt: skip
    return Table("table-nominal", "Agreement on a nominal task", reading,
                 ["machine rater", "kappa vs majority", "CI", "accuracy vs majority", "kappa vs each human", "CI", "accuracy vs each human",
                  "above % of humans (kappa)", "items"], rows,
                 note=f"Intervals: item bootstrap ({clean(cat.generalises_over)}). Level of measurement: {clean(rq1.measurement[1])}.")  # fmt: skip


def epsilon_reading(tested: list[MachineAlignment]) -> str:
    """'judge-a passes from epsilon 0.15 up; judge-b at none of 0 to 0.3.'"""
    parts = []
    for m in tested:
        assert m.alt is not None
        curve = m.alt.epsilon_curve
        passing = curve.loc[curve["passed"], "epsilon"]
        where = f"from epsilon {num(passing.min(), 2)} up" if len(passing) else f"at no epsilon from {num(curve['epsilon'].min(), 2)} to {num(curve['epsilon'].max(), 2)}"
        parts.append(f"{clean(m.name)} passes {where}")
    return "; ".join(parts) + "."


def epsilon_table(rq1: RQ1Result) -> Table:
    """Table: each machine's alt-test winning rate at every epsilon of the curve (the run's own marked)."""
    tested = [m for m in rq1.machines if m.alt is not None and len(m.alt.epsilon_curve)]
    grid = sorted({float(e) for m in tested for e in m.alt.epsilon_curve["epsilon"]})  # type: ignore[union-attr]
    run_eps = tested[0].alt.epsilon  # type: ignore[union-attr]
    rows = []
    for m in tested:
        rates = dict(zip(m.alt.epsilon_curve["epsilon"], m.alt.epsilon_curve["winning_rate"], strict=True))  # type: ignore[union-attr]
        rows.append([clean(m.name), *[num(rates.get(e)) for e in grid]])
    header = ["machine rater", *[f"eps {num(e, 2)}{' (this run)' if abs(e - run_eps) < 1e-12 else ''}" for e in grid]]
    return Table("table-alt-epsilon", "Alt-test winning rate by epsilon", epsilon_reading(tested), header, rows,
                 note="The machine passes where the winning rate is 0.5 or more. The authors' guidance for epsilon: 0.2 for expert "
                      "annotators, 0.15 for skilled ones, 0.1 for crowd workers, smaller when the humans agree little.")  # fmt: skip


def rq1_section(rq1: RQ1Result) -> Section:
    """RQ1: the headline figure, then the tables."""
    section = Section(
        "rq1",
        "RQ1: agreement with the average human rater",
        f"Each human rater's {clean(rq1.method)} correlation with the mean of the other raters (leave-one-out) shows how well a "
        "single person agrees with the crowd; each machine rater's correlation with the mean of all raters is placed in that "
        f"distribution. Intervals are {num(100 * rq1.level, 0)}% percentile bootstrap intervals over items "
        f"({count(rq1.n_boot)} replicates, seed {count(rq1.seed)}). The task is {clean(rq1.measurement[0])} "
        f"({clean(rq1.measurement[1])}).",
    )
    if n_humans(rq1) or rq1.machines:
        alt = f"Histogram of {n_humans(rq1)} human raters' leave-one-out r"
        if rq1.machines:
            alt += ", with vertical lines for " + ", ".join(clean(m.name) for m in rq1.machines)
        section.add(FigureRef("rq1_human_distribution", "Human leave-one-out r and the machine raters", figure_reading(rq1), alt,
                              single(plot_alignment, rq1, (7.2, 3.8))))
    if rq1.categorical is not None:
        section.add(nominal_table(rq1))
    if rq1.machines:
        section.add(comparison_table(rq1))
    if any(m.headline is not None for m in rq1.machines):
        section.add(median_human_table(rq1))
    if any(m.alt is not None and len(m.alt.epsilon_curve) for m in rq1.machines):
        section.add(epsilon_table(rq1))
    if rq1.differences:
        section.add(differences_table(rq1))
    if n_humans(rq1):
        section.add(humans_table(rq1))
    return section
