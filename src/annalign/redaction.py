"""Secrets never leave the process: the one redaction every writer uses (files, names, stderr, logs).

``redact(value)`` takes a text (or a dict, list or tuple of them, recursively) and

* removes the user info (``user:password@``), the query and the fragment of every URL in it;
* replaces every known secret of 6 or more characters with ``***``: the values of
  ``OPENAI_API_KEY`` and ``ANTHROPIC_API_KEY``, keys given with ``--api-key`` and the password
  and query values of every base URL parsed in this process (registered with :func:`add_secret`
  and :func:`add_url_secrets`; a user name is an identifier, removed from URLs but not as a word);
* replaces anything shaped like an OpenAI or Anthropic key (``sk-`` and 16 or more characters).

It is idempotent, and texts without secrets come back unchanged. :func:`redact_log_records`
makes every log record of the process pass through it (the HTTP libraries log request URLs,
queries included); the engine installs it when it creates a backend.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote

#: Environment variables whose values are API keys.
KEY_ENV_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
#: Shorter values are not replaced as plain text (they would mangle ordinary words); URLs still are.
MIN_SECRET = 6
MASK = "***"

_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^\s'\"<>`]*)")
_KEY_SHAPE = re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}")
_secrets: set[str] = set()

T = TypeVar("T")


def add_secret(value: str | None) -> None:
    """Register a secret (an API key, a password) so that every later ``redact`` removes it."""
    if value and len(value) >= MIN_SECRET:
        _secrets.add(value)
        decoded = unquote(value)
        if len(decoded) >= MIN_SECRET:
            _secrets.add(decoded)


def add_url_secrets(url: str | None) -> None:
    """Register the password (and whole user info) and the query values of a URL as secrets."""
    if not url or "://" not in url:
        return
    rest = url.split("://", 1)[1]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        userinfo = authority.rpartition("@")[0]
        add_secret(userinfo.partition(":")[2])
        add_secret(userinfo)
    if "?" in rest:
        query = rest.split("?", 1)[1].split("#", 1)[0]
        for _, value in parse_qsl(query, keep_blank_values=False):
            add_secret(value)
        for part in query.split("&"):
            add_secret(part.partition("=")[2])


def _strip_url(match: re.Match[str]) -> str:
    scheme, rest = match.group(1), match.group(2)
    cut = re.search(r"[?#]", rest)
    if cut:
        rest = rest[: cut.start()]
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = authority.rpartition("@")[2]
    return f"{scheme}{authority}{slash}{path}"


def _known_secrets() -> list[str]:
    found = set(_secrets)
    for name in KEY_ENV_VARS:
        value = os.environ.get(name)
        if value and len(value) >= MIN_SECRET:
            found.add(value)
    return sorted(found, key=len, reverse=True)  # longest first: a secret inside another goes too


def redact_text(text: str, secrets: list[str] | None = None) -> str:
    """One text with URL credentials, queries and every known secret removed (``secrets``: ``_known_secrets()``, looked up once per call of ``redact``)."""
    for secret in _known_secrets() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    if "://" in text:
        text = _URL.sub(_strip_url, text)
    if "sk-" in text:
        text = _KEY_SHAPE.sub(MASK, text)
    return text


def redact(value: T) -> T:
    """``value`` with secrets removed from every text in it (dict keys and values, list items)."""
    if isinstance(value, str):
        return redact_text(value)  # type: ignore[return-value]
    return _redact(value, _known_secrets())  # type: ignore[no-any-return]


def _redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {_redact(k, secrets): _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, secrets) for v in value]
    if isinstance(value, tuple):
        return tuple(_redact(v, secrets) for v in value)
    return value


def redact_frame(frame: Any) -> Any:
    """A pandas DataFrame with its text cells, column names and index labels redacted (a copy)."""
    from pandas.api.types import is_string_dtype  # pandas is loaded already: the frame is one

    out = frame.copy()
    secrets = _known_secrets()
    for column in out.columns:
        if is_string_dtype(out[column].dtype):  # object and pandas 3's str columns alike
            out[column] = [redact_text(v, secrets) if isinstance(v, str) else v for v in out[column]]
    out.columns = [redact_text(c, secrets) if isinstance(c, str) else c for c in out.columns]
    return out


_factory_installed = False


def redact_log_records() -> None:
    """Redact the message of every log record created from now on in this process (installed once)."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is the logging module's to report
            return record
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True
