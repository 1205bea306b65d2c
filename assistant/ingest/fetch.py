"""Fetch a web page for the assistant, safely: the only module that opens a connection.

A link that a user pastes into the web chat makes the *server* send a request, so the
server must not become a way into the network it sits in (server-side request forgery).
The rules, every one on by default:

* http and https only; no user name or password in the link;
* the host is resolved here (`socket.getaddrinfo`, in a thread bounded by the deadline)
  and *every* address it resolves to must be public (`is_public`: not loopback, private,
  link-local, multicast, reserved, unspecified or shared, including IPv4 addresses
  embedded in IPv6 ones); otherwise the link is refused before anything is sent;
* the connection goes to the address that was checked, not to the name: the request
  URL carries the IP literal, the ``Host`` header the original host, and for https the
  ``sni_hostname`` request extension of httpcore makes TLS send the original name as SNI
  and verify the certificate against it. A second DNS answer (DNS rebinding) is never
  asked for, so it cannot change where the bytes go;
* redirects are followed here, at most `MAX_REDIRECTS`, and each hop is checked the same
  way (a public page that redirects to 127.0.0.1 or 169.254.169.254 is refused);
* at most `MAX_FETCH_BYTES` of (decompressed) body and `FETCH_TIMEOUT_S` seconds in all,
  DNS included; no cookies are kept or sent (a jar that accepts none), no proxy or
  ``.netrc`` from the environment (``trust_env=False``), and a User-Agent that names the
  project;
* only HTML, XHTML, plain text or Markdown comes back; anything else is refused.

``ASSISTANT_ALLOW_PRIVATE_URLS=1`` lifts the address rule (an intranet deployment, or the
tests, which serve pages from 127.0.0.1); every other rule stays.

Failures are `SourceError`s whose `reason` the web app turns into Vietnamese. What the
page *says* is not this module's business: `sources.py` extracts the article from it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

from assistant.errors import SourceError

MAX_FETCH_BYTES = 5_000_000
FETCH_TIMEOUT_S = 10.0
MAX_REDIRECTS = 5
MAX_URL_CHARS = 4096
ALLOW_PRIVATE_ENV = "ASSISTANT_ALLOW_PRIVATE_URLS"
USER_AGENT = "vi-article-assistant/0.1 (Vietnamese news question answering; fetches one page a user asked for)"
TEXT_TYPES = {"text/html", "application/xhtml+xml", "text/plain", "text/markdown", "text/x-markdown"}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Fetched:
    """A fetched page: the final link (after redirects), its media type, charset and body."""

    url: str
    media_type: str
    charset: str | None
    body: bytes
    redirects: int = 0

    @property
    def is_html(self) -> bool:
        return self.media_type in {"text/html", "application/xhtml+xml"}


def allow_private() -> bool:
    """True when ``$ASSISTANT_ALLOW_PRIVATE_URLS`` is 1 / true / yes."""
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def is_public(ip: Address) -> bool:
    """Whether `ip` is an ordinary public Internet address (IPv4 inside IPv6 checked too)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(e is not None and not is_public(e) for e in embedded):
            return False
        if ip.is_site_local:
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local
                                 or ip.is_private or ip.is_unspecified)


def is_url(value: str) -> bool:
    """Whether user input is meant as a link (one token with a scheme, e.g. https://…)."""
    text = value.strip()
    if not text or any(ch.isspace() for ch in text) or len(text) > MAX_URL_CHARS:
        return False
    scheme, sep, rest = text.partition("://")
    return bool(sep) and scheme.isascii() and scheme.isalpha() and bool(rest)


def fetch_url(url: str, *, private_ok: bool | None = None, timeout: float | None = None,
              max_bytes: int | None = None, resolve: Any = None) -> Fetched:
    """GET `url` under the rules above; `SourceError` says why not. `resolve(host, port)`
    returns the host's addresses (default: the system resolver); the limits default to
    `FETCH_TIMEOUT_S` and `MAX_FETCH_BYTES`."""
    import httpx

    private_ok = allow_private() if private_ok is None else private_ok
    timeout = FETCH_TIMEOUT_S if timeout is None else timeout
    max_bytes = MAX_FETCH_BYTES if max_bytes is None else max_bytes
    deadline = time.monotonic() + timeout
    current = _parse(url)
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))  # accepts no cookie, so sends none
    with httpx.Client(trust_env=False, follow_redirects=False, cookies=jar) as client:
        for hop in range(MAX_REDIRECTS + 1):
            response = _send(client, current, deadline, timeout, private_ok, resolve)
            try:
                location = response.headers.get("location")
                if response.is_redirect and location:
                    target = current.join(location)
                    current = _parse(str(target))
                    continue
                return _read(response, current, deadline, timeout, max_bytes, hop)
            finally:
                response.close()
    raise SourceError("too_many_redirects", f"{url}: more than {MAX_REDIRECTS} redirects", limit=MAX_REDIRECTS)


