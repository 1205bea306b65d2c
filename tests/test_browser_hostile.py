"""Hostile input in a real browser (Chromium through playwright, as in tests/test_browser.py).

- questions carrying HTML, script, iframe and style tags, Markdown images and javascript:
  links, right-to-left overrides and a lone surrogate show as plain text: nothing is
  rendered, loaded or run, and the answer still comes;
- an article whose own text carries such markup is shown and quoted as text too;
- with the request queue full, the user gets the Vietnamese "busy, try again" message at
  once, the question stays in the box, and sending it again later works.

Without /usr/bin/chromium the tests skip, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Held
from .test_browser import TIMEOUT, Watch, _free_port, ask

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning")]

AUTHOR = "NÔNG ĐÌNH QUANG"
MARKUP_Q = ("<iframe src=javascript:alert(1)></iframe><style>body{display:none}</style> "
            "[bấm vào](javascript:alert(2)) **đậm** <b onmouseover=alert(3)>b</b> Ai là tác giả bài viết?")
RTL_Q = "\u202eAi là tác giả bài viết? ![ảnh](http://example.com/a.png) <u>gạch</u>"
HOSTILE_ARTICLE = ("Thứ hai, 05/06/2023\n\nTin <b>in đậm</b> <script>alert('tiêu đề')</script>\n\n"
                   "LSO- Xã Hòa Bình có 12 hộ nghèo <img src=x onerror=alert(1)> và "
                   "![ảnh](http://example.com/x.png) [liên kết](javascript:alert(2)).\n\n"
                   "Năm nay xã hỗ trợ xây 5 căn nhà mới cho hộ nghèo.\n\nBài: AN")


def serve(bot: Any, **options: Any) -> tuple[Any, str]:
    from ui.app import launch

    port = _free_port()
    demo = launch(bot, port=port, prevent_thread_lock=True, quiet=True, **options)
    return demo, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def app_url(bot: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    demo, url = serve(bot, feedback_path=tmp_path_factory.mktemp("fb") / "feedback.jsonl")
    try:
        yield url
    finally:
        demo.close()


def open_page(chromium: Any, url: str) -> tuple[Any, Any]:
    context = chromium.new_context(viewport={"width": 1360, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.watch = Watch(page, url)  # type: ignore[attr-defined]
    page.goto(url)
    page.wait_for_selector("#question textarea", timeout=TIMEOUT)
    return context, page


def assert_inert(page: Any, scope: str) -> None:
    for selector in ("script", "iframe", "style:not(svg style)", "img", "b", "u", "a[href^='javascript']",
                     "[onerror]", "[onmouseover]"):  # (Gradio's own icons are SVGs with a <style>)
        assert page.locator(f"{scope} {selector}").count() == 0, (scope, selector)
    assert not page.watch.dialogs and not page.watch.foreign


def test_markup_in_questions_is_text(chromium: Any, app_url: str) -> None:
    context, page = open_page(chromium, app_url)
    try:
        for question in (MARKUP_Q, RTL_Q):
            answer = ask(page, question)
            assert AUTHOR in answer.inner_text()
            assert page.locator("#chatbot .qa-question").last.inner_text().strip() == question
        page.wait_for_timeout(300)
        assert_inert(page, "#chatbot .qa-question")
        assert page.locator("body").is_visible()
        assert not page.evaluate("performance.getEntriesByType('resource').some(e => /a\\.png$/.test(e.name))")
    finally:
        context.close()


def test_lone_surrogate_from_the_browser_is_answered(chromium: Any, app_url: str) -> None:
    """Regression: the surrogate was echoed back and Gradio could not encode the reply
    (orjson: "surrogates not allowed"), which broke the page's connection."""
    context, page = open_page(chromium, app_url)
    try:
        done = "#chatbot .qa-answer:not(.qa-streaming)"
        page.evaluate("""() => { const box = document.querySelector('#question textarea');
            box.value = 'Ai là tác giả \\ud800 bài viết?';
            box.dispatchEvent(new Event('input', {bubbles: true})); }""")
        page.press("#question textarea", "Enter")
        page.wait_for_function(f"document.querySelectorAll('{done}').length > 0", timeout=TIMEOUT)
        assert AUTHOR in page.locator(done).last.inner_text()
        assert "\ufffd" in page.locator("#chatbot .qa-question").last.inner_text()
    finally:
        context.close()


def test_hostile_article_is_shown_and_quoted_as_text(chromium: Any, tmp_path: Path) -> None:
    from assistant import Assistant

    path = tmp_path / "doc-hai.txt"
    path.write_text(HOSTILE_ARTICLE, encoding="utf-8")
    bot = Assistant.build([path], tmp_path / "idx", model="offline", announce=lambda _m: None)
    demo, url = serve(bot, feedback_path=tmp_path / "feedback.jsonl")
    try:
        context, page = open_page(chromium, url)
        try:
            assert "<script>alert('tiêu đề')</script>" in page.locator("#article-view").inner_text()
            answer = ask(page, "Xã Hòa Bình có bao nhiêu hộ nghèo?")
            assert "12 hộ nghèo" in answer.inner_text()
            answer.locator("details.qa-sources summary").click()
            assert "<img src=x onerror=alert(1)>" in answer.inner_text()
            page.wait_for_timeout(300)
            assert_inert(page, "#chatbot")
            assert_inert(page, "#article-view")
        finally:
            context.close()
    finally:
        demo.close()




def test_full_queue_says_busy_in_vietnamese(chromium: Any, bot: Any, tmp_path: Path) -> None:
    from gradio_client import Client

    gate = threading.Event()
    held = Held(bot, gate)
    demo, url = serve(held, feedback_path=tmp_path / "fb.jsonl", queue_size=1, concurrency=1)
    results: list[str] = []

    def call() -> None:
        try:
            results.append(Client(url, verbose=False).predict("Ai là tác giả bài viết?", api_name="/ask")["answer"])
        except Exception as err:  # recorded and checked below
            results.append(repr(err))

    callers = [threading.Thread(target=call) for _ in range(2)]  # one running, one waiting: queue full
    try:
        callers[0].start()  # the first is being handled (held) before the second queues behind it
        assert held.entered.wait(60), "the first caller was never handled"
        callers[1].start()
        deadline = time.monotonic() + 60  # (generous: a loaded CI machine starts clients slowly)
        while len(demo._queue) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(demo._queue) >= 1, "the second caller never reached the queue"
        context, page = open_page(chromium, url)
        try:
            page.fill("#question textarea", "Ai là tác giả bài viết?")
            page.press("#question textarea", "Enter")
            toast = page.locator('[data-testid="toast-body"]')
            # while the gate still holds the others: the refusal comes at once, not after them
            toast.filter(has_text="Trợ lý đang bận").wait_for(timeout=TIMEOUT)
            assert results == []  # neither held caller has finished
            assert "busy" not in toast.inner_text()
            assert page.input_value("#question textarea") == "Ai là tác giả bài viết?"
            gate.set()
            for t in callers:
                t.join(timeout=30)
            assert all(AUTHOR in r for r in results), results
            answer = ask(page, "Ai là tác giả bài viết?")  # sending it again now works
            assert AUTHOR in answer.inner_text()
        finally:
            context.close()
    finally:
        gate.set()
        demo.close()
