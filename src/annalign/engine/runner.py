"""Asyncio orchestration: build requests, skip what the ledger has, send the rest with limits and retries.

Each finished request (answered or finally failed) is committed to the ledger before the next one
is taken, so an interrupted run loses at most the requests in flight.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from annalign.engine.backends.base import Backend, BackendError, ChatRequest, Completion, ModelSpec
from annalign.engine.backends.registry import (
    price_of as price_of,  # the cost estimate before a run (pipeline)
)
from annalign.engine.ledger import (
    LeaseKeeper,
    Ledger,
    item_hash,
    lease_seconds,
    messages_hash,
    new_owner,
    request_key,
    sha256,
)
from annalign.engine.parsing import expected_score, parse_answer
from annalign.engine.prompts import Template
from annalign.errors import InputError, warn

log = logging.getLogger("annalign.engine")

@dataclass
class Job:
    """One request to make: an item, persona and sample index, with its ledger key."""

    key: str
    item_id: str
    item_hash: str
    persona: str | None
    sample: int
    request: ChatRequest
    prompt_hash: str
    identity: dict[str, Any]

    @property
    def est_tokens(self) -> int:
        """Rough token estimate for the tokens-per-minute limit (4 characters per token)."""
        return sum(len(m["content"]) for m in self.request.messages) // 4 + self.request.max_tokens


@dataclass
class RunStats:
    """Counts and totals of one run, reported at the end and attached to the result frame."""

    total: int = 0
    cached: int = 0
    sent: int = 0
    ok: int = 0
    unparsed: int = 0
    failed: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    by_other_runs: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["failures"] = [list(f) for f in self.failures[:50]]
        return d


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


class RateLimiter:
    """A token bucket refilled continuously at ``per_minute``/60 per second (5 s of burst)."""

    def __init__(self, per_minute: float):
        per_minute = check_rate(per_minute, "rate limit")  # a rate <= 0 would wait forever
        assert per_minute is not None
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * 5.0)
        self.level = self.capacity
        self.stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    async def acquire(self, amount: float = 1.0) -> None:
        """Wait until ``amount`` (clipped to the capacity) is available, then take it."""
        amount = min(float(amount), self.capacity)
        async with self._lock:
            while True:
                self._refill()
                if self.level >= amount:
                    self.level -= amount
                    return
                await asyncio.sleep((amount - self.level) / self.rate)

    def adjust(self, delta: float) -> None:
        """Take (or give back) the difference between estimated and actual use."""
        self._refill()
        self.level -= delta


def build_jobs(
    items: Any,
    template: Template,
    spec: ModelSpec,
    *,
    personas: Sequence[str | None],
    samples: int,
    params: dict[str, Any],
) -> list[Job]:
    """One job per (item, persona, sample); identical items share a key and are sent once.

    Jobs run item by item, each item's personas and samples together: consecutive prompts then
    share the longest prefix (the template's instructions and the conversation), which a model
    server's prompt cache and the in-process backend reuse instead of evaluating it again.
    """
    jobs: list[Job] = []
    seen: set[str] = set()
    answers = tuple(a for a, _ in template.answers)
    ids = items.index.astype(str).tolist()
    contexts = items["context"].fillna("").astype(str).tolist()
    responses = items["response"].fillna("").astype(str).tolist()
    for item_id, context, response in zip(ids, contexts, responses, strict=True):
        for persona in personas:
            ihash = item_hash(context, response)
            messages = template.render(context, response, persona)
            phash = messages_hash(messages)
            for sample in range(samples):
                identity = {
                    "v": 1,
                    "provider": spec.provider,
                    "endpoint": spec.endpoint,
                    "model": spec.model,
                    "template_hash": template.sha256,
                    "item_hash": ihash,
                    "persona": persona,
                    "params": params,
                    "sample": sample,
                }
                key = request_key(identity)
                seed = None
                if params["temperature"] > 0:
                    seed = int(sha256(f"{ihash}:{persona}:{sample}")[:8], 16) % (2**31)
                request = ChatRequest(
                    messages=messages,
                    answers=answers,
                    kind=template.kind,
                    max_tokens=params["max_tokens"],
                    temperature=params["temperature"],
                    seed=seed,
                    top_logprobs=params["top_logprobs"],
                    constrain=params["constrain"],
                )
                job = Job(key, item_id, ihash, persona, sample, request, phash, identity)
                if key not in seen:
                    seen.add(key)
                    jobs.append(job)
    return jobs


def result_row(job: Job, template: Template, backend: Backend, completion: Completion, latency: float, attempts: int) -> dict[str, Any]:
    """The ledger row of an answered request: raw output, parse status and score."""
    answers = [a for a, _ in template.answers]
    raw = backend.redact(completion.text) or ""
    parsed = parse_answer(raw, answers)
    score = argmax = mass = None
    method = None
    values = template.answer_values
    lps = expected_score(completion.answer_logprobs, values) if completion.answer_logprobs else None
    if lps is not None:
        argmax, mass = lps.argmax, lps.mass
    if parsed.ok:
        if lps is not None:
            score, method = lps.score, "logprobs"
        else:
            score, method, argmax = values[parsed.answer], "answer", parsed.answer
    return {
        **_identity_columns(job, template, backend.spec),
        "status": "ok",
        "reason": None if parsed.ok else parsed.reason,
        "raw_output": raw,
        "finish_reason": completion.finish_reason,
        "parse_status": parsed.status,
        "parse_reason": parsed.reason,
        "answer": parsed.answer,
        "score": score,
        "score_method": method,
        "argmax": argmax,
        "logprob_mass": mass,
        "answer_logprobs": completion.answer_logprobs,
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "latency_s": latency,
        "attempts": attempts,
    }


def failed_row(job: Job, template: Template, backend: Backend, reason: str, latency: float, attempts: int) -> dict[str, Any]:
    """The ledger row of a request that failed after all retries."""
    return {
        **_identity_columns(job, template, backend.spec),
        "status": "failed",
        "reason": backend.redact(reason),
        "latency_s": latency,
        "attempts": attempts,
    }


def _identity_columns(job: Job, template: Template, spec: ModelSpec) -> dict[str, Any]:
    return {
        "key": job.key,
        "provider": spec.provider,
        "endpoint": spec.endpoint,
        "model": spec.model,
        "template": template.name,
        "template_hash": template.sha256,
        "item_id": job.item_id,
        "item_hash": job.item_hash,
        "persona": job.persona,
        "params": job.identity["params"],
        "sample": job.sample,
        "prompt_hash": job.prompt_hash,
    }


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None, max_retry_after: float) -> float:
    """Exponential backoff with full jitter; a server's Retry-After is honoured (up to a cap)."""
    jittered = random.uniform(0.5, 1.0) * min(cap, base * (2 ** (attempt - 1)))
    if retry_after is not None:
        return max(min(retry_after, max_retry_after), 0.0) + random.uniform(0.0, 0.1 * base)
    return jittered


async def execute(
    backend: Backend,
    jobs: list[Job],
    ledger: Ledger,
    template: Template,
    *,
    concurrency: int = 8,
    requests_per_minute: float | None = None,
    tokens_per_minute: float | None = None,
    max_attempts: int = 5,
    timeout: float = 60.0,
    backoff_base: float = 1.0,
    backoff_max: float = 30.0,
    max_retry_after: float = 120.0,
    progress: bool = True,
    price: tuple[float, float] | None = None,
    stats: RunStats | None = None,
    lease: float | None = None,
    notify: Callable[[str], None] | None = None,
) -> RunStats:
    """Send every job (each claimed first, committed on completion); raise InputError on a fatal backend error.

    A job another run has claimed is sent by nobody here while that claim is live: its answer is
    read from the ledger once recorded, or the job is taken over when the claim expires.
    """
    stats = stats or RunStats()
    price_in, price_out = price if price is not None else backend.price(backend.spec)
    rpm = RateLimiter(requests_per_minute) if requests_per_minute is not None else None
    tpm = RateLimiter(tokens_per_minute) if tokens_per_minute is not None else None
    lease = lease_seconds(lease)
    owner = new_owner()
    since = time.time()
    queue: asyncio.Queue[Job] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    busy: list[Job] = []
    fatal: list[str] = []
    capped: list[float] = []
    bar = _progress_bar(len(jobs), str(backend.spec), progress)

    def update_bar() -> None:
        if bar is not None:
            bar.set_postfix(
                ok=stats.ok, unparsed=stats.unparsed, failed=stats.failed, retries=stats.retries,
                tokens=stats.prompt_tokens + stats.completion_tokens, cost=f"${stats.cost_usd:.4f}", refresh=False,
            )  # fmt: skip
            bar.update(1)

    async def one(job: Job) -> None:
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            if rpm is not None:
                await rpm.acquire(1)
            if tpm is not None:
                await tpm.acquire(job.est_tokens)
            try:
                completion = await backend.complete(job.request, timeout=timeout)
            except BackendError as exc:
                if exc.fatal:
                    fatal.append(backend.redact(exc.reason) or "fatal error")
                    return
                if exc.transient and attempt < max_attempts:
                    if exc.retry_after is not None and exc.retry_after > max_retry_after and not capped:
                        capped.append(exc.retry_after)
                        warn(
                            f"{backend.spec}: the server asked to wait {exc.retry_after:g} s before retrying (Retry-After); "
                            f"annalign waits at most {max_retry_after:g} s, so the retry may be refused again"
                        )
                    delay = backoff_delay(attempt, backoff_base, backoff_max, exc.retry_after, max_retry_after)
                    stats.retries += 1
                    log.info("retry %d of item %s in %.2f s: %s", attempt, job.item_id, delay, backend.redact(exc.reason))
                    await asyncio.sleep(delay)
                    continue
                reason = f"{exc.reason} (after {attempt} attempt{'s' if attempt > 1 else ''})"
                ledger.record(failed_row(job, template, backend, reason, time.monotonic() - started, attempt), owner)
                stats.failed += 1
                stats.failures.append((job.item_id, backend.redact(reason) or ""))
                update_bar()
                return
            latency = time.monotonic() - started
            if tpm is not None:
                tpm.adjust(completion.prompt_tokens + completion.completion_tokens - job.est_tokens)
            row = result_row(job, template, backend, completion, latency, attempt)
            ledger.record(row, owner)
            stats.ok += row["parse_status"] == "ok"
            stats.unparsed += row["parse_status"] != "ok"
            stats.prompt_tokens += completion.prompt_tokens
            stats.completion_tokens += completion.completion_tokens
            stats.cost_usd = (stats.prompt_tokens * price_in + stats.completion_tokens * price_out) / 1e6
            update_bar()
            return

    async def worker() -> None:
        while not fatal:
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            state = ledger.claim(job.key, owner, lease, since=since)
            if state == "busy":
                busy.append(job)
                continue
            if state == "done":  # answered by another run since this one looked
                stats.cached += 1
                stats.by_other_runs += 1
                update_bar()
                continue
            stats.sent += 1
            await one(job)

    started = time.monotonic()
    width = 1 if backend.serial else max(1, min(concurrency, len(jobs)))
    keeper = LeaseKeeper(ledger.path, owner, lease).start()
    try:
        await asyncio.gather(*(worker() for _ in range(width)))
        told = False
        while busy and not fatal:
            if not told:
                told = True
                message = (
                    f"{backend.spec}: {len(busy)} request(s) are being sent by another annalign run on {ledger.path}; "
                    f"waiting for its answers (or for its claims to expire, at most {lease:g} s after it stops)"
                )
                log.info("%s", message)
                if notify is not None:
                    notify(message)
            await asyncio.sleep(min(1.0, lease / 4))
            held = ledger.held_by_others((j.key for j in busy), owner)
            ready = [j for j in busy if j.key not in held]
            busy[:] = [j for j in busy if j.key in held]
            for job in ready:
                queue.put_nowait(job)
            if ready:
                await asyncio.gather(*(worker() for _ in range(width)))
    finally:
        keeper.stop()
        ledger.release(owner)
        stats.elapsed_s += time.monotonic() - started
        if bar is not None:
            bar.close()
    if fatal:
        raise InputError(f"{backend.spec}: {fatal[0]}; stopped (results so far are kept in {ledger.path})")
    return stats


def _progress_bar(total: int, label: str, enabled: bool) -> Any:
    """A tqdm bar on stderr, or None when disabled."""
    if not enabled or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=f"annotate {label}", unit="req", file=sys.stderr, dynamic_ncols=True, mininterval=0.25)
