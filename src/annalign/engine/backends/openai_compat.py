"""OpenAI-compatible chat completions (OpenAI, vLLM, SGLang, Ollama, llama.cpp server, TGI ...)."""

from __future__ import annotations

import json
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
from annalign.engine.parsing import answer_logprobs, answer_position
from annalign.errors import InputError

#: Placeholder key for local servers that need none (never a real secret).
NO_KEY = "sk-no-key-needed"

#: Rough USD per million (input, output) tokens of OpenAI's own models, for cost estimates only.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
}


def gbnf_choice(answers: tuple[str, ...]) -> str:
    """A llama.cpp GBNF grammar that allows exactly one of the answers."""
    return "root ::= " + " | ".join(json.dumps(a) for a in answers)


def json_schema(request: ChatRequest) -> dict[str, Any]:
    """OpenAI structured-output schema {"rating": one of the answers}."""
    if request.kind == "likert" and all(a.isdigit() for a in request.answers):
        prop: dict[str, Any] = {"type": "integer", "enum": [int(a) for a in request.answers]}
    else:
        prop = {"type": "string", "enum": list(request.answers)}
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "rating",
            "strict": True,
            "schema": {"type": "object", "properties": {"rating": prop}, "required": ["rating"], "additionalProperties": False},
        },
    }


@register_backend(
    "openai",
    accepts_base_url=True,
    base_url_env="OPENAI_BASE_URL",
    constraints=("grammar", "guided_choice", "json_schema"),
    supports_logprobs=True,
)
class OpenAIBackend(Backend):
    """Chat completions through the official ``openai`` SDK, its own retries off (the runner retries)."""

    def __init__(self, spec: ModelSpec, *, api_key: str | None = None, n_threads: int | None = None):
        super().__init__(spec)
        import openai

        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if spec.base_url is None:
                raise InputError("openai: models need an API key: set OPENAI_API_KEY (or give a base URL of a local server)")
            key = NO_KEY
        if key != NO_KEY:
            self.add_secrets(key)
        warn_userinfo(spec)
        self._openai = openai
        self._client = openai.AsyncOpenAI(
            api_key=key, base_url=spec.sdk_url, default_query=spec.query or None, max_retries=0, timeout=60.0
        )
        self.logprobs_enabled = True
        from openai.types.chat import ChatCompletion

        self._completion_type = ChatCompletion

    @classmethod
    def price(cls, spec: ModelSpec) -> tuple[float, float]:
        """OpenAI's list price; 0 for a custom endpoint (a local or self-hosted server)."""
        return (0.0, 0.0) if spec.base_url else price_from_table(PRICES, spec.model)

    async def aclose(self) -> None:
        await self._client.close()

    async def complete(self, request: ChatRequest, *, timeout: float) -> Completion:
        """Send one chat completion and extract the answer's log-probabilities."""
        oa = self._openai
        body: dict[str, Any] = {
            "model": self.spec.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.top_logprobs and self.logprobs_enabled:
            body["logprobs"] = True
            body["top_logprobs"] = request.top_logprobs
        if request.constrain == "grammar":
            body["grammar"] = gbnf_choice(request.answers)
            # llama.cpp's server (the one family that takes a GBNF grammar) keeps the evaluated
            # prompt of a slot for the next request; the runner sends items of one template in
            # sequence, so the template's instructions are not evaluated again.
            body["cache_prompt"] = True
        elif request.constrain == "guided_choice":
            body["guided_choice"] = list(request.answers)
        elif request.constrain == "json_schema":
            body["response_format"] = json_schema(request)
        try:
            # The client's generic post() with a plain JSON body: the same HTTP stack, auth and
            # error types as chat.completions.create, without its per-request TypedDict transform
            # (about 4 ms of CPU per request, which capped throughput at high concurrency).
            response = await self._client.post(
                "/chat/completions", body=body, cast_to=self._completion_type, options={"timeout": timeout}
            )
        except oa.APITimeoutError:
            raise BackendError(f"timeout after {timeout:g} s", transient=True) from None
        except oa.APIConnectionError as exc:
            raise BackendError(f"connection error: {self._why(exc)}", transient=True) from None
        except oa.APIStatusError as exc:
            raise self._status_error(exc) from None
        except oa.APIResponseValidationError as exc:
            raise BackendError(f"invalid response body: {self._why(exc)}", transient=True) from None
        except (ValueError, TypeError, KeyError) as exc:  # malformed or truncated JSON bodies
            raise BackendError(f"malformed response: {type(exc).__name__}: {self._why(exc)}", transient=True) from None
        return self._completion(response, request.answers)

    def _why(self, exc: BaseException) -> str:
        """A short, redacted one-line description of an exception."""
        text = str(exc).replace("\n", " ")
        cause = exc.__cause__ or exc.__context__
        if cause is not None and str(cause) and str(cause) not in text:
            text += f" ({type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''})"
        return (self.redact(text) or "")[:300]

    def _status_error(self, exc: Any) -> BackendError:
        """Map an HTTP status error to a transient, permanent or fatal BackendError."""
        status = int(getattr(exc, "status_code", 0) or 0)
        retry_after = parse_retry_after(getattr(getattr(exc, "response", None), "headers", None))
        message = (self.redact(str(exc).replace("\n", " ")) or "")[:300]
        reason = f"HTTP {status}: {message}"
        if status in (408, 409, 425, 429) or status >= 500:
            return BackendError(reason, transient=True, retry_after=retry_after)
        if status in (401, 403):
            return BackendError(f"{reason} (check the API key)", transient=False, fatal=True)
        if status == 404:
            return BackendError(f"{reason} (check the model name and base URL)", transient=False, fatal=True)
        if status == 400 and "logprob" in message.lower() and self.logprobs_enabled:
            self.logprobs_enabled = False  # the server rejects logprobs: retry without them
            return BackendError(f"{reason} (retrying without logprobs)", transient=True, retry_after=0.0)
        return BackendError(reason, transient=False)

    def _completion(self, response: Any, answers: tuple[str, ...]) -> Completion:
        """Turn an SDK response into a Completion, rejecting empty or malformed ones."""
        choices = getattr(response, "choices", None)
        if not choices:
            raise BackendError("empty choices in the response", transient=True)
        choice = choices[0]
        message = getattr(choice, "message", None)
        if message is None:
            raise BackendError("response choice has no message", transient=True)
        text = message.content
        if text is None:
            refusal = getattr(message, "refusal", None)
            text = f"[refusal] {refusal}" if refusal else ""
        usage = getattr(response, "usage", None)
        lp = None
        logprobs = getattr(choice, "logprobs", None)
        content = getattr(logprobs, "content", None) if logprobs is not None else None
        if content and answers:
            pos = answer_position([t.token for t in content])
            if pos is not None:
                entry = content[pos]
                top = [(t.token, t.logprob) for t in (entry.top_logprobs or [])]
                if not top:
                    top = [(entry.token, entry.logprob)]
                lp = answer_logprobs(top, answers)
        return Completion(
            text=text,
            answer_logprobs=lp,
            finish_reason=getattr(choice, "finish_reason", None),
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        )

