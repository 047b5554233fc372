"""Each one-line reading of the report of a real run (DICES-350, two machine-rater files) states the run's own numbers.

The numbers are parsed back out of each reading and compared with the RunResult's fields, recomputed here independently.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from annalign.report.model import FigureRef, Table, count, frame_table, num
from annalign.report.render import md_cell
from annalign.report.sections import report_sections
from annalign.report.sections.power import power_reading

NUMBER = r"-?\d+(?:\.\d+)?"


@pytest.fixture(scope="module")
def readings(dices) -> dict[str, str]:
    """Block id -> its reading, from the sections the report is built of."""
    return {b.id: b.reading for s in report_sections(dices) for b in s.blocks if isinstance(b, (Table, FigureRef))}


def two(x: float) -> float:
    """A value as the report shows it (2 decimals), as a float."""
    return float(num(x))


def clauses(reading: str) -> list[str]:
    """The per-machine clauses of a reading ('For m, ...; for m2, ...')."""
    return [c.strip() for c in re.split(r"(?:^|; )[Ff]or (?=dices350-judge-)", reading.rstrip(".")) if c.strip()]


def per_machine(reading: str) -> dict[str, str]:
    """machine -> its clause."""
    out = {}
    for clause in clauses(reading):
        name, _, rest = clause.partition(", ")
        out[name] = rest
    return out


def test_every_reading_is_in_the_html_and_the_markdown(dices, dices_report, readings):
    html, md = dices_report["html"].read_text("utf-8"), dices_report["markdown"].read_text("utf-8")
    assert len(readings) >= 25
    for block_id, reading in readings.items():
        assert str(escape(reading)) in html, block_id
        assert md_cell(reading) in md, block_id


def test_no_count_is_formatted_as_a_float(dices_report):
    for path in (dices_report["html"], dices_report["markdown"]):
        text = path.read_text("utf-8")
        assert not re.search(r"\d\.\d+ (items|raters|ratings|replicates|comparisons|pairs|predictions)\b", text)
    assert count(np.int64(350)) == "350" and num(np.int64(350)) == "350" and count(350.0) == "350"
    with pytest.raises(ValueError, match="whole number"):
        count(350.5)


def test_integer_columns_stay_integers_in_tables():
    frame = pd.DataFrame({"n_items": np.array([350, 1000]), "r": [0.5, 0.25]})  # a row would upcast n_items to float
    table = frame_table(frame, "t", "t", "", {"n_items": "items", "r": "r"})
    assert table.rows == [["350", "0.50"], ["1000", "0.25"]]


def test_dataset_reading(dices, readings):
    data = dices.data
    assert readings["table-dataset"] == f"{data.n_ratings} ratings of {data.n_items} items by {data.n_raters} human raters."
    assert readings["table-dataset"] == "43050 ratings of 350 items by 123 human raters."


def test_headline_readings_state_r_ci_percentile_and_the_number_of_humans(dices, readings):
    pattern = (rf"(\S+) correlates with the average rater at r = ({NUMBER}) \[({NUMBER}), ({NUMBER})\], "
               rf"above (\d+)% of the (\d+) individual raters")
    found = re.findall(pattern, readings["rq1_human_distribution"])
    assert len(found) == len(dices.rq1.machines) == 2
    n_humans = int(np.isfinite(dices.rq1.human_r).sum())
    for (name, r, lo, hi, pct, n), m in zip(found, dices.rq1.machines, strict=True):
        assert name == m.name
        assert (float(r), float(lo), float(hi)) == (two(m.r), two(m.ci_low), two(m.ci_high))
        assert int(pct) == round(m.percentile) and int(n) == n_humans == 122
    median = float(re.search(rf"median human leave-one-out r = ({NUMBER})", readings["rq1_human_distribution"]).group(1))
    assert median == two(np.median(dices.rq1.human_r[np.isfinite(dices.rq1.human_r)]))


def test_model_comparison_and_difference_readings(dices, readings):
    best = max(dices.rq1.machines, key=lambda m: m.r)
    name, r = re.match(rf"(\S+) has the highest r \(({NUMBER})\)", readings["table-models"]).groups()
    assert name == best.name and float(r) == two(best.r)
    passed = [m.name for m in dices.rq1.machines if m.alt.passed]
    assert f"{', '.join(passed)} pass(es) the alt-test at epsilon {num(dices.rq1.machines[0].alt.epsilon)}" in readings["table-models"]
    k, n = map(int, re.match(r"(\d+) of (\d+) pairwise differences", readings["table-machine-differences"]).groups())
    d = dices.rq1.differences
    assert n == len(d) == 1 and k == sum(x.ci_low > 0 or x.ci_high < 0 for x in d)
    q1, q3 = map(float, re.search(rf"between ({NUMBER}) and ({NUMBER})", readings["table-humans"]).groups())
    finite = dices.rq1.human_r[np.isfinite(dices.rq1.human_r)]
    assert (q1, q3) == (two(np.quantile(finite, 0.25)), two(np.quantile(finite, 0.75)))


def test_median_human_table_states_each_machines_headline_difference_and_percentile_interval(dices, dices_report, readings):
    """RQ1's headline test (machine r minus the median human r, the percentile's interval) is in the report, not only results.json."""
    table = next(b for s in report_sections(dices) for b in s.blocks if isinstance(b, Table) and b.id == "table-median-human")
    assert len(table.rows) == len(dices.rq1.machines) == 2
    for row, m in zip(table.rows, dices.rq1.machines, strict=True):
        h = m.to_dict()
        assert row[0] == m.name and float(row[1]) == two(h["vs_median_human_difference"])
        assert row[2] == f"[{num(h['vs_median_human_ci_low'])}, {num(h['vs_median_human_ci_high'])}]"
        assert row[4] == f"{m.percentile:.0f}%"
        assert row[5] == f"[{h['percentile_ci_low']:.0f}%, {h['percentile_ci_high']:.0f}%]"
    clear = sum(m.headline.ci_low > 0 for m in dices.rq1.machines)
    k, n = map(int, re.match(r"(\d+) of (\d+) machine raters correlate with the crowd clearly better", readings["table-median-human"]).groups())
    assert (k, n) == (clear, 2)
    assert "generalise to items and raters" in readings["table-median-human"]
    assert "Machine raters against the median human" in dices_report["html"].read_text("utf-8")


@pytest.mark.parametrize(("by", "tag"), [("rater_race+rater_gender", ""), ("rater_age", "-rater_age")])
def test_group_range_and_overlap_readings(dices, readings, by, tag):
    per = dices.rq2[by].per_group
    figure = "rq2_group_forest" if not tag else "rq2_rater_age_group_forest"
    assert readings[figure] == readings[f"table-groups{tag}"]
    clause = per_machine(readings[figure])
    assert set(clause) == set(per["machine"])
    for machine, part in per.groupby("machine"):
        lo_r, lo_g, hi_r, hi_g, overlap = re.match(
            rf"r ranges from ({NUMBER}) \((.+)\) to ({NUMBER}) \((.+)\) and (all|not all) group intervals overlap", clause[machine]).groups()
        low, high = part.loc[part["r"].idxmin()], part.loc[part["r"].idxmax()]
        assert (float(lo_r), lo_g, float(hi_r), hi_g) == (two(low["r"]), low["group"], two(high["r"]), high["group"])
        assert (overlap == "all") == (part["ci_low"].max() <= part["ci_high"].min())


@pytest.mark.parametrize(("by", "tag"), [("rater_race+rater_gender", ""), ("rater_age", "-rater_age")])
def test_omnibus_and_pairwise_readings(dices, readings, by, tag):
    rq2 = dices.rq2[by]
    found = re.findall(rf"(\S+): permutation p = ({NUMBER}|< 0\.001), adjusted-r chi-square p = ({NUMBER}|< 0\.001)",
                       readings[f"table-omnibus{tag}"])
    assert [f[0] for f in found] == list(rq2.omnibus["machine"])
    for (_, p_perm, p_adj), row in zip(found, rq2.omnibus.itertuples(), strict=True):
        assert float(p_perm) == round(row.p_perm, 3) and float(p_adj) == round(row.p_adjusted, 3)
    clause = per_machine(readings[f"table-group-pairs{tag}"])
    for machine, part in rq2.pairwise.groupby("machine"):
        found = re.match(r"(\d+) of (\d+) pairs of groups differ in reliability-adjusted alignment \(disparity test, Holm-adjusted p < 0.05\)",
                         clause[machine])
        k, n = map(int, found.groups())
        n_groups = len(rq2.groups)
        assert n == len(part) == n_groups * (n_groups - 1) // 2 and k == int((part["p_adjusted_holm"] < 0.05).sum())
    assert readings[f"table-group-pairs{tag}"].endswith("the tests and intervals generalise to items and raters.")


@pytest.mark.parametrize(("by", "figure", "tag"), [("rater_race+rater_gender", "rq2_group_strip", ""),
                                                    ("rater_age", "rq2_rater_age_group_strip", "-rater_age")])
def test_within_group_spread_readings(dices, readings, by, figure, tag):
    rq2 = dices.rq2[by]
    clause = per_machine(readings[figure])
    for machine, raters in rq2.rater_r.groupby("machine"):
        lo, hi, within, verb, between, share, p = re.match(
            rf"individual raters' r spans ({NUMBER}) to ({NUMBER}) and the typical SD within a group \(({NUMBER})\) (exceeds|is smaller than) "
            rf"the SD of the group means \(({NUMBER})\); (\d+)% of the variance lies between groups \(permutation p = ({NUMBER}|< 0\.001)\)",
            clause[machine]).groups()
        groups = rq2.within_group[rq2.within_group["machine"] == machine]
        assert (float(lo), float(hi)) == (two(raters["r"].min()), two(raters["r"].max()))
        assert float(within) == two(groups["sd_r"].mean()) and float(between) == two(groups["mean_r"].std(ddof=1))
        assert (verb == "exceeds") == (groups["sd_r"].mean() > groups["mean_r"].std(ddof=1))
        row = rq2.variance_share.set_index("machine").loc[machine]
        assert int(share) == round(100 * row["between_share"]) and (p == "< 0.001" or float(p) == round(row["p_perm"], 3))
    for machine, rest in per_machine(readings[f"table-within{tag}"].split("; ", 1)[1]).items():
        group, sd = re.match(rf"the SD beyond item sampling is largest in (.+) \(({NUMBER})\)", rest).groups()
        part = rq2.within_group[rq2.within_group["machine"] == machine]
        top = part.loc[part["real_sd"].idxmax()]
        assert (group, float(sd)) == (top["group"], two(top["real_sd"]))


def check_power_reading(reading: str, power: pd.DataFrame, need: pd.DataFrame) -> None:
    """Each machine's clause recomputed from its own rows only (never pooled): alpha, MDE range and median, pairs to plan for."""
    clause = per_machine(reading)
    assert set(clause) == set(power["machine"])
    for machine, text in clause.items():
        part = need[(need["machine"] == machine) & (need["raters_per_group"].astype(str) == "observed")]
        rows = power[(power["machine"] == machine) & (power["raters_per_group"].astype(str) == "observed")]
        top = int(rows["n_items"].max())
        got = re.match(rf"at alpha ({NUMBER}) per test \(Holm's first step\), the smallest difference in adjusted r detected with 80% power "
                       rf"is ({NUMBER})-({NUMBER}) \(median ({NUMBER})\) across (\d+) pairs at the observed sizes and median ({NUMBER}) "
                       rf"with (\d+) items; (\d+) of (\d+) pairs have an interval that excludes 0", text).groups()  # fmt: skip
        mde = part["mde_observed_items"]
        assert float(got[0]) == float(np.format_float_positional(rows["alpha_family"].iloc[0], precision=2, fractional=False))
        assert [float(g) for g in got[1:4]] == [two(mde.min()), two(mde.max()), two(mde.median())]
        assert int(got[4]) == len(part) and int(got[6]) == top and int(got[8]) == len(part)
        assert float(got[5]) == two(rows.loc[rows["n_items"] == top, "mde"].median())
        assert int(got[7]) == int((part["planning_diff"] > 0).sum())


