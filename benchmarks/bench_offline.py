"""Offline annotation speed: SmolLM2 on DICES-350, before and after, against llama.cpp's own ceiling.

Run: ``.venv/bin/python benchmarks/bench_offline.py [--items 40] [--persona-items 12] [--full]``.

All in one process and on the same prompts, so the ratios hold under other load:
- ceiling: llama.cpp's raw prompt evaluation (``Llama.eval`` from an empty cache, nothing else),
  in prompt tokens/s, for the shipped Q4_1 weights and the F16 copy annalign runs on;
- before: the previous engine (Q4_1 weights, v1 template, grammar-constrained chat completion
  with a sampler over the vocabulary);
- after, no prefix reuse: one forward pass per request, v1 template, cache cleared each time;
- after: one forward pass, v2 template, the shared prefix's cache kept (what ``annotate`` does);
- the current default (``ANNALIGN_LOCAL_WEIGHTS=auto``: BF16 on AVX512_BF16 CPUs, else F16; flash
  attention), against F16 with plain attention (the default before stop 21), both with the prefix kept,
  each beside its own ceiling;
- persona run: 10 personas per item, v2 persona template, item by item, on the current default;
- with ``--full``: the whole process ``annalign annotate`` on all 350 conversations, wall time.
Throughput of a prefix-reusing run is reported in prompt tokens/s of the prompts answered, so it
can exceed the ceiling. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PERSONAS = [
    f"a {race} {gender}"
    for race in ("Black", "White", "Asian", "Latino", "multiracial")
    for gender in ("woman", "man")
]


def requests_for(items, template_name: str, personas=None):
    """ChatRequests for items (x personas), in the runner's order, with the engine's own builder."""
    from annalign.engine.prompts import resolve_template
    from annalign.engine.runner import build_jobs
    from annalign.engine.spec import parse_model_spec

    template = resolve_template(template_name, personas)
    params = {"temperature": 0.0, "max_tokens": 16, "top_logprobs": 20, "constrain": "grammar"}
    jobs = build_jobs(items, template, parse_model_spec("local:smollm2-135m"), personas=personas or [None], samples=1, params=params)
    return [j.request for j in jobs]


def backend(weights: str, attention: str = "plain"):
    """A fresh in-process backend on the given weights and attention kernel."""
    os.environ["ANNALIGN_LOCAL_WEIGHTS"] = weights
    os.environ["ANNALIGN_LOCAL_ATTENTION"] = attention
    from annalign.engine.backends.local_llama import LocalLlamaBackend
    from annalign.engine.spec import parse_model_spec

    b = LocalLlamaBackend(parse_model_spec("local:smollm2-135m"))
    b._load()
    return b


def timed(label: str, run_fn, n_requests: int) -> float:
    """Run, print requests/s and prompt tokens/s; return tokens/s."""
    started = time.perf_counter()
    tokens = run_fn()
    elapsed = time.perf_counter() - started
    tps = tokens / elapsed
    print(f"  {label:58s} {n_requests / elapsed:6.2f} req/s  {elapsed / n_requests:5.2f} s/req  {tps:6.0f} prompt tok/s")
    return tps


def ceiling(b, requests) -> float:
    """llama.cpp alone: evaluate each prompt from an empty cache."""
    model = b._model
    prompts = [b._prompt_tokens(model, r.messages) for r in requests]

    def run() -> int:
        for p in prompts:
            model.reset()
            model.eval(p)
        return sum(map(len, prompts))

    return timed(f"ceiling: llama.cpp eval, {b._weights} weights", run, len(prompts))


def one_pass(b, requests, *, reuse: bool, label: str) -> float:
    """The engine's one-pass scoring, with or without the prefix cache kept between requests."""
    model = b._model
    ids = b._answer_ids(model, requests[0].answers)

    def run() -> int:
        n = 0
        for r in requests:
            if not reuse:
                model.reset()
            n += b._score(model, r, ids).prompt_tokens
        return n

    return timed(label, run, len(requests))


def generate(b, requests) -> float:
    """The previous engine: grammar-constrained chat completion (sampler over the vocabulary)."""
    model = b._model

    def run() -> int:
        n = 0
        for r in requests:
            model.reset()
            n += b._generate(model, r).prompt_tokens
        return n

    return timed("before: Q4_1, v1 template, grammar chat completion", run, len(requests))


