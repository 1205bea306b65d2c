"""The span reader: question + passages -> the best answer span, or no answer.

An extractive reading-comprehension model on the bundled multilingual-e5-small encoder
(`model.py`): start and end scores over each passage's tokens, and a no-answer score
(the start and end scores of `<s>`, as in SQuAD 2.0 readers). The fine-tuned part is a
LoRA adapter plus the span head, shipped in `assistant/reader_weights/` (a few MB) and
checked by sha256 before use; `bench/train_reader.py` rebuilds it from `index/qa/`.
At load the adapter is merged into the encoder, so reading costs one plain forward pass,
run by ONNX Runtime on the merged model's export (`runtime.py`; PyTorch where it cannot).

Passages are read together in one batch, each in windows of at most `max_length`
tokens (longer ones overlap by `stride`), padded only to the longest window of the batch.
A span's `margin` is its score minus its window's no-answer score; the caller answers
when the best margin clears the calibrated threshold (`READER_THRESHOLD`, README).
Training (`bench/train_reader.py`) and reading share `encode_pairs`, so both see the
same windows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answer.runtime import Forward, TorchForward, chosen_runtime, onnx_forward
from assistant.errors import ModelUnavailableError
from assistant.ingest.text import canonical_tones
from assistant.search import tokens
from assistant.search.onnx_runtime import default_threads
from assistant.search.tokens import Windows

log = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).resolve().parent / "reader_weights"
MAX_LENGTH = 384
STRIDE = 128
MAX_ANSWER_TOKENS = 40
MAX_QUESTION_TOKENS = 96
_NOISE = {"So", "Sk", "Me", "Cc", "Cf", "Co", "Cs", "Cn"}  # emoji and other symbols, control and format characters


@dataclass(frozen=True)
class Span:
    """A candidate answer: `passages[passage][start:end]`, with its score and margin."""

    passage: int
    start: int
    end: int
    score: float
    margin: float


def encode_pairs(tokenizer: Any, questions: list[str], contexts: list[str], max_length: int = MAX_LENGTH,
                 stride: int = STRIDE) -> Windows:
    """Question/context windows with offsets (`Windows.owners` says whose)."""
    return tokens.encode_pairs(tokenizer, questions, contexts, max_length, stride, MAX_QUESTION_TOKENS)


def plain_question(question: str) -> str:
    """The question without symbols and emoji ("… gì? 🙂"), with today's tone placement
    ("hoà" -> "hòa", `text.canonical_tones`): neither carries meaning for the reader, but
    both move its scores, so equivalent spellings would get different answers."""
    kept = "".join(" " if (unicodedata.category(ch) in _NOISE or "\ufe00" <= ch <= "\ufe0f") and not ch.isspace()
                   else ch for ch in canonical_tones(question))
    return " ".join(kept.split())


def check_weights(directory: Path = WEIGHTS_DIR) -> dict[str, Any]:
    """The shipped adapter's manifest, after checking every file's sha256 against it."""
    manifest_path = directory / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError) as err:
        raise ModelUnavailableError(
            f"reader weights {manifest_path} are missing or unreadable ({err}); "
            "reinstall the package or rebuild them with `python -m bench.train_reader`") from err
    for name, digest in files.items():
        path = directory / name
        try:
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as err:
            raise ModelUnavailableError(
                f"reader weights file {path} is missing ({err.strerror}); "
                "reinstall the package or rebuild them with `python -m bench.train_reader`") from err
        if actual != digest:
            raise ModelUnavailableError(
                f"reader weights file {path} fails its sha256 check (damaged or replaced); "
                "reinstall the package or rebuild them with `python -m bench.train_reader`")
    return manifest


class Reader:
    """The fine-tuned span reader, loaded lazily and called under a lock.

    >>> reader = Reader()                                        # doctest: +SKIP
    >>> reader.read("Ai là Giám đốc?", ["Đại tá Nguyễn Văn A, Giám đốc Công an tỉnh, ..."])  # doctest: +SKIP
    [Span(passage=0, start=0, end=19, score=..., margin=...)]
    """

    def __init__(self, weights_dir: str | Path = WEIGHTS_DIR, *, max_length: int = MAX_LENGTH,
                 stride: int = STRIDE, threads: int | None = None, runtime: str | None = None,
                 announce: Callable[[str], None] | None = None):
        if max_length < 64:
            raise ValueError(f"max_length must be >= 64, got {max_length}")
        self.weights_dir = Path(weights_dir)
        self.max_length = max_length
        self.stride = stride
        self.threads = threads
        self.runtime = chosen_runtime(runtime)  # asked for; `used` says what runs once loaded
        self.used: str | None = None
        self.announce = announce or log.info  # told of the one-time ONNX export (about 15 s)
        self._lock = threading.Lock()
        self._loaded: tuple[Forward, Any] | None = None
        self.manifest: dict[str, Any] = {}

    def _load(self) -> tuple[Forward, Any]:
        if self._loaded is None:
            self.manifest = check_weights(self.weights_dir)
            from assistant.search.model import ensure_model_dir

            base_dir = ensure_model_dir()
            tokenizer = tokens.load_tokenizer(base_dir)  # the embedder's: loaded once
            forward: Forward | None = None
            if self.runtime == "onnx":
                key = hashlib.sha256((self.weights_dir / "manifest.json").read_bytes()).hexdigest()
                try:
                    forward = onnx_forward(key, lambda: self._merged_model(base_dir), base_dir, self._threads(),
                                           self.announce)
                except Exception as err:
                    log.warning("the span reader runs on PyTorch (slower): ONNX Runtime cannot run it (%s: %s); "
                                "pip install onnxruntime onnx, or set ASSISTANT_READER_RUNTIME=torch to silence this",
                                type(err).__name__, err)
            self.used = "onnx" if forward is not None else "torch"
            self._loaded = (forward or TorchForward(self._merged_model(base_dir)), tokenizer)
        return self._loaded

    def _merged_model(self, base_dir: Path) -> Any:
        """The encoder with the adapter merged in (PyTorch)."""
        try:
            from peft import PeftModel
            from transformers import XLMRobertaForQuestionAnswering
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ModelUnavailableError(
                f"the reader needs transformers and peft: pip install peft ({err})") from err
        from assistant.search.model import quiet_transformers

        quiet_transformers()  # qa_outputs "missing" from the base: it comes with the adapter
        base = XLMRobertaForQuestionAnswering.from_pretrained(str(base_dir))
        return PeftModel.from_pretrained(base, str(self.weights_dir / "adapter")).merge_and_unload().eval()

    def _threads(self) -> int | None:
        """ONNX Runtime's threads: as asked, else as many as torch uses (`assistant serve` sets those per replica)."""
        return self.threads or default_threads()

    def warm_up(self) -> None:
        with self._lock:
            self._load()

    def read(self, question: str | Sequence[str], passages: list[str], top: int = 1) -> list[Span]:
        """The `top` best spans over all passages, best first (empty when nothing is readable).
        Several forms of one question (an English question and its glossary form) are read in
        the same forward pass; a span's margin is against its own window's no-answer score."""
        if not passages or not any(p.strip() for p in passages):
            return []
        forms = [question] if isinstance(question, str) else list(question)
        with self._lock:
            forward, tokenizer = self._load()
            windows = encode_pairs(tokenizer, [plain_question(f) for f in forms for _ in passages],
                                   passages * len(forms), self.max_length, self.stride)
            starts, ends = forward(*windows.batch())
        spans: list[Span] = []
        for w, owner in enumerate(windows.owners):
            seq = windows.sequence_ids[w]
            offsets = windows.offsets[w]
            ctx = [i for i, s in enumerate(seq) if s == 1]
            if not ctx:
                continue
            null = float(starts[w][0] + ends[w][0])
            spans.extend(_best_spans(starts[w], ends[w], ctx, offsets, owner % len(passages), null, top))
        spans.sort(key=lambda s: s.margin, reverse=True)
        unique: list[Span] = []
        for span in spans:
            if all((span.passage, span.start, span.end) != (u.passage, u.start, u.end) for u in unique):
                unique.append(span)
        return unique[:top]


def _best_spans(starts: Any, ends: Any, ctx: list[int], offsets: list[tuple[int, int]], owner: int, null: float,
                top: int) -> list[Span]:
    """The best-scoring (start <= end, at most MAX_ANSWER_TOKENS) spans of one window."""
    import numpy as np

    lo, hi = ctx[0], ctx[-1] + 1
    s, e = starts[lo:hi], ends[lo:hi]
    scores = s[:, None] + e[None, :]
    n = hi - lo
    band = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(np.ones((n, n), dtype=bool), k=MAX_ANSWER_TOKENS)
    scores = np.where(band, scores, -np.inf)
    flat = np.argsort(scores, axis=None)[::-1][: max(top, 1)]
    found = []
    for index in flat:
        i, j = divmod(int(index), n)
        if not np.isfinite(scores[i, j]):
            break
        start, end = offsets[lo + i][0], offsets[lo + j][1]
        if end > start:
            score = float(scores[i, j])
            found.append(Span(owner, int(start), int(end), score, score - null))
    return found
