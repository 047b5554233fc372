"""RQ3's section: whether the machine predicts where groups disagree (per pair and prediction), against the noise ceiling."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from annalign.report.draw import panels, single
from annalign.report.figures import plot_disagreement, plot_disagreement_items
from annalign.report.figures.disagreement import pair_label, series_names
from annalign.report.model import FigureRef, Section, clean, count, frame_table, num

if TYPE_CHECKING:
    from annalign.analyses.group_disagreement import DisagreementResult

#: most (pair, prediction) scatter panels shown
MAX_SCATTER = 6
INTRO = ("For each pair of groups, the per-item difference in mean rating is compared with the machine's prediction of it "
         "(persona prompts: answering as a member of each group; baseline: its ordinary rating). The noise ceiling is the "
         "best r any predictor could reach given the reliability of the observed difference.")


def span(low: object, high: object, brackets: bool = True) -> str:
    """'[0.12, 0.55]' (or '0.40-0.61' without brackets); 'n/a' where either end is missing."""
    if num(low) == "n/a" or num(high) == "n/a":
        return "n/a"
    return f"[{num(low)}, {num(high)}]" if brackets else f"{num(low)}\u2013{num(high)}"


def predictions_frame(rq3: DisagreementResult) -> pd.DataFrame:
    """One row per pair of groups and prediction, from the result's objects."""
    names = series_names(rq3)
    rows = [{"groups": pair_label(p), "prediction": names[(q.kind, q.predictor)], "r": q.r, "ci_low": q.ci_low, "ci_high": q.ci_high,
             "p_value": q.p_value, "p_boot_holm": q.p_boot_holm, "noise_ceiling": p.noise_ceiling,
             "r_over_ceiling": q.r_over_ceiling, "r_over_ceiling_ci": span(q.r_over_ceiling_ci_low, q.r_over_ceiling_ci_high),
             "accuracy": q.accuracy, "accuracy_chance": span(q.accuracy_chance_low, q.accuracy_chance_high, False), "auc": q.auc,
             "auc_chance": span(q.auc_chance_low, q.auc_chance_high, False), "generalises_to": q.generalises_to}
            for p in rq3.pairs for q in p.predictions]
    return pd.DataFrame(rows, columns=list(PREDICTION_COLUMNS))


def predictions_reading(frame: pd.DataFrame) -> str:
    """'Across 30 predictions, r ranges from -0.37 to 0.33; the highest is A vs B (baseline), r 0.33 [0.08, 0.55], against a
    noise ceiling of 0.35; the Holm-adjusted bootstrap p is below 0.05 in 2 of 30 (intervals generalise to items and raters).'"""
    r = frame["r"].to_numpy(dtype=float)
    if not np.isfinite(r).any():
        return f"Across {count(len(frame))} predictions, no r is defined."
    best = frame.iloc[int(np.nanargmax(r))]
    text = (f"Across {count(len(frame))} predictions, r ranges from {num(np.nanmin(r))} to {num(np.nanmax(r))}; "
            f"the highest is {clean(best['groups'])} ({clean(best['prediction'])}), r {num(best['r'])} {span(best['ci_low'], best['ci_high'])}")
    if np.isfinite(best["noise_ceiling"]):
        text += f", against a noise ceiling of {num(best['noise_ceiling'])}"
    holm = frame["p_boot_holm"].to_numpy(dtype=float)
    text += (f"; the Holm-adjusted bootstrap p is below 0.05 in {count(int((holm < 0.05).sum()))} of {count(len(frame))} "
             f"(intervals generalise to {clean(best['generalises_to'])})")
    return text + "."


def pairs_frame(rq3: DisagreementResult) -> pd.DataFrame:
    """One row per pair of groups: sizes, the observed difference, its reliability and the noise ceiling, with intervals."""
    return pd.DataFrame([{"groups": pair_label(p), "n_raters_a": p.n_raters_a, "n_raters_b": p.n_raters_b, "n_items": p.n_items,
                          "mean_difference": p.mean_difference, "reliability": p.reliability,
                          "reliability_ci": span(p.reliability_ci_low, p.reliability_ci_high), "noise_ceiling": p.noise_ceiling,
                          "noise_ceiling_ci": span(p.noise_ceiling_ci_low, p.noise_ceiling_ci_high),
                          "noise_ceiling_undefined_share": p.noise_ceiling_undefined_share, "generalises_to": p.generalises_to}
                         for p in rq3.pairs], columns=list(PAIR_COLUMNS))


