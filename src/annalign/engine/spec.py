"""``PROVIDER:MODEL[@BASE_URL]`` strings parsed into a ModelSpec, checked against what the provider's backend accepts."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from annalign.engine.backends.base import ModelSpec
from annalign.engine.backends.registry import backend_names, find_backend, registered_backends
from annalign.errors import InputError
from annalign.redaction import add_url_secrets, redact

#: The model annotate uses when none is given: offline, in-process, no key needed.
DEFAULT_MODEL = "local:smollm2-135m"
EXAMPLES = "for example openai:gpt-4o-mini, openai:NAME@http://127.0.0.1:8000/v1, local:smollm2-135m, fake:hash"


def parse_model_spec(spec: str, *, base_url: str | None = None) -> ModelSpec:
    """Parse ``openai:gpt-4o``, ``openai:NAME@http://host:port/v1``, ``anthropic:NAME``, ``local:smollm2-135m``, ``fake:hash``.

    The provider names a registered backend; ``@URL`` (or ``base_url``) is taken only where that
    backend accepts a base URL, and the backend checks the model name. No SDK is imported.
    """
    text = (spec or "").strip()
    if "@" in text:
        add_url_secrets(text.partition("@")[2].strip())
    add_url_secrets(base_url)
    shown = redact(spec)  # error messages below show the spec without its credentials
    provider, sep, rest = text.partition(":")
    provider = provider.strip().lower()
    cls = find_backend(provider) if sep and provider and rest.strip() else None
    if cls is None:
        raise InputError(f"model {shown!r} is not PROVIDER:MODEL with PROVIDER one of {', '.join(backend_names())} ({EXAMPLES})")
    model, at, url = rest.partition("@")
    model = model.strip()
    if at:
        if not cls.accepts_base_url:
            raise InputError(f"model {shown!r}: {provider}: models take no @BASE_URL (those that do: {_url_takers()})")
        if not url.strip().lower().startswith(("http://", "https://")):
            raise InputError(f"model {shown!r}: the base URL after @ must start with http:// or https://")
        base_url = url.strip()
    elif base_url is not None and not cls.accepts_base_url:
        raise InputError(f"base URL {redact(base_url)!r}: {provider}: models take none (those that do: {_url_takers()})")
    if base_url is None and cls.base_url_env:
        base_url = os.environ.get(cls.base_url_env) or None
        add_url_secrets(base_url)
    if base_url is not None:
        check_url(base_url)
    if not model:
        raise InputError(f"model {shown!r} has no model name")
    parsed = ModelSpec(provider=provider, model=model, base_url=base_url)
    cls.check_spec(parsed)
    return parsed


def _url_takers() -> str:
    """The providers whose backends accept a base URL, for error messages."""
    return ", ".join(f"{name}:" for name, cls in registered_backends().items() if cls.accepts_base_url) or "none"


def check_url(url: str) -> None:
    """InputError unless ``url`` is an http(s) URL with a host and a valid port."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise InputError(f"base URL {redact(url)!r} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not port_ok:
        raise InputError(f"base URL {redact(url)!r} must be http(s)://HOST[:PORT]/PATH")

