"""The texts a document has had: a chain of archived records, numbered when read.

A write that replaces a document's text archives the record it replaced under that record's
write id, and its own record points to it (``previous_write``); each archived record points to
the one before. Listing walks the chain back from the current record, so writes that lost a
race (their record was overwritten before anyone replaced it) are not in it, and numbering by
position gives every version a unique number, 1 to n, whatever the races were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

from newsrag.components.store.rows import RECORD_VERSION_KEY
from newsrag.models import MetadataValue, StoredDocument, VersionRecord


def archived(previous: StoredDocument) -> tuple[str, dict[str, MetadataValue]]:
    """The history row's id and metadata for a record being replaced (its text is the row's
    document). Idempotent: every writer that replaces the same record writes the same row."""
    record: dict[str, MetadataValue] = {
        "document_id": previous.document_id,
        "write": previous.write,
        "previous_write": previous.previous_write,
        RECORD_VERSION_KEY: previous.version,
        "text_hash": previous.text_hash,
        "title": previous.title,
        "ingested_at": previous.ingested_at,
        "chars": len(previous.text or ""),
    }
    if previous.published_at:
        record["published_at"] = previous.published_at
    return f"{previous.document_id}#{previous.write}", record


def chain(
    current: StoredDocument,
    rows: Sequence[tuple[dict[str, Any], str | None]],
    *,
    with_text: bool,
) -> list[VersionRecord]:
    """Every text of ``current``'s chain, oldest first; the last one is current. ``rows`` are
    the document's history rows (metadata, text); rows off the chain are ignored."""
    by_write = {str(meta.get("write", "")): (meta, text) for meta, text in rows}
    found: list[tuple[dict[str, Any], str | None]] = []
    write = current.previous_write
    while write and write in by_write and len(found) < len(by_write):
        meta, text = by_write[write]
        found.append((meta, text))
        write = str(meta.get("previous_write", ""))
    found.reverse()
    history: list[VersionRecord] = []
    for number, (meta, text) in enumerate(found, start=1):
        history.append(
            VersionRecord(
                document_id=current.document_id,
                version=number,
                text_hash=str(meta.get("text_hash", "")),
                title=str(meta.get("title", "")),
                ingested_at=str(meta.get("ingested_at", "")),
                chars=len(text) if text is not None else int(meta.get("chars", 0)),
                published_at=cast(str | None, meta.get("published_at")) or None,
                text=text if with_text else None,
            )
        )
    history.append(
        VersionRecord(
            document_id=current.document_id,
            version=len(found) + 1,
            text_hash=current.text_hash,
            title=current.title,
            ingested_at=current.ingested_at,
            chars=len(current.text or ""),
            published_at=current.published_at,
            text=current.text if with_text else None,
        )
    )
    # a version was superseded when the next one was first ingested
    for position in range(len(history) - 1):
        history[position] = replace(
            history[position], superseded_at=history[position + 1].ingested_at
        )
    return history
