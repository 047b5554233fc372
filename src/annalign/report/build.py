"""Turn results.json content and the CSV tables into the report's sections: tables, figures and one-line readings."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from annalign.report.figures import legacy as F
from annalign.report.model import (
    FigureRef,
    Section,
    Table,
    ci,
    clean,
    flatten,
    frame_table,
    is_number,
    num,
    pct,
    pvalue,
)
from annalign.report.sections import canonical, label_pair, rq2_sections, rq3_sections

DICES_ATTRIBUTION = (
    "DICES dataset by Google LLC (Aroyo et al., 2023, \"DICES Dataset: Diversity in Conversational AI Evaluation for "
    "Safety\", NeurIPS Datasets and Benchmarks), used under the Creative Commons Attribution 4.0 International licence"
)
CC_BY = "https://creativecommons.org/licenses/by/4.0/"
DICES_URL = "https://github.com/google-research-datasets/dices-dataset"


def figure_ref(fig: Any, out: Path, name: str, title: str, reading: str, alt: str) -> FigureRef:
    """Save a figure and describe it for the templates."""
    saved = F.save(fig, out, name)
    return FigureRef(name, title, reading, alt, saved.png_base64, saved.width, saved.height, f"figures/{saved.png.name}", f"figures/{saved.svg.name}")


def machine_reading(name: str, m: Mapping[str, Any], n_humans: int) -> str:
    """'m1 correlates with the average rater at r = 0.74 [..], above 100% of the 122 individual raters'."""
    text = f"{clean(name)} correlates with the average rater at r = {num(m.get('r'))} {ci(m.get('ci_low'), m.get('ci_high'))}"
    if is_number(m.get("percentile_among_humans")) and n_humans:
        text += f", above {pct(m['percentile_among_humans'])} of the {n_humans} individual raters"
    return text


def human_r_values(results: Mapping[str, Any], tables: Mapping[str, pd.DataFrame]) -> list[float]:
    """Per-rater leave-one-out r from the rq1_humans table, else from results.json."""
    frame = tables.get("rq1_humans")
    if isinstance(frame, pd.DataFrame) and "loo_r" in frame.columns:
        values = frame["loo_r"].to_numpy(dtype=float)
    else:
        values = np.array([v for v in (results["rq1"]["human"].get("leave_one_out_r") or {}).values() if v is not None], dtype=float)
    return [float(v) for v in values if np.isfinite(v)]


def data_section(results: Mapping[str, Any]) -> Section:
    """The data set, the machine raters and the settings used."""
    section = Section("data", "Data, raters and settings")
    ds = results.get("dataset") or {}
    rmap = ds.get("rating_map") or {}
    mapping = rmap.get("mapping")
    rows = [
        ["data set", clean(ds.get("name", "n/a"))],
        ["source", clean(ds.get("source", "n/a"))],
        ["items", num(ds.get("n_items"))],
        ["human raters", num(ds.get("n_raters"))],
        ["ratings", num(ds.get("n_ratings"))],
    ]
    if is_number(ds.get("density")):
        rows.append(["share of item x rater cells rated", pct(100 * ds["density"])])
    rows.append(["rating map", clean(rmap.get("name", "n/a")) + (": " + ", ".join(f"{clean(k)} = {num(v, 2)}" for k, v in mapping.items()) if mapping else "")])
    if ds.get("rater_attributes"):
        rows.append(["rater attributes", ", ".join(clean(a) for a in ds["rater_attributes"])])
    section.add(Table("table-dataset", "Data set", f"{num(ds.get('n_ratings'))} ratings of {num(ds.get('n_items'))} items by {num(ds.get('n_raters'))} human raters.", ["", "value"], rows))
    machines = results.get("machines") or []
    if machines:
        mrows = [[clean(m.get("rater", "")), clean(m.get("source", "")), num(m.get("n_rated")), num(m.get("n_unrated"))] for m in machines]
        unrated = sum(int(m.get("n_unrated") or 0) for m in machines)
        reading = f"{len(machines)} machine rater(s); " + ("every item was rated." if unrated == 0 else f"{unrated} item ratings are missing (refusals or unparsed answers) and left out, never filled in.")
        section.add(Table("table-machines", "Machine raters", reading, ["machine rater", "source", "items rated", "items not rated"], mrows))
    settings = results.get("settings") or {}
    if settings:
        srows = [[k, v] for k, v in flatten(settings)]
        section.add(Table("table-settings", "Settings used", "Every setting of this run, as written to the output folder.", ["setting", "value"], srows, numeric=[False, False]))
    return section


def rq1_section(results: Mapping[str, Any], tables: Mapping[str, pd.DataFrame], fig_dir: Path) -> tuple[Section, list[str]]:
    """RQ1: the headline figure, the model comparison and the pairwise machine differences."""
    rq1 = results["rq1"]
    human = rq1.get("human") or {}
    machines = rq1.get("machines") or {}
    method = clean(rq1.get("method", "pearson"))
    boot = rq1.get("bootstrap") or {}
    level = boot.get("level", 0.95)
    section = Section(
        "rq1",
        "RQ1: agreement with the average human rater",
        f"Each human rater's {method} correlation with the mean of the other raters (leave-one-out) shows how well a single "
        f"person agrees with the crowd; each machine rater's correlation with the mean of all raters is placed in that "
        f"distribution. Intervals are {num(100 * level, 0)}% percentile bootstrap intervals over items ({num(boot.get('n'))} replicates, seed {num(boot.get('seed'))}).",
    )
    values = human_r_values(results, tables)
    n_humans = int(human.get("n") or len(values))
    headline = [machine_reading(name, m, n_humans) for name, m in machines.items()]
    if values or machines:
        reading = "; ".join(headline) if headline else f"No machine raters; human leave-one-out r has median {num(human.get('median'))}"
        if values:
            reading += f" (median human leave-one-out r = {num(human.get('median', float(np.median(values))))})."
        fig = F.human_distribution(values, machines, method)
        alt = f"Histogram of {len(values)} human raters' leave-one-out r" + (", with vertical lines for " + ", ".join(clean(n) for n in machines) if machines else "")
        section.add(figure_ref(fig, fig_dir, "rq1_human_distribution", "Figure 1. Human leave-one-out r and the machine raters", reading, alt))
    if machines:
        rows = []
        for name, m in machines.items():
            alt_test = m.get("alt_test") or {}
            rows.append([
                clean(name), num(m.get("r")), ci(m.get("ci_low"), m.get("ci_high")), num(m.get("n_items")),
                pct(m.get("percentile_among_humans")), clean(alt_test.get("scoring", "n/a")),
                num(alt_test.get("winning_rate")), num(alt_test.get("rho")),
                "n/a" if "passed" not in alt_test else ("passes" if alt_test["passed"] else "fails"),
            ])
        best = max(machines.items(), key=lambda kv: kv[1].get("r") if is_number(kv[1].get("r")) else -np.inf)
        passed = [clean(n) for n, m in machines.items() if (m.get("alt_test") or {}).get("passed")]
        eps = next((m["alt_test"].get("epsilon") for m in machines.values() if m.get("alt_test")), None)
        reading = f"{clean(best[0])} has the highest r ({num(best[1].get('r'))}); "
        if any(m.get("alt_test") for m in machines.values()):
            reading += (f"{', '.join(passed)} pass(es) the alt-test" if passed else "no machine rater passes the alt-test") + f" at epsilon {num(eps, 2)}."
        else:
            reading += "the alt-test needs rater identities and was not run."
        notes = [f"{clean(n)}: {clean(m['alt_test']['note'])}" for n, m in machines.items() if (m.get("alt_test") or {}).get("note")]
        section.add(Table(
            "table-models", "Table 1. Model comparison", reading,
            ["machine rater", "r", f"{num(100 * level, 0)}% CI", "items", "above % of humans", "alt-test scoring", "winning rate", "rho", "alt-test"],
            rows, note=" ".join(notes),
        ))
    diffs = rq1.get("machine_differences") or []
    if diffs:
        rows = [[f"{clean(d['a'])} - {clean(d['b'])}", num(d.get("difference")), ci(d.get("ci_low"), d.get("ci_high")), pvalue(d.get("p_value")), num(d.get("n_items"))] for d in diffs]
        clear = [d for d in diffs if is_number(d.get("ci_low")) and is_number(d.get("ci_high")) and (d["ci_low"] > 0 or d["ci_high"] < 0)]
        reading = (f"{len(clear)} of {len(diffs)} pairwise differences have an interval that excludes 0"
                   + (f", e.g. {clean(clear[0]['a'])} - {clean(clear[0]['b'])} = {num(clear[0]['difference'])}." if clear else "."))
        section.add(Table("table-machine-differences", "Table 2. Paired differences between machine raters", reading,
                          ["difference in r", "value", "CI", "p", "items"], rows))
    if human.get("n"):
        rows = [[num(human.get("n")), num(human.get("median")), f"{num(human.get('q1'))} to {num(human.get('q3'))}", f"{num(human.get('min'))} to {num(human.get('max'))}"]]
        excluded = human.get("excluded") or {}
        note = ("Left out: " + "; ".join(f"{clean(k)} ({clean(v)})" for k, v in list(excluded.items())[:10])
                + (f" and {len(excluded) - 10} more" if len(excluded) > 10 else "")) if excluded else ""
        section.add(Table("table-humans", "Table 3. Human leave-one-out r", f"Half of the raters agree with the others at r between {num(human.get('q1'))} and {num(human.get('q3'))}.",
                          ["raters", "median", "interquartile range", "range"], rows, note=note))
    return section, headline


def _range_reading(frame: pd.DataFrame, value: str = "r") -> str:
    parts = []
    by = frame.groupby(frame["machine"].astype(str)) if "machine" in frame.columns else [("", frame)]
    for machine, part in by:
        part = part[pd.to_numeric(part[value], errors="coerce").notna()]
        if part.empty:
            continue
        lo, hi = part.loc[part[value].astype(float).idxmin()], part.loc[part[value].astype(float).idxmax()]
        prefix = f"for {clean(machine)}, " if machine else ""
        parts.append(f"{prefix}{value} ranges from {num(lo[value])} ({clean(lo['group'])}) to {num(hi[value])} ({clean(hi['group'])})")
    return "; ".join(parts)


def rq2_section(results: Mapping[str, Any], tables: Mapping[str, pd.DataFrame], fig_dir: Path) -> Section | None:
    """RQ2: per-group alignment (forest plot and table), pairwise differences, within-group variation, power."""
    found = rq2_sections(results, tables)
    if not found:
        return None
    section = Section("rq2", "RQ2: alignment with demographic groups",
                      "Correlation between each machine rater and each group's mean rating. Smaller groups have noisier means, which lowers "
                      "their raw r; the reliability-adjusted r (r divided by the square root of the reliability of the group mean) corrects for that.")
    section.notes = [clean(n) for n in ((results.get("rq2") or {}).get("notes") or [])]
    groups = found.get("groups")
    if groups is not None:
        reading = _range_reading(groups)
        if "adjusted_r" in groups.columns:
            reading += "; open markers show the reliability-adjusted r"
        by = groups.groupby(groups["machine"].astype(str)) if "machine" in groups.columns else [("", groups)]
        overlaps = [part["ci_low"].astype(float).max() <= part["ci_high"].astype(float).min() for _, part in by]
        reading += "; all group intervals overlap." if all(overlaps) else "; not all group intervals overlap."
        section.add(figure_ref(F.group_forest(groups), fig_dir, "rq2_group_forest", "Figure 2. Alignment with each group", reading,
                               "Forest plot of r with confidence interval per group and machine rater, with reliability-adjusted r"))
        cols = {"machine": "machine rater", "group": "group", "size": "raters", "r": "r", "ci_low": "CI low", "ci_high": "CI high",
                "reliability": "reliability", "adjusted_r": "adjusted r", "adjusted_ci_low": "adj. CI low", "adjusted_ci_high": "adj. CI high"}
        section.add(frame_table(groups, "table-groups", "Table 4. Per-group alignment", reading, cols))
    omnibus = found.get("omnibus")
    if omnibus is not None:
        omni = canonical(omnibus, ["machine", "p_value"])
        parts = [f"{clean(row.get('machine', ''))}: p = {pvalue(row.get('p_value'))}" for _, row in omni.iterrows()]
        cols = {"machine": "machine rater", "n_groups": "groups", "sd_fisher_z": "SD of Fisher z across groups", "p_value": "p (permutation)",
                "p_adjusted": "p (adjusted r, chi-square)"}
        section.add(frame_table(omni, "table-omnibus", "Table 5. Any difference among groups (omnibus test)",
                                "Test that all groups share one alignment: " + "; ".join(parts) + ".", cols))
    pairs = found.get("pairs")
    if pairs is not None:
        p_col = next((c for c in ("p_holm", "p_bh", "p_value") if c in pairs.columns), None)
        reading = f"{len(pairs)} pairwise comparisons"
        if p_col:
            n_sig = int((pd.to_numeric(pairs[p_col], errors="coerce") < 0.05).sum())
            reading += f"; {n_sig} with {'Holm-adjusted ' if p_col == 'p_holm' else 'BH-adjusted ' if p_col == 'p_bh' else ''}p < 0.05."
        frame = pairs.assign(comparison=label_pair(pairs))
        if p_col:
            frame = frame.sort_values(p_col, kind="stable")
        cols = {"machine": "machine rater", "comparison": "groups", "difference": "difference in r", "ci_low": "CI low", "ci_high": "CI high",
                "p_value": "p", "p_holm": "p (Holm)", "p_bh": "p (BH)", "diff_adjusted": "adjusted difference",
                "adjusted_ci_low": "adj. CI low", "adjusted_ci_high": "adj. CI high", "p_adjusted_holm": "adj. p (Holm)"}
        section.add(frame_table(frame, "table-group-pairs", "Table 6. Differences between groups (smallest p first)", reading, cols, max_rows=30))
    raters = found.get("raters")
    share = found.get("variance_share")
    if raters is not None:
        r = pd.to_numeric(raters["r"], errors="coerce")
        within = raters.assign(r=r).groupby(raters["group"].astype(str))["r"].std().mean()
        between = raters.assign(r=r).groupby(raters["group"].astype(str))["r"].mean().std()
        reading = (f"Individual raters' r spans {num(r.min())} to {num(r.max())}; the typical spread within a group (SD {num(within)}) "
                   f"{'exceeds' if within > between else 'is smaller than'} the spread of the group means (SD {num(between)})")
        if share is not None and "between_share" in share.columns:
            row = canonical(share, ["p_value"]).iloc[0]
            reading += f"; {pct(100 * row['between_share']) if is_number(row['between_share']) else 'n/a'} of the variance lies between groups (permutation p = {pvalue(row.get('p_value'))})"
        order = list(dict.fromkeys(groups["group"].astype(str))) if groups is not None else None
        section.add(figure_ref(F.group_strip(raters, order), fig_dir, "rq2_group_strip", "Figure 3. Individual raters within each group", reading + ".",
                               "Strip plot of each rater's r with the machine rater, by group"))
    within_table = found.get("within_group")
    if within_table is not None:
        cols = {"machine": "machine rater", "group": "group", "n_raters": "raters", "mean_r": "mean r", "sd_r": "SD", "min_r": "min", "max_r": "max",
                "sampling_sd": "SD from item sampling", "real_sd": "SD beyond sampling"}
        section.add(frame_table(within_table, "table-within", "Table 7. Variation within groups",
                                "Spread of the per-rater r in each group, next to the spread that item sampling alone would produce.", cols))
    power = found.get("power")
    if power is not None:
        frame = power.assign(_label=label_pair(power) if any(c in power.columns for c in ("comparison", "group_a", "group")) else "difference")
        needed = []
        for label, part in frame.groupby("_label"):
            ok = part[pd.to_numeric(part["power"], errors="coerce") >= 0.8]
            needed.append((label, ok["n_items"].min() if not ok.empty else None, part["n_items"].max()))
        reached = [n for n in needed if n[1] is not None]
        top = max(n[2] for n in needed)
        if reached:
            best = min(reached, key=lambda t: t[1])
            reading = (f"80% power is first reached at {num(best[1])} items ({clean(best[0])}); "
                       f"{len(needed) - len(reached)} of {len(needed)} comparisons stay below 80% up to {num(top)} items.")
        else:
            reading = f"No comparison reaches 80% power with up to {num(top)} items."
        section.add(figure_ref(F.power_curve(power), fig_dir, "rq2_power", "Figure 4. Power against the number of items", reading,
                               "Line plot of power against number of items for each group comparison"))
        need = found.get("power_items_needed")
        if need is not None:
            need = need.assign(comparison=label_pair(canonical(need, ["group_a", "group_b", "comparison"])))
            if "raters_per_group" in need.columns:
                need = need[need["raters_per_group"].astype(str) == "observed"]
            sort = next((c for c in ("items_for_80_power", "items_needed") if c in need.columns), None)
            if sort:
                need = need.sort_values(sort, kind="stable")
            cols = {"machine": "machine rater", "comparison": "groups", "observed_diff": "observed difference",
                    "items_for_80_power": "items for 80% power", "method": "how", "items_for_80_power_closed_form": "closed form"}
            section.add(frame_table(need, "table-power", "Table 8. Items needed for 80% power", reading, cols, max_rows=30))
        else:
            cols = {"machine": "machine rater", "_label": "comparison", "n_items": "items", "power": "power"}
            section.add(frame_table(frame, "table-power", "Table 8. Power", reading, cols, max_rows=40))
    return section


def rq3_section(results: Mapping[str, Any], tables: Mapping[str, pd.DataFrame], fig_dir: Path) -> Section | None:
    """RQ3: whether the machine predicts where groups disagree."""
    found = rq3_sections(results, tables)
    if not found:
        return None
    section = Section("rq3", "RQ3: predicting where groups disagree",
                      "For each pair of groups, the per-item difference in mean rating is compared with the machine's prediction of it "
                      "(persona prompts: answering as a member of each group; baseline: its ordinary rating). The noise ceiling is the "
                      "best r any predictor could reach given the reliability of the observed difference.")
    section.notes = [clean(n) for n in ((results.get("rq3") or {}).get("notes") or [])]
    summary, items = found.get("summary"), found.get("items")
    order: list[str] = []
    if summary is not None:
        frame = summary.assign(comparison=label_pair(summary))
        r = pd.to_numeric(frame["r"], errors="coerce")
        best = frame.loc[r.idxmax()] if r.notna().any() else None
        reading = f"Across {len(frame)} predictions, r ranges from {num(r.min())} to {num(r.max())}"
        if best is not None:
            reading += f"; the highest is {clean(best['comparison'])} ({clean(best['series'])})"
            if "ceiling" in frame.columns and is_number(best.get("ceiling")):
                reading += f", against a noise ceiling of {num(best['ceiling'])}"
        reading += "."
        section.add(figure_ref(F.rq3_predictions(frame, None), fig_dir, "rq3_predictions",
                               "Figure 5. How well predictions track observed group differences", reading,
                               "Per comparison: r between predicted and observed differences with CI, and the noise ceiling"))
        cols = {"machine": "machine rater", "comparison": "groups", "series": "prediction", "r": "r", "ci_low": "CI low", "ci_high": "CI high",
                "p_value": "p", "ceiling": "noise ceiling", "r_over_ceiling": "r / ceiling", "accuracy": "sign accuracy", "auc": "AUC"}
        section.add(frame_table(frame, "table-rq3", "Table 9. Predicting group differences", reading, cols, max_rows=60))
        if "ceiling" in frame.columns:
            order = list(dict.fromkeys(frame.sort_values("ceiling", ascending=False, kind="stable")["comparison"]))
    if items is not None and not items.empty:
        frame = items.assign(comparison=label_pair(items))
        if order:
            frame = frame.assign(_rank=frame["comparison"].map({c: i for i, c in enumerate(order)})).sort_values(["_rank"], kind="stable")
        reading = ("Each point is an item: the observed difference in mean rating between the two groups against the machine's "
                   "predicted difference; the line is a least-squares fit" + (" (the comparisons with the most reliable differences)." if order else "."))
        section.add(figure_ref(F.rq3_predictions(None, frame), fig_dir, "rq3_scatter", "Figure 6. Predicted versus observed group differences",
                               reading, "Scatter plots of predicted against observed per-item differences between groups"))
    return section


def template_hashes(results: Mapping[str, Any]) -> list[list[str]]:
    """sha256 of each configured prompt template shipped with annalign (when models were run)."""
    settings = results.get("settings") or {}
    if not settings.get("models"):
        return []
    rows = []
    for name in settings.get("templates") or []:
        path = resources.files("annalign").joinpath("engine", "templates", f"{name}.txt")
        if path.is_file():
            rows.append([clean(name), hashlib.sha256(path.read_bytes()).hexdigest()[:16]])
    return rows


def provenance_section(results: Mapping[str, Any]) -> Section:
    """Package version, seed, bootstrap, models, templates and the data's licence."""
    section = Section("provenance", "Provenance")
    rq1 = results.get("rq1") or {}
    settings = results.get("settings") or {}
    boot = rq1.get("bootstrap") or {}
    rows = [
        ["annalign version", clean(results.get("annalign_version", "n/a"))],
        ["correlation", clean(rq1.get("method", settings.get("method", "n/a")))],
        ["bootstrap replicates", num(boot.get("n", settings.get("bootstrap")))],
        ["seed", num(boot.get("seed", settings.get("seed")))],
        ["models", ", ".join(clean(m) for m in settings.get("models") or []) or "(none: machine ratings read from files)"],
    ]
    rows += [[f"template {n}", f"sha256 {h}"] for n, h in template_hashes(results) if "templates" not in results]
    for key in ("provenance", "templates"):
        if results.get(key):
            rows += [[f"{key}.{k}" if k else key, v] for k, v in flatten(results[key])]
    section.add(Table("table-provenance", "Run provenance", "What produced these numbers; the same seed and settings reproduce them.", ["", "value"], rows, numeric=[False, False]))
    return section


def is_dices(results: Mapping[str, Any]) -> bool:
    """Whether the data are (derived from) the bundled DICES sets, which need attribution."""
    ds = results.get("dataset") or {}
    return "dices" in str(ds.get("name", "")).lower() or str(ds.get("source", "")).startswith("bundled:")


def notice_text() -> str:
    """The bundled data's notice (annalign/data/NOTICE.md), or '' when absent."""
    path = resources.files("annalign").joinpath("datasets", "NOTICE.md")
    return path.read_text("utf-8") if path.is_file() else ""
