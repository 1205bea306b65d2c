"""Where things live: the bundled article, the state directory, default index paths.

One state directory, moved by one environment variable, `ASSISTANT_HOME` (tests point it
at a temporary directory). Without it, a source checkout keeps its indexes in the
repository's `index/` folder (as the design card asks) and an installed package uses
the platform's user data directory.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "vi-article-assistant"
_PACKAGE = Path(__file__).resolve().parent


def bundled_article() -> Path:
    """The bundled default article (wheel: package data; checkout: `index/article.txt`)."""
    for candidate in (_PACKAGE / "_bundled" / "article.txt", _PACKAGE.parent / "index" / "article.txt"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("the bundled article is missing from this installation")


def bundled_testset() -> Path:
    for candidate in (_PACKAGE / "_bundled" / "testset.jsonl", _PACKAGE.parent / "index" / "testset.jsonl"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("the bundled test set is missing from this installation")


def bundled_qa_dir() -> Path:
    """The SQuAD-format QA sets (`index/qa/`); a source checkout only (2 MB, not in the wheel)."""
    return _PACKAGE.parent / "index" / "qa"


def state_dir() -> Path:
    """Feedback, caches and (for installed packages) indexes: `$ASSISTANT_HOME` or user data."""
    env = os.environ.get("ASSISTANT_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP_NAME)


def index_root() -> Path:
    if os.environ.get("ASSISTANT_HOME"):
        return state_dir() / "index"
    checkout = _PACKAGE.parent / "index"
    if (checkout / "article.txt").is_file() and os.access(checkout, os.W_OK):
        return checkout
    return state_dir() / "index"


def default_index_dir() -> Path:
    """Where the bundled article's index is built on first use."""
    return index_root() / "default"