@pytest.mark.parametrize(("by", "figure"), [("rater_race+rater_gender", "rq2_power"), ("rater_age", "rq2_rater_age_power")])
def test_power_reading_per_machine(dices, readings, by, figure):
    check_power_reading(readings[figure], dices.rq2[by].power, dices.rq2[by].power_items_needed)


def test_power_reading_never_pools_machines(dices):
    """The old bug: machines pooled into one count. Make one machine's detectable differences tiny: only its clause moves."""
    rq2 = dices.rq2["rater_age"]
    need = rq2.power_items_needed.copy()
    judge_b = need["machine"] == "dices350-judge-b"
    need.loc[judge_b, "mde_observed_items"] = 0.01
    reading = power_reading(rq2.power, need)
    clauses = per_machine(reading)
    assert "is 0.01-0.01 (median 0.01)" in clauses["dices350-judge-b"]
    assert "0.01-0.01" not in clauses["dices350-judge-a"]
    check_power_reading(reading, rq2.power, need)


def test_power_table_shows_whole_numbers(dices, dices_report):
    text = dices_report["html"].read_text("utf-8")
    need = dices.rq2["rater_race+rater_gender"].power_items_needed
    assert "What the disparity test can detect" in text
    assert "detectable (80%, all pairs)" in text
    covered = need["planning_diff"] == 0  # nothing to plan for: no items figure, said so
    assert covered.any() and "none: the interval of the adjusted difference covers 0" in text
    assert need.loc[covered, "items_for_80_power"].map(math.isinf).all()


