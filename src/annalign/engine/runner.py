"""Asyncio orchestration: build requests, skip what the ledger has, send the rest with limits and retries.

Each finished request (answered or finally failed) is committed to the ledger before the next one
is taken, so an interrupted run loses at most the requests in flight.
"""

from __future__ import annotations

import asyncio
import logging
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
from annalign.engine.options import AnnotateOptions, check_rate
from annalign.engine.parsing import expected_score, parse_answer, parse_distribution
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
    if template.kind == "distribution":
        return _distribution_row(job, template, backend, completion, raw, latency, attempts)
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


def _distribution_row(
    job: Job, template: Template, backend: Backend, completion: Completion, raw: str, latency: float, attempts: int
) -> dict[str, Any]:
    """The ledger row of a verbalized distribution: the most likely answer, and the expected value as the score."""
    parsed = parse_distribution(raw, [a for a, _ in template.answers])
    values = template.answer_values
    score = sum(p * values[a] for a, p in parsed.probs.items()) if parsed.probs else None
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
        "score_method": "verbalized" if parsed.ok else None,
        "argmax": parsed.answer,
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
    options: AnnotateOptions | None = None,
    stats: RunStats | None = None,
    lease: float | None = None,
    notify: Callable[[str], None] | None = None,
) -> RunStats:
    """Send every job (each claimed first, committed on completion); raise InputError on a fatal backend error.

    ``options`` gives the concurrency (1 for a serial backend), rate limits, attempts, backoff,
    timeout, price and progress bar. A job another run has claimed is sent by nobody here while
    that claim is live: its answer is read from the ledger once recorded, or the job is taken over
    when the claim expires.
    """
    run = _Run(backend, ledger, template, options or AnnotateOptions(), stats or RunStats(), lease_seconds(lease), notify)
    return await run.all(jobs)


