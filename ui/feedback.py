"""👍/👎 feedback on answers, appended as JSON lines an evaluation command can turn into tests.

Each line of `feedback.jsonl` is one judgement of one answer::

    {"ts": "2025-01-02T03:04:05+00:00", "question": "Ai là tác giả bài viết?",
     "answer": "Tác giả bài viết: NÔNG ĐÌNH QUANG. … [1]", "answered": true,
     "short_answer": "NÔNG ĐÌNH QUANG", "liked": true,
     "citations": [{"n": 1, "chunk_id": "c011", "text": "…", "start": 4054, "end": 4079, "article": 0}],
     "passages": ["c011", "c000", …], "k": 4, "mode": "hybrid", "answerer": "extractive"}

A liked answered line is a test case as is (question → expected chunk ids and quote); a
disliked one is a regression to look at; a liked unanswered one says abstaining was right.

The default location is ``state_dir()/feedback.jsonl``; `state_dir` is not part of the
public `assistant` API yet, so this module mirrors it (``$ASSISTANT_HOME`` or the
platform's user data directory) unless the package exports it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
APP_NAME = "vi-article-assistant"


def default_feedback_path() -> Path:
    """``state_dir()/feedback.jsonl`` (via the public API when it exports `state_dir`)."""
    import assistant

    state_dir = getattr(assistant, "state_dir", None)
    if callable(state_dir):
        return Path(state_dir()) / "feedback.jsonl"
    env = os.environ.get("ASSISTANT_HOME")
    if env:
        return Path(env).expanduser() / "feedback.jsonl"
    from platformdirs import user_data_path

    return user_data_path(APP_NAME) / "feedback.jsonl"


def feedback_record(turn: dict[str, Any], liked: bool) -> dict[str, Any] | None:
    """The JSON line for one chat turn (see `app.Turn`), or None when it holds no answer."""
    answer = turn.get("answer")
    if not answer:
        return None
    settings = turn.get("settings", {})
    return {
        "ts": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "question": turn.get("question", ""),
        "answer": answer.get("answer", ""),
        "answered": bool(answer.get("answered")),
        "short_answer": answer.get("short_answer"),
        "liked": bool(liked),
        "citations": answer.get("citations", []),
        "passages": [p.get("chunk_id") for p in answer.get("passages", [])],
        "k": settings.get("k"),
        "mode": settings.get("mode"),
        "answerer": answer.get("answerer") or settings.get("answerer"),
        **({"article_id": turn["article_id"]} if turn.get("article_id") else {}),  # not the bundled article
    }


class FeedbackLog:
    """Appends records to a JSONL file; safe to share between the server's worker threads."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else default_feedback_path()
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> bool:
        """Write one line; False (and a log entry) when the file cannot be written."""
        line = json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n"
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(line)
            return True
        except OSError:
            log.exception("could not write feedback to %s", self.path)
            return False

    def read(self) -> list[dict[str, Any]]:
        """All records written so far (skipping damaged lines)."""
        if not self.path.is_file():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out


def liked_value(liked: object) -> bool | None:
    """Gradio's `LikeData.liked` (True, False, or an option label) as a bool, if it is one."""
    if isinstance(liked, bool):
        return liked
    if isinstance(liked, str) and liked.lower() in {"like", "dislike"}:
        return liked.lower() == "like"
    return None
