"""Bringing another article into the web chat (ui/articles.py): the handlers without a server,
then ``/add_article`` and ``/ask`` with `article_id` through gradio_client.

One app per module on a free loopback port, over the session's offline bundled index.
"""

from __future__ import annotations

import html
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning")]
gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from assistant import ArticleLibrary, SourceError  # noqa: E402
from tests.conftest import SMALL_ARTICLE  # noqa: E402
from tests.pages import ARTICLE_HTML, PAGE_TITLE, Pages, serve_pages  # noqa: E402
from ui.articles import ArticleHandlers, source_message  # noqa: E402
from ui.chat import ChatHandlers  # noqa: E402
from ui.feedback import FeedbackLog  # noqa: E402

LIBRARY_Q = "Thư viện có bao nhiêu đầu sách?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pages() -> Iterator[Pages]:
    with serve_pages() as served:
        yield served


@pytest.fixture
def handlers(bot: Any, tmp_path: Path) -> tuple[ArticleHandlers, ChatHandlers]:
    library = ArticleLibrary(embedder=bot.embedder, reader=bot.reader)
    return ArticleHandlers(bot, library), ChatHandlers(bot, 2000, FeedbackLog(tmp_path / "fb.jsonl"), library)


def _skipped(value: Any) -> bool:
    return isinstance(value, type(gr.skip()))


# --- handlers ------------------------------------------------------------------------------------------


def test_paste_switches_the_article_and_starts_a_new_conversation(handlers: Any, bot: Any) -> None:
    articles, chat = handlers
    steps = list(articles.add({"text": SMALL_ARTICLE, "files": []}, None))
    assert "Đang đọc bài viết" in steps[0][1] and "src-busy" in steps[0][1]
    assert any("Đang lập chỉ mục" in s[1] for s in steps[1:-1])
    box, status, view, app_status, article_id, chatbot, turns, back, examples = steps[-1]
    assert "Đã đọc xong" in status and "thư viện xanh" in view and "thư viện xanh" in app_status
    assert len(article_id) == 64 and chatbot == [] and turns == []
    assert back["visible"] is True and examples["visible"] is False and box["value"] is None
    answer_steps = list(chat.respond(LIBRARY_Q, [], 4, "hybrid", "extractive", article_id))
    assert "2.000 đầu sách" in html.unescape(answer_steps[-1][1][-1]["content"])
    assert '<mark class="cite-mark' in answer_steps[-1][2] and "thư viện xanh" in answer_steps[-1][2]
    assert answer_steps[-1][3][-1]["article_id"] == article_id
    back_out = articles.back(article_id)
    assert back_out[4] is None and bot.article.title in back_out[2] and back_out[7]["visible"] is False


def test_upload_an_html_file(handlers: Any, tmp_path: Path) -> None:
    articles, _ = handlers
    page = tmp_path / "bai-bao.html"
    page.write_text(ARTICLE_HTML, encoding="utf-8")
    steps = list(articles.add({"text": "", "files": [str(page)]}, None))
    assert "Đang đọc tệp bai-bao.html" in steps[0][1]
    assert PAGE_TITLE in steps[-1][2] and "Bình luận" not in steps[-1][2]


@pytest.mark.parametrize("value, expected", [
    ({"text": "   ", "files": []}, "Bài viết trống"),
    ({"text": "%PDF-1.5 ...", "files": []}, "Chưa hỗ trợ tệp PDF"),
    ({"text": "ftp://example.com/a", "files": []}, "chỉ nhận link bắt đầu bằng http:// hoặc https://"),
    ({"text": "http://127.0.0.1:9/bai.html", "files": []}, "vì lý do an toàn"),
    (None, "Bài viết trống"),
])
def test_refusals_are_one_vietnamese_line(handlers: Any, value: Any, expected: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSISTANT_ALLOW_PRIVATE_URLS", raising=False)
    articles, _ = handlers
    last = list(articles.add(value, None))[-1]
    assert expected in last[1] and "src-error" in last[1] and 'role="alert"' in last[1]
    assert all(_skipped(x) for x in last[2:])  # nothing switched, nothing built
    assert not (articles.library.root.exists() and any(articles.library.root.iterdir()))


def test_every_reason_has_a_message() -> None:
    import inspect

    import assistant.ingest.fetch
    import assistant.ingest.html
    import assistant.ingest.sources
    import assistant.library
    import assistant.search.cache

    code = "".join(inspect.getsource(m) for m in (assistant.ingest.fetch, assistant.ingest.html,
                                                   assistant.ingest.sources,
                                                   assistant.library, assistant.search.cache))
    import re

    reasons = set(re.findall(r'SourceError\(\s*"(\w+)"', code))
    assert len(reasons) >= 14
    generic = source_message(SourceError("???", "x"))
    for reason in reasons:
        assert source_message(SourceError(reason, "x", size=2_000_000, limit=1_000_000)) != generic, reason


# --- the API ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(bot: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from ui.app import launch

    port = _free_port()
    demo = launch(bot, port=port, prevent_thread_lock=True, quiet=True,
                  feedback_path=tmp_path_factory.mktemp("fb") / "feedback.jsonl")
    try:
        yield gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
    finally:
        demo.close()


def test_add_article_then_ask_about_it(client: Any, pages: Pages, monkeypatch: pytest.MonkeyPatch) -> None:
    added = client.predict(SMALL_ARTICLE, api_name="/add_article")
    assert set(added) >= {"article_id", "title", "date", "chars", "passages"}
    assert added["title"] == "Trường Tiểu học Hoàng Văn Thụ khánh thành thư viện xanh" and added["passages"] > 0
    result = client.predict(LIBRARY_Q, article_id=added["article_id"], api_name="/ask")
    assert result["answered"] and result["citations"]
    article_text = SMALL_ARTICLE  # citations point into the new article, not the bundled one
    assert all(c["text"].split()[0] in article_text for c in result["citations"])
    second = client.predict(LIBRARY_Q, added["article_id"], api_name="/ask")  # the id second, as in the issue
    assert second["answer"] == result["answer"]
    assert client.predict(SMALL_ARTICLE, api_name="/add_article") == added  # built once
    bundled = client.predict("Ai là tác giả bài viết?", api_name="/ask")
    assert "NÔNG ĐÌNH QUANG" in bundled["answer"]
    monkeypatch.setenv("ASSISTANT_ALLOW_PRIVATE_URLS", "1")  # the server runs in this process
    linked = client.predict(pages.url("/article.html"), api_name="/add_article")
    assert linked["title"] == PAGE_TITLE and linked["date"] == "05/06/2023"


def test_api_refusals_in_vietnamese(client: Any, pages: Pages, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_ALLOW_PRIVATE_URLS", "1")
    for value, expected in (("  ", "Bài viết trống"), (pages.url("/missing"), "lỗi 404"),
                            (pages.url("/image.png"), "không dẫn tới một trang báo")):
        with pytest.raises(gradio_client.exceptions.AppError, match=expected):
            client.predict(value, api_name="/add_article")
    with pytest.raises(gradio_client.exceptions.AppError, match="không còn trên máy chủ"):
        client.predict(LIBRARY_Q, article_id="0" * 64, api_name="/ask")


def test_named_endpoints(client: Any) -> None:
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/ask", "/add_article"}
    names = [p["parameter_name"] for p in api["named_endpoints"]["/ask"]["parameters"]]
    assert names[0] == "question" and "article_id" in names
