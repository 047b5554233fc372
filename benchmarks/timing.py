"""Whole-process timing shared by the benchmark scripts (run as ``python benchmarks/<script>.py``, so this folder is on sys.path)."""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

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
