"""The shared tokenizer: the converted model's `tokenizer.json` in `tokenizers`' own object.

The embedder (`bundled_embedder.py`) and the span reader (`assistant/answer/reader.py`, and
its training in `bench/train_reader.py`) use one tokenizer, loaded once per process from
the converted directory (`model.py`). It is `tokenizers.Tokenizer`, the Rust object that
transformers' fast tokenizers wrap: loading it this way takes about a second, where
`transformers.AutoTokenizer` first imports transformers and torch (4 to 5 s of every cold
start, measured 2026-12-07). The ids, offsets and windows are the ones transformers'
`PreTrainedTokenizerFast` gives for the same calls (`tests/test_model.py` holds them equal).

Its truncation settings live in the one Rust object, so every function here sets them
under `TOKENIZER_LOCK` (the embedder truncates at 512 tokens, the reader windows pairs).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TOKENIZER_LOCK = threading.RLock()
PAD_TOKEN = "<pad>"
_loaded: dict[str, Any] = {}


def load_tokenizer(path: Path) -> Any:
    """`path`'s `tokenizer.json` as a `tokenizers.Tokenizer`, loaded once per process."""
    key = str(path)
    with TOKENIZER_LOCK:
        if key not in _loaded:
            from tokenizers import Tokenizer

            _loaded[key] = Tokenizer.from_file(str(Path(path) / "tokenizer.json"))
        return _loaded[key]


def forget_tokenizers() -> None:
    """Load the tokenizers again on next use (after their files were rebuilt)."""
    with TOKENIZER_LOCK:
        _loaded.clear()


def pad_id(tokenizer: Any) -> int:
    found = tokenizer.token_to_id(PAD_TOKEN)
    if found is None:
        raise ValueError(f"the tokenizer has no {PAD_TOKEN} token")
    return int(found)


def token_ids(tokenizer: Any, text: str, *, special: bool = True) -> list[int]:
    """`text`'s token ids, whole (no truncation); with `<s>` and `</s>` unless `special` is False."""
    with TOKENIZER_LOCK:
        tokenizer.no_truncation()
        return list(tokenizer.encode(text, add_special_tokens=special).ids)


def encode_texts(tokenizer: Any, texts: Sequence[str], max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """(input ids, attention mask) of `texts`, each cut to `max_length` tokens and padded on
    the right to the longest: what the embedder feeds the encoder."""
    with TOKENIZER_LOCK:
        tokenizer.enable_truncation(max_length)
        encodings = tokenizer.encode_batch(list(texts))
    return _padded([e.ids for e in encodings], pad_id(tokenizer))


@dataclass(frozen=True)
class Windows:
    """Question/context windows: window `w` belongs to pair `owners[w]`; `sequence_ids[w][i]`
    is 0 for a question token, 1 for a context token, None for `<s>` and `</s>`; `offsets`
    are character offsets into the question or the context (as `sequence_ids` says)."""

    input_ids: list[list[int]]
    offsets: list[list[tuple[int, int]]]
    sequence_ids: list[list[int | None]]
    owners: list[int]
    pad: int

    def batch(self) -> tuple[np.ndarray, np.ndarray]:
        """(input ids, attention mask), every window padded on the right to the longest."""
        return _padded(self.input_ids, self.pad)


def encode_pairs(tokenizer: Any, questions: list[str], contexts: list[str], max_length: int, stride: int,
                 max_question_tokens: int) -> Windows:
    """Each (question, context) pair in windows of at most `max_length` tokens; a context too
    long for one overflows into further windows that overlap by `stride` tokens. A question
    longer than `max_question_tokens` keeps its end (`clip_question`)."""
    questions = [clip_question(tokenizer, q, max_question_tokens) for q in questions]
    ids: list[list[int]] = []
    offsets: list[list[tuple[int, int]]] = []
    sequences: list[list[int | None]] = []
    owners: list[int] = []
    with TOKENIZER_LOCK:
        tokenizer.enable_truncation(max_length, stride=stride, strategy="only_second")
        encodings = tokenizer.encode_batch(list(zip(questions, contexts)))
    for owner, first in enumerate(encodings):
        for window in [first, *first.overflowing]:
            ids.append(list(window.ids))
            offsets.append([tuple(o) for o in window.offsets])
            sequences.append(list(window.sequence_ids))
            owners.append(owner)
    return Windows(ids, offsets, sequences, owners, pad_id(tokenizer))


def clip_question(tokenizer: Any, question: str, max_tokens: int) -> str:
    """A question longer than `max_tokens` tokens keeps its last `max_tokens` (the question
    word usually ends a Vietnamese question), so the passage still fits beside it."""
    with TOKENIZER_LOCK:
        tokenizer.no_truncation()
        spans = tokenizer.encode(question, add_special_tokens=False).offsets
    if len(spans) <= max_tokens:
        return question
    return question[spans[-max_tokens][0] :]


def _padded(rows: list[list[int]], pad: int) -> tuple[np.ndarray, np.ndarray]:
    width = max((len(r) for r in rows), default=0)
    ids = np.full((len(rows), width), pad, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask
