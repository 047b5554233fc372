"""Whole-process timing shared by the benchmark scripts (run as ``python benchmarks/<script>.py``, so this folder is on sys.path)."""

from __future__ import annotations

import multiprocessing as mp
import resource
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str], runs: int) -> float:
    """Median wall seconds of ``command`` as a whole process run from the repository root (it must succeed)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {proc.stderr[-2000:]}")
    return statistics.median(times)


def peak_rss_mb() -> float:
    """This process's peak resident memory (RSS high-water mark) in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(target: Callable[..., None], *args: Any, **kwargs: Any) -> Any:
    """Run ``target(*args, queue, **kwargs)`` in a fresh forked process and return what it puts on the queue (its own peak RSS)."""
    queue: mp.Queue = mp.Queue()
    proc = mp.get_context("fork").Process(target=target, args=(*args, queue), kwargs=kwargs)
    proc.start()
    out = queue.get()
    proc.join()
    return out
