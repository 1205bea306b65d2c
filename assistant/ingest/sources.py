"""Turn what a user brings - pasted text, an uploaded file, a link - into an `Article`.

One entry point per kind of input, all ending in `Article.from_text`:

* `article_from_input(value)`: what the web chat's box and the ``/add_article`` endpoint
  receive: a link (http/https, fetched by `fetch.fetch_url`), pasted HTML source, or
  plain text / Markdown;
* `article_from_bytes(data, name)` / `article_from_file(path)`: an uploaded or local file
  (.txt, .md, .html);
* `article_from_html(html, url)`: a web page, its article found by trafilatura
  (`html.py`: what is kept and how it is laid out for the parser);
* `read_source(item)`: a path (.txt, .md, .html: `Article.read`) or a link, for `assistant build`.

Refused with a `SourceError` (its `reason` in brackets), before anything is built: empty or
whitespace-only text [empty], binary data [binary], a PDF [pdf], more than
`MAX_TEXT_BYTES` [too_large], text that is not UTF-8 [encoding], a file type other than
.txt/.md/.html [unsupported], a page with no article text [no_text], and whatever the
link fetcher refuses (`fetch.py`). No HTML is parsed by hand here.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.errors import SourceError
from assistant.ingest.article import Article
from assistant.ingest.fetch import fetch_url, is_url
from assistant.ingest.html import HTML_SUFFIXES, MAX_TEXT_BYTES, page_text

TEXT_SUFFIXES = {".txt", ".text", ".md", ".markdown"}
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
    """The article of a web page (`assistant.ingest.html`), with the page's metadata."""
    if isinstance(html, str):
        check_text(html, source or url or "<html>")
    return Article.from_page(page_text(html, url=url, source=source))


def read_source(item: str | Path | Article) -> Article:
    """`assistant build`'s arguments: an Article as is, a link fetched, a file read by suffix."""
    if isinstance(item, Article):
        return item
    if isinstance(item, str) and is_url(item):
        return article_from_url(item)
    return Article.read(item)
