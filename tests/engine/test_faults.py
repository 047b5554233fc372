"""Provider faults the fake servers can now send (529, 401/403/404, the 400 log-probabilities refusal) and items with identical text."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from annalign.cli.commands import main
from annalign.datasets.machine_files import load_machine_ratings
from annalign.engine import AnnotateOptions, annotate, write_machine_file

FAST = {"timeout": 2.0, "backoff_base": 0.02, "backoff_max": 0.1, "progress": False}


def test_identical_texts_each_get_their_rating(dices, fake_server, tmp_path: Path) -> None:
    items = dices.items.copy()
    ids = [str(i) for i in items.index[:6]]
    items.loc[ids[3], ["context", "response"]] = items.loc[ids[0], ["context", "response"]].to_numpy()  # 3 repeats 0
    items.loc[ids[5], ["context", "response"]] = items.loc[ids[0], ["context", "response"]].to_numpy()  # so does 5
    data = dataclasses.replace(dices, items=items)
    server = fake_server().start()
    frame = annotate(data, f"openai:fake@{server.base_url}", ledger=tmp_path / "l.sqlite", options=AnnotateOptions(item_ids=ids, **FAST))
    assert len(server.log) == 4  # one request for the three identical texts
    assert sorted(frame["item_id"]) == sorted(ids) and (frame["status"] == "ok").all()
    by_id = frame.set_index("item_id")
    assert by_id.loc[ids[3], "score"] == by_id.loc[ids[0], "score"] == by_id.loc[ids[5], "score"]
    assert frame["prompt_tokens"].gt(0).sum() == 4  # tokens counted once per request
    ratings = load_machine_ratings([write_machine_file(frame, tmp_path / "m.csv")], data)
    assert int(ratings.summary()[0]["n_rated"]) == 6
    personas = annotate(data, f"openai:fake@{server.base_url}", ledger=tmp_path / "l.sqlite", personas=["a Black woman", "a white man"], options=AnnotateOptions(item_ids=ids, **FAST))  # fmt: skip
    assert len(personas) == 12 and personas.groupby("persona")["item_id"].apply(sorted).tolist() == [sorted(ids)] * 2


def test_anthropic_529_overloaded_is_retried(dices, fake_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("anthropic")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789abcdef")
    server = fake_server(faults=lambda digest, attempt: "529" if attempt <= 2 else None, retry_after="0").start()
    root = server.base_url.removesuffix("/v1")
    frame = annotate(dices, f"anthropic:claude-fake@{root}", template="dices-label", ledger=tmp_path / "l.sqlite", options=AnnotateOptions(limit=4, max_attempts=3, **FAST))  # fmt: skip
    assert (frame["status"] == "ok").all()
    assert [e["fault"] for e in server.log].count("529") == 8 and len(server.log) == 12
    assert frame.attrs["annotate"]["retries"] == 8


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize(("status", "hint"), [("401", "HTTP 401"), ("403", "HTTP 403"), ("404", "HTTP 404")])
def test_401_403_404_stop_the_run_without_retrying(provider: str, status: str, hint: str, fake_server, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # fmt: skip
    if provider == "anthropic":
        pytest.importorskip("anthropic")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789abcdef")
    server = fake_server(faults=lambda digest, attempt: status).start()
    url = server.base_url if provider == "openai" else server.base_url.removesuffix("/v1")
    code = main(["annotate", "--dataset", "dices350", "--model", f"{provider}:fake@{url}", "--limit", "20", "--concurrency", "2",
                 "--ledger", str(tmp_path / "l.sqlite"), "--out", str(tmp_path / "o.csv"), "--no-progress",
                 "--template", "dices-label"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"annalign: error: {provider}:fake@") and hint in lines[0], err
    assert "stopped (results so far are kept in" in lines[0]
    assert len(server.log) <= 2 and all(e["attempt"] == 1 for e in server.log)  # no retries, the run stops at once


def test_400_logprobs_refusal_falls_back_to_plain_answers(dices, fake_server, tmp_path: Path) -> None:
    server = fake_server(faults=lambda digest, attempt: "400-logprobs").start()
    frame = annotate(dices, f"openai:fake@{server.base_url}", ledger=tmp_path / "l.sqlite", options=AnnotateOptions(limit=6, concurrency=1, **FAST))
    assert (frame["status"] == "ok").all() and set(frame["score_method"]) == {"answer"}
    asked = [e["logprobs"] for e in server.log]
    assert asked == [True] + [False] * 6  # one refusal, then every request without log-probabilities
    assert frame.attrs["annotate"]["retries"] == 1

