"""/v1/documents: ingest, list, show, delete, versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from newsrag.api.routes.deps import DocumentsDep
from newsrag.schemas import (
    DocumentDetail,
    DocumentIn,
    DocumentList,
    IngestOut,
    VersionDetail,
    VersionList,
)
from newsrag.text.ids import MAX_DOCUMENT_ID_CHARS

router = APIRouter(prefix="/v1/documents", tags=["documents"])
DocumentPath = Annotated[
    str, Path(min_length=1, max_length=MAX_DOCUMENT_ID_CHARS, description="The document id.")
]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": IngestOut,
            "description": "Updated, unchanged (same text), or withdrawn (a canceled item).",
        },
        409: {
            "description": "The write could not be committed safely (problem details with "
            "Retry-After); sending it again is safe. Concurrent writes of one id never leave "
            "it partial: the last one to commit wins, whole."
        },
    },
    summary="Ingest (create or replace) one article",
)
def ingest_document(body: DocumentIn, documents: DocumentsDep, response: Response) -> IngestOut:
    result = documents.ingest(body)
    if result.status != "created":
        response.status_code = status.HTTP_200_OK
    return result


@router.get("", summary="List documents, paged (ordered by document_id)")
def list_documents(
    documents: DocumentsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> DocumentList:
    return documents.list(limit, cursor)


@router.get(
    "/{document_id:path}/versions",
    summary="The texts a document has had (corrections), oldest first",
)
def list_versions(document_id: DocumentPath, documents: DocumentsDep) -> VersionList:
    return documents.versions(document_id)


@router.get(
    "/{document_id:path}/versions/{version}",
    summary="One version of a document with its exact text",
)
def get_version(
    document_id: DocumentPath,
    version: Annotated[int, Path(ge=1, le=1_000_000)],
    documents: DocumentsDep,
) -> VersionDetail:
    return documents.version(document_id, version)


@router.get("/{document_id:path}", summary="One document with its exact text")
def get_document(document_id: DocumentPath, documents: DocumentsDep) -> DocumentDetail:
    return documents.get(document_id)


@router.delete(
    "/{document_id:path}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a document: nothing of it is retrieved or cited afterwards",
)
def delete_document(document_id: DocumentPath, documents: DocumentsDep) -> Response:
    documents.delete(document_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
