"""Optional test dependencies: a missing one skips its tests here, and fails them in CI (CI=true)."""

from __future__ import annotations

import importlib.util
import os

import pytest


def in_ci() -> bool:
    """Whether this is a CI run, where every dependency of the suite must be there."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """Skip with the reason (visible in pytest's -ra summary), or fail with it in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing test dependency is a failure)", pytrace=False)
    pytest.skip(reason)


def require_modules(*names: str, hint: str) -> None:
    """Skip (or, in CI, fail) unless every module can be imported."""
    absent = [n for n in names if importlib.util.find_spec(n) is None]
    if absent:
        missing(f"{', '.join(absent)} not installed: {hint}")
