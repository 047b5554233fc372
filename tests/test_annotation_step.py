"""The annotation step of `annalign run`: persona wording and the request/cost estimate shown before a run."""

from __future__ import annotations

import pytest

from annalign.pipeline.annotation import estimate_cost, persona_text


def test_persona_wording(dices350):
    assert persona_text(dices350, ["rater_race", "rater_gender"], "Black/African American|Woman") == (
        "a woman who identifies as Black/African American"
    )
    assert persona_text(dices350, ["rater_age"], "gen z") == "an annotator with age gen z"


def test_cost_estimate_matches_a_hand_count(dices350):
    items = dices350.items.iloc[:200]
    chars = sum(len(c) + len(r) for c, r in zip(items["context"], items["response"], strict=True)) / 200
    template = "x" * 1000
    tokens, cost = estimate_cost(dices350, "openai:gpt-4o", template, 3500)
    assert tokens == pytest.approx((chars + 1000) / 4 * 3500)
    assert cost == pytest.approx((tokens * 2.50 + 2 * 3500 * 10.00) / 1e6)
    assert estimate_cost(dices350, "local:smollm2-135m", template, 3500)[1] == 0.0
