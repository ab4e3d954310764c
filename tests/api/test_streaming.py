"""Streams always end properly: an unexpected exception becomes a final error event."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from newsrag.errors import StoreUnavailable
from tests.helpers import parse_sse, post_doc

QUESTION = {"question": "How did the council vote in 2017?"}
CHAT = {"messages": [{"role": "user", "content": "How did the council vote in 2017?"}]}


def _completion_chunks(text: str) -> list[Any]:
    lines = [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]
    return [line if line == "[DONE]" else json.loads(line) for line in lines]


@pytest.fixture
def zero_dated(client: TestClient) -> TestClient:
    """An archive with a CMS "zero date" document beside a real one."""
    assert post_doc(client, published_at="2017-04-14").status_code == 201
    zero = post_doc(client, document_id="cms-zero", published_at="9999-12-31")
    assert zero.status_code == 201, zero.text
    return client


def test_zero_dated_document_does_not_break_questions(zero_dated: TestClient) -> None:
    assert zero_dated.post("/v1/ask", json=QUESTION).status_code == 200
    events = parse_sse(zero_dated.post("/v1/chat", json=QUESTION).text)
    assert events and events[-1][0] == "done"
    completion = zero_dated.post("/v1/chat/completions", json=CHAT)
    assert completion.status_code == 200, completion.text
    chunks = _completion_chunks(
        zero_dated.post("/v1/chat/completions", json=CHAT | {"stream": True}).text
    )
    assert chunks[-1] == "[DONE]" and not any("error" in c for c in chunks[:-1])


def _break_answers(client: TestClient, monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise exc

    services = client.app.state.container.services  # type: ignore[attr-defined]
    monkeypatch.setattr(services.ask, "ask", boom)


def test_chat_stream_ends_with_an_error_event_on_any_exception(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _break_answers(client, monkeypatch, OverflowError("date value out of range"))
    with caplog.at_level(logging.ERROR):
        response = client.post("/v1/chat", json=QUESTION)
    assert response.status_code == 200
    events = parse_sse(response.text)
    assert [name for name, _ in events] == ["error"]
    problem = events[0][1]
    assert {"type", "title", "status", "detail"} <= problem.keys() and problem["status"] == 500
    assert "date value" not in response.text  # the client gets a generic problem
    assert any(record.exc_info for record in caplog.records)  # the server logs the exception


def test_chat_stream_renders_newsrag_errors_as_problems(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_answers(client, monkeypatch, StoreUnavailable("the vector store did not answer"))
    events = parse_sse(client.post("/v1/ask", json=QUESTION | {"stream": True}).text)
    assert [name for name, _ in events] == ["error"]
    assert events[0][1]["status"] == 503
    assert events[0][1]["type"].endswith("/store-unavailable")


@pytest.mark.parametrize(
    "exc", [OverflowError("date value out of range"), StoreUnavailable("store down")]
)
def test_completion_stream_ends_with_an_error_chunk_and_done(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    _break_answers(client, monkeypatch, exc)
    response = client.post("/v1/chat/completions", json=CHAT | {"stream": True})
    assert response.status_code == 200
    chunks = _completion_chunks(response.text)
    assert chunks[-1] == "[DONE]"
    error = chunks[-2]["error"]
    assert error["status"] in (500, 503) and error["message"] and error["type"]
    assert "date value" not in response.text
