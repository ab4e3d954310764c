"""Problem details: a 503 tells the client when to come back."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from newsrag.api.problems import problem_for
from newsrag.errors import LLMUnavailable, NewsragError, ServiceUnavailable, StoreUnavailable
from tests.helpers import assert_problem


@pytest.mark.parametrize(
    "exc",
    [
        StoreUnavailable("the vector store did not answer: connection refused"),
        LLMUnavailable("the LLM endpoint failed"),
    ],
)
def test_unavailable_is_503_with_retry_after(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, exc: NewsragError
) -> None:
    def down(*_: Any, **__: Any) -> Any:
        raise exc

    services = client.app.state.container.services  # type: ignore[attr-defined]
    monkeypatch.setattr(services.store, "list_documents", down)
    response = client.get("/v1/documents")
    body = assert_problem(response, 503)
    assert int(response.headers["retry-after"]) >= 1
    assert "retry_after" not in body


def test_readiness_503_has_retry_after(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def down() -> None:
        raise StoreUnavailable("the vector store did not answer")

    services = client.app.state.container.services  # type: ignore[attr-defined]
    monkeypatch.setattr(services.store, "heartbeat", down)
    response = client.get("/readyz")
    assert_problem(response, 503)
    assert int(response.headers["retry-after"]) >= 1


def test_an_explicit_retry_after_is_kept() -> None:
    response = problem_for(ServiceUnavailable("the model is loading", retry_after=30))
    assert (response.status_code, response.headers["retry-after"]) == (503, "30")
