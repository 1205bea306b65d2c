"""English questions -> Vietnamese search questions, with a small public-affairs glossary.

The extractive answerer matches the question's words against the article's, so an
English question needs Vietnamese words: this module swaps English phrases for their
usual Vietnamese equivalents in public-affairs news (Party, police, administration),
keeps names and numbers, and turns the question word into its Vietnamese form so the
expected answer type survives ("how many" -> "bao nhiêu").

It is a glossary, not a translator: with the multilingual model, dense retrieval already
matches English to Vietnamese, but the answerer and the offline path need this. Words it
does not know are dropped; unknown content therefore tends to abstain, which is the safe
direction. Extend `GLOSSARY` for other domains.
"""

from __future__ import annotations

import re

# English phrase (lowercase) -> Vietnamese. Longest phrases are matched first.
GLOSSARY: dict[str, str] = {
    # question words: keep the expected answer type
    "how many": "bao nhiêu",
    "how much": "bao nhiêu",
    "what percentage": "tỷ lệ bao nhiêu",
    "what percent": "tỷ lệ bao nhiêu",
    "who": "ai",
    "whom": "ai",
    "when": "khi nào",
    "what year": "năm nào",
    "which year": "năm nào",
    "how long": "bao lâu",
    "how often": "bao lâu",
    "where": "ở đâu",
    "why": "vì sao",
    "how": "như thế nào",
    "what position": "chức vụ gì",
    "what rank": "cấp bậc gì",
    "which": "những nào",
    "what are": "những gì",
    "what": "gì",
    # the article itself
    "article": "bài viết",
    "author": "tác giả",
    "wrote": "viết",
    "title": "tiêu đề",
    "headline": "tiêu đề",
    "published": "đăng ngày nào",
    "about": "nói về",
    # Party and police organisation
    "communist party": "Đảng",
    "party members": "đảng viên",
    "party member": "đảng viên",
    "new members": "đảng viên mới",
    "new party members": "đảng viên mới",
    "members": "đảng viên",
    "member": "đảng viên",
    "party cell": "chi bộ",
    "cell": "chi bộ",
    "party committee": "Đảng ủy",
    "party organisation": "Đảng bộ",
    "party organization": "Đảng bộ",
    "party": "Đảng",
    "grassroots party organisations": "tổ chức cơ sở đảng",
    "grassroots party organizations": "tổ chức cơ sở đảng",
    "grassroots": "cơ sở",
    "organisations": "tổ chức",
    "organizations": "tổ chức",
    "provincial police": "Công an tỉnh",
    "police": "công an",
    "provincial": "tỉnh",
    "province": "tỉnh",
    "director": "Giám đốc",
    "major general": "Thiếu tướng",
    "colonel": "Đại tá",
    "lieutenant colonel": "Trung tá",
    "secretary": "Bí thư",
    "head": "Trưởng phòng",
    "department": "phòng",
    "mobile police": "Cảnh sát Cơ động",
    "officers": "cán bộ",
    "officer": "cán bộ",
    "staff": "cán bộ",
    "soldiers": "chiến sỹ",
    "comrades": "đồng chí",
    # what the Party does
    "admitted": "kết nạp",
    "admit": "kết nạp",
    "admitting": "kết nạp",
    "admission": "kết nạp",
    "recruit": "kết nạp",
    "classes": "lớp",
    "class": "lớp",
    "courses": "lớp",
    "training": "bồi dưỡng",
    "political theory": "lý luận chính trị",
    "political": "chính trị",
    "awareness": "nhận thức",
    "outstanding candidates": "quần chúng ưu tú",
    "candidates": "quần chúng",
    "sympathisers": "cảm tình",
    "term": "nhiệm kỳ",
    "years": "năm",
    "year": "năm",
    "annually": "hằng năm",
    "every year": "hằng năm",
    "each year": "mỗi năm",
    "monthly": "hằng tháng",
    "badges": "huy hiệu",
    "badge": "huy hiệu",
    "cards": "thẻ",
    "card": "thẻ",
    "official": "chính thức",
    "full members": "đảng viên chính thức",
    "probationary": "dự bị",
    "completed": "hoàn thành",
    "complete": "hoàn thành",
    "tasks": "nhiệm vụ",
    "task": "nhiệm vụ",
    "well": "tốt",
    "target": "chỉ tiêu",
    "quota": "chỉ tiêu",
    "exceeded": "vượt",
    "emulation movements": "phong trào thi đua",
    "emulation": "thi đua",
    "movements": "phong trào",
    "assign": "giao",
    "assess": "đánh giá",
    "evaluate": "đánh giá",
    "monitor": "theo dõi",
    "follow": "theo dõi",
    "help": "giúp đỡ",
    "strengths": "mặt mạnh",
    "weaknesses": "mặt yếu",
    "ideology": "tư tưởng",
    "education": "giáo dục",
    "ethics": "đạo đức",
    "lifestyle": "lối sống",
    "youth union": "đoàn viên thanh niên",
    "women": "phụ nữ",
    "security": "an ninh",
    "order": "trật tự",
    "aims": "phấn đấu",
    "aim": "phấn đấu",
    "goal": "phấn đấu",
    "at least": "trở lên",
    "resolution": "Nghị quyết",
    "population": "dân số",
    "weather": "thời tiết",
    "which term": "nhiệm kỳ nào",
    "membership": "tuổi đảng",
    "presented": "trao",
    "awarded": "trao",
    "closely followed": "bám sát",
    "closely follow": "bám sát",
    "sent": "cử",
    "send": "cử",
    "disciplined": "kỷ luật",
    "female": "nữ",
    "age": "tuổi",
    "born": "sinh",
}
_PHRASES = sorted(GLOSSARY, key=lambda p: -len(p.split()))
_PATTERN = re.compile(r"\b(" + "|".join(re.escape(p) for p in _PHRASES) + r")\b", re.IGNORECASE)
_KEEP = re.compile(r"\d+(?:[.,–-]\d+)*%?|(?:[A-ZĐ][\wÀ-ỹ]*(?:\s+[A-ZĐ][\wÀ-ỹ]*)*)")


