"""The chat's event handlers: ask (streaming), retry, clear, like, select, and the /ask API.

Each handler takes the session's article id last (None: the bundled article; see
`ui.articles`), so every session talks about its own article.

The conversation lives in a `gr.State` as a list of turns (plain dicts, one per question)::

    {"id": 7, "question": "<raw text>", "user_html": "...", "bot_html": "...",
     "answer": Answer.to_dict() | None, "settings": {"k": 4, "mode": "hybrid", "answerer": ...}}

The Chatbot's value is always rebuilt from the turns (a user message and an assistant
message each), so message index // 2 is the turn index for like/select events, and the
raw question - never the escaped HTML - is what the assistant sees as history.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import gradio as gr

from assistant import AssistantError, LLMError, QuestionError, SourceError

from .feedback import FeedbackLog, feedback_record, liked_value
from .render import answer_html, article_html, notice_html, partial_answer_html, user_message_html

log = logging.getLogger(__name__)
MODES = ("hybrid", "dense", "lexical")
GENERIC_ERROR = "Xin lỗi, đã xảy ra lỗi không mong muốn. Bạn vui lòng thử lại sau ít phút."
_turn_ids = itertools.count(1)


def _n(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def error_text(err: AssistantError) -> str:
    """A polite Vietnamese lead for an error the user can act on (its message follows)."""
    if isinstance(err, QuestionError):
        return "Câu hỏi chưa hợp lệ. Bạn hãy nhập một câu hỏi bằng chữ về nội dung bài viết."
    if isinstance(err, SourceError):
        from .articles import source_message

        return source_message(err)
    if isinstance(err, LLMError):
        return ("Mô hình ngôn ngữ đang gặp sự cố nên chưa thể trả lời. Bạn có thể chọn cách trả lời "
                "“Chỉ quy tắc trích dẫn” trong phần Cài đặt.")
    return "Xin lỗi, chưa thể trả lời câu hỏi này."


def valid_text(text: str) -> str:
    """`text` with lone surrogates (a browser can send them) as U+FFFD: echoed back as they
    are, they made Gradio's reply unencodable and broke the page's connection."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def messages(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for turn in turns:
        out.append({"role": "user", "content": turn["user_html"]})
        out.append({"role": "assistant", "content": turn["bot_html"]})
    return out


def citations_of(turn: dict[str, Any]) -> list[SimpleNamespace]:
    return [SimpleNamespace(**c) for c in (turn.get("answer") or {}).get("citations", [])]


