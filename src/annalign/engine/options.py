"""``AnnotateOptions``: every knob of an annotation run besides the data, model, template and ledger, checked once."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from annalign.engine.ledger import lease_seconds as check_lease
from annalign.errors import InputError


@dataclass(frozen=True)
class AnnotateOptions:
    """How ``annotate`` asks, which items it rates, how it sends and what it shows; InputError on a bad value.

    Asking: ``samples`` per item (averaged), ``temperature``, ``max_tokens``, ``top_logprobs``
    (None or 0: none), ``constrain`` ("auto" = the backend's default). Items: the first ``limit``
    of ``item_ids`` (default all). Sending: ``concurrency``, ``requests_per_minute``,
    ``tokens_per_minute``, ``max_attempts`` with exponential backoff (``backoff_base``,
    ``backoff_max``, a server's Retry-After up to ``max_retry_after``), ``timeout`` per request,
    ``retry_failed`` (re-send requests that failed in an earlier run), ``lease_seconds`` (claims
    other runs on the same ledger respect). Backend: ``api_key`` (never stored), ``base_url``,
    ``threads`` (in-process models), ``price`` (USD per million input/output tokens). Output:
    ``rater_name`` (instead of MODEL/TEMPLATE), ``progress`` bar.
    """

    samples: int = 1
    temperature: float = 0.0
    max_tokens: int = 16
    top_logprobs: int | None = 20
    constrain: str = "auto"
    limit: int | None = None
    item_ids: Sequence[str] | None = None
    concurrency: int = 8
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    max_attempts: int = 5
    timeout: float = 60.0
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    max_retry_after: float = 120.0
    retry_failed: bool = True
    lease_seconds: float | None = None
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    threads: int | None = None
    price: tuple[float, float] | None = None
    rater_name: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        _check_counts(self)
        object.__setattr__(self, "requests_per_minute", check_rate(self.requests_per_minute, "requests_per_minute (--rpm)"))
        object.__setattr__(self, "tokens_per_minute", check_rate(self.tokens_per_minute, "tokens_per_minute (--tpm)"))
        if self.lease_seconds is not None:
            check_lease(self.lease_seconds)
        if self.item_ids is not None:
            if isinstance(self.item_ids, str):
                raise InputError(f"item_ids must be a list of item ids, not the string {self.item_ids!r}")
            object.__setattr__(self, "item_ids", tuple(str(i) for i in self.item_ids))
        if self.price is not None:
            object.__setattr__(self, "price", _check_price(self.price))

    def but(self, **changes: Any) -> AnnotateOptions:
        """A copy with some fields changed (checked again)."""
        return replace(self, **changes)


def check_rate(value: Any, option: str) -> float | None:
    """A rate limit as given (None: no limit); InputError unless a positive finite number.

    The one rule for ``--rpm``/``--tpm`` and ``requests_per_minute``/``tokens_per_minute``; 0 is
    refused rather than read as "no limit" (leave the option out for that).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{option} must be a positive number (leave it out for no limit), not {value!r}")
    return float(value)


def _check_counts(o: AnnotateOptions) -> None:
    """InputError unless the counts, temperature and time limits are in range (named as the command line names them)."""
    if o.samples < 1:
        raise InputError(f"--samples must be at least 1, not {o.samples}")
    if o.concurrency < 1:
        raise InputError(f"--concurrency must be at least 1, not {o.concurrency}")
    if not 0.0 <= o.temperature <= 2.0:
        raise InputError(f"--temperature must be between 0 and 2, not {o.temperature}")
    if o.limit is not None and o.limit < 1:
        raise InputError(f"--limit must be at least 1, not {o.limit}")
    if o.threads is not None and o.threads < 1:
        raise InputError(f"--threads must be at least 1, not {o.threads}")
    if o.max_attempts < 1 or o.max_tokens < 1 or not o.timeout > 0 or not math.isfinite(o.timeout):
        raise InputError("max_attempts and max_tokens must be at least 1 and timeout positive")
    if o.top_logprobs is not None and o.top_logprobs < 0:
        raise InputError(f"--top-logprobs must be 0 or more, not {o.top_logprobs}")


def _check_price(price: Any) -> tuple[float, float]:
    """(input, output) USD per million tokens: two finite numbers of at least 0."""
    try:
        pin, pout = (float(v) for v in price)
    except (TypeError, ValueError):
        raise InputError(f"price must be (input, output) USD per million tokens, not {price!r}") from None
    if not (math.isfinite(pin) and math.isfinite(pout) and pin >= 0 and pout >= 0):
        raise InputError(f"price must be two finite numbers of at least 0, not {price!r}")
    return (pin, pout)