class _Run:
    """One execute() call: the queue of jobs, the workers that take them, and what they found."""

    def __init__(
        self, backend: Backend, ledger: Ledger, template: Template, opts: AnnotateOptions, stats: RunStats,
        lease: float, notify: Callable[[str], None] | None,
    ) -> None:  # fmt: skip
        self.backend, self.ledger, self.template, self.opts, self.stats = backend, ledger, template, opts, stats
        self.lease, self.notify = lease, notify
        self.price = opts.price if opts.price is not None else backend.price(backend.spec)
        self.rpm = RateLimiter(opts.requests_per_minute) if opts.requests_per_minute is not None else None
        self.tpm = RateLimiter(opts.tokens_per_minute) if opts.tokens_per_minute is not None else None
        self.owner = new_owner()
        self.since = time.time()
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.busy: list[Job] = []
        self.fatal: list[str] = []
        self.capped: list[float] = []
        self.bar: Any = None

    async def all(self, jobs: list[Job]) -> RunStats:
        """Run the workers over every job, then wait for jobs other runs hold; release the claims whatever happens."""
        for job in jobs:
            self.queue.put_nowait(job)
        self.bar = _progress_bar(len(jobs), str(self.backend.spec), self.opts.progress)
        started = time.monotonic()
        width = 1 if self.backend.serial else max(1, min(self.opts.concurrency, len(jobs)))
        keeper = LeaseKeeper(self.ledger.path, self.owner, self.lease).start()
        try:
            await asyncio.gather(*(self.worker() for _ in range(width)))
            await self.wait_for_others(width)
        finally:
            keeper.stop()
            self.ledger.release(self.owner)
            self.stats.elapsed_s += time.monotonic() - started
            if self.bar is not None:
                self.bar.close()
        if self.fatal:
            raise InputError(f"{self.backend.spec}: {self.fatal[0]}; stopped (results so far are kept in {self.ledger.path})")
        return self.stats

    async def wait_for_others(self, width: int) -> None:
        """Jobs another run claimed: wait until each is answered there or its claim expires, then send those."""
        told = False
        while self.busy and not self.fatal:
            if not told:
                told = True
                message = (
                    f"{self.backend.spec}: {len(self.busy)} request(s) are being sent by another annalign run on "
                    f"{self.ledger.path}; waiting for its answers (or for its claims to expire, at most {self.lease:g} s after it stops)"
                )
                log.info("%s", message)
                if self.notify is not None:
                    self.notify(message)
            await asyncio.sleep(min(1.0, self.lease / 4))
            held = self.ledger.held_by_others((j.key for j in self.busy), self.owner)
            ready = [j for j in self.busy if j.key not in held]
            self.busy[:] = [j for j in self.busy if j.key in held]
            for job in ready:
                self.queue.put_nowait(job)
            if ready:
                await asyncio.gather(*(self.worker() for _ in range(width)))

    async def worker(self) -> None:
        """Take jobs until the queue is empty: claim each, skip those others hold or answered, send the rest."""
        stats = self.stats
        while not self.fatal:
            try:
                job = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            state = self.ledger.claim(job.key, self.owner, self.lease, since=self.since)
            if state == "busy":
                self.busy.append(job)
                continue
            if state == "done":  # answered by another run since this one looked
                stats.cached += 1
                stats.by_other_runs += 1
                self.update_bar()
                continue
            stats.sent += 1
            await self.send(job)

    async def send(self, job: Job) -> None:
        """Send one job with retries; record its answer, or its failure after the last attempt."""
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            if self.rpm is not None:
                await self.rpm.acquire(1)
            if self.tpm is not None:
                await self.tpm.acquire(job.est_tokens)
            try:
                completion = await self.backend.complete(job.request, timeout=self.opts.timeout)
            except BackendError as exc:
                if await self.retry(job, exc, attempt, started):
                    continue
                return
            self.record(job, completion, time.monotonic() - started, attempt)
            return

    async def retry(self, job: Job, exc: BackendError, attempt: int, started: float) -> bool:
        """After a failed attempt: True once the backoff delay has passed; False when the job is done for (recorded)."""
        backend, opts = self.backend, self.opts
        if exc.fatal:
            self.fatal.append(backend.redact(exc.reason) or "fatal error")
            return False
        if exc.transient and attempt < opts.max_attempts:
            if exc.retry_after is not None and exc.retry_after > opts.max_retry_after and not self.capped:
                self.capped.append(exc.retry_after)
                warn(
                    f"{backend.spec}: the server asked to wait {exc.retry_after:g} s before retrying (Retry-After); "
                    f"annalign waits at most {opts.max_retry_after:g} s, so the retry may be refused again"
                )
            delay = backoff_delay(attempt, opts.backoff_base, opts.backoff_max, exc.retry_after, opts.max_retry_after)
            self.stats.retries += 1
            log.info("retry %d of item %s in %.2f s: %s", attempt, job.item_id, delay, backend.redact(exc.reason))
            await asyncio.sleep(delay)
            return True
        reason = f"{exc.reason} (after {attempt} attempt{'s' if attempt > 1 else ''})"
        self.ledger.record(failed_row(job, self.template, backend, reason, time.monotonic() - started, attempt), self.owner)
        self.stats.failed += 1
        self.stats.failures.append((job.item_id, backend.redact(reason) or ""))
        self.update_bar()
        return False

    def record(self, job: Job, completion: Completion, latency: float, attempt: int) -> None:
        """Commit an answered request to the ledger and count it."""
        stats = self.stats
        if self.tpm is not None:
            self.tpm.adjust(completion.prompt_tokens + completion.completion_tokens - job.est_tokens)
        row = result_row(job, self.template, self.backend, completion, latency, attempt)
        self.ledger.record(row, self.owner)
        stats.ok += row["parse_status"] == "ok"
        stats.unparsed += row["parse_status"] != "ok"
        stats.prompt_tokens += completion.prompt_tokens
        stats.completion_tokens += completion.completion_tokens
        stats.cost_usd = (stats.prompt_tokens * self.price[0] + stats.completion_tokens * self.price[1]) / 1e6
        self.update_bar()

    def update_bar(self) -> None:
        """Advance the progress bar by one finished request."""
        if self.bar is not None:
            s = self.stats
            self.bar.set_postfix(
                ok=s.ok, unparsed=s.unparsed, failed=s.failed, retries=s.retries,
                tokens=s.prompt_tokens + s.completion_tokens, cost=f"${s.cost_usd:.4f}", refresh=False,
            )  # fmt: skip
            self.bar.update(1)


def _progress_bar(total: int, label: str, enabled: bool) -> Any:
    """A tqdm bar on stderr, or None when disabled."""
    if not enabled or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=f"annotate {label}", unit="req", file=sys.stderr, dynamic_ncols=True, mininterval=0.25)
