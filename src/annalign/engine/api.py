"""``annotate``: rate a data set's items with an LLM, from the ledger where already done."""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from annalign.core.annotations import Annotations
from annalign.engine.backends.base import DEFAULT_MODEL, make_backend, parse_model_spec
from annalign.engine.frames import build_frame
from annalign.engine.ledger import Ledger, item_hash
from annalign.engine.ledger import lease_seconds as ledger_lease
from annalign.engine.prompts import resolve_template
from annalign.engine.runner import RunStats, build_jobs, check_rate, execute
from annalign.errors import InputError, warn

CONSTRAINTS = {"openai": ("grammar", "guided_choice", "json_schema"), "anthropic": (), "local": ("grammar",)}


def default_ledger_path() -> Path:
    """``$ANNALIGN_LEDGER``, else ``$XDG_CACHE_HOME/annalign/ledger.sqlite`` (``~/.cache`` by default)."""
    if os.environ.get("ANNALIGN_LEDGER"):
        return Path(os.environ["ANNALIGN_LEDGER"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "annalign" / "ledger.sqlite"


def _select_items(data: Annotations, item_ids: Sequence[str] | None, limit: int | None) -> pd.DataFrame:
    """The items to rate, with their conversation text; InputError if the text is not there."""
    items = data.items
    missing = [c for c in ("context", "response") if c not in items.columns]
    if missing:
        raise InputError(
            f"data set {data.name} has no {' or '.join(missing)} column: annotation needs the conversation text "
            "(the DICES sets have it)"
        )
    items = items.copy()
    items.index = items.index.astype(str)
    if item_ids is not None:
        wanted = [str(i) for i in item_ids]
        unknown = [i for i in wanted if i not in items.index]
        if unknown:
            raise InputError(f"item {unknown[0]!r} is not in data set {data.name} ({len(unknown)} unknown items)")
        items = items.loc[list(dict.fromkeys(wanted))]
    if limit is not None:
        if limit < 1:
            raise InputError(f"--limit must be at least 1, not {limit}")
        items = items.iloc[:limit]
    return items


def annotate(
    data: Annotations,
    model: str = DEFAULT_MODEL,
    *,
    template: str | Path = "dices-likert",
    personas: Sequence[str] | None = None,
    samples: int = 1,
    temperature: float = 0.0,
    concurrency: int = 8,
    ledger_path: str | Path | None = None,
    item_ids: Sequence[str] | None = None,
    limit: int | None = None,
    max_tokens: int = 16,
    top_logprobs: int | None = 20,
    constrain: str = "auto",
    requests_per_minute: float | None = None,
    tokens_per_minute: float | None = None,
    max_attempts: int = 5,
    timeout: float = 60.0,
    backoff_base: float = 1.0,
    backoff_max: float = 30.0,
    max_retry_after: float = 120.0,
    api_key: str | None = None,
    base_url: str | None = None,
    rater_name: str | None = None,
    price: tuple[float, float] | None = None,
    retry_failed: bool = True,
    progress: bool = True,
    n_threads: int | None = None,
    lease_seconds: float | None = None,
    notify: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Rate items with ``model`` and return a machine-rater frame (one row per item and persona).

    Requests already answered in the ledger are not sent again; failed ones are retried unless
    ``retry_failed`` is False. Requests another run on the same ledger is sending are not sent
    (see ``annalign.engine.ledger``); ``lease_seconds`` is how long such a claim lives unless
    renewed. Items with identical text share one request (one ledger key) and each get its rating.
    Run totals are in ``frame.attrs["annotate"]``.
    """
    if samples < 1:
        raise InputError(f"--samples must be at least 1, not {samples}")
    if concurrency < 1:
        raise InputError(f"--concurrency must be at least 1, not {concurrency}")
    if not 0.0 <= temperature <= 2.0:
        raise InputError(f"--temperature must be between 0 and 2, not {temperature}")
    if max_attempts < 1 or max_tokens < 1 or not timeout > 0 or not math.isfinite(timeout):
        raise InputError("max_attempts and max_tokens must be at least 1 and timeout positive")
    requests_per_minute = check_rate(requests_per_minute, "requests_per_minute (--rpm)")
    tokens_per_minute = check_rate(tokens_per_minute, "tokens_per_minute (--tpm)")
    lease = ledger_lease(lease_seconds)
    spec = parse_model_spec(model, base_url=base_url)
    tmpl = resolve_template(template, list(personas) if personas else None)
    if constrain == "auto":
        constrain = "grammar" if spec.provider == "local" else "none"
    if constrain != "none" and constrain not in CONSTRAINTS[spec.provider]:
        allowed = ", ".join(("none", *CONSTRAINTS[spec.provider]))
        raise InputError(f"--constrain {constrain!r} is not available for {spec.provider}: models ({allowed})")
    if samples > 1 and temperature == 0.0:
        warn(f"{samples} samples at temperature 0 will be (nearly) identical; set --temperature above 0")
    uses_logprobs = spec.provider != "anthropic" and bool(top_logprobs)
    params = {
        "temperature": float(temperature),
        "max_tokens": int(max_tokens),
        "top_logprobs": int(top_logprobs) if uses_logprobs and top_logprobs else None,
        "constrain": constrain,
    }
    if spec.provider == "local":  # the weights decide the answers: part of the ledger key
        from annalign.engine.backends.local_llama import local_weights

        params["weights"] = local_weights()
    items = _select_items(data, item_ids, limit)
    jobs = build_jobs(items, tmpl, spec, personas=list(personas) if personas else [None], samples=samples, params=params)
    stats = RunStats(total=len(jobs))
    with Ledger(ledger_path or default_ledger_path()) as ledger:
        known = ledger.lookup(j.key for j in jobs)
        todo = [j for j in jobs if j.key not in known or (retry_failed and known[j.key]["status"] != "ok")]
        stats.cached = len(jobs) - len(todo)
        if todo:
            _run_sync(
                _send(
                    spec, todo, ledger, tmpl, stats,
                    api_key=api_key, n_threads=n_threads, concurrency=concurrency,
                    requests_per_minute=requests_per_minute, tokens_per_minute=tokens_per_minute,
                    max_attempts=max_attempts, timeout=timeout, backoff_base=backoff_base,
                    backoff_max=backoff_max, max_retry_after=max_retry_after, progress=progress, price=price,
                    lease=lease, notify=notify,
                )  # fmt: skip
            )
            known = ledger.lookup(j.key for j in jobs)
    frame = build_frame(jobs, known, tmpl, spec, rater_name=rater_name, item_hashes=_item_hashes(items))
    frame.attrs["annotate"] = {"model": str(spec), "template": tmpl.name, "template_hash": tmpl.sha256, **stats.as_dict()}
    bad = frame[frame["status"] != "ok"] if len(frame) else frame
    if len(bad):
        counts = bad["status"].value_counts().to_dict()
        first = bad.iloc[0]
        warn(
            f"{spec}: {len(bad)} of {len(frame)} ratings are not complete "
            f"({', '.join(f'{k} {v}' for k, v in counts.items())}); e.g. item {first['item_id']}: {first['reason']}"
        )
    return frame


def _item_hashes(items: pd.DataFrame) -> dict[str, str]:
    """Item id -> hash of the text it is rated on (the same hash build_jobs puts in the ledger key)."""
    contexts = items["context"].fillna("").astype(str).tolist()
    responses = items["response"].fillna("").astype(str).tolist()
    ids = items.index.astype(str).tolist()
    return {i: item_hash(c, r) for i, c, r in zip(ids, contexts, responses, strict=True)}


async def _send(spec: Any, todo: list[Any], ledger: Ledger, tmpl: Any, stats: RunStats, *, api_key: str | None, n_threads: int | None, **options: Any) -> RunStats:
    """Create the backend (only when something must be sent), run the jobs, close it."""
    backend = make_backend(spec, api_key=api_key, n_threads=n_threads)
    try:
        return await execute(backend, todo, ledger, tmpl, stats=stats, **options)
    finally:
        await backend.aclose()


def _run_sync(coro: Any) -> Any:
    """Run a coroutine to completion, also from inside a running event loop (e.g. Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
