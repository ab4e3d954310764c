"""Items from newsroom sources (pages, ninjs, NewsML-G2, feeds) into the archive.

A live item is ingested like any article (a changed text is a new version whose changed
sentences are flagged as corrected; a source's correction signal is kept in the version's
metadata as ``signal: correction``). A withdrawn (killed) item takes its story out of answers,
keeping its record and versions; a withdrawal of a story never stored stores nothing (there is
nothing to take out of answers, and an empty record would only clutter the archive) and still
reports ``withdrawn``. A later live item of the same id restores the story.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

from newsrag.errors import InvalidInput, NotFound
from newsrag.ingest.batches import ARTICLE_ERRORS, IngestReport, reason
from newsrag.ingest.formats.item import ParsedItem
from newsrag.ingest.pipeline import Ingestor
from newsrag.models import Article, IngestResult
from newsrag.text.ids import DOCUMENT_ID_RULE, derive_document_id, is_valid_document_id


def with_signal(item: ParsedItem) -> Article:
    """The item's article, marked ``signal: correction`` when its source says it corrects."""
    if not item.correction or item.article.metadata.get("signal") == "correction":
        return item.article
    return replace(item.article, metadata={**item.article.metadata, "signal": "correction"})


def ingest_item(ingestor: Ingestor, item: ParsedItem) -> IngestResult:
    """Store a live item, or withdraw the story a withdrawn one names."""
    if not item.withdrawn:
        return ingestor.ingest(with_signal(item))
    article = item.article
    document_id = article.document_id or (
        derive_document_id(article.text) if article.text.strip() else None
    )
    if document_id is None:
        raise InvalidInput("document_id: a withdrawal must name the story", field="document_id")
    return withdraw(ingestor, document_id, article.title)


def ingest_items(
    ingestor: Ingestor,
    items: Iterable[tuple[str, ParsedItem | Exception]],
    on_progress: Callable[[int], object] | None = None,
    batch_size: int = 32,
) -> IngestReport:
    """Ingest many labelled items (an exception: one that could not be read) in batches, as
    ``Ingestor.ingest_many`` does; withdrawals are applied once every live item is stored, so
    that a story and its kill in one run end withdrawn whatever their order. A bad item is
    recorded with its reason and the rest go on."""
    withdrawals: list[tuple[str, ParsedItem]] = []

    def live() -> Iterator[tuple[str, Article | Exception]]:
        for label, item in items:
            if isinstance(item, ParsedItem) and item.withdrawn:
                withdrawals.append((label, item))
            else:
                yield label, with_signal(item) if isinstance(item, ParsedItem) else item

    report = ingestor.ingest_many(live(), on_progress, batch_size)
    for label, item in withdrawals:
        try:
            report.results.append(ingest_item(ingestor, item))
        except ARTICLE_ERRORS as exc:
            report.failures.append((label, reason(exc)))
        if on_progress is not None:
            on_progress(1)
    return report


def withdraw(ingestor: Ingestor, document_id: str, title: str = "") -> IngestResult:
    """Take a story out of answers (see the module's docstring); ``title`` is reported when
    there was no such story."""
    if not is_valid_document_id(document_id):
        raise InvalidInput(f"document_id: {DOCUMENT_ID_RULE}", field="document_id")
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    try:
        record = ingestor.store.withdraw_document(document_id, now)
    except NotFound:
        return IngestResult(document_id, "withdrawn", 0, title)
    return IngestResult(document_id, "withdrawn", 0, record.title)
