"""The fetcher: only http(s), no private addresses unless allowed, bounded size and time,
redirects checked one by one, conditional GET."""

from __future__ import annotations

import ipaddress
import shutil
import ssl
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsrag.config import SourceSettings
from newsrag.errors import FetchFailed
from newsrag.ingest.sources.fetch import Fetcher, _forbidden
from tests.helpers import PageServer, Served, page_server, self_signed

ALLOWED = SourceSettings(allow_hosts="127.0.0.1", timeout_s=5)


def fetcher(settings: SourceSettings = ALLOWED, **addresses: list[str]) -> Fetcher:
    table = {"127.0.0.1": ["127.0.0.1"], **{k.replace("_", "."): v for k, v in addresses.items()}}
    return Fetcher(settings, resolver=lambda host, port: table.get(host, ["93.184.216.34"]))


@pytest.fixture
def server() -> Iterator[PageServer]:
    with page_server() as running:
        yield running


def failure(call: object) -> str:
    with pytest.raises(FetchFailed) as caught:
        call()  # type: ignore[operator]
    return caught.value.detail


@pytest.mark.parametrize(
    ("url", "mentions"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://example.org/feed", "only http and https"),
        ("gopher://127.0.0.1/", "only http and https"),
        ("http:///feed", "no host"),
        ("http://user:pw@example.org/", "credentials"),
    ],
)
def test_other_schemes_and_odd_urls_are_refused(url: str, mentions: str) -> None:
    assert mentions in failure(lambda: fetcher().check(url))


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.2", "loopback"),
        ("10.0.0.5", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("::1", "loopback"),
        ("::ffff:10.1.2.3", "private"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_hosts_resolving_to_private_addresses_are_refused(address: str, kind: str) -> None:
    detail = failure(lambda: fetcher(intranet_example=[address]).check("http://intranet.example/"))
    assert kind in detail and "NEWSRAG_SOURCE_ALLOW_HOSTS" in detail


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("100.64.0.1", "non-global"),  # carrier-grade NAT
        ("100.100.100.200", "non-global"),  # a cloud metadata service in that range
        ("fec0::1", "site-local"),  # deprecated, but some networks still route it
        ("2002:7f00:0001::", "loopback (embedded in 2002:7f00:1::)"),  # 6to4 of 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private (embedded in"),  # Teredo of 10.0.0.1
    ],
)
def test_non_global_addresses_are_refused(address: str, kind: str) -> None:
    assert _forbidden(ipaddress.ip_address(address)) is not None
    detail = failure(lambda: fetcher(cgnat_example=[address]).check("http://cgnat.example/"))
    assert kind in detail


def test_a_global_address_is_allowed() -> None:
    assert _forbidden(ipaddress.ip_address("8.8.8.8")) is None
    assert _forbidden(ipaddress.ip_address("2606:4700:4700::1111")) is None
    assert fetcher(dns_example=["8.8.8.8"]).check("http://dns.example/").addresses == ("8.8.8.8",)


def test_a_host_with_one_private_address_among_public_ones_is_refused() -> None:
    mixed = fetcher(mixed_example=["93.184.216.34", "10.0.0.1"])
    assert "private" in failure(lambda: mixed.check("https://mixed.example/feed"))


def test_loopback_is_refused_unless_allowed(server: PageServer) -> None:
    server.routes["/feed"] = Served(b"<rss/>")
    refused = Fetcher(SourceSettings(allow_hosts=""))
    assert "loopback" in failure(lambda: refused.fetch(server.url("/feed")))
    assert server.requests == []  # refused before connecting
    assert fetcher().fetch(server.url("/feed")).body == b"<rss/>"


def test_conditional_get_answers_not_modified(server: PageServer) -> None:
    server.routes["/feed"] = Served(b"<rss>one</rss>")
    first = fetcher().fetch(server.url("/feed"))
    assert first.status == 200 and first.etag and first.last_modified
    second = fetcher().fetch(server.url("/feed"), etag=first.etag)
    assert second.not_modified and second.body == b"" and second.etag == first.etag
    assert server.statuses("/feed") == [200, 304]


def test_a_redirect_is_followed_and_its_target_checked_again(server: PageServer) -> None:
    server.routes["/old"] = Served(redirect=server.url("/new"))
    server.routes["/new"] = Served(b"moved here")
    got = fetcher().fetch(server.url("/old"))
    assert (got.body, got.url) == (b"moved here", server.url("/new"))
    server.routes["/away"] = Served(redirect="http://metadata.internal/latest")
    detail = failure(
        lambda: fetcher(metadata_internal=["169.254.169.254"]).fetch(server.url("/away"))
    )
    assert "link-local" in detail


def test_a_redirect_loop_and_too_many_redirects_give_a_reason(server: PageServer) -> None:
    server.routes["/a"] = Served(redirect="/b")
    server.routes["/b"] = Served(redirect="/a")
    assert "redirect loop" in failure(lambda: fetcher().fetch(server.url("/a")))
    for hop in range(8):
        server.routes[f"/hop{hop}"] = Served(redirect=f"/hop{hop + 1}")
    assert "more than 5 redirects" in failure(lambda: fetcher().fetch(server.url("/hop0")))


