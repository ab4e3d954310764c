"""Fetching feeds and pages on request, bounded and safe against server-side request forgery.

A server that fetches URLs its users name can be turned against the network it runs in (a
cloud metadata address, an admin port on localhost). So: only ``http``/``https``; the host is
resolved and refused when any of its addresses is not a global one (loopback, private,
link-local, carrier-grade NAT, multicast, reserved, unspecified; an IPv4 address inside a 6to4
or Teredo one counts too), unless the host is listed in ``NEWSRAG_SOURCE_ALLOW_HOSTS``; the
connection then goes to the address that was checked (the ``Host`` header and TLS name stay the
host's), so a DNS answer that changes between the check and the connection cannot slip a
private address in. Redirects are followed by hand, each target checked again. The body is
streamed, decoded here (gzip, deflate) and cut past ``max_bytes`` decoded bytes; the whole
fetch, redirects included, has one deadline.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from newsrag.config import SourceSettings
from newsrag.errors import FetchFailed

USER_AGENT = "newsrag-sync/1 (+https://newsrag.dev)"
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
_HOST = re.compile(r"[a-z0-9._-]+|[0-9a-f:.]+(?:%[\w.-]+)?")  # a name, or an IPv6 literal


@dataclass(frozen=True, slots=True)
class Fetched:
    """What one fetch got: ``status`` 304 (not modified) has an empty ``body``."""

    status: int
    body: bytes
    url: str  # after redirects
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(f"cannot resolve host {host!r}: {exc}", field="url") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _forbidden(address: Address) -> str | None:
    """Why this address may not be fetched, or None when it is a global one. An IPv6 address
    carrying an IPv4 one (mapped, 6to4, Teredo) is judged by that IPv4 address too."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return _forbidden(address.ipv4_mapped)
        embedded = address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            why = _forbidden(embedded)
            if why:
                return f"{why} (embedded in {address})"
    # the narrower kinds first: Python counts loopback and link-local as private too
    for kind, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        ("non-global", not address.is_global),  # carrier-grade NAT, site-local, ...
    ):
        if flag:
            return kind
    return None


