"""Helpers for the report tests: a real DICES-350 run, a small synthetic run (optionally with hostile text), where the browser lives."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from annalign.config import Settings
from annalign.core.annotations import Annotations
from annalign.core.machines import MachineRatings
from annalign.pipeline.run import collect_warnings, run_analyses, run_settings
from annalign.results import RunResult

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
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


def make_run(payload: bool = False, groups: bool = True) -> RunResult:
    """A small synthetic run as the pipeline produces it (with hostile text when ``payload``); RQ1 only unless ``groups``."""
    data = synthetic_data(payload=payload)
    machines = synthetic_machines(data, payload=payload)
    warnings: list[str] = []
    with collect_warnings(warnings):
        run = run_analyses(data, machines, Settings(dataset="synthetic", bootstrap=100, alt_min_items=10, power_items=[40, 400]))
    hostile = [f"a warning that mentions {PAYLOADS[0]}"] if payload else []
    run = replace(run, warnings=(*warnings, *hostile))
    return run if groups else replace(run, rq2={}, rq3=None)


def dices_run(groupings: list[list[str]] | None = None) -> RunResult:
    """A real run: DICES-350 with the two machine-rater files of tests/fixtures, 200 bootstrap replicates."""
    settings = Settings(dataset="dices350", bootstrap=200, ratings=[str(FIXTURES / "dices350-judge-a.csv"), str(FIXTURES / "dices350-judge-b.csv")],
                        groupings=groupings or [["rater_race", "rater_gender"], ["rater_age"]])
    return run_settings(settings)
