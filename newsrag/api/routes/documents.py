"""/v1/documents: ingest, list, show, delete."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from newsrag.api.routes.deps import ServicesDep
from newsrag.errors import InvalidInput, NotFound
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
from newsrag.text.ids import MAX_DOCUMENT_ID_CHARS
from newsrag.text.titles import title_from_text

router = APIRouter(prefix="/v1/documents", tags=["documents"])
DocumentPath = Annotated[
    str, Path(min_length=1, max_length=MAX_DOCUMENT_ID_CHARS, description="The document id.")
]


def _summary(document: StoredDocument) -> DocumentSummary:
    return DocumentSummary(
        document_id=document.document_id,
        title=document.title,
        url=document.url,
        source=document.source,
        published_at=document.published_at,
        chunks=document.chunks,
        ingested_at=document.ingested_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": IngestOut, "description": "Updated, or unchanged (same text)."},
        409: {
            "description": "The write could not be committed safely (problem details with "
            "Retry-After); sending it again is safe. Concurrent writes of one id never leave "
            "it partial: the last one to commit wins, whole."
        },
    },
    summary="Ingest (create or replace) one article",
)
def ingest_document(body: DocumentIn, services: ServicesDep, response: Response) -> IngestOut:
    article = Article(
        text=body.text,
        title=body.title or title_from_text(body.text),
        document_id=body.document_id,
        url=body.url,
        source=body.source,
        published_at=parse_published(body.published_at),
        metadata=dict(body.metadata),
    )
    result = services.ingestor.ingest(article)
    if result.status != "created":
        response.status_code = status.HTTP_200_OK
    return IngestOut(
        document_id=result.document_id,
        status=result.status,
        chunks=result.chunks,
        title=result.title,
    )


def _decode_cursor(cursor: str) -> str:
    padded = cursor.encode() + b"=" * (-len(cursor) % 4)
    try:
        decoded = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    if not decoded:
        raise InvalidInput("cursor: not a cursor returned by this API", field="cursor")
    return decoded


@router.get("", summary="List documents, paged (ordered by document_id)")
def list_documents(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> DocumentList:
    documents = sorted(services.store.list_documents(), key=lambda d: d.document_id)
    if cursor:
        after = _decode_cursor(cursor)
        documents = [d for d in documents if d.document_id > after]
    page = documents[:limit]
    next_cursor = None
    if len(documents) > limit:
        next_cursor = base64.urlsafe_b64encode(page[-1].document_id.encode()).decode().rstrip("=")
    return DocumentList(documents=[_summary(d) for d in page], next_cursor=next_cursor)


def _version(record: VersionRecord) -> VersionSummary:
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


@router.get(
    "/{document_id:path}/versions",
    summary="The texts a document has had (corrections), oldest first",
)
def list_versions(document_id: DocumentPath, services: ServicesDep) -> VersionList:
    versions = services.store.versions(document_id)
    return VersionList(document_id=document_id, versions=[_version(v) for v in versions])


@router.get(
    "/{document_id:path}/versions/{version}",
    summary="One version of a document with its exact text",
)
def get_version(
    document_id: DocumentPath,
    version: Annotated[int, Path(ge=1, le=1_000_000)],
    services: ServicesDep,
) -> VersionDetail:
    for record in services.store.versions(document_id, with_text=True):
        if record.version == version:
            return VersionDetail(**_version(record).model_dump(), text=record.text or "")
    raise NotFound(f"document {document_id!r} has no version {version}", document_id=document_id)


@router.get("/{document_id:path}", summary="One document with its exact text")
def get_document(document_id: DocumentPath, services: ServicesDep) -> DocumentDetail:
    document = services.store.get_document(document_id)
    return DocumentDetail(
        **_summary(document).model_dump(), text=document.text or "", metadata=document.metadata
    )


@router.delete(
    "/{document_id:path}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a document: nothing of it is retrieved or cited afterwards",
)
def delete_document(document_id: DocumentPath, services: ServicesDep) -> Response:
    services.store.delete_document(document_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
