"""Secrets planted in the API key variable, a base URL's user info and its query never reach a file or the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from annalign.engine.spec import parse_model_spec
from annalign.redaction import add_secret, redact, redact_text

KEY = "sk-envKEY-0123456789-DO-NOT-LEAK"
USER = "userALICEnotshown"
PASSWORD = "pwSECRET-4711-DO-NOT-LEAK"
QUERY = "qkSECRET-0815-DO-NOT-LEAK"
PLANTED = (KEY, USER, PASSWORD, QUERY)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "ANTHROPIC_API_KEY")}
    env.update({"OPENAI_API_KEY": KEY, "ANNALIGN_LOG_DIR": str(tmp_path / "logs"), "XDG_CACHE_HOME": str(tmp_path / "cache")})
    return env


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "annalign.cli.commands", *args], env=env, capture_output=True, text=True, timeout=300)


def test_run_annotate_analyze_and_report_never_write_or_print_a_secret(fake_server, tmp_path: Path) -> None:
    server = fake_server().start()
    spec = f"openai:fake@http://{USER}:{PASSWORD}@127.0.0.1:{server.port}/v1?api_key={QUERY}"
    env = _env(tmp_path)
    config = tmp_path / "run.toml"
    config.write_text(f'models = ["{spec}"]\nbootstrap = 10\nlimit = 8\n', "utf-8")
    run = _cli(["run", "--config", str(config), "--out", str(tmp_path / "run")], env)
    assert run.returncode == 0, run.stderr
    annotate = _cli(["annotate", "--dataset", "dices350", "--model", spec, "--limit", "8", "--no-progress",
                     "--ledger", str(tmp_path / "ledger.sqlite"), "--out", str(tmp_path / "ann" / "judge.csv")], env)  # fmt: skip
    assert annotate.returncode == 0, annotate.stderr
    analyze = _cli(["analyze", "--ratings", str(tmp_path / "ann" / "judge.csv"), "--bootstrap", "10", "--out", str(tmp_path / "an")], env)
    assert analyze.returncode == 0, analyze.stderr
    outputs = [run.stdout, run.stderr, annotate.stdout, annotate.stderr, analyze.stdout, analyze.stderr]

    # The secrets did their job: the key as a bearer token, the query on every request, no Basic auth.
    assert server.auth_headers == {f"Bearer {KEY}"}
    assert "the user name and password in the base URL are not sent" in annotate.stderr
    assert {e["query"] for e in server.log} == {f"api_key={QUERY}"}
    assert len(server.log) == 16  # run and annotate each have their own ledger

    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != config]
    names = {p.name for p in written}
    assert {"settings.json", "config.toml", "results.json", "report.html", "report.md", "judge.csv"} <= names
    assert any(p.parent.name == "annotations" for p in written)
    assert "ledger.sqlite" in names
    for secret in PLANTED:
        for path in written:
            assert secret.encode() not in path.read_bytes(), (secret, path)
            assert secret not in str(path), (secret, path)
        for text in outputs:
            assert secret not in text, secret
    assert "127.0.0.1" in (tmp_path / "run" / "settings.json").read_text()  # the endpoint itself is kept


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("openai:x@http://u:p@host:8000/v1?api_key=K#frag", "openai:x@http://host:8000/v1"),
        ("see https://user@example.org/a/b?token=abc.", "see https://example.org/a/b"),
        ("http://p@ss:w@rd@h/v1", "http://h/v1"),
        ('models = ["openai:x@http://u:pw@h/v1?k=v"]', 'models = ["openai:x@http://h/v1"]'),
        ("Bearer sk-abcdefghijklmnopqrstuvwx", "Bearer ***"),
        ("no secrets: USER: hello, http://localhost:8000/v1", "no secrets: USER: hello, http://localhost:8000/v1"),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected
    assert redact_text(expected) == expected  # idempotent


def test_redact_walks_containers_and_knows_registered_secrets() -> None:
    add_secret("registered-secret-value")
    value = {"a": ["x registered-secret-value y", ("http://u:p@h/v1?q=1",)], "registered-secret-value": 3}
    assert redact(value) == {"a": ["x *** y", ("http://h/v1",)], "***": 3}
    add_secret("abc")  # too short to replace as plain text (it would mangle words)
    assert redact_text("abcdef") == "abcdef"


def test_the_sdk_gets_no_user_info_and_bad_urls_are_one_line_errors() -> None:
    spec = parse_model_spec(f"openai:m@http://{USER}:{PASSWORD}@127.0.0.1:8000/v1?api_key={QUERY}")
    assert spec.sdk_url == "http://127.0.0.1:8000/v1" and spec.query == {"api_key": QUERY} and spec.has_userinfo
    assert str(spec) == "openai:m@http://127.0.0.1:8000/v1"
    from annalign.errors import InputError

    with pytest.raises(InputError, match="is not a valid URL") as info:
        parse_model_spec(f"openai:m@http://{USER}:{PASSWORD}@host:99999/v1")
    assert PASSWORD not in str(info.value) and USER not in str(info.value)
    with pytest.raises(InputError, match="the base URL after @ must start with http") as info:
        parse_model_spec(f"openai:m@ftp://{USER}:{PASSWORD}@host/v1")
    assert PASSWORD not in str(info.value)


def test_log_lines_of_the_http_stack_carry_no_secret(dices, fake_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    import logging

    from annalign.engine import AnnotateOptions, annotate

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    server = fake_server(faults=lambda digest, attempt: "500" if attempt == 1 else None).start()
    spec = f"openai:fake@http://{USER}:{PASSWORD}@127.0.0.1:{server.port}/v1?api_key={QUERY}"
    frame = annotate(dices, spec, ledger=tmp_path / "l.sqlite", options=AnnotateOptions(limit=3, timeout=2.0, backoff_base=0.01, progress=False))
    assert (frame["status"] == "ok").all() and {e["query"] for e in server.log} == {f"api_key={QUERY}"}
    assert "127.0.0.1" in caplog.text and "retry 1 of item" in caplog.text  # the HTTP stack and the runner did log
    for secret in PLANTED:
        assert secret not in caplog.text, secret


def test_redact_frame_covers_pandas_str_columns_as_well_as_object_ones():
    """pandas 3 stores text as its str dtype: those cells reached the CSV files unredacted."""
    import pandas as pd

    from annalign.redaction import add_secret, redact_frame

    secret = "sk-test-redact-frame-0123456789"
    add_secret(secret)
    frame = pd.DataFrame({"text": pd.array([f"key {secret}", "fine"], dtype="str"), "obj": pd.Series([secret, 1], dtype=object)})
    out = redact_frame(frame)
    assert secret not in out.to_csv()
    assert out["text"].iloc[1] == "fine" and out["obj"].iloc[1] == 1
