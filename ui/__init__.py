"""The web chat for the article assistant (Gradio), kept apart from the `assistant` library.

`build_app(assistant)` returns the Gradio Blocks; `launch(assistant, host=..., port=...)`
serves it (see `ui.app` for the ``/ask`` API and the safety defaults). Gradio is imported
only when one of them is first used, so `ui.render` and `ui.feedback` stay cheap to import.
The package imports nothing from `assistant` beyond its public API (`assistant.__all__`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_app", "launch"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module 'ui' has no attribute {name!r}")
