"""The built-in ``fake:`` backend: deterministic, offline answers for tests and dry runs; ``annotate_ratings`` on it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.clihelp import error_line, run_cli

from annalign.core.machines import MachineRatings
from annalign.engine import (
    AnnotatedRatings,
    AnnotateOptions,
    annotate,
    annotate_ratings,
    parse_model_spec,
)
from annalign.errors import InputError

QUIET = AnnotateOptions(progress=False)


def test_answers_are_deterministic_allowed_and_scored_from_logprobs(dices, tmp_path: Path) -> None:
    one = annotate(dices, "fake:hash", ledger=tmp_path / "a.sqlite", options=QUIET.but(limit=40))
    two = annotate(dices, "fake:hash", ledger=tmp_path / "b.sqlite", options=QUIET.but(limit=40))  # nothing shared
    assert two.attrs["annotate"]["sent"] == 40 and one["answer"].equals(two["answer"]) and one["score"].equals(two["score"])
    assert set(one["answer"]) <= {"1", "2", "3", "4", "5"} and one["answer"].nunique() >= 3
    assert set(one["score_method"]) == {"logprobs"}
    # PEAK 0.6 on the answer, 0.1 on each other digit: the expected score is 0.6 a + 0.1 (15 - a)
    expected = [0.6 * int(a) + 0.1 * (15 - int(a)) for a in one["answer"]]
    assert one["score"].tolist() == pytest.approx(expected)
    other = annotate(dices, "fake:hash?seed=7", ledger=tmp_path / "a.sqlite", options=QUIET.but(limit=40))
    assert other.attrs["annotate"]["sent"] == 40 and not other["answer"].equals(one["answer"])


def test_label_template_personas_and_answers_only(dices, tmp_path: Path) -> None:
    frame = annotate(dices, "fake:hash?logprobs=0", template="dices-label", personas=["a Black woman", "a white man"],
                     ledger=tmp_path / "l.sqlite", options=QUIET.but(limit=30))  # fmt: skip
    assert set(frame["answer"]) <= {"Yes", "No", "Unsure"} and set(frame["score_method"]) == {"answer"}
    by_persona = frame.pivot(index="item_id", columns="persona", values="answer")
    assert (by_persona.iloc[:, 0] != by_persona.iloc[:, 1]).any()  # the persona is part of the prompt, so of the hash
    fixed = annotate(dices, "fake:fixed?answer=Unsure", template="dices-label", ledger=tmp_path / "l.sqlite", options=QUIET.but(limit=5))
    assert set(fixed["answer"]) == {"Unsure"}
    with pytest.raises(InputError, match="fake:fixed answer '7' is not an allowed answer"):
        annotate(dices, "fake:fixed?answer=7", template="dices-label", ledger=tmp_path / "l.sqlite", options=QUIET.but(limit=2))


def test_failures_and_unparsed_answers_at_the_asked_rates(dices, tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="ratings are not complete"):
        frame = annotate(dices, "fake:hash?fail=0.2&unparsed=0.1", ledger=tmp_path / "l.sqlite", options=QUIET)
    counts = frame["status"].value_counts()
    assert 0.1 < counts["failed"] / 350 < 0.3 and 0.03 < counts["unparsed"] / 350 < 0.2
    assert frame.loc[frame["status"] == "failed", "reason"].str.contains("fail= option").all()
    with pytest.warns(UserWarning):  # a re-run retries the failed ones, which fail again: deterministic
        again = annotate(dices, "fake:hash?fail=0.2&unparsed=0.1", ledger=tmp_path / "l.sqlite", options=QUIET)
    assert again.attrs["annotate"]["sent"] == counts["failed"] and again["status"].equals(frame["status"])


def test_samples_at_a_temperature_vary_but_repeat_exactly(dices, tmp_path: Path) -> None:
    opts = QUIET.but(limit=30, samples=4, temperature=1.0)
    one = annotate(dices, "fake:hash?logprobs=0", ledger=tmp_path / "a.sqlite", options=opts)
    two = annotate(dices, "fake:hash?logprobs=0", ledger=tmp_path / "b.sqlite", options=opts)
    assert one["score"].equals(two["score"]) and (one["n_samples"] == 4).all()
    # each score is the mean of 4 answers drawn from the answer probabilities: not all whole numbers
    assert one["score"].nunique() > 5 and (one["score"] % 1 != 0).any()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("fake:nope", "fake model 'nope' is unknown; available: hash, fixed"),
        ("fake:hash?color=red", "option 'color' is unknown"),
        ("fake:hash?fail=2", "fail must be a fraction between 0 and 1"),
        ("fake:hash?seed=x", "seed must be an integer"),
        ("fake:hash?answer=3", "answer= is an option of fake:fixed only"),
        ("fake:hash?logprobs=maybe", "logprobs must be 0 or 1"),
        ("fake:hash@http://127.0.0.1:9/v1", "fake: models take no @BASE_URL"),
    ],
)
def test_bad_fake_specs_are_input_errors(spec: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("?", r"\?")):
        parse_model_spec(spec)


def test_annotate_ratings_puts_scores_on_the_data_scale(dices, tmp_path: Path) -> None:
    ratings = annotate_ratings(dices, "fake:hash", ledger=tmp_path / "l.sqlite", options=QUIET.but(limit=20))
    assert isinstance(ratings, MachineRatings) and isinstance(ratings, AnnotatedRatings)
    assert ratings.names == ["fake:hash/dices-likert"] and ratings.scores.shape == (dices.n_items, 1)
    frame = ratings.frame
    rated = np.isfinite(ratings.scores[:, 0])
    assert rated.sum() == 20 and list(np.asarray(dices.item_ids)[rated].astype(str)) == frame["item_id"].astype(str).tolist()
    lo, hi = float(np.min(dices.values)), float(np.max(dices.values))
    assert (lo, hi) == (0.0, 1.0)
    assert ratings.scores[rated, 0].tolist() == pytest.approx(((frame["score"] - 1) / 4 * (hi - lo) + lo).tolist())
    assert len(ratings.unrated["fake:hash/dices-likert"]) == dices.n_items - 20
    p = ratings.provenance
    assert p["model"] == "fake:hash" and p["template"] == "dices-likert" and len(p["template_hash"]) == 64 and p["sent"] == 20
    again = annotate_ratings(dices, "fake:hash", ledger=tmp_path / "l.sqlite", options=QUIET.but(limit=20))
    assert again.provenance["sent"] == 0 and np.array_equal(again.scores, ratings.scores, equal_nan=True)


def test_annotate_ratings_one_machine_rater_per_persona(dices, tmp_path: Path) -> None:
    ratings = annotate_ratings(dices, "fake:hash", template="dices-label", personas=["a Black woman", "a white man"],
                               ledger=tmp_path / "l.sqlite", options=QUIET.but(limit=10))  # fmt: skip
    assert ratings.names == [
        "fake:hash/dices-label-persona|persona=a Black woman",
        "fake:hash/dices-label-persona|persona=a white man",
    ]
    finite = ratings.scores[np.isfinite(ratings.scores)]
    assert len(finite) == 20 and finite.min() >= 0.0 and finite.max() <= 1.0


def test_cli_annotate_with_the_fake_backend(tmp_path: Path, capsys) -> None:
    out = tmp_path / "fake.csv"
    code, stdout, err = run_cli(capsys, "annotate", "--dataset", "dices350", "--model", "fake:hash", "--ledger",
                                str(tmp_path / "l.sqlite"), "--out", str(out), "--no-progress")  # fmt: skip
    assert code == 0, err
    frame = pd.read_csv(out)
    assert len(frame) == 350 and set(frame["status"]) == {"ok"} and "350 sent" in stdout
    code, _, err = run_cli(capsys, "annotate", "--dataset", "dices350", "--model", "fake:hash?fail=1", "--limit", "3",
                           "--max-attempts", "1", "--ledger", str(tmp_path / "l.sqlite"), "--out", str(out), "--no-progress")  # fmt: skip
    assert code == 3, err  # every request failed: the exit code of failed requests
    code, _, err = run_cli(capsys, "annotate", "--dataset", "dices350", "--model", "fake:nope", "--out", str(out))
    assert code == 2 and "fake model 'nope' is unknown" in error_line(err)


def test_cli_run_with_the_fake_backend(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(capsys, "run", "--model", "fake:hash", "--limit", "60", "--bootstrap", "50", "--out", str(tmp_path / "o"))
    assert code == 0, err
    results = json.loads((tmp_path / "o" / "results.json").read_text("utf-8"))
    rq1 = results["rq1"]["machines"]["fake:hash/dices-likert"]
    assert rq1["n_items"] == 60 and math.isfinite(rq1["r"])
    assert results["provenance"]["annotation_runs"][0]["sent"] == 60


def test_label_answers_carry_a_distribution_from_logprobs_or_from_samples(dices, tmp_path: Path) -> None:
    """p_<answer> columns: one request's renormalised answer log-probabilities, or several samples' shares."""
    import sqlite3

    frame = annotate(dices, "fake:hash", template="dices-label", ledger=tmp_path / "l.sqlite", options=QUIET.but(limit=20))
    p = frame[["p_Yes", "p_Unsure", "p_No"]].to_numpy()
    assert set(frame["p_method"]) == {"logprobs"} and np.allclose(p.sum(axis=1), 1.0)
    with sqlite3.connect(tmp_path / "l.sqlite") as db:
        stored = dict(db.execute("SELECT item_id, answer_logprobs FROM requests"))
    plain = []
    for item in frame["item_id"]:
        lps = json.loads(stored[item])  # the plain computation: exp, then divide by the sum over the three answers
        weights = {a: math.exp(lps[a]) if a in lps else 0.0 for a in ("Yes", "Unsure", "No")}
        plain.append([w / sum(weights.values()) for w in weights.values()])
    assert p.tolist() == [pytest.approx(row, abs=1e-12) for row in plain]
    best = frame[["p_Yes", "p_Unsure", "p_No"]].idxmax(axis=1).str[2:]
    assert (best == frame["answer"]).all()
    sampled = annotate(dices, "fake:hash?logprobs=0", template="dices-label", ledger=tmp_path / "s.sqlite",
                       options=QUIET.but(limit=10, samples=4, temperature=1.0))  # fmt: skip
    shares = sampled[["p_Yes", "p_Unsure", "p_No"]].to_numpy()
    assert set(sampled["p_method"]) == {"samples"} and np.allclose(shares * 4, np.round(shares * 4))
    assert np.allclose(shares.sum(axis=1), 1.0)


def test_a_distribution_template_writes_the_stated_shares_plain_and_per_persona(dices, tmp_path: Path) -> None:
    import sqlite3

    from annalign.engine.parsing import parse_distribution

    frame = annotate(dices, "fake:hash", template="dices-distribution", ledger=tmp_path / "l.sqlite", options=QUIET.but(limit=15))
    assert set(frame["p_method"]) == {"verbalized"} and set(frame["score_method"]) == {"verbalized"}
    with sqlite3.connect(tmp_path / "l.sqlite") as db:
        raw = dict(db.execute("SELECT item_id, raw_output FROM requests"))
        params = json.loads(db.execute("SELECT params FROM requests").fetchone()[0])
    assert params["constrain"] == "none" and params["max_tokens"] >= 64
    for row in frame.itertuples():
        stated = json.loads(raw[row.item_id])  # the plain computation: the stated percentages over their sum
        total = sum(stated.values())
        assert [row.p_Yes, row.p_Unsure, row.p_No] == pytest.approx([stated[a] / total for a in ("Yes", "Unsure", "No")])
        assert row.score == pytest.approx(stated["Yes"] / total + 0.5 * stated["Unsure"] / total)
        assert row.label == max(stated, key=stated.__getitem__)
    personas = annotate(dices, "fake:hash", template="dices-distribution", personas=["a Black woman"],
                        ledger=tmp_path / "l.sqlite", options=QUIET.but(limit=5))  # fmt: skip
    assert set(personas["persona"]) == {"a Black woman"} and personas[["p_Yes", "p_Unsure", "p_No"]].sum(axis=1).round(9).eq(1).all()
    assert parse_distribution(personas["raw_output"].iloc[0], ["Yes", "Unsure", "No"]).ok
    with pytest.raises(InputError, match="distribution template answers with JSON"):
        annotate(dices, "fake:hash", template="dices-distribution", ledger=tmp_path / "l.sqlite", options=QUIET.but(limit=2, constrain="grammar"))