class ChatHandlers:
    """Everything the page does with the one `Assistant` loaded at start-up."""

    def __init__(self, assistant: Any, max_question_chars: int, feedback: FeedbackLog, library: Any = None):
        self.assistant = assistant
        self.article = assistant.article
        self.max_chars = max_question_chars
        self.feedback = feedback
        self.library = library

    def bot(self, article_id: str | None = None) -> Any:
        """The assistant of a session's article: the bundled one (None) or the library's."""
        if not article_id or self.library is None:
            return self.assistant
        return self.library.get(article_id)

    # --- chat ------------------------------------------------------------------------------

    def respond(self, question: str | None, turns: list[dict[str, Any]] | None, k: float, mode: str,
                answerer: str | None, article_id: str | None = None) -> Iterator[tuple[Any, ...]]:
        """Outputs: textbox, chatbot, article, turns. Blank input changes nothing."""
        if question is None or not question.strip():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        question = valid_text(question)
        yield from self._run(question, list(turns or []), self._settings(k, mode, answerer), clear_box=True,
                             article_id=article_id)

    def retry(self, turns: list[dict[str, Any]] | None, k: float, mode: str,
              answerer: str | None, article_id: str | None = None) -> Iterator[tuple[Any, ...]]:
        """Ask the last question again (with the current settings), replacing its answer."""
        turns = list(turns or [])
        if not turns:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        last = turns.pop()
        yield from self._run(last["question"], turns, self._settings(k, mode, answerer), clear_box=False,
                             article_id=article_id)

    def clear(self, article_id: str | None = None) -> tuple[Any, ...]:
        try:
            article = self.bot(article_id).article
        except AssistantError:
            return "", [], gr.skip(), []
        return "", [], article_html(article), []

    def _settings(self, k: float, mode: str, answerer: str | None) -> dict[str, Any]:
        k_int = min(max(int(k or 4), 1), 10)
        answerer = answerer if answerer in {"auto", "reader", "extractive", "llm"} else None
        return {"k": k_int, "mode": mode if mode in MODES else "hybrid", "answerer": answerer}

    def _run(self, question: str, turns: list[dict[str, Any]], settings: dict[str, Any],
             clear_box: bool, article_id: str | None = None) -> Iterator[tuple[Any, ...]]:
        box = "" if clear_box else gr.skip()
        turn: dict[str, Any] = {"id": next(_turn_ids), "question": question, "answer": None, "settings": settings,
                                "user_html": user_message_html(question, limit=800),
                                "bot_html": partial_answer_html("")}
        history = [m for t in turns if t.get("answer")
                   for m in ({"role": "user", "content": t["question"]},
                             {"role": "assistant", "content": t["answer"]["answer"]})]
        turns = [*turns, turn]
        if len(question) > self.max_chars:
            turn["bot_html"] = notice_html(
                f"Câu hỏi của bạn dài {_n(len(question))} ký tự, vượt quá giới hạn {_n(self.max_chars)} ký tự. "
                "Bạn vui lòng rút gọn câu hỏi rồi gửi lại nhé.", kind="refusal")
            yield box, messages(turns), gr.skip(), turns
            return
        yield box, messages(turns), gr.skip(), turns
        answer = None
        text = ""
        article = self.article
        try:
            bot = self.bot(article_id)
            article = bot.article
            for item in bot.stream(question, history, k=settings["k"], mode=settings["mode"],
                                   answerer=settings["answerer"]):
                if isinstance(item, str):
                    text += item
                    turn["bot_html"] = partial_answer_html(text, turn["id"])
                    yield gr.skip(), messages(turns), gr.skip(), turns
                else:
                    answer = item
            if answer is None:
                raise RuntimeError("the assistant's stream ended without an Answer")
        except AssistantError as err:
            turn["bot_html"] = notice_html(error_text(err), detail=str(err))
            yield gr.skip(), messages(turns), gr.skip(), turns
            return
        except Exception:
            log.exception("answering %r failed", question[:200])
            turn["bot_html"] = notice_html(GENERIC_ERROR)
            yield gr.skip(), messages(turns), gr.skip(), turns
            return
        turn["answer"] = answer.to_dict()
        if article_id:
            turn["article_id"] = article_id
        turn["bot_html"] = answer_html(answer, article, turn["id"])
        yield gr.skip(), messages(turns), article_html(article, answer.citations, turn["id"]), turns

    # --- feedback and navigation ---------------------------------------------------------------

    def like(self, data: gr.LikeData, turns: list[dict[str, Any]] | None) -> None:
        """👍/👎 on an answer: one JSON line in the feedback file."""
        liked = liked_value(data.liked)
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turns = turns or []
        if liked is None or not isinstance(index, int) or not 0 <= index // 2 < len(turns):
            return
        record = feedback_record(turns[index // 2], liked)
        if record is None:
            return
        if self.feedback.append(record):
            gr.Info("Cảm ơn bạn đã góp ý!")
        else:
            gr.Warning("Chưa lưu được góp ý của bạn.")

    def select(self, data: gr.SelectData, turns: list[dict[str, Any]] | None, article_id: str | None = None) -> Any:
        """Clicking an earlier answer shows its citations in the article column."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turns = turns or []
        if not isinstance(index, int) or not 0 <= index // 2 < len(turns):
            return gr.skip()
        turn = turns[index // 2]
        if not turn.get("answer"):
            return gr.skip()
        try:
            article = self.bot(turn.get("article_id") or article_id).article
        except AssistantError:
            return gr.skip()
        return article_html(article, citations_of(turn), turn["id"])

    # --- for programs ----------------------------------------------------------------------------

    def api_ask(self, question: str, article_id: str | int | None = None, mode: str = "hybrid") -> dict[str, Any]:
        """Answer a question about an article. Returns {"answer", "answered", "citations", "passages", ...}
        (the fields of `Answer.to_dict()`); citations point into that article's text by start/end.

        `article_id` is what /add_article returned (default: the bundled article). A number in
        its place is k, the number of passages to answer from (1-20; 4 otherwise), as this
        second parameter was before articles could be added: ``(question, 2, "lexical")`` works
        as it always did, also over the REST API with three values."""
        k: Any = 4
        if isinstance(article_id, (int, float)) or (isinstance(article_id, str) and len(article_id.strip()) < 64
                                                    and article_id.strip().lstrip("+-").isdigit()):
            k, article_id = article_id, None
        if not isinstance(question, str) or not question.strip():
            raise gr.Error("Câu hỏi trống.")
        if len(question) > self.max_chars:
            raise gr.Error(f"Câu hỏi dài {_n(len(question))} ký tự, vượt quá giới hạn {_n(self.max_chars)} ký tự.")
        if mode not in MODES:
            raise gr.Error(f"mode phải là một trong {', '.join(MODES)}.")
        try:
            k = int(k)
        except (TypeError, ValueError):
            raise gr.Error("k phải là số nguyên từ 1 đến 20.") from None
        if not 1 <= k <= 20:
            raise gr.Error("k phải là số nguyên từ 1 đến 20.")
        try:
            return self.bot(article_id or None).ask(question, k=k, mode=mode).to_dict()
        except AssistantError as err:
            raise gr.Error(f"{error_text(err)} ({err})") from None
        except Exception:
            log.exception("/ask %r failed", question[:200])
            raise gr.Error(GENERIC_ERROR) from None
