"""The web chat in a real browser: Debian's Chromium driven by playwright.

Streams an answer, follows its [n] marker into the highlighted article, runs an example,
shows an unanswerable question, proves a hostile question renders as text (no <img>, no
dialog, no request), and checks that a phone-sized window stacks the columns. Screenshots
of the main states go to artifacts/screenshots/ (the README's own, with the default model:
`python -m bench.screenshot`).

Without /usr/bin/chromium the tests skip, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning")]

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "screenshots"
TIMEOUT = 15_000
FIGURE_Q = "Trong nhiệm kỳ 2010 – 2015 kết nạp được bao nhiêu đảng viên mới?"
MISSING_Q = "Dân số tỉnh Lạng Sơn là bao nhiêu?"
HOSTILE_Q = "<img src=x onerror=alert(1)> ![x](http://example.com/x.png) <script>alert(2)</script> Ai là tác giả?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def feedback_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fb") / "feedback.jsonl"


@pytest.fixture(scope="module")
def app_url(bot: Any, feedback_file: Path, model_cache: Path) -> Iterator[str]:
    from ui.app import launch

    with pytest.MonkeyPatch.context() as mp:  # the session's model cache, not the user's
        mp.setenv("ASSISTANT_MODEL_CACHE", str(model_cache))
        bot.reader.warm_up()  # a first ONNX export (seconds) must not eat a test's 15 s wait
    port = _free_port()
    demo = launch(bot, port=port, prevent_thread_lock=True, quiet=True, feedback_path=feedback_file)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


class Watch:
    """What a page did that it should not: dialogs, requests that leave the app."""

    def __init__(self, page: Any, app_url: str):
        self.dialogs: list[str] = []
        self.foreign: list[str] = []
        app = urlparse(app_url)
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

        def route(r: Any) -> None:
            url = urlparse(r.request.url)
            if url.scheme in {"data", "blob"} or (url.hostname, url.port) == (app.hostname, app.port):
                r.continue_()
            else:
                self.foreign.append(r.request.url)
                r.abort()

        page.route("**/*", route)


@pytest.fixture
def page(chromium: Any, app_url: str) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1360, "height": 900}, locale="vi-VN")
    pg = context.new_page()
    pg.watch = Watch(pg, app_url)  # type: ignore[attr-defined]
    pg.goto(app_url)
    pg.wait_for_selector("#question textarea", timeout=TIMEOUT)
    yield pg
    context.close()


def ask(page: Any, question: str) -> Any:
    """Type a question, press Enter, wait for the finished answer; returns its locator."""
    done = "#chatbot .qa-answer:not(.qa-streaming)"
    before = page.locator(done).count()
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_function(f"document.querySelectorAll('{done}').length > {before}", timeout=TIMEOUT)
    return page.locator(done).nth(before)


def shot(page: Any, name: str, **kwargs: Any) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.wait_for_timeout(700)  # let the smooth scroll and the highlight flash settle
    page.screenshot(path=str(path), **kwargs)
    return path


def test_answer_streams_with_markers_sources_and_highlight(page: Any) -> None:
    ask(page, "Ai là tác giả bài viết?")
    answer = ask(page, FIGURE_Q)
    assert "261" in answer.inner_text()
    marker = answer.locator("a.cite-ref").first
    assert marker.inner_text() == "[1]"
    assert answer.locator("details.qa-sources summary").inner_text().startswith("Nguồn (")
    mark = page.locator("#article-view mark#cite-1")
    cited = "".join(page.locator("#article-view mark.c-1").all_inner_texts())
    assert "261" in cited and mark.inner_text() in cited
    # the short answer is highlighted inside the cited sentence
    assert "261" in page.locator("#article-view mark.c-1.ans-span").first.inner_text()
    assert page.locator("#article-view sup.cite-sup").first.inner_text() == "1"

    page.locator("#article-view").evaluate("el => el.scrollTo(0, 0)")
    marker.click()
    page.wait_for_selector("#article-view mark#cite-1.cite-flash", timeout=TIMEOUT)
    page.wait_for_timeout(900)
    panel, box = page.locator("#article-view").bounding_box(), mark.bounding_box()
    assert panel["y"] <= box["y"] and box["y"] + box["height"] <= panel["y"] + panel["height"]

    answer.locator("details.qa-sources summary").click()
    assert answer.locator("details.qa-sources li q").first.is_visible()
    shot(page, "desktop-answer.png")
    assert not page.watch.dialogs and not page.watch.foreign


def test_example_click_answers_and_like_is_recorded(page: Any, feedback_file: Path) -> None:
    done = "#chatbot .qa-answer:not(.qa-streaming)"
    page.get_by_text("Ai là tác giả bài viết?", exact=True).click()
    page.wait_for_function(f"document.querySelectorAll('{done}').length > 0", timeout=TIMEOUT)
    assert "NÔNG ĐÌNH QUANG" in page.locator(done).first.inner_text()
    assert "NÔNG ĐÌNH QUANG" in "".join(page.locator("#article-view mark.c-1").all_inner_texts())

    lines_before = len(feedback_file.read_text(encoding="utf-8").splitlines()) if feedback_file.exists() else 0
    page.locator("#chatbot button[aria-label='Like'], #chatbot button[title='Like']").last.click()
    for _ in range(50):
        lines = feedback_file.read_text(encoding="utf-8").splitlines() if feedback_file.exists() else []
        if len(lines) > lines_before:
            break
        page.wait_for_timeout(100)
    record = json.loads(lines[-1])
    assert record["liked"] is True and record["question"] == "Ai là tác giả bài viết?"
    assert record["answered"] is True and record["citations"]


def test_unanswerable_lists_related_passages(page: Any) -> None:
    answer = ask(page, MISSING_Q)
    assert "không đề cập" in answer.inner_text()
    related = answer.locator("details.qa-related summary")
    assert related.inner_text() == "Đoạn liên quan (không phải câu trả lời)"
    assert answer.locator("a.cite-ref").count() == 0
    assert page.locator("#article-view mark").count() == 0
    related.click()
    shot(page, "desktop-unanswerable.png")


def test_hostile_question_renders_as_text(page: Any) -> None:
    images = "#chatbot img"
    before = page.locator(images).count()
    ask(page, HOSTILE_Q)
    page.wait_for_timeout(300)
    assert page.locator(images).count() == before
    assert page.locator("#chatbot script").count() == 0
    assert page.locator("#chatbot .qa-question").last.inner_text().strip() == HOSTILE_Q
    assert not page.watch.dialogs
    assert not page.watch.foreign
    assert not page.evaluate("performance.getEntriesByType('resource').some(e => /\\/x(\\.png)?$/.test(e.name))")
    shot(page, "desktop-hostile.png")


def test_phone_layout_stacks_columns(chromium: Any, app_url: str) -> None:
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN", is_mobile=True,
                                   has_touch=True, device_scale_factor=2)
    try:
        pg = context.new_page()
        pg.goto(app_url)
        pg.wait_for_selector("#question textarea", timeout=TIMEOUT)
        chat, article = pg.locator("#chat-col").bounding_box(), pg.locator("#article-col").bounding_box()
        assert article["y"] >= chat["y"] + chat["height"] - 1
        assert chat["width"] <= 390 and article["width"] <= 390 and article["width"] > 300
        answer = ask(pg, "Ai là tác giả bài viết?")
        shot(pg, "phone.png")
        answer.locator("a.cite-ref").first.click()  # the article is below: the page scrolls to the quote
        pg.wait_for_selector("#article-view mark#cite-1.cite-flash", timeout=TIMEOUT)
        pg.wait_for_timeout(900)
        box = pg.locator("#article-view mark#cite-1").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 844
        shot(pg, "phone-citation.png")
    finally:
        context.close()
