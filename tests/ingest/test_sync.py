"""Syncing feeds served from 127.0.0.1 through the batched ingest: created, updated, unchanged,
rejected with a reason; a second sync is a no-op; nothing stored is lost."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.components.store.chroma import ChromaStore
from newsrag.config import ChromaSettings, ChunkSettings, SourceSettings
from newsrag.errors import FetchFailed
from newsrag.ingest.pipeline import Ingestor
from newsrag.ingest.sources.fetch import Fetcher
from newsrag.ingest.sources.sync import SyncContext, SyncReport, sync
from tests.helpers import (
    CountingEmbedder,
    FeedEntry,
    PageServer,
    Served,
    feed_story,
    page_server,
    rss_feed,
)

SETTINGS = SourceSettings(allow_hosts="127.0.0.1", timeout_s=5)


@pytest.fixture
def server() -> Iterator[PageServer]:
    with page_server() as running:
        yield running


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def ingestor(tmp_path: Path, embedder: CountingEmbedder) -> Ingestor:
    store = ChromaStore.connect(
        ChromaSettings(), tmp_path, HashingEmbedder.name, HashingEmbedder.dimension
    )
    return Ingestor(store, embedder, ChunkSettings(size=64, overlap=8), 100_000)


def entries(count: int, start: int = 0) -> list[FeedEntry]:
    return [
        FeedEntry(
            guid=f"tag:harbour.example,2023:story-{n}",
            title=f"Harbour board approves {n + 3} berths",
            body=feed_story(n),
            author=f"Reporter {n % 7}",
            published=f"Tue, {n % 28 + 1:02d} Oct 2023 {n % 24:02d}:15:00 GMT",
        )
        for n in range(start, start + count)
    ]


def run(
    source: str, ingestor: Ingestor, report: SyncReport | None = None, **options: object
) -> SyncReport:
    settings = options.pop("settings", SETTINGS)
    etag = report.etag if report else None
    context = SyncContext(ingestor, settings, etag=etag, **options)  # type: ignore[arg-type]
    return sync(source, context)


def test_a_feed_of_200_items_is_ingested_with_its_titles_dates_authors_and_ids(
    server: PageServer, ingestor: Ingestor
) -> None:
    server.routes["/feed.xml"] = Served(rss_feed(entries(200)))
    totals: list[int] = []
    done: list[int] = []
    report = run(server.url("/feed.xml"), ingestor, on_total=totals.append, on_progress=done.append)
    assert report.status == "synced", report.error
    assert report.counts["created"] == 200 and report.rejected == []
    assert totals == [200] and sum(done) == 200
    stored = {d.document_id: d for d in ingestor.store.list_documents()}
    assert len(stored) == 200
    first = stored["harbour.example-2023-story-0"]  # readable, from the guid
    assert first.title == "Harbour board approves 3 berths"
    assert first.published_at == "2023-10-01T00:15:00+00:00"
    assert first.metadata["author"] == "Reporter 0"
    assert first.source == "Harbour Gazette"
    for entry in entries(200):
        document = stored[f"harbour.example-2023-{entry.guid.rsplit(':', 1)[1]}"]
        assert document.title == entry.title
        assert document.metadata["author"] == entry.author
        number = int(entry.guid.rsplit("-", 1)[1])
        assert (
            document.published_at == f"2023-10-{number % 28 + 1:02d}T{number % 24:02d}:15:00+00:00"
        )
    text = ingestor.store.get_document("harbour.example-2023-story-7").text
    assert text == feed_story(7)  # the paragraphs, exactly


def test_a_second_sync_is_a_no_op(
    server: PageServer, ingestor: Ingestor, embedder: CountingEmbedder
) -> None:
    server.routes["/feed.xml"] = Served(rss_feed(entries(30)))
    first = run(server.url("/feed.xml"), ingestor)
    assert first.counts["created"] == 30 and first.etag
    calls = len(embedder.calls)
    again = run(server.url("/feed.xml"), ingestor, first)
    assert again.status == "not_modified" and again.items == 0
    assert server.requests[-1] == ("/feed.xml", first.etag, 304)  # a conditional GET, answered
    # and even a full answer re-embeds nothing when no text changed
    full = run(server.url("/feed.xml"), ingestor)
    assert full.counts["unchanged"] == 30 and full.counts["created"] == 0
    assert len(embedder.calls) == calls


def test_a_changed_entry_becomes_version_2_and_a_dropped_one_stays(
    server: PageServer, ingestor: Ingestor
) -> None:
    feed = entries(5)
    server.routes["/feed.xml"] = Served(rss_feed(feed))
    first = run(server.url("/feed.xml"), ingestor)
    changed = FeedEntry(feed[2].guid, feed[2].title, feed_story(2, " The vote was 5 to 2."))
    # the window moves on: story-0 drops out, story-5 comes in, story-2 is corrected
    server.routes["/feed.xml"] = Served(rss_feed([*feed[1:2], changed, *feed[3:], *entries(1, 5)]))
    second = run(server.url("/feed.xml"), ingestor, first)
    assert (second.counts["updated"], second.counts["created"]) == (1, 1)
    assert second.counts["unchanged"] == 3
    versions = ingestor.store.versions("harbour.example-2023-story-2")
    assert [v.version for v in versions] == [1, 2]
    assert ingestor.store.get_document("harbour.example-2023-story-0").text == feed_story(0)
    assert len(ingestor.store.list_documents()) == 6


def test_bad_entries_get_a_reason_and_the_others_go_on(
    server: PageServer, ingestor: Ingestor
) -> None:
    page = (
        "<html><head><title>Quay reopens</title></head><body><nav>Home | News</nav><article>"
        "<h1>Quay reopens</h1><p>The eastern quay reopened on Monday after six weeks of "
        "repairs, the harbour board said. Pilots said <a href='/x'>three ferries</a> would "
        "use it at once.</p><p>The repairs cost 2 million pounds, more than the board had "
        "planned in the spring.</p></article><footer>© Gazette</footer></body></html>"
    ).encode()
    server.routes["/quay.html"] = Served(page, content_type="text/html")
    server.routes["/menu.html"] = Served(b"<html><body></body></html>", content_type="text/html")
    server.routes["/huge.html"] = Served(size=200_000)
    server.routes["/endless.html"] = Served(endless=True)
    links = {
        "page": server.url("/quay.html"),
        "gone": server.url("/missing.html"),
        "empty": server.url("/menu.html"),
        "huge": server.url("/huge.html"),
        "endless": server.url("/endless.html"),
        "private": "http://10.1.2.3/story",
    }
    summary_only = [
        FeedEntry(f"urn:summary:{name}", name, "A summary.", link=link, full=False)
        for name, link in links.items()
    ]
    server.routes["/feed.xml"] = Served(rss_feed([*entries(3), *summary_only]))
    small = SourceSettings(allow_hosts="127.0.0.1", timeout_s=2, max_bytes=100_000)
    report = run(server.url("/feed.xml"), ingestor, settings=small)
    assert report.status == "synced"
    assert report.counts["created"] == 4  # three full entries and the fetched page
    reasons = dict(report.rejected)
    assert "HTTP 404" in reasons["urn:summary:gone"]
    assert "no article text" in reasons["urn:summary:empty"]
    assert "page larger than 100 kB" in reasons["urn:summary:huge"]
    assert "private address" in reasons["urn:summary:private"]
    assert "timed out after 2 s" in reasons["urn:summary:endless"]
    fetched = ingestor.store.get_document("summary-page")
    assert "three ferries would use it at once" in (fetched.text or "")  # one sentence, whole
    assert "Home | News" not in (fetched.text or "")


def test_entries_linking_to_odd_or_international_hosts_get_a_reason(
    server: PageServer, ingestor: Ingestor
) -> None:
    port = server.base.rsplit(":", 1)[1]
    server.routes["/quay.html"] = Served(
        f"<html><body><article><p>{feed_story(7)}</p></article></body></html>".encode(),
        content_type="text/html",
    )
    links = {
        "control": f"http://exa\x01mple.com:{port}/quay.html",
        "idn": f"http://bücher.example:{port}/quay.html",  # reaches the server as xn--bcher-kva
        "gone": "http://müll.example/story",  # an international name that resolves nowhere
        "bad-idn": f"http://{'ü' * 70}.example/story",  # a label too long for IDNA
    }
    summary_only = [
        FeedEntry(f"urn:summary:{name}", name, "A summary.", link=link, full=False)
        for name, link in links.items()
    ]
    server.routes["/feed.xml"] = Served(rss_feed(summary_only))
    table = {"127.0.0.1": ["127.0.0.1"], "xn--bcher-kva.example": ["127.0.0.1"]}

    def resolver(host: str, port: int) -> list[str]:
        if host not in table:
            raise FetchFailed(f"cannot resolve host {host!r}", field="url")
        return table[host]

    settings = SourceSettings(allow_hosts="127.0.0.1,bücher.example", timeout_s=5)
    fetcher = Fetcher(settings, resolver=resolver)
    try:
        report = run(server.url("/feed.xml"), ingestor, settings=settings, fetcher=fetcher)
    finally:
        fetcher.close()
    assert report.status == "synced", report.error
    reasons = dict(report.rejected)
    assert set(reasons) == {"urn:summary:control", "urn:summary:gone", "urn:summary:bad-idn"}
    assert "control character" in reasons["urn:summary:control"]
    assert "cannot resolve host 'xn--mll-hoa.example'" in reasons["urn:summary:gone"]
    assert "not a valid host name" in reasons["urn:summary:bad-idn"]
    assert report.counts["created"] == 1
    assert report.retry  # pages that could not be fetched may be another time
    assert "session 7" in (ingestor.store.get_document("summary-idn").text or "")


def test_a_folder_with_a_deeply_nested_file_stores_the_good_one(
    ingestor: Ingestor, tmp_path: Path
) -> None:
    folder = tmp_path / "wire"
    folder.mkdir()
    (folder / "note.txt").write_text("Quay reopens\n\nThe eastern quay reopened on Monday.")
    (folder / "deep.json").write_text("[" * 100_000)
    (folder / "deep-ninjs.json").write_text('{"uri": "x", "body": ' + "[" * 100_000)
    report = run(str(folder), ingestor)
    assert report.status == "synced", report.error
    assert report.counts["created"] == 1
    reasons = dict(report.rejected)
    assert set(reasons) == {str(folder / "deep.json"), str(folder / "deep-ninjs.json")}
    assert all("nested too deeply" in why for why in reasons.values()), reasons
    assert not report.retry  # rejected for what the files are: no use reading them again


def test_an_unforeseen_error_fails_the_source_with_one_line(
    ingestor: Ingestor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr("newsrag.ingest.sources.sync._sync_path", broken)
    report = run(str(tmp_path), ingestor)
    assert report.failed and report.error == "unexpected KeyError: 'surprise'"


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        (b"<rss><channel><title>broken</chan", "not a readable RSS or Atom feed"),
        (
            b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]>'
            b"<rss><channel><title>&c;</title></channel></rss>",
            "XML entities",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<rss><channel><title>&x;</title></channel></rss>",
            "XML entities",
        ),
        (b"\x00\x01 not xml at all", "neither an RSS/Atom feed nor a page"),
    ],
)
def test_a_bad_feed_fails_with_one_reason_and_loses_nothing(
    server: PageServer, ingestor: Ingestor, body: bytes, mentions: str
) -> None:
    server.routes["/feed.xml"] = Served(rss_feed(entries(3)))
    assert run(server.url("/feed.xml"), ingestor).counts["created"] == 3
    server.routes["/feed.xml"] = Served(body, content_type="application/octet-stream")
    report = run(server.url("/feed.xml"), ingestor)
    assert report.failed and mentions in (report.error or ""), report.error
    assert len(ingestor.store.list_documents()) == 3


def test_a_feed_behind_a_redirect_loop_or_a_private_redirect_fails_with_a_reason(
    server: PageServer, ingestor: Ingestor
) -> None:
    server.routes["/a"] = Served(redirect="/b")
    server.routes["/b"] = Served(redirect="/a")
    assert "redirect loop" in (run(server.url("/a"), ingestor).error or "")
    server.routes["/c"] = Served(redirect="http://[::1]:9/feed")
    assert "loopback" in (run(server.url("/c"), ingestor).error or "")


def test_a_feed_over_the_entry_bound_keeps_the_first_entries_with_a_note(
    server: PageServer, ingestor: Ingestor
) -> None:
    server.routes["/feed.xml"] = Served(rss_feed(entries(30)))
    bounded = SourceSettings(allow_hosts="127.0.0.1", max_entries=20)
    report = run(server.url("/feed.xml"), ingestor, settings=bounded)
    assert report.counts["created"] == 20
    assert report.note == "the feed has 30 entries; the first 20 were read"


def test_an_unknown_path_fails_with_a_reason(ingestor: Ingestor, tmp_path: Path) -> None:
    report = run(str(tmp_path / "nowhere"), ingestor)
    assert report.failed and "no such file or folder" in (report.error or "")


NEWSROOM = Path(__file__).resolve().parents[1] / "data" / "newsroom"


def test_a_folder_syncs_and_a_canceled_ninjs_item_withdraws_its_story(
    ingestor: Ingestor, embedder: CountingEmbedder, tmp_path: Path
) -> None:
    folder = tmp_path / "wire"
    folder.mkdir()
    for name in ("ninjs-2.json", "ninjs-3.json"):
        (folder / name).write_bytes((NEWSROOM / name).read_bytes())
    (folder / "note.txt").write_text("Quay reopens\n\nThe eastern quay reopened on Monday.")
    (folder / "broken.json").write_text('{"text": ')
    first = run(str(folder), ingestor)
    assert first.status == "synced"
    assert first.counts["created"] == 3
    assert [ref for ref, _ in first.rejected] == [str(folder / "broken.json")]
    assert "invalid JSON" in first.rejected[0][1]
    ferry = "wire.example.com-20231001-ferry-aground"
    assert ingestor.store.get_document(ferry).withdrawn_at is None

    (folder / "ninjs-canceled.json").write_bytes((NEWSROOM / "ninjs-canceled.json").read_bytes())
    second = run(str(folder), ingestor)
    assert second.counts["withdrawn"] == 1 and second.counts["unchanged"] == 2
    withdrawn = ingestor.store.get_document(ferry)
    assert withdrawn.withdrawn_at and withdrawn.chunks == 0  # out of answers
    assert [v.version for v in ingestor.store.versions(ferry)] == [1]  # its text is kept

    calls = len(embedder.calls)
    third = run(str(folder), ingestor)
    assert (third.counts["withdrawn"], third.counts["unchanged"]) == (1, 2)
    assert len(embedder.calls) == calls  # nothing restored and re-embedded
    assert ingestor.store.get_document(ferry).withdrawn_at == withdrawn.withdrawn_at


def test_a_feed_file_syncs_like_a_feed(ingestor: Ingestor, tmp_path: Path) -> None:
    path = tmp_path / "feed.rss"
    path.write_bytes(rss_feed(entries(4)))
    report = run(str(path), ingestor)
    assert report.counts["created"] == 4
    assert ingestor.store.get_document("harbour.example-2023-story-3").title == entries(4)[3].title


def test_newsml_and_ninjs_items_served_at_a_url_sync_with_corrections_and_kills(
    server: PageServer, ingestor: Ingestor
) -> None:
    story = "wire.example.com-20231002-harbour-fire"
    url = server.url("/wire/harbour-fire.xml")
    server.routes["/wire/harbour-fire.xml"] = Served(
        (NEWSROOM / "newsitem.xml").read_bytes(), content_type="application/xml"
    )
    assert run(url, ingestor).counts["created"] == 1
    server.routes["/wire/harbour-fire.xml"] = Served(
        (NEWSROOM / "newsitem-correction.xml").read_bytes(), content_type="application/xml"
    )
    corrected = run(url, ingestor)
    assert corrected.counts["updated"] == 1
    document = ingestor.store.get_document(story)
    assert document.version == 2 and document.metadata["signal"] == "correction"
    rows = ingestor.store.record_sentences(document, range(document.sentences))
    assert [row.text for row in rows if row.correction] == [
        "Firefighters from three stations fought the blaze for nine hours."
    ]
    server.routes["/wire/harbour-fire.xml"] = Served(
        (NEWSROOM / "newsitem-canceled.xml").read_bytes(), content_type="application/xml"
    )
    assert run(url, ingestor).counts["withdrawn"] == 1
    assert ingestor.store.get_document(story).withdrawn_at

    server.routes["/ninjs"] = Served(
        (NEWSROOM / "ninjs-3.json").read_bytes(), content_type="application/json"
    )
    assert run(server.url("/ninjs"), ingestor).counts["created"] == 1
    bridge = ingestor.store.get_document("news.example.com-2023-10-council-bridge-vote")
    assert bridge.title == "Council approves new bridge"


def test_an_article_page_at_a_url_is_keyed_by_the_url(
    server: PageServer, ingestor: Ingestor
) -> None:
    def page(extra: str) -> bytes:
        paragraphs = "".join(f"<p>{p}</p>" for p in feed_story(4, extra).split("\n\n"))
        return (
            "<html><head><title>Berths</title></head><body><nav>Home</nav>"
            f"<article><h1>Berths</h1>{paragraphs}</article></body></html>"
        ).encode()

    server.routes["/news/berths"] = Served(page(""), content_type="text/html")
    assert run(server.url("/news/berths"), ingestor).counts["created"] == 1
    server.routes["/news/berths"] = Served(page(" The vote was close."), content_type="text/html")
    assert run(server.url("/news/berths"), ingestor).counts["updated"] == 1
    [document] = ingestor.store.list_documents()
    assert document.document_id.endswith("news-berths") and document.version == 2


def test_a_source_cannot_replace_a_story_another_source_holds(
    server: PageServer, ingestor: Ingestor
) -> None:
    from newsrag.ingest.formats.ids import id_from_uri
    from newsrag.models import Article

    harbour = entries(2)
    server.routes["/harbour.xml"] = Served(rss_feed(harbour))
    assert run(server.url("/harbour.xml"), ingestor).counts["created"] == 2
    story = "harbour.example-2023-story-0"
    kept = ingestor.store.get_document(story)
    origin = id_from_uri(server.url("/harbour.xml"))
    assert kept.metadata["origin"] == origin
    # another feed reuses the first one's guid: its entry is rejected, the story stays as it was
    rogue = [FeedEntry(harbour[0].guid, "Harbour board scraps berths", feed_story(9, " Lies."))]
    server.routes["/rogue.xml"] = Served(rss_feed(rogue, title="Rogue Post"))
    report = run(server.url("/rogue.xml"), ingestor)
    assert report.counts["rejected"] == 1 and report.counts["updated"] == 0
    assert report.rejected == [
        (rogue[0].guid, f"document_id '{story}' is held by the source {origin}; not replaced")
    ]
    after = ingestor.store.get_document(story)
    assert (after.version, after.text, after.source) == (1, kept.text, "Harbour Gazette")
    # one source by any spelling of its url (scheme, case, a trailing slash)
    assert origin == id_from_uri(server.url("/harbour.xml").replace("http://", "HTTPS://") + "/")
    # a story without an origin (a caller's, or one stored before origins were kept) is taken
    # over by the first source that names it
    ingestor.ingest(Article(feed_story(3), "Posted by hand", "harbour.example-2023-story-5"))
    server.routes["/harbour.xml"] = Served(rss_feed(entries(6)))
    again = run(server.url("/harbour.xml"), ingestor)
    assert (again.counts["created"], again.counts["updated"], again.rejected) == (3, 1, [])
    adopted = ingestor.store.get_document("harbour.example-2023-story-5")
    assert adopted.metadata["origin"] == origin and adopted.version == 2


def test_a_kill_from_another_source_does_not_withdraw_the_story(
    server: PageServer, ingestor: Ingestor
) -> None:
    story = "wire.example.com-20231002-harbour-fire"
    server.routes["/wire.xml"] = Served(
        (NEWSROOM / "newsitem.xml").read_bytes(), content_type="application/xml"
    )
    assert run(server.url("/wire.xml"), ingestor).counts["created"] == 1
    server.routes["/other.xml"] = Served(
        (NEWSROOM / "newsitem-canceled.xml").read_bytes(), content_type="application/xml"
    )
    report = run(server.url("/other.xml"), ingestor)
    assert report.counts["withdrawn"] == 0 and report.counts["rejected"] == 1
    assert ingestor.store.get_document(story).withdrawn_at is None


def test_a_windows_1252_page_linked_from_a_feed_or_at_a_url_keeps_its_letters(
    server: PageServer, ingestor: Ingestor
) -> None:
    page = (
        "<html><head><title>Café owners protest</title></head><body><article>"
        "<h1>Café owners protest</h1><p>The café owners’ association said on Tuesday that the "
        "new rules were “unfair” and naïve, according to its spokesman José Müller.</p><p>The "
        "council will vote on the rules in March, after a consultation of six weeks.</p>"
        "</article></body></html>"
    ).encode("cp1252")
    server.routes["/cafe.html"] = Served(page, content_type="text/html")  # no charset said
    summary = FeedEntry("urn:cafe", "Café owners", "A summary.", link=server.url("/cafe.html"))
    server.routes["/feed.xml"] = Served(rss_feed([dataclasses.replace(summary, full=False)]))
    assert run(server.url("/feed.xml"), ingestor).counts["created"] == 1
    assert run(server.url("/cafe.html"), ingestor).counts["created"] == 1
    for document in ingestor.store.list_documents():
        text = document.text or ingestor.store.get_document(document.document_id).text or ""
        assert "café owners’ association" in text and "“unfair” and naïve" in text
        assert "\ufffd" not in text


def test_a_lost_lease_stops_the_sync_and_is_not_reported_as_the_sources_failure(
    server: PageServer, ingestor: Ingestor
) -> None:
    from newsrag.errors import LeaseLost

    def lost(done: int) -> None:
        raise LeaseLost("the lease of gazette is another replica's now")

    server.routes["/feed.xml"] = Served(rss_feed(entries(3)))
    with pytest.raises(LeaseLost):
        run(server.url("/feed.xml"), ingestor, on_progress=lost)