def test_a_page_over_the_size_bound_is_cut_off(server: PageServer) -> None:
    server.routes["/huge"] = Served(size=50_000_000)  # streamed without a length
    started = time.monotonic()
    detail = failure(lambda: fetcher().fetch(server.url("/huge")))
    assert "page larger than 10 MB" in detail
    assert time.monotonic() - started < 5
    server.routes["/declared"] = Served(b"x" * 20_000)
    small = SourceSettings(allow_hosts="127.0.0.1", max_bytes=10_000)
    assert "larger than 10 kB" in failure(lambda: fetcher(small).fetch(server.url("/declared")))


def test_a_compressed_reply_is_decoded_within_the_size_bound(server: PageServer) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = packer.compress(bytes(50_000_000)) + packer.flush()  # 50 MB of zeros in ~50 kB
    server.routes["/bomb"] = Served(bomb, "text/html", encoding="gzip")
    started = time.monotonic()
    assert "page larger than 10 MB" in failure(lambda: fetcher().fetch(server.url("/bomb")))
    assert time.monotonic() - started < 2
    page = b"<html><body><p>A normal page.</p></body></html>"
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    server.routes["/page"] = Served(packer.compress(page) + packer.flush(), encoding="gzip")
    assert fetcher().fetch(server.url("/page")).body == page
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    server.routes["/raw"] = Served(raw.compress(page) + raw.flush(), encoding="deflate")
    server.routes["/zlib"] = Served(zlib.compress(page), encoding="deflate")
    assert fetcher().fetch(server.url("/raw")).body == page
    assert fetcher().fetch(server.url("/zlib")).body == page
    server.routes["/zstd"] = Served(b"(zstd bytes)", encoding="zstd")
    assert "content encoding 'zstd' is not accepted" in failure(
        lambda: fetcher().fetch(server.url("/zstd"))
    )


def test_a_page_that_never_ends_times_out(server: PageServer) -> None:
    server.routes["/endless"] = Served(endless=True)
    quick = SourceSettings(allow_hosts="127.0.0.1", timeout_s=1)
    started = time.monotonic()
    detail = failure(lambda: fetcher(quick).fetch(server.url("/endless")))
    assert "timed out after 1 s" in detail
    assert time.monotonic() - started < 3


def test_an_http_error_and_an_unreachable_host_give_a_reason(server: PageServer) -> None:
    assert "HTTP 404" in failure(lambda: fetcher().fetch(server.url("/missing")))
    closed = server.url("/").replace(server.base.rsplit(":", 1)[1], "1")
    assert "ConnectError" in failure(lambda: fetcher().fetch(closed))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_connects_to_the_checked_address_and_verifies_the_hosts_certificate(
    tmp_path: Path,
) -> None:
    cert, key = self_signed(tmp_path, "feeds.test")
    trusted = ssl.create_default_context(cafile=str(cert))
    settings = SourceSettings(allow_hosts="feeds.test,127.0.0.1", timeout_s=5)
    with page_server({"/feed": Served(b"<rss/>")}, tls=(cert, key)) as server:
        port = server.base.rsplit(":", 1)[1]
        # the name resolves to the checked address; TLS is verified for the name, not the address
        named = Fetcher(settings, resolver=lambda host, _: ["127.0.0.1"], verify=trusted)
        assert named.fetch(f"https://feeds.test:{port}/feed").body == b"<rss/>"
        by_address = Fetcher(settings, verify=trusted)
        assert "ConnectError" in failure(lambda: by_address.fetch(server.url("/feed")))
    assert server.statuses("/feed") == [200]


def test_each_checked_address_is_tried_until_one_connects(server: PageServer) -> None:
    server.routes["/feed"] = Served(b"<rss/>")
    port = server.base.rsplit(":", 1)[1]
    settings = SourceSettings(allow_hosts="feeds.test", timeout_s=5)
    # nothing listens on 127.0.0.2: the second address answers
    both = Fetcher(settings, resolver=lambda host, _: ["127.0.0.2", "127.0.0.1"])
    assert both.fetch(f"http://feeds.test:{port}/feed").body == b"<rss/>"
    assert server.statuses("/feed") == [200]


def test_no_connection_is_kept_alive_across_pinned_requests(server: PageServer) -> None:
    """Requests go to a pinned address: a pooled TLS connection for one host name must not
    serve another name at the same address."""
    one = fetcher()
    pool = one._client._transport._pool  # type: ignore[attr-defined]
    assert pool._max_keepalive_connections == 0
    server.routes["/a"] = Served(b"first")
    assert one.fetch(server.url("/a")).body == b"first"
    assert one.fetch(server.url("/a")).body == b"first"
    assert pool.connections == []  # nothing left in the pool to reuse
