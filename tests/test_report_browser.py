"""The evaluation report renders in a real browser: table, charts, no external requests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.cli import main

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.mark.browser
def test_report_html_renders_in_chromium(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium")
        pytest.skip("Debian's chromium is not installed")
    playwright = pytest.importorskip("playwright.sync_api")
    assert main(["eval", "--split", "heldout", "--out", str(tmp_path), "-q"]) == 0
    requests: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        page.on("request", lambda r: requests.append(r.url))
        page.goto((tmp_path / "report.html").as_uri())
        assert page.locator("h1").inner_text() == "Evaluation report"
        assert page.locator("table tr").count() > 10
        assert page.locator("svg").count() == 2
        artifacts = Path("artifacts/screenshots")
        artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(artifacts / "eval-report.png"))
        browser.close()
    assert all(url.startswith("file:") for url in requests), requests
