"""``newsrag sync``: a summary line, one line per rejected item, non-zero only when the source
itself failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsrag.api.container import Container
from newsrag.cli import main
from newsrag.config import load_settings
from newsrag.schemas import SourceIn
from tests.helpers import FeedEntry, Served, feed_story, page_server, rss_feed


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "NEWSRAG_DATA_DIR": str(tmp_path / "data"),
        "NEWSRAG_EMBEDDINGS": "fake",
        "NEWSRAG_LLM_LOCAL": "false",
        "NEWSRAG_SOURCE_ALLOW_HOSTS": "127.0.0.1",
    }.items():
        monkeypatch.setenv(name, value)


def test_sync_a_feed_prints_a_summary_and_each_rejection(
    capsys: pytest.CaptureFixture[str],
) -> None:
    entries = [FeedEntry(f"urn:cli:{n}", f"Story {n}", feed_story(n)) for n in range(5)]
    entries.append(FeedEntry("urn:cli:gone", "Gone", "x", link="http://127.0.0.1:1/", full=False))
    with page_server({"/feed.xml": Served(rss_feed(entries))}) as server:
        assert main(["sync", "-q", server.url("/feed.xml")]) == 0
        out, err = capsys.readouterr()
        assert "created 5, updated 0, unchanged 0, withdrawn 0, rejected 1" in out
        assert "items/s" in out
        assert "rejected: urn:cli:gone: " in err and "ConnectError" in err
        assert main(["sync", "-q", server.url("/feed.xml")]) == 0
        again = capsys.readouterr().out
        assert "created 0, updated 0, unchanged 5, withdrawn 0, rejected 1" in again


def test_sync_of_a_registered_source_uses_its_conditional_get(
    capsys: pytest.CaptureFixture[str],
) -> None:
    entries = [FeedEntry(f"urn:cli:{n}", f"Story {n}", feed_story(n)) for n in range(3)]
    with page_server({"/feed.xml": Served(rss_feed(entries))}) as server:
        sources = Container(load_settings()).services.sources
        source, created = sources.register(SourceIn(url=server.url("/feed.xml")))
        assert created and source.last_result and source.last_result.counts["created"] == 3
        assert main(["sync", "-q", server.url("/feed.xml")]) == 0
        assert "not modified since the last sync" in capsys.readouterr().out
        assert server.statuses("/feed.xml") == [200, 304]


def test_sync_exits_non_zero_when_the_source_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", "-q", "http://10.0.0.1/feed.xml"]) == 1
    assert "private address" in capsys.readouterr().out
