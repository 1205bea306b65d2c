"""A small news page and a loopback HTTP server that serves it (and misbehaves on request).

Used by tests/test_sources.py, test_library.py, test_ui_articles.py and
test_browser_articles.py. Routes:

/article.html     the news page (menus, related links, comments and a footer around the article)
/article.txt      the same article as plain text
/article.md       as Markdown
/nav.html         a page with menus and links only
/missing          404
/gone             410
/error            500
/paper.pdf        application/pdf
/image.png        image/png
/data.json        application/json
/big              6 MB of text/html without Content-Length (chunked)
/declared-big     Content-Length 6,000,000, no body
/slow             waits `Pages.delay` seconds before answering
/drip             sends a byte every 0.2 s
/redirect         302 -> /article.html
/redirect-to?u=   302 -> u (any link)
/loop             302 -> /loop
/set-cookie       sets a cookie, 302 -> /echo
/echo             JSON: the Host, Cookie and User-Agent headers it received
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PAGE_TITLE = "Trường Tiểu học Hoàng Văn Thụ khánh thành thư viện xanh"
ARTICLE_HTML = f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>{PAGE_TITLE} - Báo Thử Nghiệm</title>
<meta property="og:title" content="{PAGE_TITLE}">
<meta name="author" content="Minh Anh">
<meta property="article:published_time" content="2023-06-05T08:30:00+07:00">
</head><body>
<header><nav><ul><li><a href="/">Trang chủ</a></li><li><a href="/thoi-su">Thời sự</a></li>
<li><a href="/kinh-te">Kinh tế</a></li><li><a href="/van-hoa">Văn hóa</a></li></ul></nav></header>
<main><article>
<h1>{PAGE_TITLE}</h1>
<p class="sapo">LSO- Sáng 05/6, Trường Tiểu học Hoàng Văn Thụ, TP. Lạng Sơn tổ chức lễ khánh thành thư viện
xanh với hơn 2.000 đầu sách dành cho học sinh.</p>
<p>Thư viện được xây dựng trong 3 tháng với tổng kinh phí 450 triệu đồng, do phụ huynh và các nhà hảo tâm
đóng góp. Mỗi tuần, học sinh được đọc sách tại thư viện 2 tiết.</p>
<p>Cô Nguyễn Thị Hoà, Hiệu trưởng nhà trường cho biết: “Thư viện giúp các em hình thành thói quen đọc sách.
Nhà trường sẽ bổ sung thêm sách tiếng Anh.” Sau lễ khánh thành, các em học sinh đã tham gia ngày hội đọc sách.</p>
</article>
<section class="related"><h3>Tin liên quan</h3><ul><li><a href="/a">Khai giảng năm học mới tại các trường</a></li>
<li><a href="/b">Học sinh Lạng Sơn đạt giải quốc gia</a></li></ul></section>
<section id="comments" class="comments"><h3>Bình luận</h3>
<div class="comment"><p>Bạn đọc Hùng: Tuyệt vời quá, chúc mừng nhà trường!</p></div></section>
</main>
<footer><p>Bản quyền thuộc Báo Thử Nghiệm. Địa chỉ: 15 Lê Lợi, TP Lạng Sơn. Điện thoại: 0205 3812 255.</p></footer>
</body></html>
"""
NAV_HTML = """<!DOCTYPE html><html><head><title>Trang chủ</title></head><body>
<nav><a href="/">Trang chủ</a> <a href="/a">Thời sự</a> <a href="/b">Thể thao</a></nav>
<footer>Bản quyền</footer></body></html>"""
ARTICLE_TEXT = """Thứ hai, 05/06/2023

Chợ phiên Đồng Đăng mở cửa trở lại

LSO- Sáng 04/6, chợ phiên Đồng Đăng mở cửa trở lại sau hai tháng sửa chữa với 320 gian hàng.

Ban quản lý chợ cho biết tổng kinh phí sửa chữa là 6 tỷ đồng. Chợ họp vào các ngày 1, 6 và 11 âm lịch.

Bài, ảnh: HOÀNG LAN
"""
LEAKS = ("Tin liên quan", "Khai giảng", "Bình luận", "Tuyệt vời quá", "Bản quyền", "Trang chủ", "Kinh tế")


class Pages:
    """The running server: `url(path)`, the requests it saw, and the `/slow` delay."""

    def __init__(self, server: ThreadingHTTPServer):
        self.server = server
        self.port = int(server.server_address[1])
        self.requests: list[str] = []
        self.delay = 3.0

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def _handler(pages_ref: list[Pages]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def handle(self) -> None:
            try:
                super().handle()
            except OSError:  # the client gave up (a timeout or size test): expected
                pass

        def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _redirect(self, location: str, headers: dict[str, str] | None = None) -> None:
            self._send(302, b"", headers={"Location": location, **(headers or {})})

        def do_GET(self) -> None:
            pages = pages_ref[0]
            pages.requests.append(self.path)
            route = urlsplit(self.path)
            path = route.path
            if path == "/article.html":
                self._send(200, ARTICLE_HTML.encode())
            elif path == "/article.txt":
                self._send(200, ARTICLE_TEXT.encode(), "text/plain; charset=utf-8")
            elif path == "/article.md":
                self._send(200, ARTICLE_TEXT.encode(), "text/markdown; charset=utf-8")
            elif path == "/nav.html":
                self._send(200, NAV_HTML.encode())
            elif path in {"/missing", "/gone", "/error"}:
                self._send({"/missing": 404, "/gone": 410, "/error": 500}[path], b"<h1>Error</h1>")
            elif path == "/paper.pdf":
                self._send(200, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "application/pdf")
            elif path == "/image.png":
                self._send(200, b"\x89PNG\r\n\x1a\n", "image/png")
            elif path == "/data.json":
                self._send(200, b'{"a": 1}', "application/json")
            elif path == "/big":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"<p>" + b"x" * 65_000 + b"</p>"
                try:
                    for _ in range(100):  # 6.5 MB
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass
            elif path == "/declared-big":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", "6000000")
                self.end_headers()
            elif path == "/slow":
                time.sleep(pages.delay)
                self._send(200, ARTICLE_HTML.encode())
            elif path == "/drip":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", "1000")
                self.end_headers()
                try:
                    for _ in range(50):
                        self.wfile.write(b"<")
                        self.wfile.flush()
                        time.sleep(0.2)
                except OSError:
                    pass
            elif path == "/redirect":
                self._redirect("/article.html")
            elif path == "/redirect-to":
                self._redirect(parse_qs(route.query)["u"][0])
            elif path == "/loop":
                self._redirect("/loop")
            elif path == "/set-cookie":
                self._redirect("/echo", {"Set-Cookie": "session=secret; Path=/"})
            elif path == "/echo":
                seen = {k: self.headers.get(k) for k in ("Host", "Cookie", "User-Agent")}
                self._send(200, json.dumps(seen).encode(), "text/plain; charset=utf-8")
            else:
                self._send(404, b"not found")

    return Handler


@contextmanager
def serve_pages() -> Iterator[Pages]:
    """A page server on a free loopback port, for the duration of the block."""
    ref: list[Pages] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    server.daemon_threads = True
    ref.append(Pages(server))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ref[0]
    finally:
        server.shutdown()
        server.server_close()
