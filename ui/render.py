"""HTML builders for the web chat: the article with cited spans highlighted, chat messages.

Pure functions, no Gradio import, so they are cheap to unit-test. Two rules hold everywhere:

* every piece of text that comes from a user or from the article goes through `esc`
  (HTML-escaped, and in chat messages also `md_esc`, which turns the characters Markdown
  would act on - ``! [ ] ( ) * _ ` $ ~ # | :`` and friends - into numeric character
  references, so ``![x](http://…)`` or ``<img onerror=…>`` show as text and load nothing);
* chat messages are emitted as one line of HTML starting with ``<div``, which Markdown
  passes through as a single HTML block (Gradio still sanitizes it).

Citation and passage objects are duck-typed (`n`, `start`, `end`, `text`, `chunk_id`;
`paragraph`, `score`), matching `Answer.citations` and `Answer.passages`.
"""

from __future__ import annotations

import html
import itertools
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

log = logging.getLogger(__name__)

_MARKER = re.compile(r"\[(\d{1,3})\]")
_MD_CHARS = {ord(c): f"&#{ord(c)};" for c in "\\`*_{}[]()#+-.!|~$:=^"}
_ARTICLE_TAGS = {"title": "h2"}


def esc(text: object) -> str:
    """HTML-escape any text (quotes included)."""
    return html.escape(str(text), quote=True)


def md_esc(text: object) -> str:
    """Escape for HTML *and* Markdown: safe inside a chat message or a gr.Markdown."""
    escaped = esc(text).translate(_MD_CHARS)
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


def _num(value: float) -> str:
    """A score the Vietnamese way (decimal comma), three significant digits."""
    return f"{value:.3g}".replace(".", ",")


# --- chat messages ---------------------------------------------------------------------


def user_message_html(question: str, limit: int | None = None) -> str:
    """The user's question as inert text (optionally shortened to `limit` characters)."""
    if limit is not None and len(question) > limit:
        question = question[:limit].rstrip() + " …"
    return f'<div class="qa-question">{md_esc(question)}</div>'


def _text_with_markers(text: str, turn: int | None, known: set[int] | None = None) -> str:
    """Answer text, escaped, with each [n] turned into a link that scrolls the article."""
    out: list[str] = []
    pos = 0
    for match in _MARKER.finditer(text):
        n = int(match.group(1))
        out.append(md_esc(text[pos : match.start()]))
        if known is None or n in known:
            out.append(_cite_link(n, turn))
        else:
            out.append(md_esc(match.group(0)))
        pos = match.end()
    out.append(md_esc(text[pos:]))
    return "".join(out)


def _turn_class(turn: int | None) -> str:
    # Gradio's sanitizer drops data-* attributes in chat messages; classes and #hrefs survive.
    return f" turn-{turn}" if turn is not None else ""


def _cite_link(n: int, turn: int | None) -> str:
    return (f'<a class="cite-ref{_turn_class(turn)}" href="#cite-{n}" '
            f'title="Xem trích dẫn {n} trong bài">&#91;{n}&#93;</a>')


def _para_link(index: int, turn: int | None) -> str:
    return f'<a class="para-ref{_turn_class(turn)}" href="#para-{index + 1}">đoạn {index + 1}</a>'


def partial_answer_html(text: str, turn: int | None = None) -> str:
    """What the chat shows while the answer is still streaming in."""
    body = _text_with_markers(text, turn) if text else '<span class="qa-wait">Đang tìm trong bài viết…</span>'
    return f'<div class="qa-answer qa-streaming"><div class="qa-text">{body}</div></div>'


def answer_html(answer: Any, article: Any, turn: int | None = None) -> str:
    """A finished answer: text with linked [n] markers, notice, and the collapsible sources."""
    citations = list(answer.citations)
    known = {c.n for c in citations}
    parts = [f'<div class="qa-answer{_turn_class(turn)}">',
             f'<div class="qa-text">{_text_with_markers(answer.text, turn, known)}</div>']
    if getattr(answer, "notice", None):
        parts.append(f'<p class="qa-notice"><em>{md_esc(answer.notice)}</em></p>')
    scores = {p.chunk_id: p.score for p in answer.passages}
    if citations:
        items = []
        for c in citations:
            para = paragraph_of(article, c.start)
            meta = [] if para is None else [_para_link(para, turn)]
            if c.chunk_id in scores:
                meta.append(f"điểm {md_esc(_num(scores[c.chunk_id]))}")
            items.append(f'<li>{_cite_link(c.n, turn)} <q>{_quote_with_answer(c)}</q>'
                         f' <span class="qa-meta">{" · ".join(meta)}</span></li>')
        parts.append(f'<details class="qa-sources"><summary>Nguồn ({len(citations)})</summary>'
                     f'<ol class="qa-list">{"".join(items)}</ol></details>')
    elif not answer.answered and answer.passages:
        items = [f'<li><span class="qa-passage">{md_esc(_shorten(p.text, 320))}</span>'
                 f' <span class="qa-meta">{_para_link(p.paragraph, turn)} · điểm {md_esc(_num(p.score))}</span></li>'
                 for p in answer.passages]
        parts.append('<details class="qa-related"><summary>Đoạn liên quan (không phải câu trả lời)</summary>'
                     f'<ol class="qa-list">{"".join(items)}</ol></details>')
    parts.append("</div>")
    return "".join(parts)


