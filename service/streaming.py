"""Turn an answer into the SSE events of the contract: token…, citation…, done."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from core.errors import NewsragError
from service.answering import AskService
from service.schemas import AskRequest

_PIECE = re.compile(r"\S+\s*")


def answer_events(service: AskService, request: AskRequest) -> Iterator[tuple[str, Any]]:
    """Events for one question. Extractive answers are complete before the first token."""
    try:
        mode, _ = service.mode_for(request)
        if mode == "generative" and service.generative is not None:
            yield from service.stream_generative(request)
            return
        response = service.ask(request)
    except NewsragError as exc:
        yield (
            "error",
            {"type": exc.type_uri, "title": exc.title, "status": exc.status, "detail": exc.detail},
        )
        return
    for piece in _PIECE.findall(response.answer):
        yield "token", {"text": piece}
    for citation in response.citations:
        yield "citation", citation.model_dump()
    yield "done", response.model_dump()
