"""Read and normalise one news article; find its parts, metadata and sentences.

`Article.text` is the normalised text (NFC, no NBSP, runs of whitespace collapsed, one
blank line between paragraphs). Every offset the system reports points into it, so a
citation `text[start:end]` is always verbatim article text.

Parts recognised (Vietnamese online-newspaper layout): the date line ("Thứ sáu, 02/12/2022"),
the title, the lead (the "LSO-" sapo), body paragraphs, photo captions (short lines with
no final punctuation between body paragraphs) and the byline ("Bài, ảnh: …"). Markdown
headings, emphasis, links and images are reduced to their text. An .html file is read
by `sources.py` (the article extracted by trafilatura, then parsed here); HTML inside a
text file, PDF and Word are refused with a clear error rather than guessed at.

>>> art = Article.from_text("Thứ hai, 05/06/2023\\n\\nTiêu đề\\n\\nLSO- Mở đầu. Câu hai.\\n\\nBài: AN")
>>> art.title, art.date, art.author, [p.kind for p in art.paragraphs]
('Tiêu đề', '05/06/2023', 'AN', ['date', 'title', 'lead', 'byline'])
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from assistant.errors import ArticleError
from assistant.ingest.html import HTML_SUFFIXES, Page, read_page_file
from assistant.ingest.text import clean, split_sentences

MAX_ARTICLE_BYTES = 5_000_000
TEXT_SUFFIXES = {"", ".txt", ".text", ".md", ".markdown"}
_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b")
_BYLINE = re.compile(
    r"^(?:Bài(?:\s*(?:,|và)\s*ảnh)?|Ảnh|Tin(?:\s*,\s*ảnh)?|Theo|Nguồn|Tác giả|Video|Nhóm PV)\s*:\s*(.+)$",
    re.IGNORECASE,
)
_LEAD_PREFIX = re.compile(r"^\(?[A-ZĐ][A-Za-zĐđ.]{1,15}\)?\s*[-–—]\s*")
_SENTENCE_END = tuple(".!?…:;\"”’»)")


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One block of the article: `kind` is date, title, lead, body, caption or byline.

    `doc` is the whole article text (the same object, not a copy: a million-passage corpus
    would otherwise hold its text twice more); `text` is the paragraph's slice of it."""

    index: int
    kind: str
    start: int
    end: int
    doc: str = field(repr=False)

    @property
    def text(self) -> str:
        return self.doc[self.start : self.end]


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence, addressable by `id` ("s012") for citations; `text` is a slice of `doc`,
    the whole article text, as in `Paragraph`."""

    id: str
    paragraph: int
    start: int
    end: int
    doc: str = field(repr=False)

    @property
    def text(self) -> str:
        return self.doc[self.start : self.end]


@dataclass(frozen=True)
class Article:
    """A parsed article. Build with `Article.read(path)` or `Article.from_text(raw)`."""

    text: str
    paragraphs: tuple[Paragraph, ...]
    sentences: tuple[Sentence, ...]
    title: str | None
    date: str | None
    author: str | None
    source: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def lead(self) -> str | None:
        return next((p.text for p in self.paragraphs if p.kind == "lead"), None)

    def part(self, kind: str) -> Paragraph | None:
        """The first paragraph of a kind ("title", "date", "byline", ...), if any."""
        return next((p for p in self.paragraphs if p.kind == kind), None)

    @property
    def metadata(self) -> dict[str, str | None]:
        return {"title": self.title, "date": self.date, "author": self.author, "source": self.source}

    @classmethod
    def read(cls, path: str | Path) -> Article:
        """Read a UTF-8 text or Markdown file or a saved web page (.html); `ArticleError` says what
        is wrong otherwise."""
        path = Path(path)
        if not path.is_file():
            raise ArticleError(f"article file not found: {path}")
        if path.suffix.lower() in HTML_SUFFIXES:
            return cls.from_page(read_page_file(path))
        if path.suffix.lower() not in TEXT_SUFFIXES:
            raise ArticleError(
                f"{path}: unsupported file type {path.suffix!r}; give a UTF-8 .txt or .md file or an .html page"
            )
        size = path.stat().st_size
        if size > MAX_ARTICLE_BYTES:
            raise ArticleError(f"{path}: {size:,} bytes is larger than the {MAX_ARTICLE_BYTES:,}-byte limit")
        data = path.read_bytes()
        if b"\x00" in data:
            raise ArticleError(f"{path}: looks like a binary file (NUL bytes); give a UTF-8 text file")
        try:
            raw = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise ArticleError(
                f"{path}: not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start}); "
                "save the file as UTF-8"
            ) from None
        return cls.from_text(raw, source=str(path), markdown=path.suffix.lower() in {".md", ".markdown"})

    @classmethod
    def from_text(cls, raw: str, source: str = "<text>", markdown: bool = False) -> Article:
        """Parse article text that is already in memory."""
        if re.search(r"<(?:!doctype\s+html|html|head|body)\b", raw[:4096], re.IGNORECASE):
            raise ArticleError(f"{source}: HTML is not supported; save the article as plain text")
        blocks = _blocks(raw, markdown)
        if not blocks:
            raise ArticleError(f"{source}: the article is empty")
        kinds = _classify([text for text, _ in blocks], [hint for _, hint in blocks])
        return _assemble(blocks, kinds, source)

    @classmethod
    def from_page(cls, page: Page) -> Article:
        """A web page's article (`assistant.ingest.html`), with the page's title, date and author."""
        article = cls.from_text(page.text, source=page.source, markdown=True)
        return replace(article, title=page.title or article.title,
                       date=f"{page.date:%d/%m/%Y}" if page.date else article.date,
                       author=page.author or article.author)


def _blocks(raw: str, markdown: bool) -> list[tuple[str, str | None]]:
    """Paragraph texts (cleaned) with a kind hint from Markdown syntax."""
    out: list[tuple[str, str | None]] = []
    for block in re.split(r"\n[ \t\u00a0\u3000]*\n", raw.replace("\r\n", "\n").replace("\r", "\n")):
        hint = None
        if markdown:
            block, hint = _strip_markdown(block)
        text = clean(block)
        if text:
            out.append((text, hint))
    return out


def _strip_markdown(block: str) -> tuple[str, str | None]:
    hint = None
    heading = re.match(r"^\s{0,3}(#{1,6})\s+(.*)$", block, re.DOTALL)
    if heading:
        block, hint = heading.group(2).rstrip("# \n"), "heading"
    image = re.fullmatch(r"\s*!\[([^\]]*)\]\([^)]*\)\s*", block)
    if image:
        return image.group(1), "caption"
    block = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", block)
    block = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", block)
    block = re.sub(r"(\*\*|__)(.+?)\1", r"\2", block)
    if re.fullmatch(r"\s*([*_])([^*_].*?)\1\s*", block, re.DOTALL) and hint is None:
        hint = "caption"  # a whole italic line under an image is a caption by convention
    block = re.sub(r"(?<!\w)([*_])(\S.*?\S|\S)\1(?!\w)", r"\2", block)
    block = re.sub(r"^\s*(?:[-*+]|\d+\.)\s+", "", block, flags=re.MULTILINE)
    block = re.sub(r"^\s*>\s?", "", block, flags=re.MULTILINE)
    return block, hint


def _classify(texts: list[str], hints: list[str | None]) -> list[str]:
    kinds = ["body"] * len(texts)
    head = range(min(3, len(texts)))
    date_at = next((i for i in head if len(texts[i]) <= 60 and _DATE.search(texts[i])), None)
    if date_at is not None:
        kinds[date_at] = "date"
    title_at = next((i for i in range(len(texts)) if hints[i] == "heading"), None)
    if title_at is None and len(texts) > 1:
        title_at = next(
            (i for i in head if kinds[i] == "body" and len(texts[i]) <= 250 and not texts[i].endswith(".")),
            None,
        )
    if title_at is not None:
        kinds[title_at] = "title"
    if len(texts) > 2 and len(texts[-1]) <= 80 and (_BYLINE.match(texts[-1]) or _is_name(texts[-1])):
        kinds[-1] = "byline"
    body = [i for i, k in enumerate(kinds) if k == "body"]
    for i in body:
        if hints[i] == "caption" or (
            i != body[0] and len(texts[i]) <= 300 and not texts[i].endswith(_SENTENCE_END)
        ):
            kinds[i] = "caption"
    first_body = next((i for i, k in enumerate(kinds) if k == "body"), None)
    if first_body is not None and (title_at is not None or _LEAD_PREFIX.match(texts[first_body])):
        kinds[first_body] = "lead"
    return kinds


def _is_name(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return 2 <= len(text.split()) <= 6 and bool(letters) and all(c.isupper() for c in letters)


def sentence_id(number: int) -> str:
    """"s012": one shared string per number, however many articles repeat it."""
    return sys.intern(f"s{number:03d}")


def _assemble(blocks: list[tuple[str, str | None]], kinds: list[str], source: str) -> Article:
    full = "\n\n".join(text for text, _ in blocks)
    paragraphs: list[Paragraph] = []
    sentences: list[Sentence] = []
    pos = 0
    for index, ((text, _), kind) in enumerate(zip(blocks, kinds)):
        paragraphs.append(Paragraph(index, sys.intern(kind), pos, pos + len(text), full))
        spans = split_sentences(text, offset=pos) if kind in {"lead", "body"} else [(pos, pos + len(text), text)]
        for start, end, _sentence in spans:
            sentences.append(Sentence(sentence_id(len(sentences)), index, start, end, full))
        pos += len(text) + 2
    title = next((p.text for p in paragraphs if p.kind == "title"), None)
    date_par = next((p.text for p in paragraphs if p.kind == "date"), None)
    date_match = _DATE.search(date_par) if date_par else None
    byline = next((p.text for p in paragraphs if p.kind == "byline"), None)
    author = None
    if byline:
        match = _BYLINE.match(byline)
        author = match.group(1).strip() if match else byline
    return Article(
        text=full,
        paragraphs=tuple(paragraphs),
        sentences=tuple(sentences),
        title=title,
        date=date_match.group(0) if date_match else None,
        author=author,
        source=source,
    )
