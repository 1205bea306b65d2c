"""Bringing another article in a real browser (Debian's Chromium through playwright).

Paste an article, ask, and see the cited span highlighted in the new article view; upload
an HTML file; give a link to a page on the loopback server (with
ASSISTANT_ALLOW_PRIVATE_URLS=1) and a link that is refused; return to the bundled article.
Screenshots go to artifacts/screenshots/ (UPDATE_README_SCREENSHOT=1 copies the pasted-article
one to docs/screenshots/add-article.png).

Without /usr/bin/chromium the tests skip, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SMALL_ARTICLE
from tests.pages import ARTICLE_HTML, PAGE_TITLE, Pages, serve_pages
from tests.test_browser import SHOTS, TIMEOUT, Watch, _free_port, ask

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning")]

ROOT = Path(__file__).resolve().parents[1]
README_SHOT = ROOT / "docs" / "screenshots" / "add-article.png"
SMALL_TITLE = "Trường Tiểu học Hoàng Văn Thụ khánh thành thư viện xanh"
STATUS = "#article-status .src-status"


@pytest.fixture(scope="module")
def pages() -> Iterator[Pages]:
    with serve_pages() as served:
        yield served


@pytest.fixture(scope="module")
def app_url(bot: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from ui.app import launch

    port = _free_port()
    demo = launch(bot, port=port, prevent_thread_lock=True, quiet=True,
                  feedback_path=tmp_path_factory.mktemp("fb") / "feedback.jsonl")
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture
def page(chromium: Any, app_url: str) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1360, "height": 900}, locale="vi-VN")
    pg = context.new_page()
    pg.watch = Watch(pg, app_url)  # type: ignore[attr-defined]
    pg.goto(app_url)
    pg.wait_for_selector("#question textarea", timeout=TIMEOUT)
    pg.locator("#add-article button.label-wrap").click()
    pg.wait_for_selector("#article-source textarea", state="visible", timeout=TIMEOUT)
    yield pg
    context.close()


def submit(page: Any, text: str = "", file: Path | None = None) -> str:
    """Give the article box text or a file, press “Đọc bài”, wait for the outcome; its status text."""
    before = page.locator(STATUS).count() and page.locator(STATUS).inner_text()
    if file is not None:
        page.locator("#article-source input[type=file]").set_input_files(str(file))
        page.wait_for_selector("#article-source .thumbnail-item, #article-source [class*=thumbnail]",
                               timeout=TIMEOUT)
    if text:
        page.fill("#article-source textarea", text)
    page.locator("#article-source button.submit-button").click()
    page.wait_for_function(
        """(before) => { const el = document.querySelector('#article-status .src-status');
                         return el && !el.classList.contains('src-busy') && el.innerText !== before; }""",
        arg=before or "", timeout=TIMEOUT)
    return str(page.locator(STATUS).inner_text())


def title_shown(page: Any) -> str:
    return str(page.locator("#article-view .art-title").inner_text())


def test_paste_ask_and_see_the_citation_in_the_new_article(page: Any) -> None:
    bundled_title = title_shown(page)
    ask(page, "Ai là tác giả bài viết?")  # a conversation about the bundled article first
    status = submit(page, SMALL_ARTICLE)
    assert "Đã đọc xong" in status and SMALL_TITLE in status
    assert title_shown(page) == SMALL_TITLE != bundled_title
    assert page.locator("#chatbot .qa-answer").count() == 0  # a new conversation
    assert SMALL_TITLE in page.locator("#app-status").inner_text()
    assert page.locator("#back-btn").is_visible()
    answer = ask(page, "Thư viện có bao nhiêu đầu sách?")
    assert answer.locator("a.cite-ref").count() >= 1
    mark = page.locator("#article-view mark#cite-1")
    assert mark.is_visible() and mark.inner_text() in SMALL_ARTICLE.replace("\n", " ")
    path = SHOTS / "add-article.png"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(700)
    page.screenshot(path=str(path))
    if os.environ.get("UPDATE_README_SCREENSHOT") == "1":
        README_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SHOT)
    assert not page.watch.dialogs and not page.watch.foreign


def test_upload_then_link_then_back_to_the_bundled_article(page: Any, pages: Pages, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    bundled_title = title_shown(page)
    html_file = tmp_path / "bai-bao.html"
    html_file.write_text(ARTICLE_HTML.replace(PAGE_TITLE, "Bài tải lên: " + PAGE_TITLE), encoding="utf-8")
    status = submit(page, file=html_file)
    assert "Đã đọc xong" in status and title_shown(page) == "Bài tải lên: " + PAGE_TITLE
    assert "Bình luận" not in page.locator("#article-view").inner_text()

    monkeypatch.setenv("ASSISTANT_ALLOW_PRIVATE_URLS", "1")  # the server runs in this process
    status = submit(page, pages.url("/article.html"))
    assert "Đã đọc xong" in status and title_shown(page) == PAGE_TITLE
    assert "Thứ hai, 05/06/2023" in page.locator("#article-view .art-date").inner_text()

    page.locator("#back-btn").click()
    page.wait_for_function(f"document.querySelector('#article-view .art-title').innerText === {bundled_title!r}",
                           timeout=TIMEOUT)
    assert not page.locator("#back-btn").is_visible()
    answer = ask(page, "Ai là tác giả bài viết?")
    assert "NÔNG ĐÌNH QUANG" in answer.inner_text()


def test_a_refused_link_shows_its_message(page: Any, pages: Pages, monkeypatch: pytest.MonkeyPatch) -> None:
    bundled_title = title_shown(page)
    monkeypatch.delenv("ASSISTANT_ALLOW_PRIVATE_URLS", raising=False)
    status = submit(page, pages.url("/article.html"))
    assert "vì lý do an toàn" in status
    assert page.locator(f"{STATUS}.src-error").is_visible()
    monkeypatch.setenv("ASSISTANT_ALLOW_PRIVATE_URLS", "1")
    status = submit(page, pages.url("/missing"))
    assert "lỗi 404" in status
    assert title_shown(page) == bundled_title and not page.locator("#back-btn").is_visible()
    assert page.locator("#article-source textarea").input_value() == pages.url("/missing")  # kept to fix
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "add-article-refused.png"))


def test_each_browser_session_has_its_own_article(chromium: Any, app_url: str, page: Any) -> None:
    other = chromium.new_context(viewport={"width": 1360, "height": 900}, locale="vi-VN").new_page()
    try:
        other.goto(app_url)
        other.wait_for_selector("#question textarea", timeout=TIMEOUT)
        bundled_title = title_shown(other)
        submit(page, SMALL_ARTICLE)
        assert title_shown(page) == SMALL_TITLE
        answer = ask(other, "Ai là tác giả bài viết?")  # the other session still talks about the bundled article
        assert "NÔNG ĐÌNH QUANG" in answer.inner_text() and title_shown(other) == bundled_title
    finally:
        other.context.close()
