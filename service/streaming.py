"""Turn an answer into the SSE events of the contract: token…, citation…, done."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from core.errors import NewsragError
from service.answering import AskService
from service.schemas import AskRequest

_PIECE = re.compile(r"\S+\s*")


def token_pieces(answer: str) -> list[str]:
    """The answer cut into word-sized token events; joined they give the answer back."""
    return _PIECE.findall(answer) or ([answer] if answer else [])


def answer_events(service: AskService, request: AskRequest) -> Iterator[tuple[str, Any]]:
    """Events for one question. Extractive answers are complete before the first token;
    generative ones stream sentence by sentence, each verified before it is sent."""
    try:
        mode, _ = service.mode_for(request)
        if mode == "generative":
            yield from service.stream_generative(request)
            return
        response = service.ask(request)
    except NewsragError as exc:
        yield (
            "error",
            {
                "type": exc.type_uri,
                "title": exc.title,
                "status": exc.status,
                "detail": exc.detail,
            },
        )
        return
    for piece in token_pieces(response.answer):
        yield "token", {"text": piece}
    for citation in response.citations:
        yield "citation", citation.model_dump()
    yield "done", response.model_dump()
