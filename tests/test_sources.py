"""Articles from pasted text, files, HTML pages and links (assistant/ingest/sources.py, fetch.py).

Pages come from a loopback server (tests/pages.py). The address rule is tested both ways:
with ASSISTANT_ALLOW_PRIVATE_URLS unset, loopback and private addresses are refused before
any request is sent; with it set, the local pages are fetched. A resolver hook stands in
for DNS where a test needs a name.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import ArticleError, SourceError, article_from_file, article_from_input
from assistant.ingest.fetch import USER_AGENT, fetch_url, is_public, is_url
from assistant.ingest.sources import MAX_TEXT_BYTES, article_from_bytes, article_from_html, looks_like_html
from tests.pages import ARTICLE_HTML, ARTICLE_TEXT, LEAKS, NAV_HTML, PAGE_TITLE, Pages, serve_pages


@pytest.fixture(scope="module")
def pages() -> Iterator[Pages]:
    with serve_pages() as served:
        yield served


@pytest.fixture
def private_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_ALLOW_PRIVATE_URLS", "1")


def _reason(fn, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(SourceError) as err:
        fn(*args, **kwargs)
    assert "\n" not in str(err.value)
    return err.value.reason


# --- HTML pages ------------------------------------------------------------------------------------


def test_html_page_keeps_the_article_and_its_metadata() -> None:
    art = article_from_html(ARTICLE_HTML, url="https://bao.example/thu-vien.html")
    assert (art.title, art.date, art.author) == (PAGE_TITLE, "05/06/2023", "Minh Anh")
    assert art.source == "https://bao.example/thu-vien.html"
    assert [p.kind for p in art.paragraphs] == ["date", "title", "lead", "body", "body", "byline"]
    assert art.paragraphs[0].text == "Thứ hai, 05/06/2023" and art.paragraphs[-1].text == "Tác giả: Minh Anh"
    assert "hơn 2.000 đầu sách" in art.text and art.text.count(PAGE_TITLE) == 1
    for leak in LEAKS:  # menus, related links, comments, footer
        assert leak not in art.text, leak


def test_html_without_an_article_is_refused() -> None:
    assert _reason(article_from_html, NAV_HTML) == "no_text"
    assert _reason(article_from_html, "<html><body></body></html>") == "no_text"


def test_pasted_html_source_goes_through_the_extractor() -> None:
    assert looks_like_html(ARTICLE_HTML) and not looks_like_html(ARTICLE_TEXT)
    art = article_from_input(ARTICLE_HTML)
    assert art.title == PAGE_TITLE and "Bình luận" not in art.text


def test_html_file_through_article_read_and_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from assistant import Article, cli

    page = tmp_path / "trang.html"
    page.write_text(ARTICLE_HTML, encoding="utf-8")
    assert Article.read(page).title == PAGE_TITLE
    code = cli.main(["build", str(page), "--index-dir", str(tmp_path / "idx"), "--model", "offline", "-q"])
    assert code == 0 and "Indexed 1 article(s)" in capsys.readouterr().out


# --- pasted text and files ----------------------------------------------------------------------------


@pytest.mark.parametrize("text, reason", [
    ("", "empty"), ("   \n\t\n ", "empty"), ("\u00a0\u200b\n", "empty"),
    ("abc\x00def" * 10, "binary"), ("".join(chr(i) for i in range(1, 32)) * 20, "binary"),
    ("%PDF-1.7\n1 0 obj << /Type /Catalog >>", "pdf"),
    ("a" * (MAX_TEXT_BYTES + 1), "too_large"), ("ệ" * (MAX_TEXT_BYTES // 3 + 1), "too_large"),
])
def test_bad_pasted_text(text: str, reason: str) -> None:
    assert _reason(article_from_input, text) == reason


@pytest.mark.parametrize("text", ["baolangson.vn/bai-viet-123.html", "www.example.com/a?b=1", "bao.vn:8080/x"])
def test_a_link_without_its_scheme_is_not_an_article(text: str) -> None:
    assert _reason(article_from_input, text) == "bad_url"


def test_pasted_text_and_markdown() -> None:
    art = article_from_input(ARTICLE_TEXT)
    assert art.title == "Chợ phiên Đồng Đăng mở cửa trở lại" and art.author == "HOÀNG LAN"
    assert article_from_input("Chỉ một câu ngắn về chợ phiên.").text == "Chỉ một câu ngắn về chợ phiên."


@pytest.mark.parametrize("name, data, reason", [
    ("bai.pdf", b"%PDF-1.4 x", "pdf"), ("bai.txt", b"  %PDF-1.4 x", "pdf"), ("bai.docx", b"PK\x03\x04", "unsupported"),
    ("bai.txt", b"ab\x00cd", "binary"), ("bai.html", b"<p>\x00</p>", "binary"),
    ("bai.txt", "Tin: cà phê".encode("latin-1"), "encoding"), ("bai.txt", b" \n ", "empty"),
    ("bai.md", b"x" * (MAX_TEXT_BYTES + 1), "too_large"), ("bai.html", NAV_HTML.encode(), "no_text"),
])
def test_bad_files(name: str, data: bytes, reason: str) -> None:
    assert _reason(article_from_bytes, data, name) == reason


def test_files_by_suffix(tmp_path: Path) -> None:
    for name, data in (("a.txt", ARTICLE_TEXT), ("a.md", "# Tiêu đề\n\n" + ARTICLE_TEXT), ("a.html", ARTICLE_HTML)):
        path = tmp_path / name
        path.write_text(data, encoding="utf-8")
        assert article_from_file(path).text
    assert article_from_file(tmp_path / "a.html").title == PAGE_TITLE
    assert article_from_file(tmp_path / "a.md").title == "Tiêu đề"
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:
        fh.truncate(MAX_TEXT_BYTES + 1)
    assert _reason(article_from_file, big) == "too_large"
    assert issubclass(SourceError, ArticleError)


# --- addresses ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("address, public", [
    ("8.8.8.8", True), ("2001:4860:4860::8888", True), ("93.184.216.34", True),
    ("127.0.0.1", False), ("127.8.9.10", False), ("10.1.2.3", False), ("172.16.0.1", False),
    ("192.168.1.1", False), ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False),
    ("224.0.0.251", False), ("239.255.255.250", False), ("255.255.255.255", False), ("240.0.0.1", False),
    ("192.0.2.1", False), ("::1", False), ("::", False), ("fe80::1", False), ("fc00::1", False),
    ("fd12:3456::1", False), ("ff02::1", False), ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False),
    ("64:ff9b::7f00:1", False), ("2002:7f00:1::1", False), ("2002:0808:0808::1", True), ("fec0::1", False),
])
def test_is_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


def test_is_url() -> None:
    assert is_url("https://baolangson.vn/bai-viet.html") and is_url("  http://127.0.0.1:8000/a  ")
    assert is_url("ftp://example.com/a")  # a link, refused later for its scheme
    assert not is_url("Bài viết về https://x.vn") and not is_url("xin chào") and not is_url("")


@pytest.mark.parametrize("url", ["ftp://example.com/a", "file:///etc/passwd", "javascript:alert(1)",
                                 "http://user:pw@example.com/", "http:///nohost", "gopher://x/"])
def test_bad_links(url: str) -> None:
    assert _reason(fetch_url, url) == "bad_url"


def test_private_addresses_refused_before_any_request(pages: Pages, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSISTANT_ALLOW_PRIVATE_URLS", raising=False)
    before = len(pages.requests)
    for host in ("127.0.0.1", "localhost", "[::1]"):
        assert _reason(fetch_url, pages.url("/article.html", host)) == "blocked", host
    resolved = {"intranet.test": ["10.0.0.5"], "meta.test": ["169.254.169.254"], "mixed.test": ["8.8.8.8", "10.0.0.5"]}
    for host, ips in resolved.items():
        with pytest.raises(SourceError) as err:
            fetch_url(f"http://{host}/", resolve=lambda h, p, ips=ips: ips)
        assert err.value.reason == "blocked" and err.value.details["address"] in {"10.0.0.5", "169.254.169.254"}
    assert _reason(article_from_input, pages.url("/article.html")) == "blocked"
    assert len(pages.requests) == before


def test_connects_to_the_checked_address_with_host_kept(pages: Pages) -> None:
    """The name is resolved once, by the hook; the socket guard (conftest) refuses any other
    lookup of `news.test`, so a successful fetch went to the checked address."""
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    page = fetch_url(f"http://news.test:{pages.port}/echo", private_ok=True, resolve=resolve)
    seen = json.loads(page.body)
    assert calls == ["news.test"] and seen["Host"] == f"news.test:{pages.port}"
    assert seen["User-Agent"] == USER_AGENT and "vi-article-assistant" in USER_AGENT
    assert page.url == f"http://news.test:{pages.port}/echo"


def test_redirect_to_a_private_address_is_refused(pages: Pages, monkeypatch: pytest.MonkeyPatch) -> None:
    """127.0.0.1 counts as public here (the page server must be reachable); the hop to
    127.0.0.2 or 10.x is checked and refused without a request."""
    import assistant.ingest.fetch as fetch

    monkeypatch.setattr(fetch, "is_public", lambda ip: str(ip) == "127.0.0.1")
    assert fetch_url(pages.url("/redirect")).redirects == 1
    for target in (f"http://127.0.0.2:{pages.port}/article.html", "http://10.0.0.1/", "http://[::1]/"):
        with pytest.raises(SourceError) as err:
            fetch_url(pages.url(f"/redirect-to?u={target}"))
        assert err.value.reason == "blocked", target
    assert _reason(fetch_url, pages.url("/redirect-to?u=file:///etc/passwd")) == "bad_url"


@pytest.mark.usefixtures("private_ok")
def test_links_with_the_setting_on(pages: Pages) -> None:
    art = article_from_input(pages.url("/article.html"))
    assert art.title == PAGE_TITLE and art.source == pages.url("/article.html")
    assert article_from_input(pages.url("/redirect")).sha256 == art.sha256
    assert article_from_input(pages.url("/article.txt")).author == "HOÀNG LAN"
    assert article_from_input(pages.url("/article.md")).title == "Chợ phiên Đồng Đăng mở cửa trở lại"


@pytest.mark.usefixtures("private_ok")
@pytest.mark.parametrize("path, reason", [
    ("/missing", "not_found"), ("/gone", "not_found"), ("/error", "http_error"), ("/paper.pdf", "pdf"),
    ("/image.png", "not_html"), ("/data.json", "not_html"), ("/big", "too_large"), ("/declared-big", "too_large"),
    ("/loop", "too_many_redirects"), ("/nav.html", "no_text"),
])
def test_bad_links_with_the_setting_on(pages: Pages, path: str, reason: str) -> None:
    assert _reason(article_from_input, pages.url(path)) == reason


@pytest.mark.usefixtures("private_ok")
def test_timeouts_are_bounded(pages: Pages) -> None:
    for path in ("/slow", "/drip"):
        started = time.perf_counter()
        assert _reason(fetch_url, pages.url(path), timeout=0.6) == "timeout"
        assert time.perf_counter() - started < 2.0, path


@pytest.mark.usefixtures("private_ok")
def test_no_cookies(pages: Pages) -> None:
    page = fetch_url(pages.url("/set-cookie"))
    assert page.redirects == 1 and json.loads(page.body)["Cookie"] is None


def test_build_from_a_link_on_the_command_line(pages: Pages, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from assistant import cli

    args = ["build", pages.url("/article.html"), "--index-dir", str(tmp_path / "idx"), "--model", "offline", "-q"]
    monkeypatch.delenv("ASSISTANT_ALLOW_PRIVATE_URLS", raising=False)
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ASSISTANT_ALLOW_PRIVATE_URLS=1" in err
    monkeypatch.setenv("ASSISTANT_ALLOW_PRIVATE_URLS", "1")
    assert cli.main(args) == 0 and "Indexed 1 article(s)" in capsys.readouterr().out
    missing = ["build", pages.url("/missing"), "--index-dir", str(tmp_path / "idx2"), "--model", "offline", "-q"]
    assert cli.main(missing) == 2 and "HTTP 404" in capsys.readouterr().err
    assert not (tmp_path / "idx2").exists()
