"""Ledger schema migrations, and one-line errors for ledgers this code cannot use."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from annalign.cli.commands import main
from annalign.engine import AnnotateOptions, annotate
from annalign.engine.ledger import COLUMNS, MIGRATIONS, SCHEMA_VERSION, Ledger

FAST = {"timeout": 2.0, "backoff_base": 0.02, "backoff_max": 0.1, "progress": False}

#: The schema annalign 0.1.0 wrote (version 1: no claims table), verbatim.
V1_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS requests (
    key TEXT PRIMARY KEY,
    {", ".join(COLUMNS[1:])}
);
CREATE INDEX IF NOT EXISTS requests_by_model ON requests (provider, model, template_hash);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
INSERT OR IGNORE INTO meta VALUES ('schema_version', '1');
"""


def test_a_version_1_ledger_is_migrated_and_its_answers_are_used(dices, fake_server, tmp_path: Path) -> None:
    server = fake_server().start()
    model = f"openai:fake@{server.base_url}"
    reference = tmp_path / "new.sqlite"
    annotate(dices, model, ledger=reference, options=AnnotateOptions(limit=5, **FAST))
    with sqlite3.connect(reference) as db:
        rows = list(db.execute(f"SELECT {', '.join(COLUMNS)} FROM requests"))
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as db:
        db.executescript(V1_SCHEMA)
        db.executemany(f"INSERT INTO requests VALUES ({', '.join('?' * len(COLUMNS))})", rows)
    sent = len(server.log)
    frame = annotate(dices, model, ledger=old, options=AnnotateOptions(limit=5, **FAST))
    assert len(server.log) == sent and (frame["status"] == "ok").all()  # every answer came from the old ledger
    with sqlite3.connect(old) as db:
        assert db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        assert {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} >= {"requests", "meta", "claims"}
        assert db.execute("SELECT COUNT(*) FROM requests").fetchone() == (5,)
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 2
    with Ledger(old) as ledger:  # opening again runs nothing
        assert ledger.schema_version == SCHEMA_VERSION


def _newer(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(V1_SCHEMA)
        db.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(SCHEMA_VERSION + 7),))


def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE requests (key TEXT PRIMARY KEY, payload TEXT)")


LEDGERS = {
    "newer": (_newer, f"has schema version {SCHEMA_VERSION + 7}, newer than this annalign"),
    "not_sqlite": (lambda p: p.write_text("item_id,score\n1,2\n"), "is not an annalign ledger (not an SQLite database"),
    "foreign_table": (_foreign, "has a 'requests' table without column(s) provider"),
    "a_folder": (lambda p: p.mkdir(), "is a folder"),
    "under_a_file": (None, "cannot create its folder"),
}


@pytest.mark.parametrize("case", sorted(LEDGERS))
def test_unusable_ledgers_get_one_line_errors(case: str, tmp_path: Path, capsys) -> None:
    make, message = LEDGERS[case]
    path = tmp_path / "ledger.sqlite"
    if make is None:
        (tmp_path / "file").write_text("x")
        path = tmp_path / "file" / "ledger.sqlite"
    else:
        make(path)
    code = main(["annotate", "--dataset", "dices350", "--model", "openai:fake@http://127.0.0.1:9/v1", "--limit", "3",
                 "--ledger", str(path), "--out", str(tmp_path / "out.csv"), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("annalign: error: ledger "), err
    assert message in lines[0]
    assert "Traceback" not in err
