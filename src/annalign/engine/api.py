"""``annotate``: rate a data set's items with an LLM, from the ledger where already done."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from annalign.core.annotations import Annotations
from annalign.engine.backends.base import Backend, ModelSpec
from annalign.engine.backends.registry import get_backend, make_backend
from annalign.engine.frames import build_frame
from annalign.engine.ledger import Ledger, item_hash
from annalign.engine.ledger import lease_seconds as ledger_lease
from annalign.engine.options import AnnotateOptions
from annalign.engine.prompts import resolve_template
from annalign.engine.runner import RunStats, build_jobs, execute
from annalign.engine.spec import DEFAULT_MODEL, parse_model_spec
from annalign.errors import InputError, warn


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
        items = items.iloc[:limit]
    return items


def annotate(
    data: Annotations,
    model: str = DEFAULT_MODEL,
    *,
    template: str | Path = "dices-likert",
    personas: Sequence[str] | None = None,
    options: AnnotateOptions | None = None,
    ledger: str | Path | None = None,
    notify: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Rate items with ``model`` and return a machine-rater frame (one row per item and persona).

    ``options`` (AnnotateOptions) holds samples, temperature, limits and retries. Requests already
    answered in the ``ledger`` (default ``default_ledger_path()``) are not sent again; failed ones
    are retried unless ``options.retry_failed`` is False. Requests another run on the same ledger
    is sending are not sent (see ``annalign.engine.ledger``). Items with identical text share one
    request (one ledger key) and each get its rating. Run totals are in ``frame.attrs["annotate"]``;
    ``notify`` receives one-line notices (e.g. waiting for another run).
    """
    opts = options or AnnotateOptions()
    lease = ledger_lease(opts.lease_seconds)
    spec = parse_model_spec(model, base_url=opts.base_url)
    backend_cls = get_backend(spec.provider)
    tmpl = resolve_template(template, list(personas) if personas else None)
    if opts.samples > 1 and opts.temperature == 0.0:
        warn(f"{opts.samples} samples at temperature 0 will be (nearly) identical; set --temperature above 0")
    params = request_params(backend_cls, spec, opts, kind=tmpl.kind)
    items = _select_items(data, opts.item_ids, opts.limit)
    jobs = build_jobs(items, tmpl, spec, personas=list(personas) if personas else [None], samples=opts.samples, params=params)
    stats = RunStats(total=len(jobs))
    with Ledger(ledger or default_ledger_path()) as book:
        known = book.lookup(j.key for j in jobs)
        todo = [j for j in jobs if j.key not in known or (opts.retry_failed and known[j.key]["status"] != "ok")]
        stats.cached = len(jobs) - len(todo)
        if todo:
            _run_sync(_send(spec, todo, book, tmpl, stats, opts, lease=lease, notify=notify))
            known = book.lookup(j.key for j in jobs)
    frame = build_frame(jobs, known, tmpl, spec, rater_name=opts.rater_name, item_hashes=_item_hashes(items))
    frame.attrs["annotate"] = {"model": str(spec), "template": tmpl.name, "template_hash": tmpl.sha256, **stats.as_dict()}
    _warn_incomplete(frame, spec)
    return frame


#: The fewest tokens a verbalized-distribution answer ({"Yes": 20, "Unsure": 10, "No": 70}) is given.
DISTRIBUTION_MAX_TOKENS = 64


def request_params(backend: type[Backend], spec: ModelSpec, opts: AnnotateOptions, kind: str = "likert") -> dict[str, Any]:
    """The sampling parameters of every request (part of its ledger key), checked against the backend's capabilities.

    A distribution template answers with a JSON object, not one allowed answer: it is never constrained to
    one answer ("auto" is "none" for it) and gets at least DISTRIBUTION_MAX_TOKENS tokens.
    """
    constrain = backend.default_constraint if opts.constrain == "auto" else opts.constrain
    max_tokens = int(opts.max_tokens)
    if kind == "distribution":
        if opts.constrain not in ("auto", "none"):
            raise InputError(f"--constrain {opts.constrain!r} allows one answer only; a distribution template answers with JSON (use none)")
        constrain, max_tokens = "none", max(max_tokens, DISTRIBUTION_MAX_TOKENS)
    if constrain != "none" and constrain not in backend.constraints:
        allowed = ", ".join(("none", *backend.constraints))
        raise InputError(f"--constrain {constrain!r} is not available for {spec.provider}: models ({allowed})")
    top = opts.top_logprobs if backend.supports_logprobs and opts.top_logprobs else None
    params: dict[str, Any] = {
        "temperature": float(opts.temperature),
        "max_tokens": max_tokens,
        "top_logprobs": int(top) if top else None,
        "constrain": constrain,
    }
    params.update(backend.ledger_params(spec))
    return params


def _warn_incomplete(frame: pd.DataFrame, spec: ModelSpec) -> None:
    """One warning when some ratings are not complete, with the counts and a first reason."""
    bad = frame[frame["status"] != "ok"] if len(frame) else frame
    if len(bad):
        counts = bad["status"].value_counts().to_dict()
        first = bad.iloc[0]
        warn(
            f"{spec}: {len(bad)} of {len(frame)} ratings are not complete "
            f"({', '.join(f'{k} {v}' for k, v in counts.items())}); e.g. item {first['item_id']}: {first['reason']}"
        )


def _item_hashes(items: pd.DataFrame) -> dict[str, str]:
    """Item id -> hash of the text it is rated on (the same hash build_jobs puts in the ledger key)."""
    contexts = items["context"].fillna("").astype(str).tolist()
    responses = items["response"].fillna("").astype(str).tolist()
    ids = items.index.astype(str).tolist()
    return {i: item_hash(c, r) for i, c, r in zip(ids, contexts, responses, strict=True)}


async def _send(
    spec: ModelSpec, todo: list[Any], ledger: Ledger, tmpl: Any, stats: RunStats, opts: AnnotateOptions, **run: Any
) -> RunStats:
    """Create the backend (only when something must be sent), run the jobs, close it."""
    backend = make_backend(spec, api_key=opts.api_key, n_threads=opts.threads)
    try:
        return await execute(backend, todo, ledger, tmpl, options=opts, stats=stats, **run)
    finally:
        await backend.aclose()


def _run_sync(coro: Any) -> Any:
    """Run a coroutine to completion, also from inside a running event loop (e.g. Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_retrieving(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _run_retrieving(coro: Any) -> Any:
    """``asyncio.run(coro)``, but a SIGTERM or Ctrl-C raised inside the coroutine's task is not also logged by asyncio.

    Such an exception leaves the event loop while still stored on the task, which asyncio reports
    on exit ("Task exception was never retrieved", a traceback after annalign's one-line message);
    the task is held here so its exception is marked as seen before it propagates. The outer task can
    also be left pending when the exception leaves the loop ("Task was destroyed but it is pending!"
    at exit); it is told not to log that, since the run ends with annalign's own line.
    """
    held: list[asyncio.Future[Any]] = []

    async def main() -> Any:
        held.append(asyncio.ensure_future(coro))
        outer = asyncio.current_task()
        if outer is not None:
            held.append(outer)
        return await held[0]

    try:
        return asyncio.run(main())
    except BaseException:
        for task in held:
            if task.done() and not task.cancelled():
                task.exception()
            elif not task.done():
                task._log_destroy_pending = False  # type: ignore[attr-defined]  # asyncio's own switch for this message
        raise
