"""The ``annotate`` click command; the main CLI registers it with ``main.add_command(annotate)``."""

from __future__ import annotations

import sys
from typing import Any

import click

from annalign.cli.exits import invoke
from annalign.cli.options import data_options, settings_from_options
from annalign.engine.prompts import builtin_names
from annalign.engine.spec import DEFAULT_MODEL
from annalign.errors import InputError, RequestsFailed
from annalign.redaction import redact

#: the command's options that configure the engine (AnnotateOptions fields, and --no-progress); the rest are data options
ENGINE_OPTIONS = (
    "samples", "temperature", "concurrency", "limit", "requests_per_minute", "tokens_per_minute", "max_tokens",
    "top_logprobs", "constrain", "timeout", "max_attempts", "api_key", "base_url", "threads", "no_progress",
)  # fmt: skip


def _rate(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """Validate --rpm/--tpm with the engine's rule (positive or absent)."""
    from annalign.engine.options import check_rate

    return check_rate(value, param.opts[0])


@click.command("annotate")
@data_options
@click.option("--model", "model", default=DEFAULT_MODEL, show_default=True,
              help="openai:MODEL[@BASE_URL], anthropic:MODEL, local:smollm2-135m, fake:hash (offline test double) "
                   "or a plugin backend's PROVIDER:MODEL.")
@click.option("--template", "template", default="dices-likert", show_default=True,
              help=f"Built-in template ({', '.join(builtin_names())}) or a template file.")
@click.option("--persona", "personas", multiple=True, help='Answer as an annotator who is PERSONA (e.g. "a Black woman"); repeatable.')
@click.option("--samples", type=int, default=1, show_default=True, help="Samples per item, averaged.")
@click.option("--temperature", type=float, default=0.0, show_default=True)
@click.option("--concurrency", type=int, default=8, show_default=True, help="Requests in flight at once.")
@click.option("--ledger", "ledger", default=None, help="SQLite ledger file (default: $ANNALIGN_LEDGER or ~/.cache/annalign/ledger.sqlite).")
@click.option("--limit", type=int, default=None, help="Only the first N items.")
@click.option("--rpm", "requests_per_minute", type=float, default=None, callback=_rate,
              help="Requests-per-minute limit (a positive number; leave out for none).")
@click.option("--tpm", "tokens_per_minute", type=float, default=None, callback=_rate,
              help="Tokens-per-minute limit (a positive number; leave out for none).")
@click.option("--max-tokens", type=int, default=16, show_default=True)
@click.option("--top-logprobs", type=int, default=20, show_default=True, help="Top log-probabilities asked for (0: none).")
@click.option("--constrain", default="auto", show_default=True,
              help="Constrain the answer: auto (the backend's default), none, grammar (llama.cpp), guided_choice (vLLM), "
                   "json_schema (OpenAI), or a mode the backend declares.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds per request.")
@click.option("--max-attempts", type=int, default=5, show_default=True, help="Attempts per request (with backoff).")
@click.option("--api-key", default=None, help="API key (default: OPENAI_API_KEY / ANTHROPIC_API_KEY). Never stored.")
@click.option("--base-url", default=None, help="OpenAI-compatible base URL (default: OPENAI_BASE_URL).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="local: models: llama.cpp threads (default: $ANNALIGN_THREADS, else every idle core).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--out", "out", required=True, help="Machine-rater file to write (.csv, .jsonl or .parquet).")
def annotate(config_path: str | None, model: str, template: str, personas: tuple[str, ...], ledger: str | None, out: str, **opts: Any) -> None:
    """Rate the conversations of a data set with an LLM and write a machine-rater file.

    The data options are those of ``analyze``; ``--context-col``/``--response-col`` name the
    item columns that hold the conversation text.

    Exit codes: 0 every request answered; 2 bad input (or a fatal provider error such as a
    rejected API key); 3 some requests failed after all retries (the file is written, the failed
    items have status 'failed'; a re-run retries them); 130 Ctrl-C; 143 SIGTERM.
    """
    from annalign.engine.api import annotate as run_annotate
    from annalign.engine.api import default_ledger_path
    from annalign.engine.frames import write_machine_file
    from annalign.engine.options import AnnotateOptions
    from annalign.pipeline.run import load_data

    if not out.lower().endswith((".csv", ".jsonl", ".parquet")):
        raise InputError(f"--out {out!r}: use a .csv, .jsonl or .parquet file name")
    engine_opts = {name: opts.pop(name) for name in ENGINE_OPTIONS}
    data = load_data(settings_from_options(config_path, **opts))
    engine_opts["top_logprobs"] = engine_opts["top_logprobs"] or None
    options = AnnotateOptions(progress=not engine_opts.pop("no_progress"), **engine_opts)
    frame = run_annotate(
        data, model, template=template, personas=list(personas) or None, options=options,
        ledger=ledger or default_ledger_path(), notify=lambda message: click.echo(redact(message), err=True),
    )  # fmt: skip
    path = write_machine_file(frame, out)
    s = frame.attrs.get("annotate", {})
    counts = frame["status"].value_counts().to_dict() if len(frame) else {}
    click.echo(
        f"{len(frame)} ratings -> {path} ({', '.join(f'{k} {v}' for k, v in counts.items())}); "
        f"requests: {s.get('cached', 0)} from the ledger, {s.get('sent', 0)} sent, {s.get('failed', 0)} failed, "
        f"{s.get('retries', 0)} retries; tokens {s.get('prompt_tokens', 0) + s.get('completion_tokens', 0)}; "
        f"est. cost ${s.get('cost_usd', 0.0):.4f}",
        err=False,
    )
    for item_id, reason in s.get("failures", [])[:5]:
        click.echo(redact(f"failed: item {item_id}: {reason}"), err=True)
    n_failed = int(frame["n_failed"].gt(0).sum()) if "n_failed" in frame.columns else 0
    if n_failed:
        raise RequestsFailed(
            f"{n_failed} of {len(frame)} ratings have failed requests (status 'failed' or 'partial' in {path}); "
            "run the same command again to retry them"
        )


def main() -> None:
    """``python -m annalign.engine``: the command alone, with the exit codes of ``annalign annotate``."""
    sys.exit(invoke(annotate, None, "annalign annotate"))
