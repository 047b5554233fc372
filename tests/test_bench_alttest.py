"""The alt-test benchmark's plain reference is itself the published procedure: it equals annalign on sparse data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from annalign.analyses.alt_test import alt_test

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_alttest.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_alttest", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.parametrize("scoring", ["accuracy", "neg_rmse"])
def test_the_benchmarks_plain_reference_equals_annalign_and_its_check_fails_on_a_difference(scoring):
    bench = _bench()
    data, machine = bench.synthetic(n_items=3000, n_raters=60, per_item=6, seed=1)
    machine = machine.copy()
    machine[::17] = np.nan  # unrated items
    ours = alt_test(data, machine, epsilon=0.2, scoring=scoring)
    plain = bench.plain_alt_test(data, machine, 0.2, scoring)
    bench.check(ours, plain)
    assert len(plain[2]) == ours.n_raters_tested > 0
    omega, rho, pvals = plain
    with pytest.raises(SystemExit, match="disagree"):
        bench.check(ours, (omega, rho + 0.01, pvals))
