"""Vietnamese text utilities: normalisation, accent folding, sentence splitting, tokens.

Everything here is pure and fast (no model, no I/O), so every other stage can use it on
hot paths. It leaves out word segmentation on purpose: lexical retrieval uses syllables
plus syllable bigrams, which covers two-syllable words without a segmenter's model and
start-up cost.

>>> fold("Đảng viên mới")
'dang vien moi'
>>> [text for _, _, text in split_sentences("Ngày 02/12/2022 TP. Lạng Sơn họp. Ông A nói.")]
['Ngày 02/12/2022 TP. Lạng Sơn họp.', 'Ông A nói.']
"""

from __future__ import annotations

import re
import unicodedata

# Zero-width and BOM characters carry no text; NBSP and friends are plain spaces here.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u2009\u200a\u3000\t\r\f\v"), " ")
_WS = re.compile(r"[ \t]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# Two spellings of open syllables put the tone on different vowels ("hoà"/"hòa",
# "thuý"/"thúy", "khoẻ"/"khỏe"). Both are correct Vietnamese; this news site writes the
# tone on the first vowel ("văn hóa"), so that is the canonical form here. "qu" + vowel
# is not affected ("quý" stays), nor are closed syllables ("hoàn", "tuyết").
_TONES = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook, dot below
_OLD_TONE = re.compile(rf"(?<![qQ])([oO][aAeE]|[uU][yY])([{_TONES}])(?![a-zA-Z\u0300-\u036f])")


def _modern_tone(match: re.Match[str]) -> str:
    pair = match.group(1)
    return pair[0] + match.group(2) + pair[1]


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def canonical_tones(text: str) -> str:
    """NFC text with "hoà"-style tone placement rewritten as "hòa" (for matching only:
    article text is never rewritten, so citations stay verbatim)."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", _OLD_TONE.sub(_modern_tone, decomposed))


def clean(text: str) -> str:
    """Normalise one line of user or article text: NFC, spaces, no control characters.

    Lone surrogates (from broken UTF-8 decoded with `surrogateescape`) are dropped.
    """
    text = text.encode("utf-8", "ignore").decode("utf-8") if _has_surrogates(text) else text
    text = text.translate(_INVISIBLE).translate(_SPACES)
    text = _CONTROL.sub(" ", text.replace("\n", " "))
    # NFC last: a mark that followed an invisible character ("e\u200b\u0301") now composes
    return _WS.sub(" ", nfc(text)).strip()


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


class _FoldTable(dict[int, str]):
    """str.translate table: a character -> itself without its combining marks (NFD, marks
    dropped), filled on first sight of each character. Per character is exact: NFD
    decomposes character by character and only reorders marks, which are all dropped."""

    def __missing__(self, code: int) -> str:
        folded = "".join(c for c in unicodedata.normalize("NFD", chr(code)) if not unicodedata.combining(c))
        self[code] = folded
        return folded


_FOLD = _FoldTable({ord("đ"): "d"})


def fold(text: str) -> str:
    """Lowercase and remove Vietnamese accents: đ -> d, tone and vowel marks dropped.

    The same as NFC(marks dropped from NFD(lowercase, đ -> d)), through a translate table
    (5-10x faster on the answerer's hot path)."""
    folded = text.lower().translate(_FOLD)
    if folded.isascii() or unicodedata.is_normalized("NFC", folded):
        return folded
    return unicodedata.normalize("NFC", folded)  # (Hangul jamo left by NFD recompose)


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese mark (so it was not typed folded)."""
    return fold(text) != text.lower()


# --- sentences -------------------------------------------------------------------------

# Abbreviations after which a period does not end a sentence (compared case-sensitively
# on the token before the period, so "TP." and "Tp." both appear).
ABBREVIATIONS = frozenset(
    [
    "TP", "Tp", "ThS", "Ths", "TS", "GS", "PGS", "BS", "CN", "KS", "NCS", "Th.S", "GS.TS", "PGS.TS", "TS.BS",
    "ThS.BS", "Q", "P", "TT", "Tr", "tr", "St", "Mr", "Mrs", "Ms", "Dr", "Prof", "No", "Co", "Ltd", "Inc",
    "UBND", "HĐND", "ĐBQH", "v.v", "vv",
    ]
)
_ENDERS = ".!?…"
_CLOSERS = "\"'”’»)]"
_OPEN_QUOTES = {"“": "”", "«": "»"}


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int, str]]:
    """Split one paragraph into sentences; returns `(start, end, sentence)` spans.

    Offsets are `offset` + positions in `text`, and `text[start-offset:end-offset]` is the
    sentence verbatim. A sentence ends at . ! ? … (plus closing quotes) followed by a space
    and an uppercase letter, digit or opening quote, except inside “…” quotations, after
    known abbreviations (TP., ThS., GS.TS.) and after single-letter initials.
    """
    bounds: list[tuple[int, int]] = []
    start = _skip_spaces(text, 0)
    depth = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in _OPEN_QUOTES:
            depth += 1
        elif ch in _OPEN_QUOTES.values() and depth:
            depth -= 1
            # “Tôi đi.” Sau đó ... : a quotation that ends its sentence ends ours too.
            if depth == 0 and i > 0 and text[i - 1] in _ENDERS and _is_boundary(text, i - 1, i + 1):
                bounds.append((start, i + 1))
                start = _skip_spaces(text, i + 1)
        elif ch in _ENDERS and depth == 0:
            end = i + 1
            while end < n and (text[end] in _ENDERS or text[end] in _CLOSERS):
                end += 1
            if _is_boundary(text, i, end):
                bounds.append((start, end))
                start = _skip_spaces(text, end)
                i = end
                continue
        i += 1
    if start < n and text[start:].strip():
        bounds.append((start, len(text.rstrip())))
    return [(s + offset, e + offset, text[s:e]) for s, e in bounds if e > s]


def _skip_spaces(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _is_boundary(text: str, dot: int, end: int) -> bool:
    if end >= len(text):
        return True
    if not text[end].isspace():
        return False  # "1.000", "v.v.", "02.12" and URLs stay whole
    nxt = _skip_spaces(text, end)
    if nxt >= len(text):
        return True
    follower = text[nxt]
    if not (follower.isupper() or follower.isdigit() or follower in "“\"'«(["):
        return False
    if text[dot] == ".":
        word = re.search(r"(\S+)$", text[:dot])
        token = word.group(1) if word else ""
        token = token.lstrip("(\"“'")
        if token in ABBREVIATIONS or (len(token) == 1 and token.isalpha() and token.isupper()):
            return False
    return True


# --- tokens ------------------------------------------------------------------------------

_TOKEN = re.compile(r"\w+", re.UNICODE)


def syllables(text: str) -> list[str]:
    """Lowercased NFC syllables (runs of letters and digits)."""
    return _TOKEN.findall(canonical_tones(text).lower())


def lexical_tokens(text: str, *, folded_only: bool = False) -> list[str]:
    """Tokens for BM25: syllables and syllable bigrams, exact and accent-folded.

    Folded tokens carry a "~" prefix so that a query typed without accents matches the
    folded form of every syllable, while a query with accents also matches the exact
    form (and so ranks exact matches higher). With `folded_only`, only the folded forms
    are returned: that is what a query without any diacritics should use.
    """
    sylls = syllables(text)
    folded = [fold(s) for s in sylls]
    out: list[str] = []
    if not folded_only:
        out.extend(sylls)
        out.extend(f"{a}_{b}" for a, b in zip(sylls, sylls[1:]))
    out.extend("~" + s for s in folded)
    out.extend(f"~{a}_{b}" for a, b in zip(folded, folded[1:]))
    return out


def query_tokens(question: str) -> list[str]:
    """BM25 tokens for a question: folded only when it was typed without diacritics."""
    return lexical_tokens(question, folded_only=not has_diacritics(question))
