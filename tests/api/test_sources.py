"""/v1/sources through the real app: register (synced at once), list, remove; bad urls are 422
naming ``url``; only admin keys change sources; the poller syncs what is due."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from newsrag.api.app import create_app
from newsrag.components.store.sources import SourceRecord
from newsrag.config import SourceSettings
from tests.helpers import (
    FeedEntry,
    PageServer,
    Served,
    assert_names_field,
    assert_problem,
    feed_story,
    make_settings,
    page_server,
    rss_feed,
)


def feed(count: int, start: int = 0) -> bytes:
    return rss_feed(
        [FeedEntry(f"urn:gazette:{n}", f"Story {n}", feed_story(n)) for n in range(start, count)]
    )


@pytest.fixture
def server() -> Iterator[PageServer]:
    with page_server({"/feed.xml": Served(feed(12))}) as running:
        yield running


def test_register_list_and_remove_a_feed(client: TestClient, server: PageServer) -> None:
    url = server.url("/feed.xml")
    created = client.post("/v1/sources", json={"url": url, "every_minutes": 10})
    assert created.status_code == 201, created.text
    source = created.json()
    assert source["url"] == url and source["every_minutes"] == 10
    assert source["last_result"]["status"] == "synced"
    assert source["last_result"]["counts"]["created"] == 12  # the first sync ran at once
    assert source["last_synced_at"] and source["next_sync_at"]
    assert client.get("/v1/documents/gazette-3").json()["title"] == "Story 3"

    again = client.post("/v1/sources", json={"url": url, "every_minutes": 5})
    assert again.status_code == 200
    assert again.json()["last_result"]["status"] == "not_modified"  # conditional GET → 304
    assert server.statuses("/feed.xml") == [200, 304]

    listed = client.get("/v1/sources").json()["sources"]
    assert [(s["source_id"], s["every_minutes"]) for s in listed] == [(source["source_id"], 5)]

    metrics = client.get("/metrics").text
    assert (
        f'newsrag_source_items_total{{outcome="created",source="{source["source_id"]}"}} 12.0'
        in (metrics)
    )
    assert "newsrag_source_last_success_timestamp_seconds{" in metrics

    assert client.delete(f"/v1/sources/{source['source_id']}").status_code == 204
    assert client.get("/v1/sources").json()["sources"] == []
    assert client.get("/v1/documents/gazette-3").status_code == 200  # the stories stay
    assert_problem(client.delete(f"/v1/sources/{source['source_id']}"), 404, "no source")


def test_after_a_page_that_failed_the_next_poll_reads_the_feed_again(
    client: TestClient, server: PageServer
) -> None:
    page = f"<html><body><article><p>{feed_story(40)}</p></article></body></html>".encode()
    server.routes["/flaky.html"] = Served(page, content_type="text/html", failures=1)
    flaky = FeedEntry("urn:gazette:flaky", "Flaky", "A summary.", link=server.url("/flaky.html"))
    summary_only = dataclasses.replace(flaky, full=False)
    server.routes["/mixed.xml"] = Served(
        rss_feed([FeedEntry("urn:gazette:1", "Story 1", feed_story(1)), summary_only])
    )
    url = server.url("/mixed.xml")
    first = client.post("/v1/sources", json={"url": url}).json()["last_result"]
    assert first["counts"]["created"] == 1 and "HTTP 500" in first["rejected"][0]["reason"]

    second = client.post("/v1/sources", json={"url": url}).json()["last_result"]
    assert second["status"] == "synced"  # the old validators were kept: no 304 this time
    assert second["counts"]["created"] == 1 and second["counts"]["unchanged"] == 1
    assert client.get("/v1/documents/gazette-flaky").status_code == 200

    third = client.post("/v1/sources", json={"url": url}).json()["last_result"]
    assert third["status"] == "not_modified"  # nothing failed: the validators were stored
    assert server.statuses("/mixed.xml") == [200, 200, 304]
    assert server.statuses("/flaky.html") == [500, 200]


@pytest.mark.parametrize(
    ("url", "mentions"),
    [
        ("ftp://example.org/feed.xml", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http://10.0.0.7/feed.xml", "private address"),
        ("http://169.254.169.254/latest/meta-data/", "link-local address"),
        ("http://localhost:1/feed.xml", "loopback address"),
        ("not a url", "only http and https"),
        ("http://exa\x01mple.com/feed.xml", "control character"),
        ("http://example.org/fe\x00ed.xml", "control character"),
    ],
)
def test_a_bad_url_is_422_naming_url(client: TestClient, url: str, mentions: str) -> None:
    response = client.post("/v1/sources", json={"url": url})
    assert_names_field(response, "url")
    assert mentions in response.json()["detail"]
    assert client.get("/v1/sources").json()["sources"] == []


def test_a_source_that_fails_is_registered_with_its_reason_and_no_5xx(
    client: TestClient, server: PageServer
) -> None:
    server.routes["/broken.xml"] = Served(b"<rss><channel><title>oops</chan")
    response = client.post("/v1/sources", json={"url": server.url("/broken.xml")})
    assert response.status_code == 201
    result = response.json()["last_result"]
    assert result["status"] == "failed" and "not a readable RSS or Atom feed" in result["error"]
    assert "newsrag_source_failures_total{" in client.get("/metrics").text


def test_a_poll_that_breaks_still_gives_its_lease_back(
    client: TestClient, server: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = client.app.state.container.services  # type: ignore[attr-defined]
    services.store.sources.put(SourceRecord("gazette", server.url("/feed.xml"), 5, "2026-01-01"))

    def broken(*args: object) -> None:
        raise RuntimeError("the disk is gone")

    monkeypatch.setattr("newsrag.ingest.sources.service.sync", broken)
    with pytest.raises(RuntimeError):
        services.sources.sync_source("gazette")
    record = services.store.sources.get("gazette")
    assert (record.lease_owner, record.lease_until) == ("", 0.0)  # another poll may take it
    assert record.next_due > time.time() + 200  # tried again when next due, not at once


def test_only_an_admin_key_changes_sources(tmp_path: Path, server: PageServer) -> None:
    keys = SecretStr("boss:admin,writer:rw,reader:ro")
    settings = make_settings(tmp_path / "data", api_keys=keys)
    body = {"url": server.url("/feed.xml")}

    def auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    with TestClient(create_app(settings)) as client:
        for key in ("writer", "reader"):
            refused = client.post("/v1/sources", json=body, headers=auth(key))
            assert_problem(refused, 403, "admin key")
        assert_problem(client.post("/v1/sources", json=body), 401)
        created = client.post("/v1/sources", json=body, headers=auth("boss"))
        assert created.status_code == 201
        assert client.get("/v1/sources", headers=auth("reader")).status_code == 200
        path = f"/v1/sources/{created.json()['source_id']}"
        assert_problem(client.delete(path, headers=auth("writer")), 403, "admin key")
        assert client.delete(path, headers=auth("boss")).status_code == 204
        # an admin key does what a read-write key does
        document = {"text": feed_story(1), "document_id": "by-admin"}
        assert client.post("/v1/documents", json=document, headers=auth("boss")).status_code == 201


def test_the_poller_syncs_due_sources(tmp_path: Path, server: PageServer) -> None:
    polling = SourceSettings(allow_hosts="127.0.0.1", poll=True, poll_interval_s=0.2)
    settings = make_settings(tmp_path / "data", sources=polling)
    with TestClient(create_app(settings)) as client:
        registry = client.app.state.container.services.store.sources  # type: ignore[attr-defined]
        registry.settle_s = 0.05
        registry.put(SourceRecord("gazette", server.url("/feed.xml"), 1, "2026-01-01T00:00:00"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            listed = client.get("/v1/sources").json()["sources"]
            if listed and listed[0]["last_result"]:
                break
            time.sleep(0.1)
        assert listed[0]["last_result"]["counts"]["created"] == 12
        assert listed[0]["next_sync_at"] > listed[0]["last_synced_at"]
        assert server.statuses("/feed.xml") == [200]  # not due again for a minute
