"""Anthropic Messages API through the official ``anthropic`` SDK (optional extra; no log-probabilities)."""

from __future__ import annotations

import inspect
import os
from typing import Any

from annalign.engine.backends.base import (
    Backend,
    BackendError,
    ChatRequest,
    Completion,
    ModelSpec,
    parse_retry_after,
    price_from_table,
    warn_userinfo,
)
from annalign.engine.backends.registry import register_backend
from annalign.errors import InputError
from annalign.redaction import add_url_secrets

#: Rough USD per million (input, output) tokens, for cost estimates only.
PRICES: dict[str, tuple[float, float]] = {
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-haiku-4": (1.00, 5.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-opus-4": (15.00, 75.00),
}


@register_backend("anthropic", accepts_base_url=True)
class AnthropicBackend(Backend):
    """Claude models; the runner does the retries, so the SDK's own are off."""

    def __init__(self, spec: ModelSpec, *, api_key: str | None = None, n_threads: int | None = None):
        super().__init__(spec)
        try:
            import anthropic
        except ImportError:
            raise InputError("anthropic: models need the anthropic SDK: pip install 'annalign[anthropic]'") from None
        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise InputError("anthropic: models need an API key: set ANTHROPIC_API_KEY")
        self.add_secrets(key)
        self._sdk = anthropic
        # A base URL (anthropic:MODEL@URL or ANTHROPIC_BASE_URL) reaches gateways, proxies and test servers.
        target = spec
        if spec.base_url is None and os.environ.get("ANTHROPIC_BASE_URL"):
            add_url_secrets(os.environ["ANTHROPIC_BASE_URL"])
            target = ModelSpec(spec.provider, spec.model, os.environ["ANTHROPIC_BASE_URL"])
        warn_userinfo(target)
        self._client = anthropic.AsyncAnthropic(
            api_key=key, base_url=target.sdk_url, default_query=target.query or None, max_retries=0, timeout=60.0
        )
        self._takes_temperature = "temperature" in inspect.signature(self._client.messages.create).parameters

    @classmethod
    def price(cls, spec: ModelSpec) -> tuple[float, float]:
        """Anthropic's list price (also through a gateway's base URL)."""
        return price_from_table(PRICES, spec.model)

    async def aclose(self) -> None:
        await self._client.close()

    async def complete(self, request: ChatRequest, *, timeout: float) -> Completion:
        """Send one message request; the system prompt goes in the system field."""
        sdk = self._sdk
        system = "\n\n".join(m["content"] for m in request.messages if m["role"] == "system")
        messages = [m for m in request.messages if m["role"] != "system"]
        kwargs: dict[str, Any] = {
            "model": self.spec.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "timeout": timeout,
        }
        # Recent SDK releases dropped ``temperature`` from create()'s signature; the API still
        # reads it from the body, so it travels there when the keyword is gone.
        if self._takes_temperature:
            kwargs["temperature"] = request.temperature
        else:
            kwargs["extra_body"] = {"temperature": request.temperature}
        if system:
            kwargs["system"] = system
        try:
            response = await self._client.messages.create(**kwargs)
        except sdk.APITimeoutError:
            raise BackendError(f"timeout after {timeout:g} s", transient=True) from None
        except sdk.APIConnectionError as exc:
            raise BackendError(f"connection error: {self.redact(str(exc))}", transient=True) from None
        except sdk.APIStatusError as exc:
            status = int(getattr(exc, "status_code", 0) or 0)
            reason = f"HTTP {status}: {self.redact(str(exc))}"[:300]
            retry_after = parse_retry_after(getattr(getattr(exc, "response", None), "headers", None))
            if status in (408, 409, 429, 529) or status >= 500:
                raise BackendError(reason, transient=True, retry_after=retry_after) from None
            raise BackendError(reason, transient=False, fatal=status in (401, 403, 404)) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise BackendError(f"malformed response: {type(exc).__name__}", transient=True) from None
        blocks = getattr(response, "content", None) or []
        text = "".join(getattr(b, "text", "") for b in blocks if getattr(b, "type", "") == "text")
        usage = getattr(response, "usage", None)
        return Completion(
            text=text,
            finish_reason=getattr(response, "stop_reason", None),
            prompt_tokens=int(getattr(usage, "input_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "output_tokens", 0) or 0),
        )
