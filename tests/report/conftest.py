"""Fixtures for the report tests: an artifacts folder and a headless Chromium driven by Selenium."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reportkit import ARTIFACTS, CHROMEDRIVER, CHROMIUM, dices_run

from annalign.results import RunResult


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots and reports kept after the tests (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def dices() -> RunResult:
    """One real run for every report test: DICES-350, two machine-rater files, two groupings, 200 bootstrap replicates."""
    return dices_run()


@pytest.fixture(scope="session")
def dices_report(dices: RunResult, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The report of that run, written once."""
    from annalign.report import write_report

    return write_report(dices, tmp_path_factory.mktemp("dices-report"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium via Selenium with console and network logging; fails (not skips) when Chromium is absent."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.fail("Chromium is not installed (/usr/bin/chromium, /usr/bin/chromedriver): run scripts/setup-browser.sh first")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed: pip install -e '.[dev]' (selenium is a dev dependency)")
    profile = tempfile.mkdtemp(prefix="annalign-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,1600",
                f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
