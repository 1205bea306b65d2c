"""The few named exceptions the library raises.

The CLI turns any `AssistantError` into one line on stderr and a non-zero exit code; the
web app shows its message. Everything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: a problem the user can act on. `str(err)` is the whole message."""

    exit_code = 1


class ArticleError(AssistantError):
    """The article file cannot be read as a UTF-8 text or Markdown article."""

    exit_code = 2


class SourceError(ArticleError):
    """An article given as text, a file or a link cannot be used. `reason` names the case
    ("empty", "binary", "pdf", "too_large", "no_text", "blocked", "timeout", "not_found", ...)
    so the web app can say it in Vietnamese; `details` holds the figures of the message."""

    def __init__(self, reason: str, message: str, **details: object):
        self.reason = reason
        self.details = details
        super().__init__(message)


class QuestionError(AssistantError):
    """The question is empty, too long or otherwise unusable."""

    exit_code = 2


class IndexCorruptError(AssistantError):
    """A file of a saved index is missing, damaged or does not match its manifest."""

    exit_code = 3

    def __init__(self, path: object, reason: str, hint: str | None = None):
        self.path = str(path)
        self.reason = reason
        hint = hint or "rebuild it with `assistant build`"
        super().__init__(f"index file {self.path}: {reason}; {hint}")


class IndexStaleError(AssistantError):
    """A saved index was built from another article, model or chunking than asked for."""

    exit_code = 3


class ModelUnavailableError(AssistantError):
    """The embedding model is neither cached locally nor downloadable."""

    exit_code = 4


class LLMError(AssistantError):
    """The configured chat model failed (missing package, unreachable, bad output)."""

    exit_code = 5
