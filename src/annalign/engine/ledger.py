"""The SQLite ledger: one row per request, committed as each completes, so nothing is lost or re-sent.

A request's key is the sha256 of its identity (backend, endpoint, model, template hash, item-text
hash, persona, sampling parameters, sample index). Rows with status ``ok`` (the model answered,
parsed or not) are never sent again; ``failed`` rows are retried by the next run. No API key is
ever written here.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
COLUMNS = (
    "key", "provider", "endpoint", "model", "template", "template_hash", "item_id", "item_hash",
    "persona", "params", "sample", "prompt_hash", "status", "reason", "raw_output", "finish_reason",
    "parse_status", "parse_reason", "answer", "score", "score_method", "argmax", "logprob_mass",
    "answer_logprobs", "prompt_tokens", "completion_tokens", "latency_s", "attempts", "created_at",
)  # fmt: skip

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY,
    {", ".join(f"{c}" for c in COLUMNS[1:])}
);
CREATE INDEX IF NOT EXISTS requests_by_model ON requests (provider, model, template_hash);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
"""


def canonical(obj: Any) -> str:
    """Canonical JSON (sorted keys, no spaces) used for hashing."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    """Hex sha256 of a UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def item_hash(context: str, response: str) -> str:
    """Hash of the item text that is rated (context and final response)."""
    return sha256(canonical([str(context), str(response)]))


def messages_hash(messages: list[dict[str, str]]) -> str:
    """Hash of the exact chat messages sent (for audit, and to match server logs in tests)."""
    return sha256(canonical(messages))


def request_key(identity: Mapping[str, Any]) -> str:
    """The ledger key of one request: sha256 of its canonical identity."""
    return sha256(canonical(dict(identity)))


class Ledger:
    """A WAL-mode SQLite file of request rows; one connection, used from the event-loop thread."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process kills; WAL keeps it fast
        self._db.executescript(SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lookup(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Rows for the given keys (any status), as dicts, fetched in chunks."""
        keys = list(keys)
        out: dict[str, dict[str, Any]] = {}
        cols = ", ".join(COLUMNS)
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(f"SELECT {cols} FROM requests WHERE key IN ({marks})", chunk):
                out[row[0]] = dict(zip(COLUMNS, row, strict=True))
        return out

    def record(self, row: Mapping[str, Any]) -> None:
        """Insert or replace one request row and commit it at once (autocommit)."""
        values = dict(row)
        values.setdefault("created_at", time.time())
        for name in ("params", "answer_logprobs"):
            if values.get(name) is not None and not isinstance(values[name], str):
                values[name] = canonical(values[name])
        cols = ", ".join(COLUMNS)
        marks = ", ".join("?" * len(COLUMNS))
        self._db.execute(f"INSERT OR REPLACE INTO requests ({cols}) VALUES ({marks})", [values.get(c) for c in COLUMNS])

    def count(self, status: str | None = None) -> int:
        """Number of rows (optionally with one status)."""
        if status is None:
            return int(self._db.execute("SELECT COUNT(*) FROM requests").fetchone()[0])
        return int(self._db.execute("SELECT COUNT(*) FROM requests WHERE status = ?", (status,)).fetchone()[0])

    def rows(self) -> list[dict[str, Any]]:
        """Every row, for export and audit."""
        cols = ", ".join(COLUMNS)
        return [dict(zip(COLUMNS, r, strict=True)) for r in self._db.execute(f"SELECT {cols} FROM requests ORDER BY created_at")]
