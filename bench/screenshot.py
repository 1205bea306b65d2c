"""Retake the README's screenshot (docs/screenshots/chat.png) with what a user gets.

The default assistant (`Assistant.load()`: the bundled article, the bundled
multilingual-e5-small, the `auto` answerer) in the web chat, driven by Debian's Chromium
through playwright: one question asked, its cited span highlighted, the sources opened.

    .venv/bin/python -m bench.screenshot [--out docs/screenshots/chat.png]

The browser tests take their own screenshots of the offline test assistant under
artifacts/screenshots/; this one is for people reading the README.
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from assistant import Assistant
from ui.app import launch

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
QUESTION = "Trong nhiệm kỳ 2010 – 2015 kết nạp được bao nhiêu đảng viên mới?"
DONE = "#chatbot .qa-answer:not(.qa-streaming)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "chat.png")
    parser.add_argument("--question", default=QUESTION)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    bot = Assistant.load()
    print("embedder:", bot.info()["embedder"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    demo = launch(bot, port=port, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1360, "height": 900}, locale="vi-VN").new_page()
        page.goto(url)
        page.wait_for_selector("#question textarea", timeout=60_000)
        page.fill("#question textarea", args.question)
        page.press("#question textarea", "Enter")
        page.wait_for_selector(DONE, timeout=120_000)
        answer = page.locator(DONE).last
        answer.locator("details.qa-sources summary").click()
        answer.locator("a.cite-ref").first.click()
        page.wait_for_timeout(1200)  # the smooth scroll and the highlight flash settle
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        print("answer:", " ".join(answer.inner_text().split())[:200])
        browser.close()
    demo.close()
    print("wrote", args.out)


if __name__ == "__main__":
    main()
