"""The SQLite ledger: one row per request, committed as each completes, so nothing is lost or paid twice.

A request's key is the sha256 of its identity (backend, endpoint, model, template hash, item-text
hash, persona, sampling parameters, sample index). Rows with status ``ok`` (the model answered,
parsed or not) are never sent again; ``failed`` rows are retried by the next run. No API key is
ever written here.

Concurrent runs on one ledger: before a request is sent, its key is *claimed* in the ``claims``
table (owner and expiry, in one ``BEGIN IMMEDIATE`` transaction that also checks the answer is not
there yet). Another run skips a key while its claim is live and reads the answer when it is
recorded; a run renews its claims while it works, and a killed run's claims expire (after
``lease_seconds``) and are taken over. Answers are recorded and their claims released in one
transaction, as each request completes.

The schema evolves by numbered ``MIGRATIONS``; ``meta.schema_version`` says which have run. A ledger
newer than this code, or a file that is not a ledger, is refused with a one-line error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from annalign import __version__
from annalign.errors import InputError

log = logging.getLogger("annalign.engine")

COLUMNS = (
    "key", "provider", "endpoint", "model", "template", "template_hash", "item_id", "item_hash",
    "persona", "params", "sample", "prompt_hash", "status", "reason", "raw_output", "finish_reason",
    "parse_status", "parse_reason", "answer", "score", "score_method", "argmax", "logprob_mass",
    "answer_logprobs", "prompt_tokens", "completion_tokens", "latency_s", "attempts", "created_at",
)  # fmt: skip

#: Numbered migrations: MIGRATIONS[n - 1] takes a ledger from schema version n - 1 to n.
MIGRATIONS: tuple[str, ...] = (
    # 1: one row per request, and a table of named values (schema_version).
    f"""
    CREATE TABLE IF NOT EXISTS requests (
        key TEXT PRIMARY KEY,
        {", ".join(COLUMNS[1:])}
    );
    CREATE INDEX IF NOT EXISTS requests_by_model ON requests (provider, model, template_hash);
    CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
    """,
    # 2: claims (leases) on requests being sent, so that concurrent runs never send one twice.
    """
    CREATE TABLE IF NOT EXISTS claims (
        key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at REAL NOT NULL, claimed_at REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS claims_by_owner ON claims (owner);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
#: Seconds a claim lives unless renewed ($ANNALIGN_LEASE_SECONDS overrides); renewed every third of it.
LEASE_SECONDS = 30.0


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


def new_owner() -> str:
    """A claim owner id: host, process id and a random part (unique per run)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def lease_seconds(value: float | None = None) -> float:
    """The claim lifetime: ``value``, else ``$ANNALIGN_LEASE_SECONDS``, else LEASE_SECONDS; InputError unless positive."""
    source = "lease_seconds"
    if value is None:
        text = os.environ.get("ANNALIGN_LEASE_SECONDS")
        if not text:
            return LEASE_SECONDS
        source = "ANNALIGN_LEASE_SECONDS"
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"{source} must be a positive number of seconds, not {text!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{source} must be a positive number of seconds, not {value!r}")
    return float(value)


class Ledger:
    """A WAL-mode SQLite file of request rows; one connection, used from the event-loop thread."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        where = f"ledger {str(self.path)!r}"
        if self.path.is_dir():
            raise InputError(f"{where} is a folder; give a file name (e.g. {self.path / 'ledger.sqlite'})")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{where}: cannot create its folder ({exc.strerror or exc})") from None
        try:
            self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise InputError(f"{where}: cannot open it ({exc})") from None
        try:
            self.schema_version = self._prepare(where)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if "not a database" in str(exc) or "malformed" in str(exc):
                raise InputError(f"{where} is not an annalign ledger (not an SQLite database: {exc})") from None
            raise InputError(f"{where}: cannot use it ({exc})") from None
        except InputError:
            self._db.close()
            raise

    def _prepare(self, where: str, patience: float = 30.0) -> int:
        """Switch to WAL and migrate, retrying while another process does the same on a new file.

        SQLite answers "database is locked" at once, without waiting on the busy timeout, when two
        connections race to turn a fresh file into WAL mode or to take its first write lock (it
        refuses rather than risk a deadlock), so the busy timeout alone does not cover it.
        """
        deadline, pause = time.monotonic() + patience, 0.01
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process kills; WAL keeps it fast
                return self._migrate(where)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.5)

    def _migrate(self, where: str) -> int:
        """Run the migrations this ledger lacks (in one transaction); refuse a newer or foreign ledger."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            version = 0
            if "meta" in tables:
                row = db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
                if row is not None:
                    try:
                        version = int(row[0])
                    except (TypeError, ValueError):
                        raise InputError(f"{where}: its schema_version {row[0]!r} is not a number; not an annalign ledger") from None
            elif "requests" in tables:
                version = 1  # written before meta existed: it must still have the version-1 columns
            if version > SCHEMA_VERSION:
                raise InputError(
                    f"{where} has schema version {version}, newer than this annalign ({__version__}) reads "
                    f"(up to {SCHEMA_VERSION}): upgrade annalign, or use another --ledger"
                )
            if "requests" in tables:
                have = {r[1] for r in db.execute("PRAGMA table_info(requests)")}
                missing = [c for c in COLUMNS if c not in have]
                if missing:
                    raise InputError(
                        f"{where} has a 'requests' table without column(s) {', '.join(missing[:5])}: "
                        "not an annalign ledger; use another --ledger"
                    )
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[number - 1].split(";"):
                    if statement.strip():
                        db.execute(statement)
            if version != SCHEMA_VERSION:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return SCHEMA_VERSION

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

    def record(self, row: Mapping[str, Any], owner: str | None = None) -> None:
        """Insert or replace one request row and commit it at once, releasing ``owner``'s claim on it."""
        values = dict(row)
        values.setdefault("created_at", time.time())
        for name in ("params", "answer_logprobs"):
            if values.get(name) is not None and not isinstance(values[name], str):
                values[name] = canonical(values[name])
        cols = ", ".join(COLUMNS)
        marks = ", ".join("?" * len(COLUMNS))
        with self._transaction():
            self._db.execute(f"INSERT OR REPLACE INTO requests ({cols}) VALUES ({marks})", [values.get(c) for c in COLUMNS])
            if owner is not None:
                self._db.execute("DELETE FROM claims WHERE key = ? AND owner = ?", (values["key"], owner))

    def claim(self, key: str, owner: str, lease: float, *, since: float) -> str:
        """Claim ``key`` for ``owner`` before sending it: 'claimed', 'done' (answered, or recorded since ``since``) or 'busy'.

        'busy' means another owner holds a live claim. One BEGIN IMMEDIATE transaction, so two
        runs cannot both get 'claimed' for one key while a claim is live.
        """
        with self._transaction():
            row = self._db.execute("SELECT status, created_at FROM requests WHERE key = ?", (key,)).fetchone()
            if row is not None and (row[0] == "ok" or (row[1] is not None and float(row[1]) >= since)):
                return "done"
            now = time.time()
            held = self._db.execute("SELECT owner, expires_at FROM claims WHERE key = ?", (key,)).fetchone()
            if held is not None and held[0] != owner and float(held[1]) > now:
                return "busy"
            self._db.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?)", (key, owner, now + lease, now))
            return "claimed"

    def held_by_others(self, keys: Iterable[str], owner: str) -> set[str]:
        """The keys among ``keys`` with a live claim of another owner (read only, no lock taken)."""
        keys, now, held = list(keys), time.time(), set()
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key FROM claims WHERE key IN ({marks}) AND owner != ? AND expires_at > ?"
            held.update(r[0] for r in self._db.execute(query, [*chunk, owner, now]))
        return held

    def release(self, owner: str) -> int:
        """Drop every claim of ``owner`` (at the end of a run, also an interrupted one); returns how many."""
        with self._transaction():
            return self._db.execute("DELETE FROM claims WHERE owner = ?", (owner,)).rowcount

    def claims(self) -> list[dict[str, Any]]:
        """Every claim (key, owner, expires_at, claimed_at), for audit and tests."""
        cols = ("key", "owner", "expires_at", "claimed_at")
        return [dict(zip(cols, r, strict=True)) for r in self._db.execute(f"SELECT {', '.join(cols)} FROM claims")]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def count(self, status: str | None = None) -> int:
        """Number of rows (optionally with one status)."""
        if status is None:
            return int(self._db.execute("SELECT COUNT(*) FROM requests").fetchone()[0])
        return int(self._db.execute("SELECT COUNT(*) FROM requests WHERE status = ?", (status,)).fetchone()[0])

    def rows(self) -> list[dict[str, Any]]:
        """Every row, for export and audit."""
        cols = ", ".join(COLUMNS)
        return [dict(zip(COLUMNS, r, strict=True)) for r in self._db.execute(f"SELECT {cols} FROM requests ORDER BY created_at")]


class LeaseKeeper:
    """A daemon thread that renews an owner's claims every third of the lease, on its own connection.

    A thread, not a task: a long request, or an event loop blocked by an in-process model, must not
    let the claims lapse while their owner is alive.
    """

    def __init__(self, path: str | Path, owner: str, lease: float):
        self.path, self.owner, self.lease = Path(path), owner, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="annalign-lease", daemon=True)

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        try:
            while not self._stop.wait(self.lease / 3):
                try:
                    db.execute("UPDATE claims SET expires_at = ? WHERE owner = ?", (time.time() + self.lease, self.owner))
                except sqlite3.Error as exc:  # a busy ledger: try again at the next beat
                    log.debug("lease renewal failed: %s", exc)
        finally:
            db.close()
