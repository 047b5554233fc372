"""The small interface every backend implements, the model spec and the error types; it knows no concrete backend."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from annalign.errors import warn
from annalign.redaction import add_secret, redact


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
    """A chat model reachable by ``complete``; one instance per run.

    The capability fields are set by ``@register_backend`` (annalign.engine.backends.registry),
    the one place they are declared; the engine reads them from there, never from a table of its own.
    """

    spec: ModelSpec
    #: The provider name before the colon of a model spec ("openai" in openai:gpt-4o).
    name: str = ""
    #: True when a spec may name a server, ``PROVIDER:MODEL@URL``.
    accepts_base_url: bool = False
    #: Environment variable read for the base URL when none is given (e.g. OPENAI_BASE_URL).
    base_url_env: str | None = None
    #: True when complete() can return answer log-probabilities.
    supports_logprobs: bool = False
    #: Constraint modes this backend accepts (besides "none").
    constraints: tuple[str, ...] = ()
    #: The constraint used when the caller says "auto".
    default_constraint: str = "none"
    #: True when requests run one at a time (in-process models).
    serial: bool = False

    def __init__(self, spec: ModelSpec, *, api_key: str | None = None, n_threads: int | None = None):
        self.spec = spec
        self._secrets: list[str] = []

    @classmethod
    def check_spec(cls, spec: ModelSpec) -> None:
        """Raise InputError when this backend cannot serve ``spec`` (e.g. an unknown model name); cheap, no SDK."""
        return None

    @classmethod
    def price(cls, spec: ModelSpec) -> tuple[float, float]:
        """Estimated (input, output) USD per million tokens, for cost estimates only; 0 when unknown or free."""
        return (0.0, 0.0)

    @classmethod
    def ledger_params(cls, spec: ModelSpec) -> dict[str, Any]:
        """Settings outside the spec that decide the answers (e.g. the local weight type): part of every ledger key."""
        return {}

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


def price_from_table(table: dict[str, tuple[float, float]], name: str) -> tuple[float, float]:
    """The price of the longest table key that ``name`` starts with (model versions share a price); 0 when none."""
    best = max((k for k in table if name.startswith(k)), key=len, default=None)
    return table[best] if best else (0.0, 0.0)


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