def test_disagreement_readings(dices, readings):
    rq3 = dices.rq3
    rows = [(f"{p.a} vs {p.b}", q, p) for p in rq3.pairs for q in p.predictions]
    n, lo, hi, pair, prediction, best_r, best_lo, best_hi, ceiling, n_holm, n_again, scope = re.match(
        rf"Across (\d+) predictions, r ranges from ({NUMBER}) to ({NUMBER}); the highest is (.+) \((baseline \(.+\))\), "
        rf"r ({NUMBER}) \[({NUMBER}), ({NUMBER})\], against a noise ceiling of ({NUMBER}); the Holm-adjusted bootstrap p "
        rf"is below 0.05 in (\d+) of (\d+) \(intervals generalise to (.+)\)\.", readings["rq3_predictions"]).groups()
    r = np.array([q.r for _, q, _ in rows])
    label, best, best_pair = rows[int(np.nanargmax(r))]
    assert int(n) == len(rows) == 30 and (float(lo), float(hi)) == (two(np.nanmin(r)), two(np.nanmax(r)))
    assert (pair, prediction, float(ceiling)) == (label, f"baseline ({best.predictor})", two(best_pair.noise_ceiling))
    assert (float(best_r), float(best_lo), float(best_hi)) == (two(best.r), two(best.ci_low), two(best.ci_high))
    assert int(n_holm) == sum(q.p_boot_holm < 0.05 for _, q, _ in rows) and int(n_again) == 30
    assert scope == best.generalises_to == "items and raters"
    n_pairs, positive, top, top_lo, top_hi, top_pair, shaky = re.match(
        rf"Of (\d+) pairs of groups, (\d+) have a positive reliability of their difference; "
        rf"the highest noise ceiling is ({NUMBER}) \[({NUMBER}), ({NUMBER})\] \((.+)\); in (\d+) the ceiling is undefined "
        rf"\(reliability <= 0\) in more than 10% of the replicates \(intervals generalise to items and raters\)\.",
        readings["table-rq3-pairs"]).groups()
    ceilings = np.array([p.noise_ceiling for p in rq3.pairs])
    assert int(n_pairs) == len(rq3.pairs) and int(positive) == sum(p.reliability > 0 for p in rq3.pairs)
    best_ceiling = rq3.pairs[int(np.nanargmax(ceilings))]
    assert (float(top), top_pair) == (two(best_ceiling.noise_ceiling), f"{best_ceiling.a} vs {best_ceiling.b}")
    assert (float(top_lo), float(top_hi)) == (two(best_ceiling.noise_ceiling_ci_low), two(best_ceiling.noise_ceiling_ci_high))
    assert int(shaky) == sum(p.noise_ceiling_undefined_share > 0.1 for p in rq3.pairs)


def test_a_renamed_column_fails_loudly(dices):
    rq2 = dices.rq2["rater_age"]
    renamed = replace(dices, rq2={"rater_age": replace(rq2, per_group=rq2.per_group.rename(columns={"adjusted_r": "r_adjusted"}))})
    with pytest.raises(KeyError, match="adjusted_r"):
        report_sections(renamed)
