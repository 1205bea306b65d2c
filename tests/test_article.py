"""assistant.ingest.article: the bundled article's parts, Markdown, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import ArticleError
from assistant.ingest.article import MAX_ARTICLE_BYTES, Article


def test_bundled_article_metadata(article: Article) -> None:
    assert article.title == "Đảng bộ Công an tỉnh chú trọng phát triển Đảng"
    assert article.date == "02/12/2022"
    assert article.author == "NÔNG ĐÌNH QUANG"
    assert article.metadata["title"] == article.title


def test_bundled_article_paragraph_kinds(article: Article) -> None:
    assert [p.kind for p in article.paragraphs] == [
        "date", "title", "lead", "body", "caption", "body", "body", "body", "byline",
    ]
    assert article.lead is not None and article.lead.startswith("LSO- Cùng với nhiệm vụ lãnh đạo")
    assert article.part("caption").text.startswith("Thiếu tướng Nông Văn Định")  # type: ignore[union-attr]
    assert article.part("byline").text == "Bài, ảnh: NÔNG ĐÌNH QUANG"  # type: ignore[union-attr]


def test_bundled_article_text_is_normalised(article: Article, bundled_article_path: Path) -> None:
    raw = bundled_article_path.read_text(encoding="utf-8")
    assert "\u00a0" in raw  # the file really has NBSPs (and an NBSP-only paragraph)
    assert "\u00a0" not in article.text
    assert "  " not in article.text
    assert "\n\n\n" not in article.text
    assert article.text == article.text.strip()
    # paragraphs are separated by exactly one blank line
    assert article.text == "\n\n".join(p.text for p in article.paragraphs)


def test_bundled_article_offsets_are_verbatim(article: Article) -> None:
    for par in article.paragraphs:
        assert article.text[par.start : par.end] == par.text
    assert len(article.sentences) >= 15
    for sentence in article.sentences:
        assert article.text[sentence.start : sentence.end] == sentence.text
        assert sentence.text == sentence.text.strip()
    ids = [s.id for s in article.sentences]
    assert ids == [f"s{i:03d}" for i in range(len(ids))]


def test_bundled_article_sentences_cover_every_lead_and_body_paragraph(article: Article) -> None:
    for par in article.paragraphs:
        own = [s for s in article.sentences if s.paragraph == par.index]
        assert own, par
        assert own[0].start == par.start and own[-1].end == par.end
        if par.kind not in {"lead", "body"}:
            assert len(own) == 1  # date, title, caption, byline are one unit each


def test_bundled_article_is_split_at_real_sentence_boundaries(article: Article) -> None:
    texts = [s.text for s in article.sentences]
    assert any(t.startswith("Gắn học tập và làm theo tấm gương") for t in texts)
    # the range "2010 – 2015" and the quotation in paragraph 3 stay inside their sentences
    assert any("nhiệm kỳ 2010 – 2015, Đảng bộ Công an tỉnh đã tổ chức được 5 lớp" in t for t in texts)
    assert any("“Công an nhân dân thực hiện nghiêm 6 điều Bác Hồ dạy”" in t for t in texts)


def test_sha256_depends_on_normalised_text_only() -> None:
    a = Article.from_text("Tiêu đề\n\nNội dung\u00a0bài  viết.")
    b = Article.from_text("Tiêu đề\r\n\r\nNội dung bài viết.")
    assert a.text == b.text and a.sha256 == b.sha256
    assert Article.from_text("Tiêu đề\n\nNội dung khác.").sha256 != a.sha256


# --- errors -------------------------------------------------------------------------------


def _error_for(path: Path) -> str:
    with pytest.raises(ArticleError) as err:
        Article.read(path)
    message = str(err.value)
    assert str(path) in message  # the message says which file
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert "not found" in _error_for(tmp_path / "khong-co.txt")


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "anh.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    message = _error_for(path)
    assert "binary" in message and "UTF-8" in message


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("latin1.txt", "Café à Hà Nội? été".encode("latin-1", "replace")),
        # "Đảng bộ Công an tỉnh" in Windows-1258 (decomposed tones: 0xD2 hook, 0xF2 dot below)
        ("cp1258.txt", b"\xd0a\xd2ng b\xf4\xf2 C\xf4ng an t\xecnh"),
    ],
)
def test_non_utf8_file(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    message = _error_for(path)
    assert "not valid UTF-8" in message and "save the file as UTF-8" in message
    assert "offset" in message


@pytest.mark.parametrize("data", [b"", b"   \n\n\t\n", "\u00a0\n\n\u200b\n".encode()])
def test_empty_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "trong.txt"
    path.write_bytes(data)
    assert "empty" in _error_for(path)


@pytest.mark.parametrize("suffix", [".pdf", ".docx", ".odt"])  # .html pages are read (tests/test_sources.py)
def test_unsupported_suffix(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"bai{suffix}"
    path.write_bytes(b"%PDF-1.4 whatever")
    message = _error_for(path)
    assert "unsupported file type" in message and repr(suffix) in message


@pytest.mark.parametrize(
    "content",
    [
        "<!DOCTYPE html>\n<html><body><p>Đảng bộ Công an tỉnh.</p></body></html>",
        "\n  <html lang='vi'><head><title>Tin</title></head><body>Nội dung.</body></html>",
        "<HTML><BODY>Nội dung.</BODY></HTML>",
    ],
)
def test_html_content_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "trang.txt"
    path.write_text(content, encoding="utf-8")
    assert "HTML is not supported" in _error_for(path)


@pytest.mark.parametrize(
    "content",
    [
        "<!-- saved from url=(0040)https://baolangson.vn/bai-viet.html -->\n<html><head><title>Tin</title>"
        "</head><body><p>Đảng bộ Công an tỉnh.</p></body></html>",
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml">'
        "<body><p>Đảng bộ Công an tỉnh.</p></body></html>",
    ],
)
def test_html_documents_with_a_prolog_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "trang.txt"
    path.write_text(content, encoding="utf-8")
    assert "HTML is not supported" in _error_for(path)


def test_too_large_file(tmp_path: Path) -> None:
    path = tmp_path / "lon.txt"
    path.write_bytes(b"a" * (MAX_ARTICLE_BYTES + 1))
    assert "larger than" in _error_for(path)


def test_directory_is_not_an_article(tmp_path: Path) -> None:
    assert "not found" in _error_for(tmp_path)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffTiêu đề bài\n\nNội dung bài viết. Câu hai.".encode())
    art = Article.read(path)
    assert art.title == "Tiêu đề bài"
    assert not art.text.startswith("\ufeff")


# --- other layouts ------------------------------------------------------------------------

MARKDOWN = """# Tiêu đề **bài** viết