def _parse(url: str) -> Any:
    import httpx

    if len(url) > MAX_URL_CHARS:
        raise SourceError("bad_url", f"the link is longer than {MAX_URL_CHARS:,} characters")
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, ValueError, TypeError) as err:
        raise SourceError("bad_url", f"not a valid link: {url[:200]!r} ({err})") from None
    if parsed.scheme not in {"http", "https"}:
        raise SourceError("bad_url", f"{url[:200]}: only http and https links are accepted", scheme=parsed.scheme)
    if not parsed.host:
        raise SourceError("bad_url", f"{url[:200]}: the link has no host")
    if parsed.userinfo:
        raise SourceError("bad_url", f"{parsed.host}: links with a user name or password are not accepted")
    return parsed.copy_with(fragment=None)


def _addresses(host: str, port: int, deadline: float, resolve: Any) -> list[Address]:
    """The host's addresses: an IP literal as is, a name through the resolver (bounded)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    found: dict[str, Any] = {}

    def run() -> None:
        try:
            if resolve is not None:
                found["ips"] = [str(a) for a in resolve(host, port)]
            else:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                found["ips"] = [str(info[4][0]).split("%")[0] for info in infos]
        except (OSError, UnicodeError) as err:
            found["error"] = err

    worker = threading.Thread(target=run, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise SourceError("timeout", f"{host}: no DNS answer within the time limit", host=host)
    if "error" in found or not found.get("ips"):
        raise SourceError("unreachable", f"{host}: the name does not resolve ({found.get('error')})", host=host)
    unique = dict.fromkeys(ipaddress.ip_address(a) for a in found["ips"])
    return list(unique)


def _send(client: Any, url: Any, deadline: float, timeout: float, private_ok: bool, resolve: Any) -> Any:
    """One request to a checked address of `url`'s host; the response is opened for streaming."""
    import httpx

    host = url.raw_host.decode("ascii")  # IDNA-encoded: what DNS, Host and SNI all use
    port = url.port or (443 if url.scheme == "https" else 80)
    addresses = _addresses(host, port, deadline, resolve)
    if not private_ok:
        bad = [str(ip) for ip in addresses if not is_public(ip)]
        if bad:
            raise SourceError("blocked", f"{url.host}: refused, it resolves to a non-public address ({bad[0]}); "
                              f"set {ALLOW_PRIVATE_ENV}=1 to allow private addresses", host=url.host, address=bad[0])
    netloc = f"[{host}]" if ":" in host else host
    headers = {"Host": netloc if url.port is None else f"{netloc}:{url.port}", "User-Agent": USER_AGENT,
               "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,text/markdown;q=0.9,*/*;q=0.1",
               "Accept-Language": "vi,en;q=0.5"}
    last_error: Exception | None = None
    for ip in addresses:  # every one of them was checked above
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        pinned = url.copy_with(host=str(ip))
        extensions = {"sni_hostname": host} if url.scheme == "https" and ":" not in host else {}
        request = client.build_request("GET", pinned, headers=headers, extensions=extensions,
                                       timeout=httpx.Timeout(remaining))
        try:
            return client.send(request, stream=True)
        except httpx.TimeoutException:
            raise _timeout(url, timeout) from None
        except httpx.HTTPError as err:
            last_error = err
    if last_error is None:
        raise _timeout(url, timeout)
    raise SourceError("unreachable", f"{url.host}: cannot connect ({type(last_error).__name__}: {last_error})",
                      host=url.host)


def _timeout(url: Any, seconds: float) -> SourceError:
    return SourceError("timeout", f"{url.host}: no complete answer within {seconds:g} s", host=url.host,
                       seconds=seconds)


def _read(response: Any, url: Any, deadline: float, timeout: float, max_bytes: int, redirects: int) -> Fetched:
    """The body of a final (non-redirect) response, within the type, size and time limits."""
    import httpx

    if response.status_code == 404 or response.status_code == 410:
        raise SourceError("not_found", f"{url}: the page does not exist (HTTP {response.status_code})",
                          status=response.status_code)
    if response.status_code >= 400 or response.status_code < 200 or response.is_redirect:
        raise SourceError("http_error", f"{url}: the server answered HTTP {response.status_code}",
                          status=response.status_code)
    raw_type = response.headers.get("content-type", "")
    media_type = raw_type.split(";")[0].strip().lower()
    if media_type and media_type not in TEXT_TYPES:
        reason = "pdf" if media_type == "application/pdf" else "not_html"
        raise SourceError(reason, f"{url}: not an HTML or text page ({media_type})", media_type=media_type)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise SourceError("too_large", f"{url}: the page has {int(declared):,} bytes; the limit is {max_bytes:,}",
                          size=int(declared), limit=max_bytes)
    body = bytearray()
    try:
        for piece in response.iter_bytes():
            body += piece
            if len(body) > max_bytes:
                raise SourceError("too_large", f"{url}: the page is larger than the {max_bytes:,}-byte limit",
                                  size=len(body), limit=max_bytes)
            if time.monotonic() > deadline:
                raise _timeout(url, timeout)
    except httpx.TimeoutException:
        raise _timeout(url, timeout) from None
    except httpx.HTTPError as err:
        raise SourceError("unreachable", f"{url.host}: the download failed ({type(err).__name__})",
                          host=url.host) from None
    charset = response.charset_encoding
    return Fetched(str(url), media_type, charset, bytes(body), redirects)
