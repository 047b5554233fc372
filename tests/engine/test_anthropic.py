"""The Anthropic backend through the official SDK against a local server speaking the Messages API."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.needs import require_modules

from annalign.engine import AnnotateOptions, annotate


@pytest.fixture(autouse=True)
def _needs_anthropic() -> None:
    require_modules("anthropic", hint="pip install 'annalign[anthropic]' (make setup does)")


FAST = {"timeout": 2.0, "backoff_base": 0.02, "backoff_max": 0.1, "progress": False}
FAKE_KEY = "sk-ant-test-DO-NOT-LEAK-0123456789"


def test_anthropic_backend_rates_items_with_faults_and_no_secret(dices, fake_server, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    seen: dict[str, int] = {}

    def plan(digest: str, attempt: int) -> str | None:
        order = seen.setdefault(digest, len(seen))
        if attempt == 1 and order % 3 == 0:
            return ("429", "500", "truncated")[order // 3 % 3]
        return None

    server = fake_server(faults=plan, retry_after="0").start()
    root = server.base_url.removesuffix("/v1")  # the SDK appends /v1/messages itself
    items = [str(i) for i in dices.item_ids[:9]]
    ledger = tmp_path / "ledger.sqlite"
    frame = annotate(dices, f"anthropic:claude-fake@{root}", template="dices-label", ledger=ledger, options=AnnotateOptions(item_ids=items, concurrency=4, max_attempts=3, **FAST))  # fmt: skip
    assert (frame["status"] == "ok").all(), frame[["item_id", "status", "reason"]]
    assert set(frame["label"]) <= {"Yes", "No", "Unsure"}
    assert frame["score"].between(0, 1).all()
    assert {"429", "500", "truncated"} <= {e["fault"] for e in server.log}
    assert server.auth_headers and all(FAKE_KEY in h for h in server.auth_headers)  # the key was sent ...
    for path in tmp_path.rglob("*"):  # ... and written nowhere
        if path.is_file():
            assert FAKE_KEY.encode() not in path.read_bytes(), path
    # Everything answered is in the ledger: a re-run sends nothing.
    before = len(server.log)
    again = annotate(dices, f"anthropic:claude-fake@{root}", template="dices-label", ledger=ledger, options=AnnotateOptions(item_ids=items, **FAST))
    assert len(server.log) == before
    assert again["score"].tolist() == frame["score"].tolist()
