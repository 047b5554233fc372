"""Exit codes and one-line messages of annotate: rate limits, failed requests, SIGTERM, warnings, crashes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from annalign.cli.commands import main
from annalign.engine import AnnotateOptions, annotate
from annalign.engine.spec import parse_model_spec
from annalign.errors import InputError

FAST = {"timeout": 2.0, "backoff_base": 0.02, "backoff_max": 0.1, "progress": False}
KEY = "sk-envKEY-0123456789-DO-NOT-LEAK"
USER, PASSWORD, QUERY = "userALICEnotshown", "pwSECRET-4711-DO-NOT-LEAK", "qkSECRET-0815-DO-NOT-LEAK"
PLANTED = (KEY, USER, PASSWORD, QUERY)


def _args(base_url: str, tmp_path: Path, *extra: str) -> list[str]:
    return ["annotate", "--dataset", "dices350", "--model", f"openai:fake@{base_url}", "--ledger", str(tmp_path / "l.sqlite"),
            "--out", str(tmp_path / "out.csv"), "--no-progress", *extra]  # fmt: skip


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PYTHONWARNINGS")}


@pytest.mark.parametrize(
    ("option", "value"), [("--rpm", "-5"), ("--tpm", "-100"), ("--rpm", "0"), ("--tpm", "0"), ("--rpm", "nan"), ("--tpm", "inf")]
)
def test_rate_limits_must_be_positive(option: str, value: str, fake_server, tmp_path: Path, capsys) -> None:
    server = fake_server().start()
    started = time.monotonic()
    code = main(_args(server.base_url, tmp_path, "--limit", "3", option, value))
    err = capsys.readouterr().err
    assert code == 2 and time.monotonic() - started < 30, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"annalign: error: {option} must be a positive number"), err
    assert server.log == []


def test_rate_limits_same_rule_from_python(dices, fake_server, tmp_path: Path) -> None:
    server = fake_server().start()
    model = f"openai:fake@{server.base_url}"
    for name in ("requests_per_minute", "tokens_per_minute"):
        for bad in (0, -5, float("nan"), True, "60"):
            with pytest.raises(InputError, match=f"^{name} .* must be a positive number"):
                annotate(dices, model, ledger=tmp_path / "l.sqlite", options=AnnotateOptions(limit=3, **{name: bad}, **FAST))
    frame = annotate(dices, model, ledger=tmp_path / "l.sqlite", options=AnnotateOptions(limit=3, requests_per_minute=6000, tokens_per_minute=1e7, **FAST))
    assert (frame["status"] == "ok").all() and len(server.log) == 3


def test_failed_requests_exit_3_and_the_file_is_written(fake_server, tmp_path: Path, capsys) -> None:
    doomed: list[str] = []

    def plan(digest: str, attempt: int) -> str | None:
        if not doomed:
            doomed.append(digest)
        return "500" if digest in doomed else None

    server = fake_server(faults=plan).start()
    code = main(_args(server.base_url, tmp_path, "--limit", "6", "--max-attempts", "2"))
    captured = capsys.readouterr()
    assert code == 3, captured.err
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("annalign: 1 of 6 ratings have failed requests") and "run the same command again" in last
    assert "Traceback" not in captured.err and "failed: item" in captured.err
    frame = pd.read_csv(tmp_path / "out.csv")
    assert len(frame) == 6 and (frame["status"] == "failed").sum() == 1
    server.faults = None
    assert main(_args(server.base_url, tmp_path, "--limit", "6")) == 0  # the re-run retries it and succeeds


def test_sigterm_exits_143_with_one_line_and_the_ledger_intact(fake_server, tmp_path: Path) -> None:
    server = fake_server(latency=0.08).start()
    ledger = tmp_path / "l.sqlite"
    command = [sys.executable, "-m", "annalign.cli.commands", *_args(server.base_url, tmp_path, "--limit", "48", "--concurrency", "4")]
    proc = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def committed() -> set[str]:
        try:
            with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True) as db:
                return {r[0] for r in db.execute("SELECT prompt_hash FROM requests WHERE status = 'ok'")}
        except sqlite3.OperationalError:  # not created yet
            return set()

    deadline = time.time() + 60
    while len(committed()) < 8 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.strip().splitlines() == ["annalign: terminated (SIGTERM); everything finished so far is saved"], err
    with sqlite3.connect(ledger) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM claims").fetchone() == (0,)  # released on the way out
    done = committed()
    assert 8 <= len(done) < 48
    sent_before = len(server.log)
    again = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert not [e for e in server.log[sent_before:] if e["hash"] in done]  # nothing answered is sent again
    assert len(committed()) == 48


def test_warnings_are_one_cli_line_without_source_paths(fake_server, tmp_path: Path) -> None:
    server = fake_server().start()
    command = [sys.executable, "-m", "annalign.cli.commands", *_args(server.base_url, tmp_path, "--limit", "3", "--samples", "2")]
    proc = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines() == ["warning: 2 samples at temperature 0 will be (nearly) identical; set --temperature above 0"]
    # the same through python -m annalign.engine
    proc = subprocess.run([sys.executable, "-m", "annalign.engine", *command[4:]], env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr.startswith("warning: 2 samples") and ".py:" not in proc.stderr, proc.stderr


def test_retry_after_cap_is_a_warning(dices, fake_server, tmp_path: Path) -> None:
    server = fake_server(faults=lambda digest, attempt: "429" if attempt == 1 else None, retry_after="30").start()
    with pytest.warns(UserWarning, match="asked to wait 30 s before retrying .*waits at most 0.5 s"):
        frame = annotate(dices, f"openai:fake@{server.base_url}", ledger=tmp_path / "l.sqlite", options=AnnotateOptions(limit=2, max_retry_after=0.5, **FAST))
    assert (frame["status"] == "ok").all()
    times: dict[str, list[float]] = {}
    for entry in server.log:
        times.setdefault(entry["hash"], []).append(entry["t_recv"])
    assert all(0.45 <= t[1] - t[0] < 5 for t in times.values())


def test_crash_log_holds_the_traceback_without_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import click

    from annalign.cli.exits import invoke

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("ANNALIGN_LOG_DIR", str(tmp_path / "logs"))

    @click.command()
    def broken() -> None:
        parse_model_spec(f"openai:m@http://{USER}:{PASSWORD}@h/v1?k={QUERY}")  # registers the URL's secrets
        raise RuntimeError(f"unexpected: {KEY} at http://{USER}:{PASSWORD}@h/v1?k={QUERY} and {PASSWORD}\nsecond line")

    monkeypatch.setattr(sys, "argv", ["annalign", "annotate", "--api-key", "plain-key-no-shape-42", "--api-key=other-plain-key-43"])
    code = invoke(broken, [], "annalign")
    err = capsys.readouterr().err
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("annalign: internal error: RuntimeError: unexpected:"), err
    logs = list((tmp_path / "logs").glob("annalign-crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in lines[0]
    text = logs[0].read_text()
    assert "Traceback" in text and "RuntimeError" in text and "second line" in text and "http://h/v1" in text
    assert oct(logs[0].stat().st_mode & 0o777) == "0o600"
    assert "command: annalign annotate --api-key *** --api-key=***" in text
    for secret in (*PLANTED, "plain-key-no-shape-42", "other-plain-key-43"):
        assert secret not in text and secret not in err


