"""The web chat: ask about the article on the left, read it - cited spans highlighted - on the right.

Start it with ``assistant chat`` (or ``launch(Assistant.load())``); it listens on
http://127.0.0.1:7860/ by default. Programs can call the ``/ask`` endpoint::

    from gradio_client import Client
    client = Client("http://127.0.0.1:7860/")
    result = client.predict("Ai là tác giả bài viết?", 4, "hybrid", api_name="/ask")

`result` is a dict: ``answer`` (text with [n] markers), ``answered`` (False when the
article does not say), ``citations`` ([{n, chunk_id, text, start, end}], offsets into
the article text), ``passages`` and the other fields of `Answer.to_dict()`. The second
parameter, ``article_id``, also takes ``k`` as before (a number of passages); it and
``mode`` ("hybrid", "dense" or "lexical") may be left out.

Another article: ``client.predict(text_or_link, api_name="/add_article")`` returns
``{article_id, title, date, chars, passages}``; then
``client.predict(question, article_id=..., api_name="/ask")``. In the page, the box above
the article takes pasted text, a link or a .txt/.md/.html file (`ui.articles`).

Safe by default: binds to 127.0.0.1, no share link, no monitoring dashboard; exposed on
another interface or through ``share=True`` it asks for the login in ``$ASSISTANT_AUTH``
("user:password") and warns when there is none. The model and index are loaded once,
by the caller; every text shown is escaped (see `ui.render`).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from typing import Any

import gradio as gr

from assistant import MAX_QUESTION_CHARS, ArticleLibrary

from .articles import ArticleHandlers
from .assets import CSS, JS, SANS
from .chat import ChatHandlers
from .feedback import FeedbackLog
from .render import article_html, status_markdown

EXAMPLES = [
    "Trong nhiệm kỳ 2010 – 2015 kết nạp được bao nhiêu đảng viên mới?",
    "Ai là tác giả bài viết?",
    "lop cam tinh dang",
    "Đại tá Bùi Xuân Sang giữ chức vụ gì?",
    "Dân số tỉnh Lạng Sơn là bao nhiêu?",
]
MODE_CHOICES = [("Kết hợp (ngữ nghĩa + từ khóa)", "hybrid"), ("Ngữ nghĩa", "dense"), ("Từ khóa", "lexical")]
ANSWERERS = [("Tự động: quy tắc và mô hình đọc hiểu", "auto"), ("Mô hình đọc hiểu", "reader"),
             ("Chỉ quy tắc trích dẫn", "extractive")]
PLACEHOLDER = ("**Hỏi bất cứ điều gì về bài viết.**\n\nCâu trả lời trích nguyên văn từ bài, đánh số [1], [2]… "
               "và các câu được dẫn sẽ được tô sáng trong bài.")
# A paste longer than this becomes a text-file attachment (Gradio's own behaviour): a textarea
# holding a megabyte froze the page in Chromium; the upload limit (1 MB) then matches the text limit.
PASTE_AS_FILE_CHARS = 50_000
SOURCE_PLACEHOLDER = ("Dán nội dung bài báo, hoặc đường link (http/https) của trang báo, "
                      "hoặc đính kèm tệp .txt, .md, .html (nút bên trái), rồi bấm “Đọc bài”.")
HEADER = ('<div id="app-header"><h1>Hỏi đáp về bài báo</h1>'
          "<p>Trợ lý chỉ trả lời bằng những gì bài viết nêu, kèm trích dẫn; nếu bài không đề cập, "
          "trợ lý sẽ nói rõ.</p></div>")
# Waiting requests beyond QUEUE_SIZE get Gradio's "busy, try again" at once. 64 holds the 50
# simultaneous users of bench/load_test.py (32 turned one request of 1,000 away).
QUEUE_SIZE = 64
CONCURRENCY = 4


def build_app(assistant: Any, *, max_question_chars: int = MAX_QUESTION_CHARS,
              feedback_path: str | Path | None = None, queue_size: int = QUEUE_SIZE,
              concurrency: int = CONCURRENCY, library: Any = None) -> gr.Blocks:
    """The Blocks app around one loaded `Assistant` (launch it with `launch`, which adds the
    style sheet and script, or with `demo.launch(**launch_options())`). At most `queue_size`
    requests wait (beyond that Gradio answers "busy, try again" at once) and `concurrency`
    run at a time. `library` keeps the users' own articles (default: an `ArticleLibrary`
    sharing the assistant's models; a `RemoteLibrary` with a `RemoteAssistant`)."""
    if library is None:
        library = ArticleLibrary(embedder=getattr(assistant, "embedder", None),
                                 reader=getattr(assistant, "reader", None), llm=getattr(assistant, "llm", None))
    chat = ChatHandlers(assistant, max_question_chars, FeedbackLog(feedback_path), library)
    articles = ArticleHandlers(assistant, library)
    article = assistant.article
    answerers = ANSWERERS + ([("Mô hình ngôn ngữ (LLM)", "llm")] if assistant.llm is not None else [])
    # delete_cache: files anyone may POST to /gradio_api/upload (the app takes none) are
    # deleted after an hour, and all of them when the server stops, so they cannot pile up.
    with gr.Blocks(title="Hỏi đáp về bài báo", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        turns = gr.State([])
        article_id = gr.State(None)  # this session's article: None is the bundled one
        with gr.Row(equal_height=False, elem_id="main-row"):
            with gr.Column(scale=5, min_width=360, elem_id="chat-col"):
                gr.HTML(HEADER, padding=False, elem_id="app-head")
                app_status = gr.Markdown(status_markdown(assistant.info(), article), elem_id="app-status")
                chatbot = gr.Chatbot(
                    value=[], elem_id="chatbot", show_label=False, height="calc(100vh - 390px)", min_height=320,
                    latex_delimiters=[], sanitize_html=True, render_markdown=True, placeholder=PLACEHOLDER,
                    feedback_options=("Like", "Dislike"), buttons=[], autoscroll=True,
                )
                box = gr.Textbox(
                    placeholder="Nhập câu hỏi về bài viết…", show_label=False, lines=1,
                    max_lines=4, submit_btn="Gửi", autofocus=True, elem_id="question",
                )
                with gr.Row():
                    retry_btn = gr.Button("↻ Hỏi lại", size="sm", min_width=100, elem_id="retry-btn")
                    clear_btn = gr.Button("Xóa hội thoại", size="sm", min_width=100, elem_id="clear-btn")
                examples = gr.Examples(EXAMPLES, inputs=[box], label="Câu hỏi mẫu (bấm để hỏi)",
                                       examples_per_page=len(EXAMPLES), api_visibility="private")
                with gr.Accordion("Cài đặt", open=False, elem_id="settings"):
                    k = gr.Slider(1, 10, value=4, step=1, label="Số đoạn văn dùng để trả lời")
                    mode = gr.Radio(MODE_CHOICES, value="hybrid", label="Cách tìm đoạn văn")
                    answerer = gr.Radio(answerers, value="llm" if assistant.llm is not None else "auto",
                                        label="Cách trả lời")
            with gr.Column(scale=4, min_width=360, elem_id="article-col"):
                with gr.Accordion("Hỏi về bài báo khác: dán bài, tải tệp hoặc nhập link", open=False,
                                  elem_id="add-article"):
                    source = gr.MultimodalTextbox(
                        placeholder=SOURCE_PLACEHOLDER, show_label=False, sources=["upload"], file_count="single",
                        lines=2, max_lines=8, submit_btn="Đọc bài", elem_id="article-source",
                        max_plain_text_length=PASTE_AS_FILE_CHARS,
                    )
                with gr.Row(elem_id="article-bar"):
                    source_status = gr.HTML("", elem_id="article-status", padding=False)
                    back_btn = gr.Button("↩ Về bài viết mẫu", size="sm", visible=False, min_width=120, scale=0,
                                         elem_id="back-btn")
                view = gr.HTML(article_html(article), elem_id="article-view", padding=False)

        ask_inputs = [box, turns, k, mode, answerer, article_id]
        outputs = [box, chatbot, view, turns]
        private: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
        box.submit(chat.respond, ask_inputs, outputs, **private)
        examples.load_input_event.then(chat.respond, ask_inputs, outputs, **private)
        retry_btn.click(chat.retry, [turns, k, mode, answerer, article_id], outputs, **private)
        clear_btn.click(chat.clear, [article_id], outputs, queue=False, **private)
        chatbot.clear(chat.clear, [article_id], outputs, queue=False, **private)
        chatbot.like(chat.like, [turns], None, **private)
        chatbot.select(chat.select, [turns, article_id], [view], **private)
        switch = [source, source_status, view, app_status, article_id, chatbot, turns, back_btn, examples.dataset]
        source.submit(articles.add, [source, article_id], switch, api_visibility="private", show_progress="full",
                      show_progress_on=[view], concurrency_limit=2, concurrency_id="add-article")
        back_btn.click(articles.back, [article_id], switch, queue=False, **private)
        gr.api(chat.api_ask, api_name="ask")
        gr.api(articles.api_add_article, api_name="add_article", concurrency_limit=2, concurrency_id="add-article")
    demo.queue(max_size=queue_size, default_concurrency_limit=concurrency)
    return demo


def theme() -> gr.themes.Base:
    return gr.themes.Default(primary_hue="orange", neutral_hue="stone", font=SANS,
                             font_mono=["DejaVu Sans Mono", "Liberation Mono", "monospace"])


def launch_options() -> dict[str, Any]:
    """The `Blocks.launch` arguments every start of the app uses (style, script, safety)."""
    return {"theme": theme(), "css": CSS, "js": JS, "enable_monitoring": False, "show_error": False,
            "ssr_mode": False, "mcp_server": False, "pwa": False, "footer_links": ["api"], "max_file_size": "1mb"}


def is_loopback(host: str) -> bool:
    if host in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_from_env(var: str = "ASSISTANT_AUTH") -> tuple[str, str] | None:
    """("user", "password") from ``$ASSISTANT_AUTH="user:password"``; ValueError when malformed."""
    raw = os.environ.get(var)
    if not raw:
        return None
    user, sep, password = raw.partition(":")
    if not sep or not user or not password:
        raise ValueError(f"{var} must look like user:password")
    return user, password


def access(host: str, share: bool, auth: tuple[str, str] | None = None) -> tuple[tuple[str, str] | None, list[str]]:
    """The login to require and the warnings to print for serving on `host` (and a share link).

    On loopback without `share` nothing is required; otherwise the login comes from `auth`
    or ``$ASSISTANT_AUTH``, with a warning when there is none."""
    warnings = []
    exposed = share or not is_loopback(host)
    if share:
        warnings.append("WARNING: --share publishes this app on a public gradio.live address.")
    if exposed and auth is None:
        auth = auth_from_env()
        if auth is None:
            where = "a public share link" if share else f"{host}, beyond this machine"
            warnings.append(f"WARNING: the chat is reachable on {where} without a password; "
                            "set ASSISTANT_AUTH=user:password to require one.")
    return auth, warnings


def launch(assistant: Any, host: str = "127.0.0.1", port: int = 7860, share: bool = False, *,
           max_question_chars: int = MAX_QUESTION_CHARS, feedback_path: str | Path | None = None,
           auth: tuple[str, str] | None = None, prevent_thread_lock: bool = False, quiet: bool = False,
           inbrowser: bool = False, queue_size: int = QUEUE_SIZE, concurrency: int = CONCURRENCY,
           library: Any = None) -> gr.Blocks:
    """Serve the chat for an already loaded `Assistant` (or a `RemoteAssistant` and its
    `RemoteLibrary`); returns the running app (`.close()` it)."""
    auth, warnings = access(host, share, auth)
    for line in warnings:
        print(line, file=sys.stderr)
    demo = build_app(assistant, max_question_chars=max_question_chars, feedback_path=feedback_path,
                     queue_size=queue_size, concurrency=concurrency, library=library)
    demo.launch(server_name=host, server_port=port, share=share, auth=auth,
                auth_message="Đăng nhập để dùng trợ lý hỏi đáp." if auth else None,
                prevent_thread_lock=prevent_thread_lock, quiet=quiet, inbrowser=inbrowser, **launch_options())
    return demo
