"""Stories a source withdrew (ninjs ``canceled``, NewsML-G2 ``stat:canceled``) taken out of
answers, their versions kept."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from newsrag.errors import NewsragError
from newsrag.ingest.formats.item import ParsedItem
from newsrag.ingest.pipeline import Ingestor


def withdraw_items(
    ingestor: Ingestor, items: Sequence[ParsedItem]
) -> Iterator[tuple[str, str | None]]:
    """Withdraw each item's story: its ref and None when done, else the reason it failed."""
    for item in items:
        ref = item.article.document_id or item.article.url or item.article.title
        try:
            ingestor.withdraw(item.article)
        except NewsragError as exc:
            yield ref, exc.detail
            continue
        yield ref, None
