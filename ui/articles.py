"""Bringing another article into the web chat: paste it, upload it or give its link.

Each browser session keeps its article's id in a `gr.State` (None: the bundled article).
`ArticleHandlers.add` reads the article (`assistant.article_from_input` /
`article_from_file`), indexes it through the shared `ArticleLibrary` (built once per
distinct text, whoever brings it) and then switches the article view and starts a new
conversation; while it works the page says what it is doing. `back` returns to the
bundled article. ``/add_article`` does the same for programs and returns
``{article_id, title, date, chars, passages}`` for ``/ask``'s `article_id`.

Every refusal is one Vietnamese sentence (`source_message`), chosen by the error's
`reason`; the English detail stays in the log and the command line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from assistant import AssistantError, SourceError, article_from_file, article_from_input

from .render import article_html, esc, status_markdown

log = logging.getLogger(__name__)
GENERIC = "Xin lỗi, đã xảy ra lỗi không mong muốn khi đọc bài viết. Bạn vui lòng thử lại sau ít phút."
FILE_KINDS = ".txt, .md hoặc .html"


def _mb(size: object) -> str:
    return f"{int(size or 0) / 1_000_000:.1f} MB".replace(".", ",")  # type: ignore[call-overload]


def source_message(err: AssistantError) -> str:
    """The Vietnamese sentence for an article that cannot be used."""
    reason = getattr(err, "reason", None)
    d = getattr(err, "details", {}) or {}
    messages = {
        "empty": "Bài viết trống. Bạn hãy dán nội dung bài báo, nhập đường link (http/https) hoặc "
                 f"tải lên tệp {FILE_KINDS}.",
        "binary": f"Nội dung này không phải văn bản (có vẻ là dữ liệu nhị phân). Bạn hãy dùng tệp {FILE_KINDS}.",
        "pdf": "Chưa hỗ trợ tệp PDF. Bạn hãy sao chép nội dung bài báo rồi dán vào đây, hoặc dùng đường link "
               "của trang báo.",
        "too_large": f"Bài viết quá lớn ({_mb(d.get('size'))}), vượt giới hạn {_mb(d.get('limit'))}.",
        "encoding": "Tệp không được lưu dưới dạng UTF-8. Bạn hãy lưu lại tệp với mã hóa UTF-8 rồi tải lên lần nữa.",
        "unsupported": f"Chỉ nhận tệp {FILE_KINDS}.",
        "no_text": "Không tìm thấy nội dung bài viết trong trang này (chỉ có menu, liên kết hoặc trang trống).",
        "bad_url": "Đường link không hợp lệ: chỉ nhận link bắt đầu bằng http:// hoặc https://.",
        "blocked": "Không mở link này vì lý do an toàn: địa chỉ trỏ tới máy cục bộ hoặc mạng nội bộ.",
        "timeout": f"Trang báo không phản hồi trong {int(d.get('seconds') or 10)} giây. Bạn hãy thử lại sau, "
                   "hoặc sao chép nội dung bài rồi dán vào đây.",
        "not_found": "Không tìm thấy trang này (lỗi 404). Bạn hãy kiểm tra lại đường link.",
        "http_error": f"Máy chủ của trang báo trả về lỗi {d.get('status', '')}. Bạn hãy thử lại sau.",
        "not_html": f"Link này không dẫn tới một trang báo (HTML hoặc văn bản) mà tới tệp "
                    f"“{d.get('media_type', 'khác')}”.",
        "unreachable": "Không kết nối được tới trang báo. Bạn hãy kiểm tra lại đường link.",
        "too_many_redirects": "Trang này chuyển hướng quá nhiều lần nên không đọc được.",
        "unknown_article": "Bài viết này không còn trên máy chủ (đã được xóa để nhường chỗ). Bạn hãy thêm lại bài.",
    }
    if reason in messages:
        return messages[reason]
    return "Không đọc được bài viết này. Bạn hãy kiểm tra lại nội dung hoặc thử một bài khác."


def status_html(text: str, kind: str = "info") -> str:
    """The one-line status under the article box (info, busy, ok, error)."""
    role = ' role="alert"' if kind == "error" else ' role="status"'
    return f'<p class="src-status src-{kind}"{role}>{esc(text)}</p>'


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url.strip()).hostname or url
    except ValueError:
        return url


class ArticleHandlers:
    """The article box, the return button and ``/add_article``; `library` is the shared cache."""

    # outputs of `add` and `back`, in this order:
    # source box, status line, article view, app status, article id, chatbot, turns, back button, examples
    def __init__(self, assistant: Any, library: Any):
        self.assistant = assistant
        self.library = library

    def bot(self, article_id: str | None) -> Any:
        """The session's assistant: the bundled one, or a library article's."""
        if not article_id:
            return self.assistant
        return self.library.get(article_id)

    def add(self, value: dict[str, Any] | str | None, current: str | None) -> Iterator[tuple[Any, ...]]:
        """Read, index and switch to the article in the box (a file wins over text)."""
        keep = (gr.skip(),) * 7
        text = value.get("text", "") if isinstance(value, dict) else (value or "")
        files = value.get("files", []) if isinstance(value, dict) else []
        if not files and not (text or "").strip():
            yield gr.skip(), status_html(source_message(SourceError("empty", "empty")), "error"), *keep
            return
        if files:
            path = files[-1]["path"] if isinstance(files[-1], dict) else str(files[-1])
            doing = f"Đang đọc tệp {Path(path).name}…"
        elif text.strip().lower().startswith(("http://", "https://")):
            doing = f"Đang tải trang {_host(text)}…"
        else:
            doing = "Đang đọc bài viết…"
        yield gr.update(interactive=False), status_html(doing, "busy"), *keep
        try:
            article = article_from_file(path, Path(path).name) if files else article_from_input(text)
            yield gr.skip(), status_html(f"Đang lập chỉ mục “{article.title or 'bài viết'}” "
                                         f"({len(article.text):,} ký tự)…".replace(",", "."), "busy"), *keep
            entry = self.library.add(article)
            bot = self.library.get(entry.article_id)
        except AssistantError as err:
            log.info("article refused: %s", err)
            yield gr.update(interactive=True), status_html(source_message(err), "error"), *keep
            return
        except Exception:
            log.exception("adding an article failed")
            yield gr.update(interactive=True), status_html(GENERIC, "error"), *keep
            return
        title = entry.title or "(không có tiêu đề)"
        done = f"Đã đọc xong: “{title}” · {entry.passages} đoạn. Hãy đặt câu hỏi về bài viết này."
        yield (gr.update(value=None, interactive=True), status_html(done, "ok"), article_html(bot.article),
               status_markdown(bot.info(), bot.article), entry.article_id, [], [], gr.update(visible=True),
               gr.update(visible=False))

    def back(self, current: str | None) -> tuple[Any, ...]:
        """Return to the bundled article (a new conversation)."""
        bot = self.assistant
        return (gr.skip(), status_html("Đã quay lại bài viết mẫu.", "ok"), article_html(bot.article),
                status_markdown(bot.info(), bot.article), None, [], [], gr.update(visible=False),
                gr.update(visible=True))

    def api_add_article(self, text: str) -> dict[str, Any]:
        """Add an article for ``/ask``: its text (plain, Markdown or HTML source) or an http(s)
        link. Returns {"article_id", "title", "date", "chars", "passages"}; pass the id to /ask."""
        try:
            return dict(self.library.add(article_from_input(text)).to_dict())
        except AssistantError as err:
            raise gr.Error(source_message(err)) from None
        except Exception:
            log.exception("/add_article failed")
            raise gr.Error(GENERIC) from None
