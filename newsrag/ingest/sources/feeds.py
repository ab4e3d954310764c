"""RSS 2.0 and Atom feeds read with feedparser: each entry becomes one story.

feedparser only ever parses bytes fetched by :mod:`newsrag.ingest.sources.fetch` (it would
otherwise fetch URLs itself, unbounded and unchecked). An entry is keyed by its guid (Atom
``id``), else its link, through ``id_from_uri``; its text is the full content the feed carries
(``content:encoded``, Atom ``content``) extracted as an article page, else the linked page
fetched and extracted. An entry with neither gets a reason and the feed goes on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any
from xml.etree.ElementTree import ParseError

import feedparser
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring
from httpx import InvalidURL

from newsrag.errors import FetchFailed, InvalidInput, NewsragError
from newsrag.ingest.formats.html import article_from_html, decode_page
from newsrag.ingest.formats.ids import id_from_uri
from newsrag.ingest.formats.item import ParsedItem, Rejected
from newsrag.ingest.sources.fetch import Fetched
from newsrag.models import Article
from newsrag.text.titles import clip_title

PageFetcher = Callable[[str], Fetched]  # a linked page, with its Content-Type
# What extracting one entry may raise besides our own errors: a reason for that entry only.
ENTRY_ERRORS = (NewsragError, ValueError, UnicodeError, LookupError, RecursionError, InvalidURL)
# Linked pages fetched at once, and entries looked ahead, for summary-only feeds.
PAGE_FETCHERS = 4
PAGE_BATCH = 16
HTML_TYPES = {"text/html", "application/xhtml+xml", "html", "xhtml"}


@dataclass(frozen=True, slots=True)
class Feed:
    """A parsed feed: its title, its entries (at most the bound) and a note when some were
    left out."""

    title: str
    entries: list[Mapping[str, Any]]
    note: str | None = None


def parse_feed(data: bytes, max_entries: int) -> Feed:
    """Parse RSS/Atom bytes; :class:`InvalidInput` with one reason when they are not a feed."""
    _refuse_entities(data)
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    entries: list[Mapping[str, Any]] = list(parsed.entries)
    if not entries:
        if parsed.get("bozo"):
            problem = parsed.get("bozo_exception")
            raise InvalidInput(f"not a readable RSS or Atom feed: {_one_line(problem)}")
        if not parsed.get("version"):
            raise InvalidInput("not an RSS or Atom feed (no channel or feed element found)")
    note = None
    if len(entries) > max_entries:
        note = f"the feed has {len(entries)} entries; the first {max_entries} were read"
        entries = entries[:max_entries]
    title = str(parsed.feed.get("title") or "").strip()
    return Feed(title, entries, note)


def _refuse_entities(data: bytes) -> None:
    """A feed declaring entities is refused: XML bombs and external entities (defusedxml)."""
    if b"<!ENTITY" not in data.upper():
        return  # the common case: no DTD entities, nothing to expand
    try:
        defused_fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise InvalidInput(
            f"the feed declares XML entities, refused (XML bombs, external entities): {exc}"
        ) from None
    except ParseError:
        pass  # not well-formed: feedparser's lenient parser reads it without DTDs


def _one_line(problem: object) -> str:
    text = str(problem or "malformed XML").strip()
    return " ".join(text.split())[:200]


def entry_ref(entry: Mapping[str, Any]) -> str:
    """What names the entry: its guid or Atom id, else its link."""
    return str(entry.get("id") or entry.get("link") or "").strip()


def entry_date(entry: Mapping[str, Any]) -> str | None:
    """``published``, else ``updated``, as ISO 8601 UTC."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if isinstance(value, time.struct_time):
            moment = dt.datetime(*value[:6], tzinfo=dt.UTC)
            return moment.isoformat()
    return None


