"""What a question asks for: its expected answer type, content words and slot; and whether it
is a question at all (`check_question`: text, not empty, at most `MAX_QUESTION_CHARS`).

All matching is done on accent-folded syllables, so a question typed without
diacritics is analysed exactly like the same question with them. Cue phrases are
general Vietnamese (and English) question words, never words of a particular article.

>>> q = analyse("Chi bộ đã kết nạp được bao nhiêu đảng viên mới?")
>>> q.kind, q.unit
('number', ('đảng', 'viên'))
>>> analyse("Ai la tac gia bai viet?").kind
'meta_author'
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from assistant.errors import QuestionError
from assistant.ingest.text import canonical_tones, clean, fold

MAX_QUESTION_CHARS = 2000


def check_question(question: object) -> str:
    """The cleaned question, or `QuestionError` for empty, non-text or over-long input."""
    if not isinstance(question, str):
        raise QuestionError(f"the question must be text, got {type(question).__name__}")
    if len(question) > MAX_QUESTION_CHARS * 4:
        raise QuestionError(f"the question has {len(question):,} characters; the limit is {MAX_QUESTION_CHARS:,}")
    cleaned = clean(question)
    if not any(ch.isalnum() for ch in cleaned):
        raise QuestionError("the question is empty")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question has {len(cleaned):,} characters; the limit is {MAX_QUESTION_CHARS:,}")
    return cleaned


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# English question and function words (also tell an English question apart).
_EN_FUNCTION = _words(
    """
    what who whom whose which when where why how many much is are was were the of in on for to and
    does did do by with about from that this it its their there as at be been has have had
    """
)
# Function words and question words, with diacritics. They never count as content.
_VI_FUNCTION = _words(
    """
    à ạ ai anh bao nhiêu đâu lâu bấy bị bởi các cái cần cho chứ có của cũng đã đang để đến đều đó
    được gì hả hay hoặc khi không là làm lại lên mà mấy mình một mỗi nào này nè nếu nhiều như những
    nơi nói ở ông ra rồi sao sẽ tại thế thì thôi trên trong từ và vẫn về vì với vừa xem hãy hỏi cho vào
    biết
    """
)
STOPWORDS = _VI_FUNCTION | _EN_FUNCTION
# Phrases that frame a question rather than name its facts ("tỷ lệ ... là bao nhiêu",
# "nhằm mục đích gì", "giữ chức vụ gì", "trong giai đoạn nào"): general question
# vocabulary. They are removed as whole phrases, so "chức" in "chức vụ" goes while
# "chức" in "tổ chức" stays.
FRAMING_PHRASES = """tỷ lệ|phần trăm|người|giai đoạn|khoảng thời gian|khoảng|muốn|tối thiểu|tối đa|ít nhất|cấp bậc|
    chức vụ|chức danh|mảng|phụ trách|duy trì|mục đích|nhằm|đạt|giữ|đi|lần|mở|dựa|nội dung|điều|việc|cụ thể|hiện nay|
    hiện|tiêu chí|kết quả|thông tin|số lượng|con số|bài viết|bài báo|nêu|đề cập|cho biết|theo|thế|quân hàm|
    tần suất|thời điểm|biểu hiện|phẩm chất|ngoài|còn|mục tiêu|cách|đối tượng được|tổng cộng|
    vào dịp nào|dịp nào""".replace("\n", " ")
FRAMING = tuple(tuple(p.split()) for p in (x.strip() for x in FRAMING_PHRASES.split("|")) if p)
# Folded forms of stopwords that are also folded forms of content words ("chi" is "chỉ"
# and "chi bộ", "the" is "thế" and "thẻ"): without diacritics they must stay content.
_AMBIGUOUS = _words("chi can bi the tu minh cung lam tai vi dang moi co de da den ve la nhu")
FOLDED_STOPWORDS = frozenset(fold(w) for w in STOPWORDS) - _AMBIGUOUS
# (a one-syllable framing word that folds to an ambiguous syllable stays too: "thế" / "thẻ")
_FRAMING_FOLDED = tuple(
    folded
    for folded in (tuple(fold(w) for w in p) for p in FRAMING)
    if not (len(folded) == 1 and folded[0] in _AMBIGUOUS)
)


def _by_first(phrases: tuple[tuple[str, ...], ...]) -> dict[str, tuple[tuple[str, ...], ...]]:
    out: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        out.setdefault(phrase[0], []).append(phrase)
    return {k: tuple(v) for k, v in out.items()}


_FRAMING_BY_FIRST, _FRAMING_BY_FIRST_FOLDED = _by_first(FRAMING), _by_first(_FRAMING_FOLDED)
_AFTER_COPULA = _words("bao gi ai nhung may khi o nguoi ngay nam dau sao")

# Cue phrases (folded) -> kind, checked in order; the first match wins.
KIND_CUES: list[tuple[str, str]] = [
    (  # what a figure of the article stands for: "Con số 413 chỉ gì?", "95% là tỷ lệ của gì?"
        r"^\W*(con so |so |ti le |ty le |the (number|figure) )?\d[\d.,]*%?\s*(trong bai( viet| bao)?\s*)?"
        r"(la|chi|noi ve|de cap|the hien|cho biet|refers?|means?|stands?)\b"
        r"|^what (does|do|is) (the (number|figure) )?\d[\d.,]*%? (refer|mean|stand|count)",
        "figure_ref",
    ),
    (
        r"\b(tac gia|nguoi viet|ai viet|phong vien|but danh|author|who wrote|written by|chup|photographer)\b"
        r"|\b(anh|photo)\b.*\b(ai|who)\b",
        "meta_author",
    ),
    (r"\b(tieu de|ten bai|tit (bai|cua bai)|title|headline)\b", "meta_title"),
    (
        r"\b(bai (viet|bao)( nay)?|bai nay|article|story)\b.*\b(xuat ban|ngay nao|thu may|nam nao|khi nao|published|"
        r"date|when|dang (ngay|vao|luc|khi|nam)|len (trang|bao))\b",
        "meta_date",
    ),
    (
        r"^(?!.*\b(nao|ai|bao nhieu|which|who|how many)\b)(.*\b(bai (viet|bao)( nay)?|article|story)\b.*"
        r"\b(noi ve|chu de|noi dung chinh|de cap|about|topic)\b"
        r"|.*\b(noi dung chinh|chu de)\b.*\b(bai (viet|bao)|article)\b)",
        "meta_topic",
    ),
    (
        r"\b(bao lau|khi nao|bao gio|ngay nao|nam nao|thang nao|nhiem ky nao|thoi gian nao|khoang thoi gian|"
        r"luc nao|thoi diem nao|tan suat|dip nao|when|what year|which year|how long|which term|how often)\b",
        "date",
    ),
    (r"\b(bao nhieu|may|how many|how much|so luong|ty le|percentage|percent)\b", "number"),
    (
        r"\b(o dau|noi nao|tinh nao|dia phuong nao|where|which province|dia diem nao|"
        r"(hoi truong|tru so|thanh pho|huyen|xa|phuong|nuoc|quoc gia|khu vuc) nao)\b",
        "place",
    ),
    (
        r"\b(ai|nguoi nao|dong chi nao|can bo nao|who|whom)\b|\b(chuc vu|cap bac|quan ham|chuc danh|position|rank)\b"
        r"|\b(mang|giu|deo|co) ham\b|\bham (gi|nao)\b",
        "person",
    ),
    (r"\b(tai sao|vi sao|vi ly do gi|nham muc dich gi|de lam gi|muc dich|nham|ly do|why|purpose)\b", "reason"),
    (r"\b(nhu the nao|the nao|lam sao|bang cach nao|ra sao|how)\b", "method"),
    (r"\bnhung\b.*\b(nao|gi)\b|\bcac \w+ nao\b|\b(gom|bao gom|liet ke|which|what are)\b", "list"),
]
_KIND_RES = [(re.compile(pattern), kind) for pattern, kind in KIND_CUES]
# Classifiers count anything ("mấy chiếc", "bao nhiêu cái"); "người"/"vị" count people.
_CLASSIFIERS = frozenset(["chiec", "cai", "con", "nguoi", "vi", "lan"])
_UNIT_STOP = _words("duoc da se trong la cua cho vao tro len khi o tai va vua moi nay do bao nhieu")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")
_TITLED = re.compile(
    r"(?i:\b(?:ông|bà|anh|chị|đồng chí|đại tá|thượng tá|trung tá|thiếu tá|thiếu tướng|trung tướng|"
    r"ong|ba|dong chi|dai ta|thuong ta|trung ta|thieu ta|thieu tuong|trung tuong))\s+"
    r"([A-ZĐ][\wÀ-ỹ]*(?:\s+[A-ZĐ][\wÀ-ỹ]*)*)"
)
_NAME = re.compile(r"(?:[A-ZĐ][\wÀ-ỹ]*\s+){1,4}[A-ZĐ][\wÀ-ỹ]*")


@dataclass(frozen=True)
class QuestionAnalysis:
    text: str
    kind: str  # number, date, place, person, reason, method, list, meta_*, fact
    content: tuple[str, ...]  # content syllables in match form, in order
    bigrams: tuple[str, ...]  # adjacent content pairs in match form
    folded: bool  # match form is accent-folded (question typed without diacritics)
    unit: tuple[str, ...]  # for number questions: what is counted ("dang vien moi")
    numbers: tuple[str, ...]  # numbers written in the question
    names: tuple[str, ...]  # capitalised multi-syllable names, folded
    english: bool
    folded_text: str = ""  # the whole question, accent-folded (`text.fold`)
    subject: tuple[str, ...] = ()  # number questions: what stands right before "(là) bao nhiêu", folded

    @property
    def is_meta(self) -> bool:
        return self.kind.startswith("meta_")


_EN_STOP = frozenset(["the", "a", "an"])
# English words that no Vietnamese syllable folds to ("that" is "thật" folded and "the" is
# "thế", as in "the gioi", so they are left out)
_EN_WORDS = (_EN_FUNCTION & _words("what who whom whose which when where why how many much does did is are was were "
                                   "of his their had has have been with from and by")) | {"article"}


# The shape of a Vietnamese syllable with its marks folded away: onset, one to three vowels,
# and one of the eight codas. "who", "said", "party", "members" cannot be one; "the", "an"
# and most names can.
_VI_SYLLABLE = re.compile(r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?")
# Vietnamese question words (folded) that no English question holds: "Electronic dance music là gì?"
_VI_MARKERS = _words("la gi ai nao dau sao nhieu cua khong nhung cac duoc")


def _mostly_foreign(text: str) -> bool:
    """Half the words, and at least two, spelled like no Vietnamese syllable, with no Vietnamese
    question word: an English question with one question word known ("Who said the Party cell
    admitted …?"). Capitalised words after the first are names ("Tổng thống New Zealand")."""
    words = [w for i, w in enumerate(re.findall(r"[^\W\d_]+", text)) if i == 0 or not w[0].isupper()]
    folded = [fold(w) for w in words]
    if any(w in _VI_MARKERS for w in folded):
        return False
    foreign = sum(not _VI_SYLLABLE.fullmatch(w) for w in folded)
    return foreign >= 2 and 2 * foreign >= len(words)


@functools.lru_cache(maxsize=2048)
def analyse(question: str) -> QuestionAnalysis:
    text = canonical_tones(question)
    folded = fold(text)
    fsylls = re.findall(r"\w+", folded)
    # English: English question words, and Vietnamese letters only in capitalised names
    lowercase_vi = any(w[0].islower() and fold(w) != w for w in re.findall(r"\w+", text))
    english = not lowercase_vi and (sum(s in _EN_WORDS for s in fsylls) >= 2 or _mostly_foreign(text))
    kind = next((k for pattern, k in _KIND_RES if pattern.search(folded)), "fact")
    no_marks = fold(text) == text.lower()
    sylls = fsylls if no_marks else re.findall(r"\w+", text.lower())
    stop = STOPWORDS | FOLDED_STOPWORDS | _EN_STOP if english else FOLDED_STOPWORDS if no_marks else STOPWORDS
    keep = [s not in stop for s in sylls]
    if no_marks:  # "la" before a question word is "là" ("... la bao nhieu?"), not a content word
        keep = [k and not (s == "la" and sylls[i + 1 : i + 2] and sylls[i + 1] in _AFTER_COPULA)
                for i, (s, k) in enumerate(zip(sylls, keep))]
    framing = _FRAMING_BY_FIRST_FOLDED if no_marks else _FRAMING_BY_FIRST
    for i, syll in enumerate(sylls):
        for phrase in framing.get(syll, ()):
            if tuple(sylls[i : i + len(phrase)]) == phrase:
                keep[i : i + len(phrase)] = [False] * len(phrase)
    if kind == "number" and fsylls[:1] == ["so"]:  # "Số thẻ … là bao nhiêu?": "the number of", framing
        keep[0] = False
    elif kind == "number" and fsylls[:2] == ["tong", "so"]:
        keep[:2] = [False, False]
    content = tuple(s for s, k in zip(sylls, keep) if k)
    bigrams = tuple(f"{a}_{b}" for (a, ka), (b, kb) in zip(zip(sylls, keep), zip(sylls[1:], keep[1:])) if ka and kb)
    names = tuple(
        strip_honorific(fold(m.group(0))) for m in _NAME.finditer(text) if m.start() > 0 or " " in m.group(0).strip()
    )
    # "ông Khình", "Đại tá Sang": a title or honorific makes one capitalised word a name
    titled = tuple(fold(m.group(1)) for m in _TITLED.finditer(text))
    return QuestionAnalysis(
        text=question,
        kind=kind,
        content=content,
        bigrams=bigrams,
        folded=no_marks,
        unit=_unit(fsylls, sylls) if kind == "number" else (),
        numbers=tuple(_NUMBER.findall(text)),
        names=tuple(dict.fromkeys([n for n in names if len(n.split()) >= 2] + list(titled))),
        english=english,
        folded_text=folded,
        subject=_subject(fsylls, keep) if kind == "number" and len(fsylls) == len(keep) else (),
    )


_HONORIFICS = (
    "ong ",
    "ba ",
    "anh ",
    "chi ",
    "dong chi ",
    "dai ta ",
    "thuong ta ",
    "trung ta ",
    "thieu ta ",
    "thieu tuong ",
    "trung tuong ",
    "dai tuong ",
    "giam doc ",
    "bi thu ",
    "tinh ",
    "huyen ",
    "xa ",
)


def strip_honorific(name: str) -> str:
    """ "ong bui xuan sang" -> "bui xuan sang": titles are not part of a name."""
    changed = True
    while changed:
        changed = False
        for prefix in _HONORIFICS:
            if name.startswith(prefix) and len(name) > len(prefix):
                name, changed = name[len(prefix) :], True
    return name


def _subject(fsylls: list[str], keep: list[bool]) -> tuple[str, ...]:
    """The last two content syllables before "bao nhiêu" / "mấy" ("... vượt chỉ tiêu là bao
    nhiêu?" -> ("chi", "tieu")): the figure asked for stands next to them in the article."""
    cue = next((i for i, s in enumerate(fsylls) if (s == "nhieu" and i and fsylls[i - 1] == "bao") or s == "may"),
               None)
    if cue is None:
        return ()
    run: list[str] = []
    for j in range(cue - (fsylls[cue] == "nhieu") - 1, max(-1, cue - 6), -1):
        if keep[j]:
            run.append(fsylls[j])
        elif run:
            break
    return tuple(reversed(run[:2])) if len(run) >= 2 else ()  # a word, not a stray syllable


def _unit(fsylls: list[str], sylls: list[str]) -> tuple[str, ...]:
    """The counted noun after "bao nhiêu" / "mấy", else after "số" ("Số thẻ đảng viên ... là
    bao nhiêu?"): up to 3 syllables, in match form. "phần trăm" is returned as ("%",)."""
    for i, s in enumerate(fsylls):
        if (s == "nhieu" and i and fsylls[i - 1] == "bao") or s == "may":
            unit = _noun_after(fsylls, sylls, i + 1)
            if unit[:2] in {("phan", "tram"), ("phần", "trăm")}:
                return ("%",)
            if unit[:1] and fold(unit[0]) in _CLASSIFIERS:
                return ("nguoi",) if fold(unit[0]) in {"nguoi", "vi"} else ()
            if unit:
                return unit
            if fsylls[:1] == ["so"] or fsylls[:2] == ["tong", "so"]:
                return _noun_after(fsylls, sylls, fsylls.index("so") + 1)
            return ()
    return ()


def _noun_after(fsylls: list[str], sylls: list[str], start: int) -> tuple[str, ...]:
    unit = []
    for j in range(start, min(start + 3, len(fsylls))):
        if fsylls[j] in _UNIT_STOP or fsylls[j].isdigit():
            break
        unit.append(sylls[j])
    return tuple(unit)
