"""report.html in headless Chromium: renders cleanly, loads nothing, shows every figure, and hostile text stays inert."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from reportkit import EVIL_MACHINE, PAYLOADS, make_run

from annalign.report import write_report

pytestmark = pytest.mark.browser

FIGURE_IDS = ["rq1_human_distribution", "rq2_group_forest", "rq2_group_strip", "rq2_power", "rq3_predictions", "rq3_scatter"]


def load(driver: Any, path: Path) -> dict[str, Any]:
    """Open a report and return what the browser saw: console messages, network requests, resource entries."""
    driver.get("about:blank")
    driver.get_log("browser")
    driver.get_log("performance")  # empty the buffers: only this page's events count
    url = path.resolve().as_uri()
    driver.get(url)
    events = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
    requests = [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]
    return {
        "url": url,
        "console": driver.get_log("browser"),
        "remote": [u for u in requests if u != url and not u.startswith("data:")],
        "resources": driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)"),
    }


def assert_clean(driver: Any, seen: dict[str, Any]) -> None:
    """No console messages at warning level or above, no network request, no script element."""
    problems = [m for m in seen["console"] if m["level"] in ("SEVERE", "WARNING")]
    assert not problems, f"console errors: {problems}"
    assert seen["remote"] == [], f"network requests: {seen['remote']}"
    assert seen["resources"] == [], f"resources loaded: {seen['resources']}"
    assert driver.execute_script("return document.querySelectorAll('script').length") == 0


def screenshot(driver: Any, out: Path, name: str) -> Path:
    """Save the first screen and the whole page as PNG artifacts."""
    driver.set_window_size(1280, 1000)
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(out / f"{name}-top.png"))
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(height) + 120, 16000))
    path = out / f"{name}-full.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    return path


def test_report_renders_in_chromium(browser, artifacts):
    paths = write_report(make_run(), artifacts / "report")
    seen = load(browser, paths["html"])
    assert_clean(browser, seen)
    csp = browser.execute_script(
        "return document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]').getAttribute('content')")
    assert "default-src 'none'" in csp and "img-src data:" in csp
    for fig in FIGURE_IDS:
        size = browser.execute_script(
            "const img = document.getElementById(arguments[0]);"
            "return img && img.complete ? [img.naturalWidth, img.naturalHeight, img.alt.length] : null", f"fig-{fig}")
        assert size and size[0] > 300 and size[1] > 150 and size[2] > 10, f"figure {fig} missing or not decoded: {size}"
    tables_shown = browser.execute_script("return Array.from(document.querySelectorAll('figure.table')).map(f => f.id)")
    assert {"table-models", "table-groups", "table-rq3", "table-provenance"} <= set(tables_shown)
    text = browser.execute_script("return document.body.innerText")
    assert "likert-model correlates with the average rater at r = " in text
    browser.find_element("css selector", "#examples-details > summary").click()
    assert browser.execute_script("return document.getElementById('examples-details').open") is True
    shot = screenshot(browser, artifacts, "report")
    assert shot.stat().st_size > 50_000
    assert_clean(browser, {**seen, "console": browser.get_log("browser")})


def test_hostile_text_is_inert_and_literal(browser, artifacts):
    paths = write_report(make_run(payload=True), artifacts / "report-hostile")
    seen = load(browser, paths["html"])
    assert_clean(browser, seen)
    for summary in browser.find_elements("css selector", "details > summary"):
        summary.click()  # open every disclosure, as a reader would
    alert_open = browser.execute_script("return typeof window.__pwned")
    assert alert_open == "undefined", "a payload ran"
    counts = browser.execute_script(
        "return ['script', 'iframe', 'object', 'embed', 'base', 'link', 'svg', 'textarea', 'style:not(head style)',"
        " 'meta[http-equiv=refresh]', '[onerror]', '[onload]', '[onmouseover]', 'a[href^=\"javascript\"]']"
        ".map(s => [s, document.querySelectorAll(s).length])")
    assert all(n == 0 for _, n in counts), counts
    assert browser.execute_script("return document.querySelectorAll('img').length") == len(
        [k for k in paths if k.endswith(".png")])
    assert browser.current_url == seen["url"], "the page navigated away"
    assert browser.execute_script("return getComputedStyle(document.body).display") != "none"
    text = browser.execute_script("return document.body.innerText")
    for payload in PAYLOADS:
        assert payload in text, f"payload not shown literally: {payload}"
    assert EVIL_MACHINE in text
    screenshot(browser, artifacts, "report-hostile")
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    assert_clean(browser, {**seen, "console": browser.get_log("browser")})


def test_real_run_report_renders_in_chromium(browser, dices_report):
    seen = load(browser, dices_report["html"])
    assert_clean(browser, seen)
    ids = [k.removesuffix(".png") for k in dices_report if k.endswith(".png")]
    for fig in ids:
        size = browser.execute_script(
            "const img = document.getElementById(arguments[0]); return img && img.complete ? [img.naturalWidth, img.naturalHeight] : null",
            f"fig-{fig}")
        assert size and size[0] > 300 and size[1] > 150, f"figure {fig} missing or not decoded: {size}"
    tables_shown = browser.execute_script("return Array.from(document.querySelectorAll('figure.table')).map(f => f.id)")
    assert {"table-groups", "table-groups-rater_age", "table-power-rater_age", "table-rq3"} <= set(tables_shown)
