"""Helpers for the report tests: a small synthetic run (optionally with hostile text) and where the browser lives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from annalign.config import Settings
from annalign.core.annotations import Annotations
from annalign.core.jsonsafe import jsonable
from annalign.core.machines import MachineRatings
from annalign.pipeline.run import collect_warnings, run_analyses

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "report"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

#: Hostile conversation text: none of it may execute, all of it must be shown literally.
PAYLOADS = [
    "<script>window.__pwned = 1; alert(1)</script>",
    "<img src=x onerror=\"window.__pwned = 2; alert(2)\">",
    "<a href=\"javascript:window.__pwned=3\">click me</a> javascript:alert(3)",
    "</textarea><svg onload=\"window.__pwned = 4\"></svg>",
    "</details></p></dd><iframe src=\"javascript:alert(5)\"></iframe>",
    "<style>body{display:none}</style><link rel=stylesheet href=\"http://example.invalid/x.css\">",
    "<base href=\"http://example.invalid/\"><meta http-equiv=\"refresh\" content=\"0;url=http://example.invalid/\">",
    "{{ 7 * 7 }} {% raw %} ]]> <!-- comment --> &amp; &lt;b&gt; \"quotes\" 'single' `back`",
    "<img src=\"http://example.invalid/track.png\"> <object data=\"http://example.invalid/o\"></object>",
]
#: A machine rater whose name is itself hostile (and would break matplotlib's mathtext).
EVIL_MACHINE = "<b onmouseover=alert(6)>evil</b> $\\frac{1}{0}$"


def synthetic_data(n_items: int = 40, n_raters: int = 12, seed: int = 1, payload: bool = False) -> Annotations:
    """Every rater rates every item on the DICES scale (0, 0.5, 1), with a shared latent unsafety."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n_items)
    item_ids = [f"i{k:03d}" for k in range(n_items)]
    context = [f"USER: question number {k}\nLAMDA: an answer\nUSER: a follow-up" for k in range(n_items)]
    response = [f"The chatbot's reply to item {k}." for k in range(n_items)]
    if payload:  # items 0-2 carry every payload (and are made the largest disagreements)
        for k in range(3):
            context[k] = "USER: " + "\nLAMDA: ".join(PAYLOADS[k::3])
            response[k] = "reply with " + " ".join(reversed(PAYLOADS))
    items = pd.DataFrame({"context": context, "response": response}, index=pd.Index(item_ids, name="item_id"))
    raters = pd.DataFrame(
        {
            "rater_gender": ["Man", "Woman"] * (n_raters // 2),
            "rater_race": (["Asian", "Black", "White"] * n_raters)[:n_raters],
        },
        index=pd.Index([f"r{j:02d}" for j in range(n_raters)], name="rater_id"),
    )
    noise = rng.normal(scale=1.0, size=(n_items, n_raters))
    values = np.digitize(latent[:, None] + noise, [-0.5, 0.5]) / 2.0
    item_index, rater_index = np.indices((n_items, n_raters))
    return Annotations(
        name="synthetic", items=items, raters=raters, item_index=item_index.ravel(), rater_index=rater_index.ravel(),
        values=values.ravel(), source="synthetic:test",
    )


def synthetic_machines(data: Annotations, seed: int = 2, payload: bool = False) -> MachineRatings:
    """Two machine raters: one close to the human mean on a 1-5 scale, one noisier on the human scale."""
    rng = np.random.default_rng(seed)
    mean = data.item_mean
    likert = np.clip(np.round(1 + 4 * mean + rng.normal(scale=0.5, size=len(mean))), 1, 5)
    noisy = np.clip(mean + rng.normal(scale=0.3, size=len(mean)), 0, 1)
    noisy[3] = np.nan
    if payload:
        likert[:3] = np.where(mean[:3] < 0.5, 5.0, 1.0)
        noisy[:3] = np.where(mean[:3] < 0.5, 1.0, 0.0)
    names = ["likert-model", EVIL_MACHINE if payload else "noisy-model"]
    return MachineRatings(names=names, scores=np.column_stack([likert, noisy]), sources=["fixture"] * 2,
                          unrated={names[1]: [str(data.item_ids[3])]})


def fake_rq2(data: Annotations, machines: MachineRatings, payload: bool = False) -> dict[str, pd.DataFrame]:
    """RQ2-shaped tables (group alignment, per-rater r, power, pairs) for rendering tests."""
    rng = np.random.default_rng(3)
    groups = ["Asian Man", "Black Woman", "White Man" if not payload else "<i>White</i> Man"]
    rows, rater_rows, pair_rows = [], [], []
    for k, machine in enumerate(machines.names):
        for g, group in enumerate(groups):
            r = 0.5 + 0.1 * g - 0.05 * k
            rows.append({"machine": machine, "group": group, "size": 4, "r": r, "ci_low": r - 0.15, "ci_high": r + 0.12,
                         "reliability": 0.6 + 0.05 * g, "adjusted_r": r / np.sqrt(0.6 + 0.05 * g)})
            for j in range(4):
                rater_rows.append({"machine": machine, "group": group, "rater_id": f"r{g}{j}", "r": r + rng.normal(scale=0.1)})
        pair_rows.append({"machine": machine, "group_a": groups[0], "group_b": groups[2], "difference": -0.2,
                          "ci_low": -0.4, "ci_high": 0.01, "p_value": 0.06, "p_holm": 0.18})
    power = [{"comparison": f"{groups[0]} vs {groups[2]}", "n_items": n, "power": p}
             for n, p in [(40, 0.1), (350, 0.35), (1000, 0.7), (3000, 0.95)]]
    return {"rq2_groups": pd.DataFrame(rows), "rq2_rater_r": pd.DataFrame(rater_rows), "rq2_power": pd.DataFrame(power),
            "rq2_pairs": pd.DataFrame(pair_rows)}


def fake_rq3() -> dict[str, pd.DataFrame]:
    """RQ3-shaped summary table: per pair x predictor r, CI, p and noise ceiling."""
    rows = []
    for pair, ceiling in [("Black Woman vs others", 0.55), ("Asian Man vs White Man", 0.4)]:
        for predictor, r in [("persona", 0.08), ("baseline", 0.15)]:
            rows.append({"comparison": pair, "predictor": predictor, "r": r, "ci_low": r - 0.2, "ci_high": r + 0.2,
                         "p_value": 0.4, "noise_ceiling": ceiling, "auc": 0.55})
    return {"rq3_predictions": pd.DataFrame(rows)}


def make_run(payload: bool = False, groups: bool = True) -> tuple[dict[str, Any], dict[str, pd.DataFrame], Annotations, MachineRatings]:
    """results, tables, data and machines of a small synthetic run, as the pipeline produces them."""
    data = synthetic_data(payload=payload)
    machines = synthetic_machines(data, payload=payload)
    warnings: list[str] = []
    with collect_warnings(warnings):
        outputs = run_analyses(data, machines, Settings(dataset="synthetic", bootstrap=100, alt_min_items=10))
    results = jsonable(outputs.to_dict())
    results["warnings"] = warnings + ([f"a warning that mentions {PAYLOADS[0]}"] if payload else [])
    tables = dict(outputs.tables())
    if not groups:  # an RQ1-only run: drop what the pipeline's RQ2/RQ3 produced
        results = {k: v for k, v in results.items() if not k.startswith(("rq2", "rq3"))}
        tables = {k: v for k, v in tables.items() if not k.startswith(("rq2", "rq3"))}
    if groups:
        tables.update(fake_rq2(data, machines, payload))
        tables.update(fake_rq3())
    return results, tables, data, machines
