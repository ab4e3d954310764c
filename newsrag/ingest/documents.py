"""The documents use case behind ``/v1/documents``: ingest, list, show, delete, versions.

Takes and returns the HTTP contract's models (``newsrag.schemas``), so a route only binds the
request to a call. Paging is by document id: a cursor is the last id of the previous page,
base64url-encoded so that clients treat it as opaque.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace

from newsrag.components.store.chroma import ChromaStore
from newsrag.errors import InvalidInput, NotFound
from newsrag.ingest.formats.html import article_from_html
from newsrag.ingest.formats.item import ORIGIN, ParsedItem
from newsrag.ingest.formats.newsml import item_from_newsml
from newsrag.ingest.formats.ninjs import item_from_ninjs
from newsrag.ingest.newsroom import ingest_item
from newsrag.ingest.pipeline import Ingestor
from newsrag.models import Article, StoredDocument, VersionRecord
from newsrag.schemas import (
    DocumentDetail,
    DocumentIn,
    DocumentList,
    DocumentSummary,
    IngestOut,
    VersionDetail,
    VersionList,
    VersionSummary,
)
from newsrag.text.dates import parse_published
from newsrag.text.titles import title_from_text

BODY_FIELDS = ("text", "html", "ninjs", "newsml")


class DocumentsService:
    """Documents as the API shows them, read from the store and written by the ingestor."""

    def __init__(self, store: ChromaStore, ingestor: Ingestor) -> None:
        self._store = store
        self._ingestor = ingestor

    def ingest(self, document: DocumentIn) -> IngestOut:
        """Create or replace one document from its text, a page, a ninjs or a NewsML-G2 item
        (a title defaults to the text's first line); a withdrawn item withdraws its story."""
        result = ingest_item(self._ingestor, item_of(document))
        return IngestOut(
            document_id=result.document_id,
            status=result.status,
            chunks=result.chunks,
            title=result.title,
        )

    def list(self, limit: int, cursor: str | None = None) -> DocumentList:
        """Up to ``limit`` documents in document-id order, after the one ``cursor`` names."""
        documents = sorted(self._store.list_documents(), key=lambda d: d.document_id)
        if cursor:
            after = decode_cursor(cursor)
            documents = [d for d in documents if d.document_id > after]
        page = documents[:limit]
        next_cursor = encode_cursor(page[-1].document_id) if len(documents) > limit else None
        return DocumentList(documents=[summary(d) for d in page], next_cursor=next_cursor)

    def get(self, document_id: str) -> DocumentDetail:
        """One document with its exact text; :class:`NotFound` if there is none."""
        document = self._store.get_document(document_id)
        return DocumentDetail(
            **summary(document).model_dump(), text=document.text or "", metadata=document.metadata
        )

    def delete(self, document_id: str) -> None:
        """Delete a document and its history; :class:`NotFound` if there is none."""
        self._store.delete_document(document_id)

    def versions(self, document_id: str) -> VersionList:
        """Every text the document has had, oldest first; the last one is current."""
        versions = self._store.versions(document_id)
        return VersionList(document_id=document_id, versions=[version_summary(v) for v in versions])

    def version(self, document_id: str, version: int) -> VersionDetail:
        """One version of a document with its exact text; :class:`NotFound` if there is none."""
        for record in self._store.versions(document_id, with_text=True):
            if record.version == version:
                return VersionDetail(**version_summary(record).model_dump(), text=record.text or "")
        raise NotFound(
            f"document {document_id!r} has no version {version}", document_id=document_id
        )


def item_of(document: DocumentIn) -> ParsedItem:
    """The item a body sends: exactly one of text, html, ninjs and newsml; the body's other
    fields, when sent, win over what the format says."""
    sent = [name for name in BODY_FIELDS if getattr(document, name) is not None]
    if len(sent) != 1:
        field = sent[1] if sent else "text"
        got = ", ".join(sent) if sent else "none"
        message = f"send exactly one of {', '.join(BODY_FIELDS)} (got {got})"
        raise InvalidInput(
            f"{field}: {message}",
            field=field,
            errors=[{"field": field, "message": message}],
        )
    if ORIGIN in document.metadata:
        message = "set by newsrag on the stories of the sources it syncs; use another key"
        raise InvalidInput(
            f"metadata.{ORIGIN}: {message}",
            field=f"metadata.{ORIGIN}",
            errors=[{"field": f"metadata.{ORIGIN}", "message": message}],
        )
    if document.text is not None:
        text = document.text
        item = ParsedItem(Article(text=text, title=title_from_text(text)))
    elif document.html is not None:
        item = article_from_html(document.html, url=document.url, source=document.source)
    elif document.ninjs is not None:
        item = item_from_ninjs(document.ninjs)
    else:
        item = item_from_newsml(document.newsml or "")
    article = item.article
    article = replace(
        article,
        title=document.title or article.title,
        document_id=document.document_id or article.document_id,
        url=document.url or article.url,
        source=document.source or article.source,
        published_at=parse_published(document.published_at) or article.published_at,
        metadata={**article.metadata, **document.metadata},
    )
    return replace(item, article=article)


def summary(document: StoredDocument) -> DocumentSummary:
    return DocumentSummary(
        document_id=document.document_id,
        title=document.title,
        url=document.url,
        source=document.source,
        published_at=document.published_at,
        chunks=document.chunks,
        ingested_at=document.ingested_at,
        withdrawn_at=document.withdrawn_at,
    )


def version_summary(record: VersionRecord) -> VersionSummary:
    return VersionSummary(
        version=record.version,
        text_hash=record.text_hash,
        title=record.title,
        published_at=record.published_at,
        ingested_at=record.ingested_at,
        superseded_at=record.superseded_at,
        current=record.superseded_at is None,
        chars=record.chars,
    )


def encode_cursor(document_id: str) -> str:
    return base64.urlsafe_b64encode(document_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The document id a cursor names; :class:`InvalidInput` for anything else."""
    padded = cursor.encode() + b"=" * (-len(cursor) % 4)
    try:
        decoded = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    if not decoded:
        raise InvalidInput("cursor: not a cursor returned by this API", field="cursor")
    return decoded
