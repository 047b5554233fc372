"""The command line asks OpenBLAS for one thread before numpy loads, and keeps a count the user set."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = "import os, annalign.cli, numpy; print(os.environ['OPENBLAS_NUM_THREADS'], len(os.listdir('/proc/self/task')))"


def _probe(env_extra: dict[str, str]) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"} | env_extra
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    setting, threads = proc.stdout.split()
    return setting, int(threads)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through /proc (Linux)")
def test_numpy_loaded_after_the_cli_package_runs_one_blas_thread():
    setting, threads = _probe({})
    assert setting == "1"
    assert threads == 1


@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2, reason="needs Linux and 2 cores")
def test_a_thread_count_the_user_set_is_kept():
    setting, threads = _probe({"OPENBLAS_NUM_THREADS": "2"})
    assert setting == "2"
    assert threads == 2