def _full_content(entry: Mapping[str, Any]) -> tuple[str, bool] | None:
    """The entry's full content and whether it is HTML; None for a summary-only entry."""
    contents = entry.get("content") or []
    best = max(contents, key=lambda c: len(str(c.get("value") or "")), default=None)
    if best is None or not str(best.get("value") or "").strip():
        return None
    kind = str(best.get("type") or "text/html").lower()
    return str(best["value"]), kind in HTML_TYPES or kind.endswith("html")


def item_from_entry(
    entry: Mapping[str, Any], feed_title: str, fetch_page: PageFetcher | None
) -> ParsedItem | Rejected:
    """One entry as a story, or the reason it cannot be one."""
    ref = entry_ref(entry)
    if not ref:
        return Rejected("(entry without id or link)", "the entry has neither a guid nor a link")
    link = str(entry.get("link") or "").strip() or None
    try:
        document_id = id_from_uri(ref)
        content = _full_content(entry)
        if content is not None:
            text, is_html = content
            if is_html:
                item = article_from_html(
                    text, url=link, document_id=document_id, source=feed_title or None
                )
            else:
                item = ParsedItem(_plain(text, document_id))
        elif link is None:
            return Rejected(ref, "the entry has no full content and no link to fetch")
        elif fetch_page is None:
            return Rejected(ref, "the entry has no full content and pages are not fetched")
        else:
            page = fetch_page(link)
            item = article_from_html(
                decode_page(page.body, page.content_type),
                url=link,
                document_id=document_id,
                source=feed_title or None,
            )
    except ENTRY_ERRORS as exc:
        detail = exc.detail if isinstance(exc, NewsragError) else str(exc)
        return Rejected(ref, detail, retry=isinstance(exc, FetchFailed))
    return _with_feed_fields(item, entry, feed_title, link, document_id)


def _plain(text: str, document_id: str) -> Article:
    return Article(text=text, title="", document_id=document_id)


def _with_feed_fields(
    item: ParsedItem, entry: Mapping[str, Any], feed_title: str, link: str | None, doc_id: str
) -> ParsedItem:
    """The feed is authoritative for what it says about its entries: title, date, author."""
    article = item.article
    title = " ".join(str(entry.get("title") or "").split())
    metadata = dict(article.metadata)
    author = str(entry.get("author") or "").strip()
    if author:
        metadata["author"] = author
    first_line = article.text.strip().split("\n", 1)[0]
    article = dataclasses.replace(
        article,
        document_id=doc_id,
        title=clip_title(title) if title else article.title or clip_title(first_line),
        url=link or article.url,
        source=feed_title or article.source,
        published_at=entry_date(entry) or article.published_at,
        metadata=metadata,
    )
    return dataclasses.replace(item, article=article)


def feed_items(
    feed: Feed, fetch_page: PageFetcher | None
) -> Iterator[tuple[str, ParsedItem | Rejected]]:
    """Each entry's ref and its story or rejection, in feed order. The linked pages of
    summary-only entries are fetched a few at a time, ahead of their extraction."""
    if fetch_page is None:
        for entry in feed.entries:
            yield _labelled(entry, item_from_entry(entry, feed.title, None))
        return
    with ThreadPoolExecutor(PAGE_FETCHERS, thread_name_prefix="newsrag-page") as pool:
        for start in range(0, len(feed.entries), PAGE_BATCH):
            batch = feed.entries[start : start + PAGE_BATCH]
            links = {
                link
                for entry in batch
                if _full_content(entry) is None and (link := str(entry.get("link") or "").strip())
            }
            pages = {link: pool.submit(fetch_page, link) for link in links}
            prefetched = partial(_prefetched, pages, fetch_page)
            for entry in batch:
                yield _labelled(entry, item_from_entry(entry, feed.title, prefetched))


def _prefetched(
    pages: Mapping[str, Future[Fetched]], fetch_page: PageFetcher, link: str
) -> Fetched:
    return pages[link].result() if link in pages else fetch_page(link)


def _labelled(
    entry: Mapping[str, Any], item: ParsedItem | Rejected
) -> tuple[str, ParsedItem | Rejected]:
    return (item.ref if isinstance(item, Rejected) else entry_ref(entry)), item
