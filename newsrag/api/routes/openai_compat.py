"""OpenAI Chat Completions compatibility: point any OpenAI client's base_url at newsrag."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from newsrag.answering.events import answer_events, error_payload
from newsrag.api.routes.deps import ContainerDep, ServicesDep
from newsrag.config import AnswerMode, ReaderKind
from newsrag.schemas import (
    MAX_HISTORY_TURNS,
    MAX_QUESTION_CHARS,
    AskRequest,
    Citation,
    ReadingOut,
    ShortAnswerSpan,
    ShortAnswerVerdict,
    UserStr,
)

router = APIRouter(prefix="/v1", tags=["openai-compatible"])


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return " ".join(str(part.get("text", "")) for part in self.content)
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "model": "newsrag",
                    "messages": [{"role": "user", "content": "Who signed the letter?"}],
                }
            ]
        },
    )

    model: UserStr = "newsrag"
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_HISTORY_TURNS + 20)
    stream: bool = False
    temperature: float | None = None
    max_tokens: int | None = None
    # newsrag's own, as on /v1/ask
    mode: AnswerMode | None = Field(default=None, description="Default: the server's mode.")
    reader: ReaderKind | None = Field(default=None, description="Default: the server's reader.")


class ChatCompletionResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[dict[str, Any]]
    usage: dict[str, int]
    citations: list[Citation]
    short_answer: ShortAnswerSpan | ShortAnswerVerdict | None = None
    reading: ReadingOut | None = None
    refused: bool = False
    note: str | None = None


def _invalid(errors: list[dict[str, Any]]) -> RequestValidationError:
    """Errors found after FastAPI validated the body, rendered like its own: 422, fields named."""
    return RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in errors])


def to_ask_request(body: ChatCompletionRequest) -> AskRequest:
    """The last user message is the question; earlier user/assistant turns are the history.

    Raises :class:`RequestValidationError` naming ``messages.<i>.content`` (the index in the
    request) for what an :class:`AskRequest` would refuse, e.g. an earlier turn over
    ``MAX_TURN_CHARS`` characters; the last message is cut to ``MAX_QUESTION_CHARS``."""
    turns = [(i, m) for i, m in enumerate(body.messages) if m.role in ("user", "assistant")]
    if not turns or turns[-1][1].role != "user" or not turns[-1][1].text().strip():
        raise _invalid(
            [
                {
                    "loc": ("messages",),
                    "msg": "the last message must be a non-empty user message",
                    "type": "value_error",
                }
            ]
        )
    last_index, last = turns[-1]
    kept = turns[:-1][-MAX_HISTORY_TURNS:]
    try:
        return AskRequest.model_validate(
            {
                "question": last.text()[:MAX_QUESTION_CHARS],
                "history": [{"role": m.role, "content": m.text()} for _, m in kept],
                "mode": body.mode,
                "reader": body.reader,
            }
        )
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_url=False, include_input=False):
            loc = tuple(error["loc"])
            if loc[:1] == ("question",):
                index = last_index
            elif loc[:1] == ("history",) and len(loc) > 1 and isinstance(loc[1], int):
                index = kept[loc[1]][0]
            else:  # nothing else comes from the messages; name the list
                errors.append({**error, "loc": ("messages",)})
                continue
            errors.append({**error, "loc": ("messages", index, "content")})
        raise _invalid(errors) from None


@router.get("/models", summary="The model id the service answers to")
def models(container: ContainerDep) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {
                "id": container.settings.model_name,
                "object": "model",
                "created": 0,
                "owned_by": "newsrag",
            }
        ],
    }


def _chunk(completion_id: str, model: str, delta: dict[str, Any], **extra: Any) -> str:
    body = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": extra.pop("finish", None)}],
        **extra,
    }
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


@router.post(
    "/chat/completions",
    response_model=ChatCompletionResponse,
    summary="OpenAI Chat Completions (answers carry [n] markers and a citations array)",
)
def chat_completions(
    body: ChatCompletionRequest, services: ServicesDep
) -> ChatCompletionResponse | StreamingResponse:
    request = to_ask_request(body)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    if body.stream:
        return StreamingResponse(
            _stream(services.ask, request, completion_id, body.model),
            media_type="text/event-stream",
        )
    response = services.ask.ask(request)
    return ChatCompletionResponse(
        id=completion_id,
        created=int(time.time()),
        model=body.model,
        choices=[
            {
                "index": 0,
                "message": {"role": "assistant", "content": response.answer},
                "finish_reason": "stop",
            }
        ],
        usage={"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        citations=response.citations,
        short_answer=response.short_answer,
        reading=response.reading,
        refused=response.refused,
        note=response.note,
    )


def _error_chunk(problem: dict[str, Any]) -> str:
    """A stream's final error: the problem details plus OpenAI's ``message`` (the SDKs raise it)."""
    return f"data: {json.dumps({'error': {**problem, 'message': problem['detail']}})}\n\n"


def _stream(service: Any, request: AskRequest, completion_id: str, model: str) -> Iterator[str]:
    """Chunks of one answer, always ending with ``data: [DONE]``; a failure is sent as a final
    error chunk instead of the ``stop`` chunk."""
    yield _chunk(completion_id, model, {"role": "assistant", "content": ""})
    done: dict[str, Any] = {}
    try:
        for event, payload in answer_events(service, request):
            if event == "token":
                yield _chunk(completion_id, model, {"content": payload["text"]})
            elif event == "done":
                done = payload
            elif event == "error":
                yield _error_chunk(payload)
                yield "data: [DONE]\n\n"
                return
    except Exception as exc:
        yield _error_chunk(error_payload(exc))
        yield "data: [DONE]\n\n"
        return
    extra = {key: done.get(key) for key in ("short_answer", "reading", "refused", "note")}
    yield _chunk(
        completion_id, model, {}, finish="stop", citations=done.get("citations", []), **extra
    )
    yield "data: [DONE]\n\n"
