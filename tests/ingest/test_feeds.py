"""RSS 2.0 and Atom entries as stories: ids, titles, dates, authors, content; bounds."""

from __future__ import annotations

import pytest

from newsrag.errors import InvalidInput
from newsrag.ingest.formats.item import ParsedItem, Rejected
from newsrag.ingest.sources.feeds import feed_items, parse_feed
from newsrag.ingest.sources.fetch import Fetched
from tests.helpers import FeedEntry, feed_story, rss_feed

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Wire Desk</title>
  <entry>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <title>Port strike ends</title>
    <link href="https://wire.example/port-strike"/>
    <updated>2023-10-05T08:30:00+02:00</updated>
    <author><name>Ines Duarte</name></author>
    <content type="html">&lt;p&gt;Dock workers ended their &lt;em&gt;three-day&lt;/em&gt;
strike on Thursday, the union said.&lt;/p&gt;&lt;p&gt;Ships will sail from Friday.&lt;/p&gt;
</content>
  </entry>
  <entry>
    <title>No id here</title>
    <link href="https://wire.example/2023/10/no-id"/>
    <published>2023-10-04T12:00:00Z</published>
    <content type="text">Plain words, kept as they are.</content>
  </entry>
  <entry><title>Nothing to read</title><summary>Only a summary.</summary></entry>
</feed>"""


def items(data: bytes) -> dict[str, ParsedItem | Rejected]:
    return dict(feed_items(parse_feed(data, 10_000), None))


def test_atom_entries_use_id_link_updated_author_and_content() -> None:
    found = items(ATOM)
    strike = found["urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"]
    assert isinstance(strike, ParsedItem)
    article = strike.article
    assert article.document_id == "uuid-1225c695-cfb8-4ebb-aaaa-80da344efa6a"
    assert article.title == "Port strike ends"
    assert article.published_at == "2023-10-05T06:30:00+00:00"  # updated, in UTC
    assert article.metadata["author"] == "Ines Duarte"
    assert (article.url, article.source) == ("https://wire.example/port-strike", "Wire Desk")
    # inline emphasis stays inside its sentence
    assert "Dock workers ended their three-day strike on Thursday, the union said." in (
        " ".join(article.text.split())
    )
    plain = found["https://wire.example/2023/10/no-id"]  # no id: keyed by its link
    assert isinstance(plain, ParsedItem)
    assert plain.article.document_id == "wire.example-2023-10-no-id"
    assert plain.article.text == "Plain words, kept as they are."
    assert plain.article.published_at == "2023-10-04T12:00:00+00:00"
    nothing = next(item for item in found.values() if isinstance(item, Rejected))
    assert "neither a guid nor a link" in nothing.reason


def test_a_summary_only_entry_needs_its_page() -> None:
    entry = FeedEntry("urn:x:1", "Teaser", "Read more.", link="https://x.example/1", full=False)
    [(_, item)] = list(feed_items(parse_feed(rss_feed([entry]), 10), None))
    assert isinstance(item, Rejected) and "no full content" in item.reason

    def page(url: str) -> Fetched:
        assert url == "https://x.example/1"
        body = "".join(f"<p>{p}</p>" for p in feed_story(1).split("\n\n"))
        html = f"<html><body><article><h1>Teaser</h1>{body}</article></body></html>"
        return Fetched(200, html.encode(), url, content_type="text/html; charset=utf-8")

    [(_, fetched)] = list(feed_items(parse_feed(rss_feed([entry]), 10), page))
    assert isinstance(fetched, ParsedItem)
    assert fetched.article.text.endswith(feed_story(1)) and fetched.article.title == "Teaser"


def test_a_feed_of_10000_entries_is_read_and_one_more_is_left_out_with_a_note() -> None:
    entries = [FeedEntry(f"urn:big:{n}", f"Item {n}", f"Story number {n}.") for n in range(10_001)]
    feed = parse_feed(rss_feed(entries), 10_000)
    assert len(feed.entries) == 10_000
    assert feed.note == "the feed has 10001 entries; the first 10000 were read"


@pytest.mark.parametrize(
    ("data", "mentions"),
    [
        (b"<rss><channel><title>cut off", "not a readable RSS or Atom feed"),
        (b"plain text, no feed", "not a readable RSS or Atom feed"),
        (b"<html><body><p>a page</p></body></html>", "not an RSS or Atom feed"),
    ],
)
def test_what_is_not_a_feed_gets_one_reason(data: bytes, mentions: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_feed(data, 10)
    assert mentions in caught.value.detail


def test_an_empty_but_valid_feed_has_no_entries() -> None:
    assert parse_feed(rss_feed([]), 10).entries == []