_FIGURE_REF = re.compile(
    r"^\W*what (?:does|do|is) (?:the (?:number|figure) )?(\d[\d.,]*%?) (?:refer|mean|stand|count|represent)",
    re.IGNORECASE,
)


def to_vietnamese(question: str) -> str:
    """Glossary words, names and numbers of an English question, in Vietnamese order-ish."""
    figure = _FIGURE_REF.match(question)
    if figure:  # "What does 413 refer to?": the question type lives in the word order
        return f"Con số {figure.group(1)} chỉ gì?"
    out: list[str] = []
    pos = 0
    for match in _PATTERN.finditer(question):
        out.extend(_kept(question[pos : match.start()]))
        out.append(GLOSSARY[match.group(0).lower()])
        pos = match.end()
    out.extend(_kept(question[pos:]))
    return " ".join(out) + "?"


def _kept(gap: str) -> list[str]:
    """Names (not sentence-initial English words) and numbers from untranslated text."""
    kept = []
    for m in _KEEP.finditer(gap):
        token = m.group(0)
        if token[0].isdigit() or any(ord(c) > 0x7F for c in token) or " " in token:
            kept.append(token)
    return kept


ENGLISH_READINGS = ("glossary", "raw", "both")


def reader_forms(question: str, glossary_form: str, how: str = "both") -> str | tuple[str, ...]:
    """What the span reader reads of an English question: its glossary form, the question as
    asked ("raw": the encoder is multilingual), or both, the better span counting. "both" was
    chosen on dev by `bench/english_reader.py`: the glossary was written for the bundled
    article, and on other texts the question as asked adds what it leaves out."""
    if how not in ENGLISH_READINGS:
        raise ValueError(f"english_reading must be one of {', '.join(ENGLISH_READINGS)}, got {how!r}")
    return glossary_form if how == "glossary" else question if how == "raw" else (glossary_form, question)
