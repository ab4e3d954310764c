"""One sync of a source: a feed URL, a folder or a file, every story through the batched ingest.

Per story the report says created, updated (a new version), unchanged, withdrawn or rejected
(with the reason); the source itself either synced, was not modified (a conditional GET answered
304: nothing read, nothing embedded), or failed with one reason. A story that drops out of a
feed stays in the archive (feeds are windows); only an explicit withdrawal takes it out of
answers (in a folder, withdrawals are applied after the live items). One bad story never
stops the others, and nothing stored is lost by a failure: each
document is committed whole or not at all (see ``ingest.batches``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from newsrag.config import SourceSettings
from newsrag.errors import FetchFailed, InvalidInput, LeaseLost, NewsragError
from newsrag.ingest.batches import ARTICLE_ERRORS, reason
from newsrag.ingest.formats.detect import read_item
from newsrag.ingest.formats.ids import id_from_uri
from newsrag.ingest.formats.item import ORIGIN, ParsedItem, Rejected
from newsrag.ingest.loaders import iter_files, load_items
from newsrag.ingest.newsroom import ingest_items
from newsrag.ingest.pipeline import Ingestor
from newsrag.ingest.sources.feeds import Feed, feed_items, parse_feed
from newsrag.ingest.sources.fetch import Fetched, Fetcher

Outcome = Literal["created", "updated", "unchanged", "withdrawn", "rejected"]
OUTCOMES: tuple[Outcome, ...] = ("created", "updated", "unchanged", "withdrawn", "rejected")
SyncStatus = Literal["synced", "not_modified", "failed"]
# Rejections kept in a registered source's last result (the CLI prints them all).
FIRST_REJECTIONS = 5
log = logging.getLogger(__name__)
# stories whose ids are looked up in the store at once (whose they are, see ``_own``)
OWNER_BATCH = 64
_FEED_MARKERS = (b"<rss", b"<feed", b"<rdf:rdf", b"<channel")


@dataclass
class SyncReport:
    source: str
    status: SyncStatus = "synced"
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    rejected: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    note: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    seconds: float = 0.0
    # some rejection may pass another time (a page not fetched, a store or embedder error):
    # the source's validators are then not to be kept, so that the next poll reads it again
    retry: bool = False

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def items(self) -> int:
        return sum(self.counts.values())

    def reject(self, ref: str, why: str) -> None:
        self.counts["rejected"] += 1
        self.rejected.append((ref, why))

    def summary(self) -> dict[str, Any]:
        """What a registered source keeps of its last sync (``GET /v1/sources``)."""
        return {
            "status": self.status,
            "counts": dict(self.counts),
            "rejected": [{"ref": r, "reason": w} for r, w in self.rejected[:FIRST_REJECTIONS]],
            "error": self.error,
            "note": self.note,
            "seconds": round(self.seconds, 3),
        }

    def line(self) -> str:
        """One line for a person: what the sync did."""
        if self.status == "failed":
            return f"{self.source}: failed: {self.error}"
        if self.status == "not_modified":
            return f"{self.source}: not modified since the last sync (nothing read)"
        counts = ", ".join(f"{name} {self.counts[name]}" for name in OUTCOMES)
        rate = self.items / self.seconds if self.seconds > 0 else 0.0
        note = f" ({self.note})" if self.note else ""
        return f"{self.source}: {counts} in {self.seconds:.1f} s ({rate:.1f} items/s){note}"


Progress = Callable[[int], object]


@dataclass
class SyncContext:
    """What a sync needs besides the source: the ingestor, the bounds, and optionally the
    validators of the last fetch (conditional GET) and progress callbacks."""

    ingestor: Ingestor
    settings: SourceSettings
    etag: str | None = None
    last_modified: str | None = None
    on_total: Callable[[int], object] | None = None
    on_progress: Progress | None = None
    fetcher: Fetcher | None = None


def is_url(source: str) -> bool:
    return "://" in source


def sync(source: str, context: SyncContext) -> SyncReport:
    """Sync ``source`` once; never raises for a bad source (the report says why it failed)."""
    started = time.perf_counter()
    report = SyncReport(source)
    try:
        if is_url(source):
            _sync_url(source, context, report)
        else:
            _sync_path(Path(source), context, report)
    except LeaseLost:
        raise  # not the source's failure: the replica that holds it now reports it
    except NewsragError as exc:
        report.status, report.error = "failed", exc.detail
    except Exception as exc:  # a bug or a case not foreseen: the source fails, the caller goes on
        log.exception("sync of %s failed unexpectedly", source)
        text = " ".join(str(exc).split())[:200]
        report.status, report.error = "failed", f"unexpected {type(exc).__name__}: {text}"
    report.seconds = time.perf_counter() - started
    return report


def _sync_url(url: str, context: SyncContext, report: SyncReport) -> None:
    fetcher = context.fetcher or Fetcher(context.settings)
    try:
        fetched = fetcher.fetch(url, etag=context.etag, last_modified=context.last_modified)
        report.etag, report.last_modified = fetched.etag, fetched.last_modified
        if fetched.not_modified:
            report.status = "not_modified"
            return
        items = _items_of_fetched(fetched, fetcher, context.settings, report)
        _ingest(_own(items, url, context.ingestor), context, report)
    finally:
        if context.fetcher is None:
            fetcher.close()


def _looks_like_feed(data: bytes, content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    if kind.endswith(("rss+xml", "atom+xml", "rdf+xml")):
        return True
    head = data[:2048].lower()
    return any(marker in head for marker in _FEED_MARKERS)


Items = Iterable[tuple[str, ParsedItem | Rejected]]


def _items_of_fetched(
    fetched: Fetched, fetcher: Fetcher, settings: SourceSettings, report: SyncReport
) -> Items:
    """A feed's entries, or the items of one document (a page, ninjs, NewsML-G2) at the url;
    a page without an id of its own is keyed by its url, so a changed page is a new version."""
    if _looks_like_feed(fetched.body, fetched.content_type):
        feed = parse_feed(fetched.body, settings.max_entries)
        report.note = feed.note
        return _FeedEntries(feed, fetcher)
    try:
        found = read_item(fetched.body, name=fetched.url, content_type=fetched.content_type)
    except InvalidInput as exc:
        raise InvalidInput(
            f"{exc.detail} (neither an RSS/Atom feed nor a page, ninjs or NewsML-G2 item)"
        ) from None
    items: list[tuple[str, ParsedItem | Rejected]] = []
    for number, item in enumerate(found):
        ref = fetched.url if len(found) == 1 else f"{fetched.url}[{number}]"
        if not item.article.document_id:
            article = dataclasses.replace(item.article, document_id=id_from_uri(ref))
            item = dataclasses.replace(item, article=article)
        items.append((ref, item))
    return items


@dataclass
class _FeedEntries:
    """A feed's stories, counted up front (for a progress bar's total); summary-only entries'
    pages come through ``fetcher`` (None: local sources fetch nothing)."""

    feed: Feed
    fetcher: Fetcher | None

    def __len__(self) -> int:
        return len(self.feed.entries)

    def __iter__(self) -> Iterator[tuple[str, ParsedItem | Rejected]]:
        fetcher = self.fetcher
        return feed_items(self.feed, fetcher.fetch if fetcher else None)


def _sync_path(path: Path, context: SyncContext, report: SyncReport) -> None:
    if not path.exists():
        raise InvalidInput(f"{path}: no such file or folder, and not a URL")
    if path.is_file():
        data = _read(path, context.settings)
        if _looks_like_feed(data, ""):
            feed = parse_feed(data, context.settings.max_entries)
            report.note = feed.note
            _ingest(_FeedEntries(feed, None), context, report)
            return
    items = list(_file_items(list(iter_files([path])), context.settings))
    # a story withdrawn in this folder is not stored again from its live item first (that
    # would restore and re-embed it on every sync, only to withdraw it again)
    killed = {
        item.article.document_id
        for _, item in items
        if isinstance(item, ParsedItem) and item.withdrawn and item.article.document_id
    }
    kept = [
        (ref, item)
        for ref, item in items
        if isinstance(item, Rejected) or item.withdrawn or item.article.document_id not in killed
    ]
    _ingest(kept, context, report)


def _read(path: Path, settings: SourceSettings) -> bytes:
    if path.stat().st_size > settings.max_bytes:
        raise InvalidInput(f"{path}: file larger than {settings.max_bytes:,} bytes")
    return path.read_bytes()


def _file_items(files: list[Path], settings: SourceSettings) -> Items:
    """Each file's items (pages, ninjs, NewsML-G2, text and JSON articles; a feed file's
    entries), or the reason it cannot be read."""
    for path in files:
        try:
            data = _read(path, settings)
            if _looks_like_feed(data, ""):
                items: list[tuple[str, ParsedItem | Rejected]] = list(
                    feed_items(parse_feed(data, settings.max_entries), None)
                )
            else:
                found = load_items(path)
                items = [
                    (str(path) if len(found) == 1 else f"{path}[{n}]", item)
                    for n, item in enumerate(found)
                ]
        except ARTICLE_ERRORS as exc:
            yield str(path), Rejected(str(path), reason(exc).removeprefix(f"{path}: "))
            continue
        yield from items


class _Counted:
    """Items with a length known up front (for the progress bar) after a transformation."""

    def __init__(self, items: Items, length: int) -> None:
        self._items, self._length = items, length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[tuple[str, ParsedItem | Rejected]]:
        return iter(self._items)


def _own(items: Items, url: str, ingestor: Ingestor) -> Items:
    """A URL source's items, each marked with the source it came from (``metadata.origin``: the
    source's id, the same for ``http://…/feed`` and ``https://…/feed/``); an item naming a story
    that another source stored is rejected, not applied: a feed must not replace or withdraw a
    story it does not hold (its guids are its own to choose). A story without an origin (stored
    by a caller, or before origins were kept) is taken over by the first source that names it."""
    origin = id_from_uri(url.strip())
    owned = _owned(items, origin, ingestor)
    return _Counted(owned, len(items)) if isinstance(items, Sized) else owned


def _owned(
    items: Items, origin: str, ingestor: Ingestor
) -> Iterator[tuple[str, ParsedItem | Rejected]]:
    batch: list[tuple[str, ParsedItem | Rejected]] = []
    for entry in items:
        batch.append(entry)
        if len(batch) >= OWNER_BATCH:
            yield from _checked(batch, origin, ingestor)
            batch = []
    yield from _checked(batch, origin, ingestor)


def _checked(
    batch: list[tuple[str, ParsedItem | Rejected]], origin: str, ingestor: Ingestor
) -> Iterator[tuple[str, ParsedItem | Rejected]]:
    ids = [
        item.article.document_id
        for _, item in batch
        if isinstance(item, ParsedItem) and item.article.document_id
    ]
    held = ingestor.store.get_documents(ids) if ids else {}
    for ref, item in batch:
        if isinstance(item, Rejected):
            yield ref, item
            continue
        record = held.get(item.article.document_id or "")
        holder = record.metadata.get(ORIGIN) if record is not None else None
        if holder and holder != origin:
            reason = f"document_id {item.article.document_id!r} is held by the source {holder}"
            yield ref, Rejected(ref, f"{reason}; not replaced")
            continue
        article = item.article
        metadata = {**article.metadata, ORIGIN: origin}
        yield (
            ref,
            dataclasses.replace(item, article=dataclasses.replace(article, metadata=metadata)),
        )


def _ingest(items: Items, context: SyncContext, report: SyncReport) -> None:
    """Ingest the stories through the batched pipeline (withdrawals after the live items, see
    ``newsroom.ingest_items``) and count what became of each."""
    if context.on_total is not None and isinstance(items, Sized):
        context.on_total(len(items))
    permanent: set[str] = set()  # refs rejected for what they are, not for a passing failure

    def labelled() -> Iterator[tuple[str, ParsedItem | Exception]]:
        for ref, item in items:
            if isinstance(item, Rejected):
                if not item.retry:
                    permanent.add(ref)
                yield ref, FetchFailed(item.reason)
            else:
                yield ref, item

    ingested = ingest_items(context.ingestor, labelled(), context.on_progress)
    for result in ingested.results:
        report.counts[result.status] += 1
    for ref, why in ingested.failures:
        report.reject(ref, why)
        if ref not in permanent:  # a fetch, store or embedder failure (or one not told apart)
            report.retry = True
