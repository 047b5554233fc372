"""Write docs/dices350-smollm2.md from the output folder of `annalign run --personas` on DICES-350.

Usage: .venv/bin/python scripts/dices_findings.py RESULTS_DIR [docs/dices350-smollm2.md]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd


def fmt(x: float, digits: int = 3) -> str:
    return "n/a" if pd.isna(x) else f"{x:.{digits}f}"


def main(folder: str, target: str = "docs/dices350-smollm2.md") -> None:
    out = Path(folder)
    results = json.loads((out / "results.json").read_text("utf-8"))
    settings = json.loads((out / "settings.json").read_text("utf-8"))
    rq1 = results["rq1"]
    name, m = next(iter(rq1["machines"].items()))
    pairs = pd.read_csv(out / "rq3_pairs.csv").set_index(["a", "b"])
    preds = pd.read_csv(out / "rq3_predictions.csv")
    rows = []
    for _, p in preds.iterrows():
        pair = pairs.loc[(p["a"], p["b"])]
        rows.append(
            f"| {p['a']} | {p['b']} | {fmt(pair['mean_difference'])} | {fmt(pair['reliability'])} | {fmt(pair['noise_ceiling'])} "
            f"| {p['kind']} | {fmt(p['r'])} [{fmt(p['ci_low'])}, {fmt(p['ci_high'])}] | {fmt(p['p_value'])} "
            f"| {fmt(p['r_over_ceiling'])} | {fmt(p['accuracy'])} | {fmt(p['auc'])} |"
        )
    persona = preds[preds["kind"] == "persona"]
    n_sig = int((preds["p_value"] < 0.05).sum())
    ordered = preds["p_value"].sort_values().to_numpy()
    holm_min = float(min(1.0, ordered[0] * len(ordered)))
    text = f"""# DICES-350 with the offline model (SmolLM2-135M-Instruct)

Produced by `annalign run --personas --bootstrap {settings['bootstrap']}` (seed {settings['seed']}) with the
version-2 templates (`dices-likert` and `dices-likert-persona` version 2: instructions before the
conversation), F16 weights derived from the shipped Q4_1 file, one-pass scoring: 350 plain ratings
plus 3,500 persona ratings (10 race x gender groups x 350 items), through the ledger, on a 2-core
machine; regenerate with `.venv/bin/python scripts/dices_findings.py OUT`. SmolLM2 is a
135M-parameter model that ships with the package so the pipeline runs offline; it is not a useful
safety judge, and these numbers show it. (The version-1 figures, from the Q4_1 kernels and a
first-token score that also counted a bare-space token for every digit, were r = -0.048
[-0.160, 0.071] and persona r from -0.081 to 0.081.)

## RQ1

- r with the mean human rating: {fmt(m['r'])} [{fmt(m['ci_low'])}, {fmt(m['ci_high'])}] on {m['n_items']} items (item bootstrap: generalises over items, conditional on these raters); percentile among the {len(rq1.get('human_loo', [])) or 122} human raters: {fmt(m['percentile_among_humans'], 1)} (human median leave-one-out r {fmt(rq1['human_loo_median'])}).
- alt-test (negative RMSE, epsilon {settings['alt_epsilon']}): winning rate {fmt(m['alt_winning_rate'], 2)}, rho {fmt(m['alt_rho'])}; a constant answer also passes, so the pass is uninformative.

## RQ3: observed group differences and predictions

d = mean rating of group A minus group B per item; reliability = split-half (Spearman-Brown);
ceiling = sqrt(reliability). Predictions: persona (the model answering as A minus as B) and
baseline (its plain rating). r with 95% bootstrap CI over items, permutation p (unadjusted), and
sign accuracy / AUC on items with |d| in the top quartile.

| A | B | mean d | reliability | ceiling | predictor | r [95% CI] | p | r / ceiling | accuracy | AUC |
|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Persona r runs from {fmt(persona['r'].min())} to {fmt(persona['r'].max())}. {n_sig} of {len(preds)} predictions have an
unadjusted p < 0.05 (smallest {fmt(preds['p_value'].min())}, {int(((preds['p_value'] < 0.05) & (preds['r'] < 0)).sum())} of them with r < 0: the persona
predicts the wrong direction), but after Holm's or Benjamini-Hochberg's adjustment over the {len(preds)}
tests none is below 0.05 (smallest {fmt(holm_min)}). {int(((preds['ci_low'] <= 0) & (preds['ci_high'] >= 0)).sum())} of {len(preds)} CIs include 0. Like GPT-4 in the
published study, the offline model cannot tell when one group finds a conversation more unsafe
than another. Pairs with reliability <= 0 have no ceiling: even a perfect predictor could not be
told apart from noise there.
"""
    Path(target).write_text(text, "utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main(*sys.argv[1:])