def pairs_reading(frame: pd.DataFrame) -> str:
    """'Of 15 pairs of groups, 12 have a positive reliability of their difference; the highest noise ceiling is 0.51
    [0.21, 0.70] (A vs B); in 9 pairs the ceiling is undefined in more than 10% of the replicates (...).'"""
    reliable = int((frame["reliability"].to_numpy(dtype=float) > 0).sum())
    text = f"Of {count(len(frame))} pairs of groups, {count(reliable)} have a positive reliability of their difference"
    ceiling = frame["noise_ceiling"].to_numpy(dtype=float)
    if np.isfinite(ceiling).any():
        top = frame.iloc[int(np.nanargmax(ceiling))]
        text += f"; the highest noise ceiling is {num(top['noise_ceiling'])} {top['noise_ceiling_ci']} ({clean(top['groups'])})"
    shaky = int((frame["noise_ceiling_undefined_share"].to_numpy(dtype=float) > 0.1).sum())
    text += (f"; in {count(shaky)} the ceiling is undefined (reliability <= 0) in more than 10% of the replicates "
             f"(intervals generalise to {clean(frame['generalises_to'].iloc[0])})")
    return text + "."


def scatter_panels(rq3: DisagreementResult) -> list[dict[str, object]]:
    """(pair, prediction) panels: the pairs with the highest noise ceiling first, each with its predictions."""
    order = sorted(range(len(rq3.pairs)), key=lambda i: -rq3.pairs[i].noise_ceiling if np.isfinite(rq3.pairs[i].noise_ceiling) else np.inf)
    return [{"pair": i, "prediction": f"{kind}:{name}"} for i in order for kind, name in rq3.pairs[i].predicted][:MAX_SCATTER]


PREDICTION_COLUMNS = {"groups": "groups", "prediction": "prediction", "r": "r", "ci_low": "CI low", "ci_high": "CI high", "p_value": "p (permutation)",
                      "p_boot_holm": "p (bootstrap, Holm)", "noise_ceiling": "noise ceiling", "r_over_ceiling": "r / ceiling",
                      "r_over_ceiling_ci": "r / ceiling CI", "accuracy": "sign accuracy", "accuracy_chance": "chance accuracy",
                      "auc": "AUC", "auc_chance": "chance AUC", "generalises_to": "generalises to"}
PAIR_COLUMNS = {"groups": "groups", "n_raters_a": "raters A", "n_raters_b": "raters B", "n_items": "items",
                "mean_difference": "mean difference", "reliability": "reliability", "reliability_ci": "reliability CI",
                "noise_ceiling": "noise ceiling", "noise_ceiling_ci": "ceiling CI",
                "noise_ceiling_undefined_share": "share without ceiling", "generalises_to": "generalises to"}


def rq3_section(rq3: DisagreementResult) -> Section:
    """RQ3: the predictions figure and table, the pairs table, and per-item scatter plots of the most reliable pairs."""
    section = Section("rq3", "RQ3: predicting where groups disagree", INTRO)
    section.notes = [clean(n) for n in rq3.notes]
    frame = predictions_frame(rq3)
    if not frame.empty:
        reading = predictions_reading(frame)
        height = 0.4 * len(rq3.pairs) * max(1.0, 0.7 * frame["prediction"].nunique()) + 1.6
        section.add(FigureRef("rq3_predictions", "How well predictions track observed group differences", reading,
                              "Per pair of groups: r between predicted and observed differences with CI, and the noise ceiling",
                              single(plot_disagreement, rq3, (7.2, height))))
        section.add(frame_table(frame, "table-rq3", "Predicting group differences", reading, PREDICTION_COLUMNS))
    pairs = pairs_frame(rq3)
    if not pairs.empty:
        section.add(frame_table(pairs, "table-rq3-pairs", "Pairs of groups and their noise ceilings", pairs_reading(pairs), PAIR_COLUMNS))
    shown = scatter_panels(rq3)
    if shown:
        pairs_shown = list(dict.fromkeys(pair_label(rq3.pairs[int(p["pair"])]) for p in shown))  # type: ignore[call-overload]
        reading = ("Each point is an item: the observed difference in mean rating between the two groups against the machine's "
                   f"predicted difference, with a least-squares line, for the {count(len(pairs_shown))} pair(s) with the highest noise "
                   f"ceiling: {'; '.join(clean(p) for p in pairs_shown)}.")
        section.add(FigureRef("rq3_scatter", "Predicted versus observed group differences", reading,
                              "Scatter plots of predicted against observed per-item differences between groups",
                              panels(plot_disagreement_items, rq3, shown, (3.0, 3.4), columns=3, space=(0.45, 0.95))))
    return section
