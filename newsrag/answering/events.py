"""Turn an answer into the SSE events of the contract: token…, citation…, done (or error)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from newsrag.answering.service import AskService
from newsrag.errors import NewsragError, problem_body_for
from newsrag.schemas import AskRequest, AskResponse

log = logging.getLogger(__name__)
_PIECE = re.compile(r"\S+\s*")


def token_pieces(answer: str) -> list[str]:
    """The answer cut into word-sized token events; joined they give the answer back."""
    return _PIECE.findall(answer) or ([answer] if answer else [])


def answer_events(service: AskService, request: AskRequest) -> Iterator[tuple[str, Any]]:
    """Events for one question. Extractive answers are complete before the first token;
    generative ones stream sentence by sentence, each verified before it is sent.

    Whatever fails, the stream ends with one ``error`` event (problem details) and nothing
    after it: the response has started, so no status code can tell the client any more."""
    try:
        mode, _ = service.mode_for(request)
        if mode == "generative":
            yield from service.stream_generative(request)
            return
        events = list(replay(service.ask(request)))
    except Exception as exc:
        yield "error", error_payload(exc)
        return
    yield from events


def replay(response: AskResponse) -> Iterator[tuple[str, Any]]:
    """A complete response as the contract's events: tokens, citations, then ``done``."""
    for piece in token_pieces(response.answer):
        yield "token", {"text": piece}
    for citation in response.citations:
        yield "citation", citation.model_dump()
    yield "done", response.model_dump()


def error_payload(exc: Exception) -> dict[str, Any]:
    """The problem details of a failed stream; an unexpected exception is logged here."""
    if isinstance(exc, NewsragError):
        if exc.status >= 500:
            log.warning("%s: %s", exc.title, exc.detail)
    else:
        log.exception("unhandled error in a stream")
    return problem_body_for(exc)