def _answer_range(c: Any) -> tuple[int, int] | None:
    """Where the short answer lies inside citation `c`, relative to its text (or None)."""
    a, b = getattr(c, "answer_start", None), getattr(c, "answer_end", None)
    if a is None or b is None or not (c.start <= a < b <= c.end):
        return None
    return a - c.start, b - c.start


def _quote_with_answer(c: Any) -> str:
    """The quoted passage, the short answer inside it in <mark class="qa-span">."""
    span = _answer_range(c)
    if span is None:
        return md_esc(c.text)
    a, b = span
    return f'{md_esc(c.text[:a])}<mark class="qa-span">{md_esc(c.text[a:b])}</mark>{md_esc(c.text[b:])}'


def notice_html(message: str, detail: str | None = None, kind: str = "error") -> str:
    """A polite one-paragraph message in the chat (errors, refusals)."""
    extra = f' <span class="qa-detail">({md_esc(detail)})</span>' if detail else ""
    return f'<div class="qa-answer qa-{kind}"><p>{md_esc(message)}{extra}</p></div>'


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " …"


# --- the article ---------------------------------------------------------------------------


def paragraph_of(article: Any, offset: int) -> int | None:
    """Index of the paragraph containing `offset` in `article.text`, if any."""
    for p in article.paragraphs:
        if p.start <= offset < p.end:
            return int(p.index)
    return None


def _valid_spans(article: Any, citations: Iterable[Any]) -> list[tuple[int, int, int]]:
    spans = []
    size = len(article.text)
    for c in citations:
        if getattr(c, "article", 0) != 0 or not (0 <= c.start < c.end <= size):
            log.warning("citation [%s] at %s-%s does not point into the shown article", c.n, c.start, c.end)
            continue
        if getattr(c, "text", None) is not None and article.text[c.start : c.end] != c.text:
            log.warning("citation [%s] text differs from the article at %s-%s", c.n, c.start, c.end)
        spans.append((int(c.start), int(c.end), int(c.n)))
    return spans


def article_html(article: Any, citations: Sequence[Any] = (), turn: int | None = None) -> str:
    """The whole article as escaped HTML, each cited span in a <mark> (first piece id="cite-n").

    Overlapping or adjacent citations are split at every boundary: each piece lists the
    citations covering it in `data-cite`, the superscript number follows a citation's last piece.
    """
    spans = _valid_spans(article, citations)
    valid = {n for _, _, n in spans}
    answers = [(c.start + r[0], c.start + r[1]) for c in citations
               if c.n in valid and (r := _answer_range(c)) is not None]
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for p in article.paragraphs:
        for start, end, n in spans:
            lo, hi = max(start, p.start), min(end, p.end)
            if lo < hi:
                first[n] = min(first.get(n, lo), lo)
                last[n] = max(last.get(n, hi), hi)
    text = article.text
    blocks = []
    for p in article.paragraphs:
        inner = []
        cuts = {p.start, p.end}
        for start, end, *_ in [*spans, *answers]:
            cuts.update(x for x in (start, end) if p.start < x < p.end)
        bounds = sorted(cuts)
        for a, b in itertools.pairwise(bounds):
            covering = sorted(n for s, e, n in spans if s <= a and b <= e)
            piece = esc(text[a:b])
            if not covering:
                inner.append(piece)
                continue
            starting = [n for n in covering if first.get(n) == a]
            mark_id = f' id="cite-{starting[0]}"' if starting else ""
            anchors = "".join(f'<span class="cite-anchor" id="cite-{n}"></span>' for n in starting[1:])
            cls = "cite-mark" + "".join(f" c-{n}" for n in covering) + (" cite-overlap" if len(covering) > 1 else "")
            if any(s <= a and b <= e for s, e in answers):
                cls += " ans-span"  # the short answer inside the cited sentence
            data = " ".join(str(n) for n in covering)
            sups = "".join(f'<sup class="cite-sup">{n}</sup>' for n in covering if last.get(n) == b)
            inner.append(f'<mark class="{cls}"{mark_id} data-cite="{data}">{anchors}{piece}</mark>{sups}')
        tag = _ARTICLE_TAGS.get(p.kind, "p")
        blocks.append(f'<{tag} class="art-{esc(p.kind)}" id="para-{p.index + 1}">{"".join(inner)}</{tag}>')
    count = len({n for _, _, n in spans})
    note = (f"đang tô sáng {count} trích dẫn của câu trả lời" if count
            else "các câu được trích dẫn sẽ được tô sáng")
    legend = f'<p class="art-legend">Bài viết gốc · {note}</p>'
    data_turn = f' data-turn="{turn}"' if turn is not None else ""
    return f'<article class="art-view{_turn_class(turn)}"{data_turn} lang="vi">{legend}{"".join(blocks)}</article>'


def status_markdown(info: dict[str, Any], article: Any) -> str:
    """One line: the article, the size of the index and the embedder (fallback reason included)."""
    title = article.title or "(không có tiêu đề)"
    date = f", {md_esc(article.date)}" if article.date else ""
    return (f"**{md_esc(title)}**{date} · chỉ mục {int(info.get('chunks', 0))} đoạn"
            f" · mô hình nhúng: {md_esc(info.get('embedder', 'không rõ'))}")
