"""Annotation engine benchmarks: throughput against a 100 ms fake server, cached re-runs, local SmolLM2.

Run: ``.venv/bin/python benchmarks/bench_engine.py [--local-items 30] [--skip-local]``. Prints figures;
asserts nothing about wall time.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from annalign.datasets.bundled import load_dataset
from annalign.engine import AnnotateOptions, annotate

LATENCY = 0.1


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    """The fake OpenAI-compatible server in its own process (so it does not share our GIL)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "annalign.testing.fakeserver", "--port", "0", "--latency", str(latency)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    port = int(line.split()[1])
    return proc, f"http://127.0.0.1:{port}/v1"


def throughput(base_url: str, tmp: Path) -> None:
    """Requests/s at concurrency 1, 8, 64 with a fixed 100 ms server latency."""
    data = load_dataset("dices990")
    personas = [f"annotator {k}" for k in range(4)]
    print(f"throughput against a fake server with {LATENCY * 1000:.0f} ms latency ({os.cpu_count()} CPUs)")
    for concurrency, n in ((1, 20), (8, 160), (64, 1920)):
        per_persona = min(data.n_items, n)
        k = max(1, -(-n // per_persona))
        start, cpu0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        options = AnnotateOptions(limit=per_persona, concurrency=concurrency, progress=False)
        frame = annotate(
            data, f"openai:fake@{base_url}", template="dices-likert", personas=personas[:k] if k > 1 else None,
            ledger=tmp / f"tp{concurrency}.sqlite", options=options,
        )  # fmt: skip
        wall = time.perf_counter() - start
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        s = frame.attrs["annotate"]
        ideal = concurrency / LATENCY
        rate = s["sent"] / s["elapsed_s"]
        print(
            f"  concurrency {concurrency:>2}: {s['sent']} requests in {s['elapsed_s']:.2f} s = {rate:7.1f} req/s "
            f"(ideal {ideal:.0f}; {rate / ideal:6.1%} of ideal); end to end incl. prompts/ledger {s['sent'] / wall:7.1f} req/s; "
            f"client CPU {1000 * cpu / s['sent']:.2f} ms/request (one core caps the client at {s['sent'] / cpu:.0f} req/s)"
        )
    print(f"  load average now: {', '.join(f'{x:.1f}' for x in os.getloadavg())} (other processes share the CPUs)")


def cached_rerun(base_url: str, tmp: Path) -> None:
    """Time of a fully cached re-run of DICES-350 (target under 1 s)."""
    data = load_dataset("dices350")
    ledger = tmp / "cached.sqlite"
    annotate(data, f"openai:fake@{base_url}", ledger=ledger, options=AnnotateOptions(concurrency=64, progress=False))
    times = []
    for _ in range(3):
        start = time.perf_counter()
        frame = annotate(data, f"openai:fake@{base_url}", ledger=ledger, options=AnnotateOptions(concurrency=64, progress=False))
        times.append(time.perf_counter() - start)
        assert frame.attrs["annotate"]["sent"] == 0
    print(f"fully cached re-run of DICES-350 ({len(frame)} items): best {min(times):.3f} s, worst {max(times):.3f} s (target < 1 s)")


def local(n_items: int, tmp: Path) -> None:
    """Local in-process SmolLM2-135M conversations/second with log-probability scoring."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        print("local SmolLM2: skipped (llama-cpp-python is not installed)")
        return
    data = load_dataset("dices350")
    start = time.perf_counter()
    frame = annotate(data, "local:smollm2-135m", ledger=tmp / "local.sqlite", options=AnnotateOptions(limit=n_items, progress=False))
    wall = time.perf_counter() - start
    s = frame.attrs["annotate"]
    ok = int((frame["score_method"] == "logprobs").sum())
    print(
        f"local SmolLM2-135M (in-process, grammar-constrained, exact answer log-probabilities): {n_items} DICES-350 "
        f"conversations in {wall:.1f} s = {n_items / wall:.2f} conv/s ({s['prompt_tokens'] / s['elapsed_s']:.0f} prompt "
        f"tokens/s; {ok}/{n_items} logprob-scored; full DICES-350 ~ {data.n_items * wall / n_items / 60:.1f} min)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--local-items", type=int, default=30)
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        proc, base_url = start_server(LATENCY)
        try:
            throughput(base_url, tmp)
            cached_rerun(base_url, tmp)
        finally:
            proc.terminate()
            proc.wait(10)
        if not args.skip_local:
            local(args.local_items, tmp)


if __name__ == "__main__":
    main()
