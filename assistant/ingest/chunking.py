"""Sentences -> chunks: paragraph-bounded, sized in the embedding model's tokens.

A chunk is a run of whole sentences of one paragraph whose token count (as the embedding
model counts it, prefix and special tokens included) stays within `max_tokens`, so the
model never silently truncates a passage. Consecutive chunks may share `overlap` whole
sentences. A single sentence longer than the budget is cut at clause boundaries ("; "
then ", ") and, failing that, between words. Every chunk is a verbatim slice of
`article.text`: `article.text[chunk.start:chunk.end] == chunk.text`.

It leaves out semantic chunking on purpose: news paragraphs are already topical units,
and sentence-aligned chunks keep citations exact.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.ingest.article import Article, Sentence

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class ChunkingConfig:
    """How to cut chunks; recorded in the index manifest (a change triggers a rebuild)."""

    max_tokens: int = 160
    overlap: int = 0
    section_labels: bool = True

    def __post_init__(self) -> None:
        if self.max_tokens < 16:
            raise ValueError(f"max_tokens must be >= 16, got {self.max_tokens}")
        if self.overlap < 0:
            raise ValueError(f"overlap must be >= 0, got {self.overlap}")


@dataclass(frozen=True, slots=True, eq=False)
class Chunk:
    """A retrievable passage with its place in the article.

    `text` is a slice of `doc`, the article text (shared, not copied: a million passages
    would otherwise hold the corpus text once more), `doc[start - base:end - base]`. A chunk
    read from a record alone (`from_record` without the article) holds just its own text,
    with `base == start`. Chunks are equal when their ids, places and texts are."""

    chunk_id: str
    paragraph: int
    start: int
    end: int
    section: str
    sentence_ids: tuple[str, ...] = field(default=())
    doc: str = field(default="", repr=False)
    base: int = field(default=0, repr=False)

    @property
    def text(self) -> str:
        return self.doc[self.start - self.base : self.end - self.base]

    def _key(self) -> tuple[object, ...]:
        return (self.chunk_id, self.paragraph, self.start, self.end, self.section, self.sentence_ids, self.text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Chunk) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def to_record(self) -> dict[str, object]:
        return {
            "id": self.chunk_id,
            "text": self.text,
            "paragraph": self.paragraph,
            "start": self.start,
            "end": self.end,
            "section": self.section,
            "sentences": list(self.sentence_ids),
        }

    @classmethod
    def from_record(cls, rec: dict[str, object], doc: str | None = None) -> Chunk:
        """The chunk of a record; with `doc` (its article's text) its text is a slice of it,
        and must be the record's text (`ValueError` otherwise)."""
        start, end, text = int(rec["start"]), int(rec["end"]), str(rec["text"])  # type: ignore[call-overload]
        if doc is not None and doc[start:end] != text:
            raise ValueError(f"chunk {rec['id']} does not match the article text")
        return cls(
            chunk_id=str(rec["id"]),
            paragraph=int(rec["paragraph"]),  # type: ignore[call-overload]
            start=start,
            end=end,
            section=str(rec.get("section", "body")),
            sentence_ids=tuple(rec.get("sentences", ())),  # type: ignore[arg-type]
            doc=text if doc is None else doc,
            base=start if doc is None else 0,
        )


# Words a reader uses to ask about a part of the article rather than its content
# ("Ai là tác giả?", "Bài báo đăng ngày nào?"). They are added to the text that is
# *searched* (BM25 tokens and embedded text), never to the passage text that is cited.
SECTION_LABELS = {
    "date": "Ngày đăng bài báo, thời gian xuất bản bài viết (date published):",
    "title": "Tiêu đề, tên bài viết, chủ đề bài báo (title):",
    "byline": "Tác giả, người viết bài báo, phóng viên (author):",
    "lead": "Tóm tắt nội dung chính của bài viết (summary):",
    "caption": "Chú thích ảnh (photo caption):",
}


def search_text(chunk: Chunk, config: ChunkingConfig | None = None) -> str:
    """The text that represents a chunk for search: its section label, then its text."""
    label = SECTION_LABELS.get(chunk.section) if (config is None or config.section_labels) else None
    return f"{label} {chunk.text}" if label else chunk.text


def approx_tokens(text: str) -> int:
    """A model-free token count: words and punctuation marks (used by the offline embedder)."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def chunk_article(
    article: Article, config: ChunkingConfig | None = None, count_tokens: TokenCounter = approx_tokens
) -> list[Chunk]:
    """Cut the article into chunks; see the module docstring for the rules."""
    config = config or ChunkingConfig()
    chunks: list[Chunk] = []
    by_paragraph: dict[int, list[Sentence]] = {}
    for sentence in article.sentences:
        by_paragraph.setdefault(sentence.paragraph, []).append(sentence)
    for par in article.paragraphs:
        # the section label is embedded with the text, so it counts against the budget
        label = SECTION_LABELS.get(par.kind) if config.section_labels else None
        count = (lambda t, _l=label: count_tokens(f"{_l} {t}")) if label else count_tokens
        units = [
            (s.id, start, end)
            for s in by_paragraph.get(par.index, ())
            for start, end in _fit(article.text, s.start, s.end, config.max_tokens, count)
        ]
        for first, last in _pack(article.text, units, config, count):
            start, end = units[first][1], units[last][2]
            ids = tuple(dict.fromkeys(u[0] for u in units[first : last + 1]))
            chunks.append(Chunk(f"c{len(chunks):03d}", par.index, start, end, par.kind, ids, article.text))
    return chunks


def _pack(
    text: str, units: list[tuple[str, int, int]], config: ChunkingConfig, count: TokenCounter
) -> list[tuple[int, int]]:
    """Greedy runs of units within the budget, each run starting `overlap` units back."""
    runs: list[tuple[int, int]] = []
    first = 0
    while first < len(units):
        last = first
        while last + 1 < len(units) and count(text[units[first][1] : units[last + 1][2]]) <= config.max_tokens:
            last += 1
        runs.append((first, last))
        if last + 1 >= len(units):
            break
        nxt = max(first + 1, last + 1 - config.overlap)
        # an overlapping run that cannot reach past `last` would sit inside this one
        if nxt <= last and count(text[units[nxt][1] : units[last + 1][2]]) > config.max_tokens:
            nxt = last + 1
        first = nxt
    return runs


_CLAUSE_BREAKS = (r"(?<=;)\s+", r"(?<=,)\s+", r"\s+")


def _fit(text: str, start: int, end: int, budget: int, count: TokenCounter, level: int = 0) -> list[tuple[int, int]]:
    """Split [start, end) into spans within the budget: at "; ", then ", ", then spaces."""
    if count(text[start:end]) <= budget or level == len(_CLAUSE_BREAKS):
        return [(start, end)]  # (a single word longer than the budget stays whole)
    segments: list[tuple[int, int]] = []
    seg_start = start
    for match in re.finditer(_CLAUSE_BREAKS[level], text[start:end]):
        segments.append((seg_start, start + match.start()))
        seg_start = start + match.end()
    segments.append((seg_start, end))
    pieces: list[tuple[int, int]] = []
    cur_start, cur_end = segments[0]
    for seg_start, seg_end in segments[1:]:
        if count(text[cur_start:seg_end]) <= budget:
            cur_end = seg_end
        else:
            pieces.append((cur_start, cur_end))
            cur_start, cur_end = seg_start, seg_end
    pieces.append((cur_start, cur_end))
    return [span for a, b in pieces for span in _fit(text, a, b, budget, count, level + 1)]
