"""A web page -> the article's text laid out for the parser, with its metadata (trafilatura).

trafilatura is the maintained news-extraction library: menus, related links, comments and
footers stay out; the title, date and author come from the page's metadata where present.
The text is laid out as the bundled article is: the date line ("Thứ hai, 05/06/2023"), the
title as a Markdown heading, the body paragraphs, and a "Tác giả: …" byline when the author
is known and not already the last line, so metadata questions work the same way. No HTML is
parsed by hand here; `Article.from_page` turns a `Page` into an `Article`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import SourceError

MAX_TEXT_BYTES = 1_000_000  # the largest article text accepted, from any source
MAX_PAGE_BYTES = MAX_TEXT_BYTES * 5  # a saved page holds markup around its text
MIN_ARTICLE_WORDS = 12  # an extracted page with fewer words has no article in it
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
WEEKDAYS = ("Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật")


@dataclass(frozen=True)
class Page:
    """A page's article: Markdown-like text for `Article.from_text`, and the page's metadata."""

    text: str
    source: str
    title: str | None
    date: dt.date | None
    author: str | None


def read_page_file(path: Path) -> Page:
    """A saved web page (.html); its size is checked before it is read."""
    size = path.stat().st_size
    if size > MAX_PAGE_BYTES:
        raise SourceError("too_large", f"{path}: {size:,} bytes is larger than the {MAX_PAGE_BYTES:,}-byte limit",
                          size=size, limit=MAX_PAGE_BYTES)
    data = path.read_bytes()
    if data.lstrip()[:5] == b"%PDF-":
        raise SourceError("pdf", f"{path}: a PDF file, not an HTML page")
    if b"\x00" in data:
        raise SourceError("binary", f"{path}: looks like a binary file, not an HTML page")
    return page_text(data, source=str(path))


def page_text(html: str | bytes, url: str | None = None, source: str | None = None) -> Page:
    """The article of a web page, laid out for the parser; `SourceError` when it has none."""
    source = source or url or "<html>"
    found = _extract(html, url)
    text = (found.get("text") or "").strip()
    title = _one_line(found.get("title"))
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if lines and title and _same(lines[0], title):
        lines = lines[1:]  # the page's <h1>, already the title
    if sum(len(line.split()) for line in lines) < MIN_ARTICLE_WORDS:
        raise SourceError("no_text", f"{source}: no article text found in the page")
    date = _date(found.get("date"))
    author = _one_line(found.get("author"))
    blocks = []
    if date:
        blocks.append(f"{WEEKDAYS[date.weekday()]}, {date:%d/%m/%Y}")
    if title:
        blocks.append(f"# {title}")
    blocks.extend(lines)
    if author and not _same(author, lines[-1][-len(author) :]):
        blocks.append(f"Tác giả: {author}")
    composed = "\n\n".join(blocks)
    if len(composed.encode("utf-8")) > MAX_TEXT_BYTES:
        raise SourceError("too_large", f"{source}: the article text is larger than the {MAX_TEXT_BYTES:,}-byte limit",
                          size=len(composed.encode("utf-8")), limit=MAX_TEXT_BYTES)
    return Page(composed, source, title, date, author)


def _extract(html: str | bytes, url: str | None) -> dict[str, Any]:
    """trafilatura's main text and metadata of a page ({} when it finds nothing)."""
    try:
        import trafilatura
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise SourceError("unsupported", f"reading HTML needs trafilatura: pip install trafilatura ({err})") from None
    try:
        doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                          include_links=False, include_images=False, include_tables=True,
                                          favor_precision=True)
    except Exception as err:  # the extractor's own failures on broken markup: nothing usable
        raise SourceError("no_text", f"{url or 'the page'}: the HTML cannot be read ({type(err).__name__})") from None
    if doc is None:
        return {}
    return {key: getattr(doc, key, None) for key in ("text", "title", "date", "author")}


def _date(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _one_line(value: object) -> str | None:
    text = " ".join(str(value).split()) if value else ""
    return text[:300] or None


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
