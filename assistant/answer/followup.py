"""Follow-up questions: what a question inherits from the chat before it.

"Trong bao lâu?" after "Chi bộ … kết nạp được bao nhiêu đảng viên mới?" is asked with the
previous question in front (`with_topic`), and the rules stay near the article text the
previous answer quoted (`previous_quotes`). History is a list of (question, answer) pairs or
{"role", "content"} dicts, as `Assistant.ask` takes it. The LLM answerer rewrites
follow-ups itself (`llm.py`); these are the plain fallbacks.

>>> with_topic("Trong bao lâu?", [("Chi bộ kết nạp bao nhiêu đảng viên?", "108 đảng viên mới.")])
'Chi bộ kết nạp bao nhiêu đảng viên? Trong bao lâu?'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from assistant.ingest.text import clean, fold

_FOLLOW_UP = re.compile(r"\b(thi sao|con .+ thi sao|do|nay|ay|ho|what about|that|it|they|them)\b")


def with_topic(question: str, history: Sequence[Any] | None) -> str:
    """Prefix a follow-up question with the previous question, so its topic carries over."""
    previous = _last_question(history)
    if not previous:
        return question
    folded = fold(question)
    if _FOLLOW_UP.search(folded) or len(re.findall(r"\w+", folded)) <= 3:
        return f"{previous} {question}"
    return question


def previous_quotes(history: Sequence[Any] | None) -> list[str]:
    """The “quoted” article text of the previous answer (a follow-up stays near it)."""
    for turn in reversed(list(history or [])):
        text = None
        if isinstance(turn, dict) and turn.get("role") == "assistant":
            text = turn.get("content")
        elif isinstance(turn, (list, tuple)) and len(turn) == 2:
            text = turn[1]
        if isinstance(text, str):
            return re.findall(r"“([^”]+)”", text)
    return []


def _last_question(history: Sequence[Any] | None) -> str | None:
    for turn in reversed(list(history or [])):
        if isinstance(turn, dict) and turn.get("role") == "user" and isinstance(turn.get("content"), str):
            return clean(turn["content"])
        if isinstance(turn, (list, tuple)) and turn and isinstance(turn[0], str):
            return clean(turn[0])
    return None
