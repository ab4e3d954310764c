"""/v1/sources: register a feed (synced at once, then every N minutes), list, remove."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from newsrag.api.routes.deps import SourcesDep
from newsrag.schemas import SourceIn, SourceList, SourceOut

router = APIRouter(prefix="/v1/sources", tags=["sources"])
SourcePath = Annotated[str, Path(min_length=1, max_length=200, description="The source id.")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": SourceOut, "description": "Already registered: updated and synced."},
        422: {"description": "Not http(s), or the host resolves to a private address."},
    },
    summary="Register a feed (admin key): synced at once, then every `every_minutes`",
)
def register_source(body: SourceIn, sources: SourcesDep, response: Response) -> SourceOut:
    source, created = sources.register(body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return source


@router.get("", summary="Registered sources with the result of their last sync")
def list_sources(sources: SourcesDep) -> SourceList:
    return sources.list()


@router.delete(
    "/{source_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop syncing a source (admin key); its stories stay in the archive",
)
def delete_source(source_id: SourcePath, sources: SourcesDep) -> Response:
    sources.delete(source_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