def _ascii_host(name: str) -> str:
    """The host as it goes into DNS, the ``Host`` header and TLS: an international name
    IDNA-encoded (``bücher.example`` → ``xn--bcher-kva.example``); :class:`FetchFailed` when
    it cannot be, or when it holds characters no host name has."""
    try:
        host = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise FetchFailed(
            f"url: host {name!r} is not a valid host name ({exc})", field="url"
        ) from None
    if not _HOST.fullmatch(host):
        raise FetchFailed(f"url: host {name!r} is not a valid host name", field="url")
    return host


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: where to connect (``addresses``, in the resolver's order) and what to
    ask for."""

    url: str
    host: str
    addresses: tuple[str, ...]


class Fetcher:
    """Fetches one URL at a time within ``settings``' bounds; raises :class:`FetchFailed`."""

    def __init__(
        self,
        settings: SourceSettings,
        *,
        resolver: Resolver = resolve,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._settings = settings
        self._allowed = settings.allowed_hosts
        self._resolve = resolver
        self._client = httpx.Client(
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            verify=verify,
            trust_env=False,  # a proxy would connect to what we just refused
            # requests go to a pinned address, so a pooled connection would be keyed by that
            # address alone: one TLS connection (one verified name) reused for another host
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def close(self) -> None:
        self._client.close()

    def check(self, url: str) -> Target:
        """The URL's host and the address to connect to; :class:`FetchFailed` (naming ``url``)
        for another scheme, no host, or a host that resolves to an address not to be fetched."""
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise FetchFailed(f"url: not a URL ({exc})", field="url") from None
        if parts.scheme not in {"http", "https"}:
            raise FetchFailed(
                f"url: only http and https are fetched, not {parts.scheme or 'no scheme'!r}",
                field="url",
            )
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in url):
            raise FetchFailed("url: contains a control character", field="url")
        name = (parts.hostname or "").lower()
        if not name:
            raise FetchFailed("url: has no host", field="url")
        if parts.username or parts.password:
            raise FetchFailed("url: credentials in a URL are not accepted", field="url")
        host = _ascii_host(name)
        addresses = self._resolve(host, port)
        if not addresses:
            raise FetchFailed(f"url: host {host!r} has no address", field="url")
        if host not in self._allowed and name not in self._allowed:
            for text in addresses:
                why = _forbidden(ipaddress.ip_address(text.split("%")[0]))
                if why:
                    raise FetchFailed(
                        f"url: host {host!r} resolves to a {why} address ({text}); "
                        "list it in NEWSRAG_SOURCE_ALLOW_HOSTS to fetch it",
                        field="url",
                    )
        return Target(url, host, tuple(addresses))

    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Fetched:
        """GET ``url`` (conditionally when ``etag``/``last_modified`` are given), following up
        to ``max_redirects`` redirects, within the size and time bounds."""
        limit = self._settings.timeout_s
        deadline = time.monotonic() + limit
        seen: list[str] = []
        current = url
        while True:
            target = self.check(current)
            if current in seen:
                raise FetchFailed(f"redirect loop: {current} was already visited", url=url)
            seen.append(current)
            headers = {}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            try:
                fetched = self._get(target, headers, deadline)
            except httpx.TimeoutException:
                raise FetchFailed(f"{current}: timed out after {limit:g} s", url=url) from None
            except httpx.HTTPError as exc:
                raise FetchFailed(f"{current}: {type(exc).__name__}: {exc}", url=url) from None
            except (httpx.InvalidURL, UnicodeError) as exc:
                raise FetchFailed(f"{current}: not a valid URL ({exc})", url=url) from None
            if isinstance(fetched, Fetched):
                return fetched
            if len(seen) > self._settings.max_redirects:
                raise FetchFailed(
                    f"{url}: more than {self._settings.max_redirects} redirects", url=url
                )
            current = urljoin(current, fetched)

    def _get(self, target: Target, headers: dict[str, str], deadline: float) -> Fetched | str:
        """The response, or the location it redirects to."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise httpx.TimeoutException("deadline")
        response = self._connect(target, headers, remaining)
        try:
            if response.status_code == 304:
                return Fetched(
                    304,
                    b"",
                    target.url,
                    response.headers.get("etag") or headers.get("If-None-Match"),
                    response.headers.get("last-modified") or headers.get("If-Modified-Since"),
                )
            if response.status_code in {301, 302, 303, 307, 308}:
                location = str(response.headers.get("location") or "")
                if not location:
                    raise FetchFailed(f"{target.url}: a redirect without a Location")
                return location
            if response.status_code >= 300:
                raise FetchFailed(f"{target.url}: HTTP {response.status_code}")
            body = self._read(response, target.url, deadline)
        finally:
            response.close()
        return Fetched(
            response.status_code,
            body,
            target.url,
            response.headers.get("etag"),
            response.headers.get("last-modified"),
            response.headers.get("content-type", ""),
        )

    def _connect(self, target: Target, headers: dict[str, str], remaining: float) -> httpx.Response:
        """Send the request to each checked address in turn until one accepts the connection."""
        parts = urlsplit(target.url)
        refused: httpx.ConnectError | None = None
        for address in target.addresses:
            pinned = f"[{address}]" if ":" in address else address
            netloc = pinned if parts.port is None else f"{pinned}:{parts.port}"
            request = self._client.build_request(
                "GET",
                parts._replace(netloc=netloc).geturl(),
                headers={**headers, "Host": _host_header(target.host, parts.port)},
                extensions={"sni_hostname": target.host},
                timeout=httpx.Timeout(remaining),
            )
            try:
                return self._client.send(request, stream=True)
            except httpx.ConnectError as exc:
                refused = exc
        raise refused if refused is not None else FetchFailed(f"{target.url}: no address")

    def _read(self, response: httpx.Response, url: str, deadline: float) -> bytes:
        """The body, decoded here (gzip, deflate) with the output bounded: httpx would decode
        any encoding unbounded, so a small compressed reply could expand to gigabytes."""
        limit = self._settings.max_bytes
        too_large = f"{url}: page larger than {_size(limit)}"
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchFailed(too_large)
        decoder = _Decoder(response.headers.get("content-encoding", ""), url)
        chunks: list[bytes] = []
        size = 0
        for raw in response.iter_raw():
            for chunk in decoder.feed(raw, limit - size):
                size += len(chunk)
                if size > limit:
                    raise FetchFailed(too_large)
                chunks.append(chunk)
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("deadline")
        for chunk in decoder.flush(limit - size):
            size += len(chunk)
            if size > limit:
                raise FetchFailed(too_large)
            chunks.append(chunk)
        return b"".join(chunks)


class _Decoder:
    """A ``Content-Encoding`` decoder whose every call yields at most ``remaining + 1`` bytes
    (one past the bound is enough to tell the page is too large)."""

    def __init__(self, encoding: str, url: str) -> None:
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in {"gzip", "x-gzip", "deflate"}):
            raise FetchFailed(f"{url}: content encoding {encoding.strip()!r} is not accepted")
        self._url = url
        self._kind = codings[0] if codings else ""
        self._zlib: Any = None
        if self._kind in {"gzip", "x-gzip"}:
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self._kind == "deflate":
            self._zlib = zlib.decompressobj()
        self._started = False

    def feed(self, data: bytes, remaining: int) -> Iterator[bytes]:
        if self._zlib is None:
            yield data
            return
        if self._kind == "deflate" and not self._started:
            self._started = True
            try:
                out = bytes(self._zlib.decompress(data, max(remaining, 0) + 1))
            except zlib.error:  # raw deflate (no zlib header), as some servers send
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._decompress(data, remaining)
            yield from self._drain(out, remaining)
            return
        self._started = True
        yield from self._drain(self._decompress(data, remaining), remaining)

    def flush(self, remaining: int) -> Iterator[bytes]:
        if self._zlib is None:
            return
        yield from self._drain(b"", remaining)
        rest = self._zlib.flush()
        if rest:
            yield rest[: max(remaining, 0) + 1]

    def _decompress(self, data: bytes, remaining: int) -> bytes:
        try:
            return bytes(self._zlib.decompress(data, max(remaining, 0) + 1))
        except zlib.error as exc:
            raise FetchFailed(f"{self._url}: a corrupt {self._kind} body ({exc})") from None

    def _drain(self, out: bytes, remaining: int) -> Iterator[bytes]:
        """``out``, then what the decoder still holds back, while within the bound."""
        if out:
            yield out
            remaining -= len(out)
        while self._zlib.unconsumed_tail and remaining >= 0:
            out = self._decompress(self._zlib.unconsumed_tail, remaining)
            if not out:
                return
            yield out
            remaining -= len(out)


def _host_header(host: str, port: int | None) -> str:
    name = f"[{host}]" if ":" in host else host
    return name if port is None else f"{name}:{port}"


def _size(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:g} MB"
    return f"{count / 1000:g} kB"
