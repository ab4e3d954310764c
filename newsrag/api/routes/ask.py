"""/v1/ask, /v1/chat (Server-Sent Events) and /v1/search."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from sse_starlette.sse import EventSourceResponse

from newsrag.answering.events import answer_events
from newsrag.api.routes.deps import ServicesDep
from newsrag.schemas import AskRequest, AskResponse, SearchRequest, SearchResponse

router = APIRouter(prefix="/v1", tags=["ask"])

SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "With `stream: true`: Server-Sent Events `token` ({text}), `citation` "
        "(a citation object), `error` (problem details) and a final `done` (the whole response).",
        "content": {"text/event-stream": {}},
    }
}


def _sse(events: Iterator[tuple[str, Any]]) -> EventSourceResponse:
    def encode() -> Iterator[dict[str, str]]:
        for event, payload in events:
            yield {"event": event, "data": json.dumps(payload, ensure_ascii=False)}

    # on shutdown, let an answer in flight finish (uvicorn waits 10 s for in-flight requests)
    return EventSourceResponse(
        encode(), ping=15, headers={"Cache-Control": "no-store"}, shutdown_grace_period=8
    )


@router.post("/ask", response_model=AskResponse, responses=SSE_RESPONSE, summary="Ask a question")
def ask(body: AskRequest, services: ServicesDep) -> AskResponse | EventSourceResponse:
    if body.stream:
        return _sse(answer_events(services.ask, body))
    return services.ask.ask(body)


@router.post(
    "/chat",
    response_class=EventSourceResponse,
    responses=SSE_RESPONSE,
    summary="Ask with history, answered as Server-Sent Events",
)
def chat(body: AskRequest, services: ServicesDep) -> EventSourceResponse:
    return _sse(answer_events(services.ask, body))


@router.post("/search", summary="The passages retrieval would use, best first")
def search(body: SearchRequest, services: ServicesDep) -> SearchResponse:
    return SearchResponse(results=services.ask.search(body))
