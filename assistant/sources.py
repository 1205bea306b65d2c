"""Turn what a user brings - pasted text, an uploaded file, a link - into an `Article`.

One entry point per kind of input, all ending in `Article.from_text`:

* `article_from_input(value)`: what the web chat's box and the ``/add_article`` endpoint
  receive: a link (http/https, fetched by `fetch.fetch_url`), pasted HTML source, or
  plain text / Markdown;
* `article_from_bytes(data, name)` / `article_from_file(path)`: an uploaded or local file
  (.txt, .md, .html);
* `article_from_html(html, url)`: a web page. The article is found by trafilatura, the
  maintained news-extraction library (menus, related links, comments and footers stay
  out); its title, date and author come from the page's metadata where present. The text
  given to the parser is laid out as the bundled article is: the date line ("Thứ hai,
  05/06/2023"), the title, the body paragraphs, and a "Tác giả: …" byline when the author
  is known and not already the last line, so metadata questions work the same way;
* `read_source(item)`: a path or a link, for `assistant build`.

Refused with a `SourceError` (its `reason` in brackets), before anything is built: empty or
whitespace-only text [empty], binary data [binary], a PDF [pdf], more than
`MAX_TEXT_BYTES` [too_large], text that is not UTF-8 [encoding], a file type other than
.txt/.md/.html [unsupported], a page with no article text [no_text], and whatever the
link fetcher refuses (`fetch.py`). No HTML is parsed by hand here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from .article import Article
from .errors import SourceError
from .fetch import fetch_url, is_url

MAX_TEXT_BYTES = 1_000_000
MIN_ARTICLE_WORDS = 12  # an extracted page with fewer words has no article in it
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
TEXT_SUFFIXES = {".txt", ".text", ".md", ".markdown"}
WEEKDAYS = ("Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật")
_HTML_START = re.compile(r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
                         re.IGNORECASE | re.DOTALL)
_HTML_TAGS = re.compile(r"<(?:p|div|article|h1|h2|br|span|section|main)\b[^>]*>", re.IGNORECASE)
_BARE_LINK = re.compile(r"^(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?::\d+)?/\S*$", re.IGNORECASE)


def looks_like_html(text: str) -> bool:
    """HTML source (a whole page, or a fragment made mostly of block tags)."""
    head = text[:4096]
    return bool(_HTML_START.match(head)) or len(_HTML_TAGS.findall(head)) >= 3


def check_text(text: str, source: str) -> str:
    """`text` if usable; `SourceError` for empty, binary, PDF or over-long input."""
    if text.lstrip().startswith("%PDF-"):
        raise SourceError("pdf", f"{source}: a PDF file; give the article as text, an HTML page or a link")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_TEXT_BYTES:
        raise SourceError("too_large", f"{source}: {size:,} bytes is larger than the {MAX_TEXT_BYTES:,}-byte limit",
                          size=size, limit=MAX_TEXT_BYTES)
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    if "\x00" in text or controls > max(8, len(text[:65536]) // 100):
        raise SourceError("binary", f"{source}: looks like binary data, not text")
    if not any(ch.isalnum() for ch in text):
        raise SourceError("empty", f"{source}: the article is empty")
    return text


def article_from_input(value: str, source: str | None = None) -> Article:
    """A link, pasted HTML source or plain text, as the web chat receives it."""
    if not isinstance(value, str):
        raise SourceError("empty", f"the article must be text or a link, got {type(value).__name__}")
    if is_url(value):
        return article_from_url(value.strip())
    if _BARE_LINK.match(value.strip()):
        raise SourceError("bad_url", f"{value.strip()[:200]}: looks like a link without http:// or https://; "
                          "give the whole link")
    return article_from_text(value, source or "<text>")


def article_from_text(text: str, source: str = "<text>", markdown: bool = False) -> Article:
    """Plain text or Markdown; HTML source goes through the extractor instead."""
    check_text(text, source)
    if looks_like_html(text):
        return article_from_html(text, source=source)
    return Article.from_text(text, source=source, markdown=markdown)


def article_from_bytes(data: bytes, name: str, source: str | None = None) -> Article:
    """An uploaded or local file, by its name's suffix (.txt, .md, .html)."""
    source = source or name
    suffix = Path(name).suffix.lower()
    if data.lstrip()[:5] == b"%PDF-" or suffix == ".pdf":
        raise SourceError("pdf", f"{source}: a PDF file; give the article as text, an HTML page or a link")
    if suffix not in HTML_SUFFIXES | TEXT_SUFFIXES:
        raise SourceError("unsupported", f"{source}: unsupported file type {suffix or '(none)'!r}; "
                          "give a .txt, .md or .html file", suffix=suffix)
    if len(data) > MAX_TEXT_BYTES:
        raise SourceError("too_large", f"{source}: {len(data):,} bytes is larger than the {MAX_TEXT_BYTES:,}-byte "
                          "limit", size=len(data), limit=MAX_TEXT_BYTES)
    if b"\x00" in data:
        raise SourceError("binary", f"{source}: looks like a binary file (NUL bytes), not text")
    if suffix in HTML_SUFFIXES:
        return article_from_html(data, source=source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SourceError("encoding", f"{source}: not valid UTF-8 (byte 0x{data[err.start]:02x} at offset "
                          f"{err.start}); save the file as UTF-8") from None
    return article_from_text(text, source, markdown=suffix in {".md", ".markdown"})


def article_from_file(path: str | Path, name: str | None = None) -> Article:
    """A file on disk (an upload), judged by `name`'s suffix (default: the path's own name);
    the size is checked before the file is read."""
    path = Path(path)
    name = name or path.name
    try:
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise SourceError("too_large", f"{name}: {size:,} bytes is larger than the {MAX_TEXT_BYTES:,}-byte limit",
                              size=size, limit=MAX_TEXT_BYTES)
        data = path.read_bytes()
    except OSError as err:
        raise SourceError("empty", f"{name}: cannot be read ({err.strerror})") from None
    return article_from_bytes(data, name)


def article_from_url(url: str) -> Article:
    """Fetch a link (safely, `fetch.fetch_url`) and read the page or text it returns."""
    page = fetch_url(url)
    if page.is_html:
        return article_from_html(page.body, url=page.url, source=page.url)
    try:
        text = page.body.decode(page.charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        raise SourceError("encoding", f"{page.url}: the text is not valid {page.charset or 'UTF-8'}") from None
    if looks_like_html(text):
        return article_from_html(text, url=page.url, source=page.url)
    return article_from_text(text, page.url, markdown=page.media_type in {"text/markdown", "text/x-markdown"})


def article_from_html(html: str | bytes, url: str | None = None, source: str | None = None) -> Article:
    """The article of a web page, laid out for the parser, with the page's metadata."""
    source = source or url or "<html>"
    if isinstance(html, str):
        check_text(html, source)
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
    article = Article.from_text(composed, source=source, markdown=True)
    return replace(article, title=title or article.title, date=f"{date:%d/%m/%Y}" if date else article.date,
                   author=author or article.author)


def read_source(item: str | Path | Article) -> Article:
    """`assistant build`'s arguments: an Article as is, a link fetched, a file read by suffix."""
    if isinstance(item, Article):
        return item
    if isinstance(item, str) and is_url(item):
        return article_from_url(item)
    return Article.read(item)


def read_html_file(path: Path) -> Article:
    """A saved web page (used by `Article.read` for .html files); size checked first."""
    size = path.stat().st_size
    if size > MAX_TEXT_BYTES * 5:
        raise SourceError("too_large", f"{path}: {size:,} bytes is larger than the {MAX_TEXT_BYTES * 5:,}-byte limit",
                          size=size, limit=MAX_TEXT_BYTES * 5)
    data = path.read_bytes()
    if data.lstrip()[:5] == b"%PDF-":
        raise SourceError("pdf", f"{path}: a PDF file, not an HTML page")
    if b"\x00" in data:
        raise SourceError("binary", f"{path}: looks like a binary file, not an HTML page")
    return article_from_html(data, source=str(path))


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