def whole_process(n_items: int | None) -> None:
    """``annalign annotate`` on DICES-350 as a user runs it, in a fresh process and ledger."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(Path(sys.executable).parent / "annalign"), "annotate", "--dataset", "dices350", "--model", "local:smollm2-135m",
               "--ledger", f"{tmp}/l.sqlite", "--out", f"{tmp}/m.csv", "--no-progress"]  # fmt: skip
        if n_items:
            cmd += ["--limit", str(n_items)]
        started = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        elapsed = time.perf_counter() - started
        n = n_items or 350
        status = "ok" if done.returncode == 0 else f"exit {done.returncode}: {done.stderr[-300:]}"
        print(f"  whole process: annalign annotate, {n} conversations: {elapsed:.1f} s ({n / elapsed:.2f} conv/s) {status}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=40, help="DICES conversations for the in-process runs")
    parser.add_argument("--persona-items", type=int, default=12, help="items x 10 personas for the persona run")
    parser.add_argument("--full", action="store_true", help="time the whole process on all 350 conversations")
    parser.add_argument("--no-whole", action="store_true", help="skip the whole-process run (no console script)")
    args = parser.parse_args()
    from annalign.datasets.bundled import load_dataset
    from annalign.engine.backends.local_llama import default_threads

    items = load_dataset("dices350").items.iloc[: args.items]
    print(f"nproc {os.cpu_count()}, llama.cpp threads {default_threads()} (load average {os.getloadavg()[0]:.2f}); {args.items} DICES-350 conversations")
    v1 = requests_for(items, "dices-likert-v1")
    v2 = requests_for(items, "dices-likert")

    q41 = backend("q4_1")
    ceil_q41 = ceiling(q41, v1)
    before = generate(q41, v1)
    f16 = backend("f16")
    ceil_f16 = ceiling(f16, v1)
    plain = one_pass(f16, v1, reuse=False, label="after, no prefix reuse: F16, plain attention, v1 template, one pass")
    reused = one_pass(f16, v2, reuse=True, label="after (stop 16-20 default): F16, plain attention, v2 template, one pass, prefix kept")
    n_v2 = sum(len(f16._prompt_tokens(f16._model, r.messages)) for r in v2)
    f16.reused_tokens = f16.evaluated_tokens = 0
    one_pass(f16, v2, reuse=True, label="after (again, counting reuse)")
    share = f16.reused_tokens / max(1, f16.reused_tokens + f16.evaluated_tokens)
    print(f"  v2 prompts: {n_v2 / len(v2):.0f} tokens each, {share:.0%} of them reused from the previous prompt")
    print(f"  ratios: before / Q4_1 ceiling {before / ceil_q41:.2f}; no-reuse / F16 ceiling {plain / ceil_f16:.2f}; "
          f"with reuse / F16 ceiling {reused / ceil_f16:.2f}; F16 / Q4_1 ceiling {ceil_f16 / ceil_q41:.2f}")  # fmt: skip
    per_item_before = sum(len(q41._prompt_tokens(q41._model, r.messages)) for r in v1) / len(v1) / before
    per_item_after = n_v2 / len(v2) / reused
    print(f"  per conversation: before {per_item_before:.2f} s, after {per_item_after:.2f} s "
          f"({per_item_before / per_item_after:.1f}x); 350 conversations: {350 * per_item_before:.0f} s -> {350 * per_item_after:.0f} s")  # fmt: skip

    q41._model.close()
    f16._model.close()
    now = backend("auto", "flash")
    label = f"{now._weights.upper()}, flash attention"
    ceil_now = ceiling(now, v1)
    default = one_pass(now, v2, reuse=True, label=f"default now: {label}, v2 template, one pass, prefix kept")
    print(f"  default now ({label}) against F16 with plain attention, prefix kept: {default / reused:.2f}x; "
          f"its ceiling / F16 ceiling {ceil_now / ceil_f16:.2f}; 350 conversations: {350 * n_v2 / len(v2) / default:.0f} s")  # fmt: skip

    persona_items = items.iloc[: args.persona_items]
    persona = requests_for(persona_items, "dices-likert", PERSONAS)
    now._model.reset()
    started = time.perf_counter()
    ids = now._answer_ids(now._model, persona[0].answers)
    for r in persona:
        now._score(now._model, r, ids)
    per_request = (time.perf_counter() - started) / len(persona)
    print(f"  persona run: {len(persona)} requests ({args.persona_items} items x 10 personas), {per_request:.3f} s/request; "
          f"3,500 requests: {3500 * per_request / 60:.1f} min ({label})")  # fmt: skip
    now._model.close()
    if not args.no_whole:
        whole_process(None if args.full else args.items)


if __name__ == "__main__":
    main()
