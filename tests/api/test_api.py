"""The HTTP contract through the real app (embedded Chroma, hashing embedder)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from newsrag.api.app import create_app
from newsrag.api.container import Container
from newsrag.config import RetrievalSettings
from newsrag.errors import InvalidInput, NotFound
from newsrag.ingest.loaders import load_text
from newsrag.schemas import DocumentIn
from tests.helpers import ARTICLE, assert_problem, make_settings, parse_sse, post_doc


@pytest.fixture
def answering_client(tmp_path: Path) -> Any:
    settings = make_settings(tmp_path / "data", retrieval=RetrievalSettings(refusal_threshold=0.05))
    with TestClient(create_app(settings)) as client:
        yield client


def test_ingest_statuses(client: TestClient) -> None:
    created = post_doc(client)
    assert created.status_code == 201
    assert created.json() == {
        "document_id": "bridge",
        "status": "created",
        "chunks": 1,  # three sentences: one chunk
        "title": "Bridge",
    }
    assert client.get("/v1/documents/bridge").json()["chunks"] == 1
    unchanged = post_doc(client)
    assert (unchanged.status_code, unchanged.json()["status"]) == (200, "unchanged")
    updated = post_doc(client, text=ARTICLE + " It opens in 2027.")
    assert (updated.status_code, updated.json()["status"]) == (200, "updated")


@pytest.mark.parametrize(
    ("fields", "field_name"),
    [
        ({"text": "   "}, "text"),
        ({"published_at": "last Tuesday"}, "published_at"),
        ({"document_id": "has spaces"}, "document_id"),
        ({"metadata": {"nested": {"a": 1}}}, "metadata"),
    ],
)
def test_ingest_validation_names_the_field(
    client: TestClient, fields: dict[str, Any], field_name: str
) -> None:
    body = assert_problem(post_doc(client, **fields), 422, field_name)
    assert any(error["field"].startswith(field_name) for error in body["errors"])


def test_text_over_limit_is_422(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", max_document_chars=100)
    with TestClient(create_app(settings)) as client:
        assert_problem(post_doc(client), 422, "limit")


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/documents", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert_problem(response, 400)


def test_list_show_delete(client: TestClient) -> None:
    for number in range(3):
        post_doc(client, document_id=f"doc-{number}", text=f"{ARTICLE} Version {number}.")
    first = client.get("/v1/documents", params={"limit": 2}).json()
    assert [d["document_id"] for d in first["documents"]] == ["doc-0", "doc-1"]
    second = client.get("/v1/documents", params={"limit": 2, "cursor": first["next_cursor"]})
    assert [d["document_id"] for d in second.json()["documents"]] == ["doc-2"]
    assert second.json()["next_cursor"] is None
    shown = client.get("/v1/documents/doc-1").json()
    assert shown["text"] == f"{ARTICLE} Version 1."
    assert client.delete("/v1/documents/doc-1").status_code == 204
    assert_problem(client.get("/v1/documents/doc-1"), 404)
    assert_problem(client.delete("/v1/documents/doc-1"), 404)
    assert_problem(client.get("/v1/documents", params={"cursor": "!!"}), 422, "cursor")


def test_ask_with_empty_store_refuses(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "Who approved the bridge?"}).json()
    assert body["refused"] is True and body["citations"] == []
    assert "do not say" in body["answer"]


@pytest.mark.parametrize(
    ("body", "field_name"),
    [
        ({"question": ""}, "question"),
        ({"question": "   "}, "question"),
        ({"question": "x" * 2001}, "question"),
        ({"question": "ok", "top_k": 0}, "top_k"),
        ({"question": "ok", "top_k": 21}, "top_k"),
        ({"question": "ok", "mode": "poetic"}, "mode"),
        ({"question": "ok", "published_after": "soon"}, "published_after"),
        ({"question": "ok", "history": [{"role": "system", "content": "x"}]}, "history"),
    ],
)
def test_ask_validation(client: TestClient, body: dict[str, Any], field_name: str) -> None:
    assert_problem(client.post("/v1/ask", json=body), 422, field_name)


def check_citations(client: TestClient, body: dict[str, Any]) -> None:
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", body["answer"])}
    assert markers == {c["id"] for c in body["citations"]}
    for citation in body["citations"]:
        text = client.get(f"/v1/documents/{citation['document_id']}").json()["text"]
        assert text[citation["start"] : citation["end"]] == citation["quote"]


def test_ask_answers_with_exact_citations(answering_client: TestClient) -> None:
    post_doc(answering_client)
    body = answering_client.post("/v1/ask", json={"question": "How did the council vote?"}).json()
    assert body["refused"] is False and body["mode"] == "extractive"
    assert "7 to 2" in body["answer"]
    check_citations(answering_client, body)
    assert {"retrieve", "generate", "total"} <= body["timings_ms"].keys()


def test_generative_request_without_llm_falls_back_with_note(
    answering_client: TestClient,
) -> None:
    post_doc(answering_client)
    body = answering_client.post(
        "/v1/ask", json={"question": "How did the council vote?", "mode": "generative"}
    ).json()
    assert body["mode"] == "extractive" and "not available" in body["note"]


def test_filters_and_search(answering_client: TestClient) -> None:
    post_doc(answering_client, published_at="2017-04-14")
    post_doc(
        answering_client,
        document_id="other",
        text="Other story\n\nThe council voted on parking fees.",
        published_at="2020-01-01",
    )
    results = answering_client.post(
        "/v1/search", json={"query": "council voted", "top_k": 5}
    ).json()["results"]
    assert {r["document_id"] for r in results} == {"bridge", "other"}
    only = answering_client.post(
        "/v1/search", json={"query": "council voted", "document_ids": ["other"]}
    ).json()["results"]
    assert {r["document_id"] for r in only} == {"other"}
    before = answering_client.post(
        "/v1/ask",
        json={"question": "What did the council vote on?", "published_before": "2018-01-01"},
    ).json()
    assert {c["document_id"] for c in before["citations"]} == {"bridge"}
    # search is planned as a question is: as_of hides later articles, time words count from it
    as_of = answering_client.post(
        "/v1/search", json={"query": "council voted", "as_of": "2018-01-01"}
    ).json()["results"]
    assert {r["document_id"] for r in as_of} == {"bridge"}
    recent = answering_client.post(
        "/v1/search", json={"query": "council voted this week", "as_of": "2020-01-03"}
    ).json()["results"]
    assert {r["document_id"] for r in recent} == {"other"}


def test_delete_removes_from_answers(answering_client: TestClient) -> None:
    post_doc(answering_client)
    answering_client.delete("/v1/documents/bridge")
    body = answering_client.post("/v1/ask", json={"question": "How did the council vote?"}).json()
    assert body["refused"] is True


@pytest.mark.parametrize("route", ["/v1/chat", "/v1/ask"])
def test_streaming_events(answering_client: TestClient, route: str) -> None:
    post_doc(answering_client)
    body = {"question": "How did the council vote?", "stream": True}
    response = answering_client.post(route, json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    assert names[0] == "token" and names[-1] == "done"
    done = events[-1][1]
    assert "".join(p["text"] for n, p in events if n == "token") == done["answer"]
    assert "7 to 2" in done["answer"] and done["citations"]
    assert [p for n, p in events if n == "citation"] == done["citations"]


def test_operations(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    post_doc(client)
    client.post("/v1/ask", json={"question": "anything"})
    metrics = client.get("/metrics").text
    assert "newsrag_http_requests_total" in metrics
    assert 'route="/v1/ask"' in metrics
    assert "newsrag_documents 1.0" in metrics
    assert "newsrag_answers_refused_total" in metrics
    info = client.get("/v1/info").json()
    assert info["generative_available"] is False
    assert_problem(client.get("/nowhere"), 404)
    assert client.get("/healthz").headers["x-request-id"]


def test_openapi_documents_every_route_with_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path in (
        "/v1/documents",
        "/v1/documents/{document_id}",
        "/v1/ask",
        "/v1/chat",
        "/v1/search",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in schema["paths"], path
    assert schema["components"]["schemas"]["AskRequest"]["examples"]


def test_api_and_loaders_give_an_untitled_article_the_same_title(tmp_path: Path) -> None:
    text = "# Council approves bridge\n\nThe vote was 7 to 2."
    path = tmp_path / "bridge.md"
    path.write_text(text, encoding="utf-8")
    with TestClient(create_app(make_settings(tmp_path))) as client:
        posted = client.post("/v1/documents", json={"text": text, "document_id": "bridge"})
    assert posted.json()["title"] == load_text(path).title == "Council approves bridge"


def test_documents_service_pages_by_id_without_http(tmp_path: Path) -> None:
    documents = Container(make_settings(tmp_path)).services.documents
    for name in ("b", "a", "c"):
        documents.ingest(DocumentIn(text=f"Story {name}. It happened on Monday.", document_id=name))
    first = documents.list(2)
    assert [d.document_id for d in first.documents] == ["a", "b"] and first.next_cursor
    rest = documents.list(2, first.next_cursor)
    assert [d.document_id for d in rest.documents] == ["c"] and rest.next_cursor is None
    assert [v.version for v in documents.versions("a").versions] == [1]
    with pytest.raises(NotFound):
        documents.version("a", 2)
    with pytest.raises(InvalidInput):
        documents.list(2, "!")