Thứ hai, 05/06/2023

Đây là đoạn mở đầu với [liên kết](https://example.vn/a) và **chữ đậm**. Câu thứ hai.

![Ảnh minh họa cán bộ chiến sĩ](anh-1.png)

Đoạn thân bài có *chữ nghiêng* và __chữ đậm__. Thêm một câu nữa.

Bài: TRẦN VĂN BÌNH
"""


def test_markdown_article(tmp_path: Path) -> None:
    path = tmp_path / "bai.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    art = Article.read(path)
    assert art.title == "Tiêu đề bài viết"
    assert art.date == "05/06/2023"
    assert art.author == "TRẦN VĂN BÌNH"
    kinds = {p.text: p.kind for p in art.paragraphs}
    assert kinds["Ảnh minh họa cán bộ chiến sĩ"] == "caption"
    assert kinds["Đây là đoạn mở đầu với liên kết và chữ đậm. Câu thứ hai."] == "lead"
    assert kinds["Đoạn thân bài có chữ nghiêng và chữ đậm. Thêm một câu nữa."] == "body"
    for marker in ("**", "__", "](", "![", "# ", "https://", "anh-1.png"):
        assert marker not in art.text, marker
    for sentence in art.sentences:
        assert art.text[sentence.start : sentence.end] == sentence.text


def test_markdown_syntax_is_kept_in_plain_text_files(tmp_path: Path) -> None:
    path = tmp_path / "bai.txt"
    path.write_text("# Không phải tiêu đề\n\nNội dung **đậm**.", encoding="utf-8")
    art = Article.read(path)
    assert "**đậm**" in art.text  # .txt is not Markdown: nothing is stripped


def test_single_paragraph_without_punctuation() -> None:
    art = Article.from_text("một đoạn văn ngắn không có dấu câu nào cả")
    assert len(art.paragraphs) == 1
    assert art.paragraphs[0].text == "một đoạn văn ngắn không có dấu câu nào cả"
    assert art.paragraphs[0].kind in {"body", "lead"}
    assert len(art.sentences) >= 1
    assert art.sentences[0].text == art.text
    assert art.title is None and art.date is None and art.author is None


def test_lines_of_a_paragraph_are_joined_with_spaces() -> None:
    art = Article.from_text("Tiêu đề\n\nDòng một của đoạn\nvà dòng hai. Câu khác.\r\n\r\nĐoạn khác.")
    assert [p.text for p in art.paragraphs] == ["Tiêu đề", "Dòng một của đoạn và dòng hai. Câu khác.", "Đoạn khác."]
