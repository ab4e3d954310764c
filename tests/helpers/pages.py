"""Feeds and pages served from 127.0.0.1: ETag/304, redirects, slow and endless pages."""

from __future__ import annotations

import email.utils
import hashlib
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    pass


@dataclass
class Served:
    """What one path answers. ``etag`` defaults to a hash of ``body`` (a conditional GET that
    matches gets 304); ``redirect`` answers 302 to it; ``endless`` streams a byte every 50 ms
    forever; ``size`` streams that many bytes of filler (a page too large); ``encoding`` is
    sent as ``Content-Encoding`` (``body`` already encoded); ``failures`` answers 500 that many
    times first."""

    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    redirect: str | None = None
    endless: bool = False
    size: int = 0
    encoding: str | None = None
    failures: int = 0


@dataclass
class PageServer:
    """A real HTTP server on 127.0.0.1 in a thread; ``requests`` logs (path, If-None-Match,
    status) of every request it answered."""

    base: str = ""
    routes: dict[str, Served] = field(default_factory=dict)
    requests: list[tuple[str, str | None, int]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def statuses(self, path: str) -> list[int]:
        return [status for seen, _, status in self.requests if seen == path]


def _handler(server: PageServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            served = server.routes.get(path)
            condition = self.headers.get("If-None-Match")
            if served is None:
                self._answer(path, condition, 404, b"not found", "text/plain")
                return
            if served.redirect is not None:
                server.requests.append((path, condition, 302))
                self.send_response(302)
                self.send_header("Location", served.redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if served.failures > 0:
                served.failures -= 1
                self._answer(path, condition, 500, b"try again", "text/plain")
                return
            etag = served.etag or '"' + hashlib.sha256(served.body).hexdigest()[:16] + '"'
            if condition == etag:
                server.requests.append((path, condition, 304))
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            if served.endless or served.size:
                server.requests.append((path, condition, 200))
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()  # no length: the body ends when the connection does
                self._stream(served)
                return
            self._answer(
                path,
                condition,
                served.status,
                served.body,
                served.content_type,
                etag,
                served.encoding,
            )

        def _stream(self, served: Served) -> None:
            try:
                if served.endless:
                    self.wfile.write(b"<html><body><p>")
                    while True:
                        self.wfile.write(b"a")
                        self.wfile.flush()
                        time.sleep(0.05)
                block = b"<p>" + b"x" * 65_530 + b"</p>"
                for _ in range(served.size // len(block) + 1):
                    self.wfile.write(block)
            except OSError:  # the client hung up, as it should
                pass
            self.close_connection = True

        def _answer(
            self,
            path: str,
            condition: str | None,
            status: int,
            body: bytes,
            content_type: str,
            etag: str | None = None,
            encoding: str | None = None,
        ) -> None:
            server.requests.append((path, condition, status))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if encoding:
                self.send_header("Content-Encoding", encoding)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", email.utils.formatdate(0, usegmt=True))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def page_server(
    routes: dict[str, Served] | None = None, tls: tuple[Path, Path] | None = None
) -> Iterator[PageServer]:
    """Serve ``routes`` (path → :class:`Served`, changeable while it runs) on a free port;
    over HTTPS with ``tls`` (certificate and key files)."""
    state = PageServer(routes=dict(routes or {}))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    scheme = "http"
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        scheme = "https"
    state.base = f"{scheme}://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def self_signed(folder: Path, host: str) -> tuple[Path, Path]:
    """A certificate for ``host`` (and its key), made by the openssl command."""
    cert, key = folder / f"{host}.pem", folder / f"{host}.key"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-keyout", str(key), "-out", str(cert), "-subj", f"/CN={host}"]
    subprocess.run(
        [*command, "-addext", f"subjectAltName=DNS:{host}"],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass(frozen=True)
class FeedEntry:
    guid: str
    title: str
    body: str  # plain paragraphs separated by blank lines; None content → summary only
    author: str = "Ana Ruiz"
    published: str = "Tue, 03 Oct 2023 10:00:00 GMT"
    link: str = ""
    full: bool = True


def rss_feed(entries: Sequence[FeedEntry], title: str = "Harbour Gazette") -> bytes:
    """An RSS 2.0 feed; full entries carry their body as ``content:encoded`` HTML."""
    items = []
    for entry in entries:
        html = "".join(f"<p>{escape(p)}</p>" for p in entry.body.split("\n\n"))
        content = f"<content:encoded><![CDATA[{html}]]></content:encoded>" if entry.full else ""
        link = entry.link or f"https://example.org/news/{entry.guid}"
        items.append(
            f"<item><title>{escape(entry.title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{escape(entry.guid)}</guid>'
            f"<author>{escape(entry.author)}</author><pubDate>{entry.published}</pubDate>"
            f"<description>{escape(entry.body[:80])}</description>{content}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{escape(title)}</title><link>https://example.org/</link>"
        f"<description>news</description>{''.join(items)}</channel></rss>"
    ).encode()


def feed_story(number: int, extra: str = "") -> str:
    """A story of a few paragraphs, unique to ``number``."""
    return (
        f"The harbour board met for session {number} on Tuesday and approved "
        f"{number + 3} new berths for the eastern quay. "
        f"Chair Mara Quint said the works would cost {number * 11 + 7} thousand pounds."
        f"\n\nDredging crews will start in spring, and pilots expect {number % 9 + 2} extra "
        f"sailings a week once the berths open.{extra}"
    )
