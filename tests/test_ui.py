"""The web chat (ui/): the /ask API through gradio_client, the HTML builders, the chat
handlers' messages, feedback lines, the safety helpers and the `assistant chat` command.

One app is launched per module on a free loopback port (the conftest blocks anything else).
"""

from __future__ import annotations

import html
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning")]
gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from assistant import Article, LLMError  # noqa: E402
from ui.chat import GENERIC_ERROR, ChatHandlers  # noqa: E402
from ui.feedback import FeedbackLog  # noqa: E402
from ui.render import answer_html, article_html, md_esc, status_markdown, user_message_html  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIGURE_Q = "Trong nhiệm kỳ 2010 – 2015 kết nạp được bao nhiêu đảng viên mới?"
AUTHOR_Q = "Ai là tác giả bài viết?"
MISSING_Q = "Dân số tỉnh Lạng Sơn là bao nhiêu?"
HOSTILE = ["<script>alert(1)</script> Ai là tác giả?", "<img src=x onerror=alert(1)>",
           "![x](http://example.com/x.png) [link](javascript:alert(1))"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(bot: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from ui.app import launch

    feedback = tmp_path_factory.mktemp("feedback") / "feedback.jsonl"
    port = free_port()
    demo = launch(bot, port=port, prevent_thread_lock=True, quiet=True, feedback_path=feedback)
    try:
        yield {"url": f"http://127.0.0.1:{port}/", "demo": demo, "feedback": feedback}
    finally:
        demo.close()


@pytest.fixture(scope="module")
def client(server: dict[str, Any]) -> Any:
    return gradio_client.Client(server["url"], verbose=False)


# --- /ask through gradio_client ------------------------------------------------------------


def _check_citations(result: dict[str, Any], article: Article) -> None:
    for c in result["citations"]:
        assert article.text[c["start"] : c["end"]] == c["text"]
        assert f"[{c['n']}]" in result["answer"]


def test_ask_figure(client: Any, bot: Any) -> None:
    result = client.predict(FIGURE_Q, api_name="/ask")
    assert result["answered"] is True
    assert "261" in result["answer"]
    assert result["citations"] and any("261" in c["text"] for c in result["citations"])
    assert set(result["citations"][0]) >= {"n", "chunk_id", "text", "start", "end"}
    _check_citations(result, bot.article)


def test_ask_author_with_k_and_mode(client: Any, bot: Any) -> None:
    result = client.predict(AUTHOR_Q, 2, "lexical", api_name="/ask")
    assert "NÔNG ĐÌNH QUANG" in result["answer"]
    assert len(result["passages"]) <= 2
    _check_citations(result, bot.article)


def test_ask_unanswerable(client: Any) -> None:
    result = client.predict(MISSING_Q, api_name="/ask")
    assert result["answered"] is False
    assert result["citations"] == []
    assert result["passages"]


def test_ask_hostile_question_returns_normally(client: Any) -> None:
    result = client.predict(HOSTILE[0], api_name="/ask")
    assert isinstance(result["answer"], str) and isinstance(result["answered"], bool)


def test_ask_rejects_bad_input_in_vietnamese(client: Any) -> None:
    with pytest.raises(gradio_client.exceptions.AppError, match="Câu hỏi trống"):
        client.predict("   ", api_name="/ask")
    with pytest.raises(gradio_client.exceptions.AppError, match="vượt quá giới hạn"):
        client.predict("a" * 5000, api_name="/ask")
    with pytest.raises(gradio_client.exceptions.AppError, match="mode"):
        client.predict(AUTHOR_Q, 4, "magic", api_name="/ask")


def test_only_ask_and_add_article_are_public(client: Any) -> None:
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/ask", "/add_article"}  # /add_article: tests/test_ui_articles.py
    assert not api["unnamed_endpoints"]


# --- HTML builders ------------------------------------------------------------------------------

HOSTILE_ARTICLE = ("Thứ hai, 05/06/2023\n\nTiêu đề <b>đậm</b> & \"trích\"\n\n"
                   "LSO- Mở đầu <img src=x onerror=alert(1)> có 12 người. Câu hai ![x](http://example.com/x.png).\n\n"
                   "Đoạn thân bài thứ nhất. Đoạn này dài hơn một chút để có chỗ trích dẫn.\n\nBài: AN")


def _visible_text(fragment: str) -> str:
    """The text a browser would show: sup numbers and the legend dropped, tags stripped."""
    fragment = re.sub(r'<p class="art-legend">.*?</p>', "", fragment)
    fragment = re.sub(r"<sup[^>]*>.*?</sup>", "", fragment)
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _cite(article: Article, needle: str, n: int) -> SimpleNamespace:
    start = article.text.index(needle)
    return SimpleNamespace(n=n, chunk_id=f"c{n}", text=needle, start=start, end=start + len(needle), article=0)


def test_article_html_escapes_every_piece() -> None:
    article = Article.from_text(HOSTILE_ARTICLE)
    out = article_html(article)
    assert "<img" not in out and "<b>" not in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out and "&lt;b&gt;" in out
    assert _visible_text(out) == "".join(p.text for p in article.paragraphs)
    assert '<h2 class="art-title" id="para-2">' in out and 'class="art-byline"' in out


def test_article_html_marks_cited_spans(article: Article) -> None:
    c1 = _cite(article, "kết nạp được 261 đảng viên mới", 1)
    c2 = _cite(article, "NÔNG ĐÌNH QUANG", 2)
    out = article_html(article, [c1, c2], turn=5)
    for c in (c1, c2):
        mark = re.search(rf'<mark class="cite-mark c-{c.n}" id="cite-{c.n}" data-cite="{c.n}">(.*?)</mark>', out)
        assert mark and html.unescape(mark.group(1)) == c.text
        assert f'</mark><sup class="cite-sup">{c.n}</sup>' in out
    assert "turn-5" in out and "đang tô sáng 2 trích dẫn" in out
    assert _visible_text(out) == "".join(p.text for p in article.paragraphs)


def test_article_html_overlapping_adjacent_and_bad_citations(article: Article) -> None:
    base = article.text.index("kết nạp được 261 đảng viên mới")
    spans = [(base, base + 20, 1), (base + 10, base + 30, 2), (base + 30, base + 40, 3),  # overlap, adjacent
             (base, base + 20, 4),  # identical to [1]
             (article.paragraphs[1].start, article.paragraphs[2].start + 5, 5),  # across two paragraphs
             (len(article.text) - 3, len(article.text) + 50, 6), (40, 40, 7), (-1, 3, 8)]  # invalid
    cites = [SimpleNamespace(n=n, chunk_id="c", text=None, start=s, end=e, article=0) for s, e, n in spans]
    out = article_html(article, cites)
    for n in (1, 2, 3, 4, 5):
        assert out.count(f'id="cite-{n}"') == 1
        assert out.count(f'<sup class="cite-sup">{n}</sup>') == 1
    for n in (6, 7, 8):
        assert f'id="cite-{n}"' not in out
    assert 'data-cite="1 2 4"' in out and "cite-overlap" in out
    assert _visible_text(out) == "".join(p.text for p in article.paragraphs)


@pytest.mark.parametrize("question", HOSTILE)
def test_user_message_is_inert(question: str) -> None:
    from markdown_it import MarkdownIt

    out = user_message_html(question)
    assert out.startswith("<div") and "\n" not in out
    for bad in ("<img", "<script", "![", "](", "<a "):
        assert bad not in out
    assert html.unescape(re.sub(r"<[^>]+>", "", out)) == question
    rendered = MarkdownIt("commonmark", {"html": True}).enable("linkify").render(out)
    assert "<img" not in rendered and "<script" not in rendered and "href=" not in rendered


def test_md_esc_keeps_line_breaks_and_text() -> None:
    assert md_esc("a\nb") == "a<br>b"
    assert html.unescape(md_esc("**x** _y_ `z` $1$ # h | t ~")) == "**x** _y_ `z` $1$ # h | t ~"


def test_answer_html(bot: Any) -> None:
    answer = bot.ask(FIGURE_Q)
    out = answer_html(replace(answer, notice="Trả lời bằng trích dẫn <b>vì</b> LLM lỗi."), bot.article, turn=3)
    assert 'href="#cite-1"' in out and "turn-3" in out
    assert f"<details class=\"qa-sources\"><summary>Nguồn ({len(answer.citations)})</summary>" in out
    assert '<p class="qa-notice"><em>' in out and "<b>" not in out
    assert "đoạn 7" in out and "điểm 0,0" in out
    # the short answer is marked inside the quoted sentence, escaped like the rest
    span = re.search(r'<mark class="qa-span">(.*?)</mark>', out)
    assert span and html.unescape(span.group(1)) == answer.short_answer
    hostile = replace(answer.citations[0], text="<img src=x onerror=alert(1)> 261", answer_start=None)
    assert "<img" not in answer_html(replace(answer, citations=[hostile]), bot.article)
    missing = answer_html(bot.ask(MISSING_Q), bot.article)
    assert "<summary>Đoạn liên quan (không phải câu trả lời)</summary>" in missing
    assert "Nguồn" not in missing and "cite-ref" not in missing


def test_status_line(bot: Any) -> None:
    line = status_markdown(bot.info(), bot.article)
    assert "offline hashing embedder" in line and "12 đoạn" in line
    assert html.unescape(md_esc(bot.article.title)) in html.unescape(line)


# --- chat handlers (no server) ---------------------------------------------------------------


def _run(gen: Iterator[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return list(gen)


def _last_bot(steps: list[tuple[Any, ...]]) -> str:
    chat = [s[1] for s in steps if isinstance(s[1], list)][-1]
    return chat[-1]["content"]


def _handlers(bot: Any, tmp_path: Path, max_chars: int = 2000) -> ChatHandlers:
    return ChatHandlers(bot, max_chars, FeedbackLog(tmp_path / "fb.jsonl"))


def test_blank_input_does_nothing(bot: Any, tmp_path: Path) -> None:
    steps = _run(_handlers(bot, tmp_path).respond("  \n ", [], 4, "hybrid", "extractive"))
    assert len(steps) == 1 and all(isinstance(x, type(gr.skip())) for x in steps[0])


def test_streamed_answer_and_highlights(bot: Any, tmp_path: Path) -> None:
    steps = _run(_handlers(bot, tmp_path).respond(FIGURE_Q, [], 4, "hybrid", "extractive"))
    assert steps[0][0] == ""  # the textbox is cleared at once
    assert "261" in _last_bot(steps) and "Nguồn" in _last_bot(steps)
    assert '<mark class="cite-mark' in steps[-1][2] and 'id="cite-1"' in steps[-1][2]
    turns = steps[-1][3]
    assert turns[0]["question"] == FIGURE_Q and turns[0]["answer"]["answered"] is True


def test_too_long_question_is_refused_politely(bot: Any, tmp_path: Path) -> None:
    steps = _run(_handlers(bot, tmp_path, max_chars=50).respond("Ai " * 40, [], 4, "hybrid", "extractive"))
    assert "vượt quá giới hạn 50 ký tự" in _last_bot(steps)


def test_errors_are_polite(bot: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        article = bot.article

        def __init__(self, err: Exception):
            self.err = err

        def stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            raise self.err

    handlers = ChatHandlers(Broken(LLMError("model unreachable")), 2000, FeedbackLog(tmp_path / "fb.jsonl"))
    out = _last_bot(_run(handlers.respond(AUTHOR_Q, [], 4, "hybrid", "llm")))
    assert "Mô hình ngôn ngữ đang gặp sự cố" in out and "model unreachable" in out
    handlers = ChatHandlers(Broken(ZeroDivisionError("secret internals")), 2000, FeedbackLog(tmp_path / "f.jsonl"))
    out = _last_bot(_run(handlers.respond(AUTHOR_Q, [], 4, "hybrid", None)))
    assert md_esc(GENERIC_ERROR) in out and "secret" not in out and "Traceback" not in out
    assert "secret internals" in caplog.text  # logged for the operator


def test_retry_clear_and_select(bot: Any, tmp_path: Path) -> None:
    handlers = _handlers(bot, tmp_path)
    turns = _run(handlers.respond(FIGURE_Q, [], 4, "hybrid", "extractive"))[-1][3]
    turns = _run(handlers.respond(AUTHOR_Q, turns, 4, "hybrid", "extractive"))[-1][3]
    steps = _run(handlers.retry(turns, 2, "lexical", "extractive"))
    retried = steps[-1][3]
    assert [t["question"] for t in retried] == [FIGURE_Q, AUTHOR_Q]
    assert retried[-1]["settings"] == {"k": 2, "mode": "lexical", "answerer": "extractive"}
    assert retried[-1]["id"] != turns[-1]["id"] and len(steps[-1][1]) == 4
    assert not isinstance(steps[0][0], str)  # retry leaves the textbox alone
    older = handlers.select(gr.SelectData(None, {"index": 1, "value": "x"}), retried)
    cited = "".join(re.findall(r'<mark class="cite-mark c-1[^"]*"[^>]*>(.*?)</mark>', older))
    assert 'id="cite-1"' in older and "261" in cited
    # the short answer is highlighted inside the cited sentence
    assert "261" in "".join(re.findall(r'<mark class="cite-mark c-1[^"]*ans-span"[^>]*>(.*?)</mark>', older))
    assert f"turn-{retried[0]['id']}" in older
    box, chat, view, state = handlers.clear()
    assert (box, chat, state) == ("", [], []) and "<mark" not in view


def test_answerer_choice_follows_the_llm(bot: Any) -> None:
    from ui.app import build_app

    def choices(assistant: Any) -> tuple[list[Any], Any]:
        demo = build_app(assistant)
        radio = next(c for c in demo.config["components"] if c.get("props", {}).get("label") == "Cách trả lời")
        return [value for _, value in radio["props"]["choices"]], radio["props"]["value"]

    # the default is the measured policy (rules, then the reader); an LLM, when configured, is chosen
    assert choices(bot) == (["auto", "reader", "extractive"], "auto")
    with_llm = SimpleNamespace(article=bot.article, info=bot.info, llm=object(), stream=bot.stream, ask=bot.ask,
                               embedder=None, reader=None)
    assert choices(with_llm) == (["auto", "reader", "extractive", "llm"], "llm")


def test_like_appends_feedback_line(bot: Any, tmp_path: Path) -> None:
    handlers = _handlers(bot, tmp_path)
    turns = _run(handlers.respond(AUTHOR_Q, [], 4, "hybrid", "extractive"))[-1][3]
    handlers.like(gr.LikeData(None, {"index": 1, "value": "x", "liked": True}), turns)
    handlers.like(gr.LikeData(None, {"index": 1, "value": "x", "liked": False}), turns)
    handlers.like(gr.LikeData(None, {"index": 9, "value": "x", "liked": True}), turns)  # no such turn
    lines = [json.loads(line) for line in (tmp_path / "fb.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["liked"] for r in lines] == [True, False]
    record = lines[0]
    assert {"ts", "question", "answer", "answered", "citations", "liked"} <= set(record)
    assert record["question"] == AUTHOR_Q and "NÔNG ĐÌNH QUANG" in record["answer"]
    assert record["citations"][0]["text"] == bot.article.text[record["citations"][0]["start"]:
                                                             record["citations"][0]["end"]]


def test_feedback_defaults_to_state_dir(assistant_home: Path) -> None:
    log = FeedbackLog()
    assert log.path == assistant_home / "feedback.jsonl"
    assert log.append({"liked": True}) and log.read() == [{"liked": True}]


# --- safety helpers and the CLI ------------------------------------------------------------------


def test_loopback_and_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.app import auth_from_env, is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    monkeypatch.delenv("ASSISTANT_AUTH", raising=False)
    assert auth_from_env() is None
    monkeypatch.setenv("ASSISTANT_AUTH", "an:mật:khẩu")
    assert auth_from_env() == ("an", "mật:khẩu")
    monkeypatch.setenv("ASSISTANT_AUTH", "nopassword")
    with pytest.raises(ValueError, match="user:password"):
        auth_from_env()


def test_access_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.app import access

    monkeypatch.delenv("ASSISTANT_AUTH", raising=False)
    assert access("127.0.0.1", False) == (None, [])
    auth, warnings = access("0.0.0.0", False)
    assert auth is None and "without a password" in warnings[0]
    auth, warnings = access("127.0.0.1", True)
    assert auth is None and "gradio.live" in warnings[0] and "ASSISTANT_AUTH" in warnings[1]
    monkeypatch.setenv("ASSISTANT_AUTH", "an:bí-mật")
    assert access("0.0.0.0", False) == (("an", "bí-mật"), [])
    assert access("127.0.0.1", False) == (None, [])


def test_chat_command_loads_once_and_launches(monkeypatch: pytest.MonkeyPatch, home_index: Path) -> None:
    import ui.app
    from assistant import cli

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(ui.app, "launch", lambda bot, **kw: calls.append({"bot": bot, **kw}))
    assert cli.main(["chat", "--port", "7999", "--model", "offline", "-q"]) == 0
    assert len(calls) == 1
    call = calls[0]
    assert call["host"] == "127.0.0.1" and call["port"] == 7999 and call["share"] is False
    assert call["bot"].article.title and str(call["feedback_path"]).endswith("feedback.jsonl")
    import threading

    warming = [t for t in threading.enumerate() if t.name == "reader-warm-up"]
    for t in warming:  # the reader loads while the page opens, not inside the first question
        t.join(timeout=120)
    assert call["bot"].reader.used in {"onnx", "torch"}


def test_a_reader_that_cannot_load_at_chat_start_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    from types import SimpleNamespace

    from assistant import cli
    from assistant.errors import ModelUnavailableError

    def broken() -> None:
        raise ModelUnavailableError("reader weights failed their sha256 check")

    with caplog.at_level("WARNING", logger="assistant.cli"):
        cli._warm(SimpleNamespace(reader=SimpleNamespace(warm_up=broken)))
    assert any("could not be loaded" in r.getMessage() and "sha256" in r.getMessage() for r in caplog.records)


def test_importing_assistant_does_not_import_gradio() -> None:
    code = "import sys, assistant, assistant.cli; sys.exit('gradio' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
