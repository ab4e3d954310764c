"""POST /v1/documents with html, ninjs and newsml bodies, withdrawals and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import assert_names_field, assert_problem, post_raw

DATA = Path(__file__).parents[1] / "data" / "newsroom"
PAGE = (
    '<html lang="en"><head><title>Budget is late | The Gazette</title>'
    '<meta property="og:site_name" content="The Gazette">'
    '<meta property="article:published_time" content="2023-10-01T09:30:00Z">'
    '<link rel="canonical" href="https://gazette.example/budget"></head><body>'
    '<nav><ul><li><a href="/">Home page</a></li></ul></nav>'
    '<article><h1>Budget is late</h1><p>The <a href="/m">mayor</a> said the budget was late '
    "on Tuesday, according to officials.</p></article>"
    "<footer>Copyright 2023 The Gazette. All rights reserved.</footer></body></html>"
)


def ninjs(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def newsml(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def search(client: TestClient, query: str) -> list[str]:
    response = client.post("/v1/search", json={"query": query, "top_k": 5})
    assert response.status_code == 200, response.text
    return [result["document_id"] for result in response.json()["results"]]


QUESTION = "How many passengers were on the ferry that ran aground in the Tarrow Estuary?"


def cited(client: TestClient, question: str) -> list[str]:
    response = client.post("/v1/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return [citation["document_id"] for citation in response.json()["citations"]]


def test_html_body_is_extracted_and_the_callers_fields_win(client: TestClient) -> None:
    response = client.post("/v1/documents", json={"html": PAGE, "document_id": "budget"})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "created"
    document = client.get("/v1/documents/budget").json()
    assert document["text"] == (
        "Budget is late\n\nThe mayor said the budget was late on Tuesday, according to officials."
    )
    assert document["source"] == "The Gazette"
    assert document["url"] == "https://gazette.example/budget"
    assert document["published_at"] == "2023-10-01T09:30:00+00:00"
    assert document["withdrawn_at"] is None
    again = client.post(
        "/v1/documents", json={"html": PAGE, "document_id": "budget", "source": "Wire"}
    )
    assert again.status_code == 200 and again.json()["status"] == "updated"
    assert client.get("/v1/documents/budget").json()["source"] == "Wire"


def test_ninjs_and_newsml_bodies(client: TestClient) -> None:
    created = client.post("/v1/documents", json={"ninjs": ninjs("ninjs-3.json")})
    assert created.status_code == 201, created.text
    document_id = created.json()["document_id"]
    assert document_id == "news.example.com-2023-10-council-bridge-vote"
    document = client.get(f"/v1/documents/{document_id}").json()
    assert document["metadata"]["author"] == "Ines Duarte"
    item = client.post("/v1/documents", json={"newsml": newsml("newsitem.xml"), "document_id": "f"})
    assert item.status_code == 201, item.text
    assert client.get("/v1/documents/f").json()["metadata"]["located"] == "Inchmore"


def test_canceled_ninjs_withdraws_the_story(client: TestClient) -> None:
    assert client.post("/v1/documents", json={"ninjs": ninjs("ninjs-2.json")}).status_code == 201
    story = "wire.example.com-20231001-ferry-aground"
    assert story in search(client, "ferry aground sandbank Tarrow Estuary")
    assert cited(client, QUESTION) == [story]

    response = client.post("/v1/documents", json={"ninjs": ninjs("ninjs-canceled.json")})

    assert response.status_code == 200, response.text
    assert response.json() == {
        "document_id": story,
        "status": "withdrawn",
        "chunks": 0,
        "title": "Ferry runs aground off Port Brannick",
    }
    assert story not in search(client, "ferry aground sandbank Tarrow Estuary")
    assert cited(client, QUESTION) == []
    document = client.get(f"/v1/documents/{story}").json()
    assert document["withdrawn_at"] and document["chunks"] == 0
    assert document["text"].startswith("Ferry runs aground")
    listed = client.get("/v1/documents").json()["documents"]
    assert [d["withdrawn_at"] is not None for d in listed if d["document_id"] == story] == [True]
    assert len(client.get(f"/v1/documents/{story}/versions").json()["versions"]) == 1


def test_withdrawing_an_unknown_story_stores_nothing(client: TestClient) -> None:
    response = client.post("/v1/documents", json={"newsml": newsml("newsitem-canceled.xml")})
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    assert client.get(f"/v1/documents/{response.json()['document_id']}").status_code == 404


def test_exactly_one_body_field(client: TestClient) -> None:
    both = client.post("/v1/documents", json={"text": "Some text.", "html": PAGE})
    assert_names_field_detail(both, "html")
    none = client.post("/v1/documents", json={"title": "No body"})
    assert_names_field_detail(none, "text")


def assert_names_field_detail(response: Any, field: str) -> None:
    body = assert_problem(response, 422, "exactly one of text, html, ninjs, newsml")
    assert body["field"] == field and body["detail"].startswith(f"{field}:")
    assert body["errors"] == [
        {"field": field, "message": body["detail"].removeprefix(f"{field}: ")}
    ]  # the shape of every other 422
    assert_names_field(response, field)


def test_malformed_bodies_are_4xx_naming_the_field(client: TestClient) -> None:
    cases = [
        ({"newsml": "<newsItem><oops></newsItem>"}, "newsml"),
        ({"newsml": newsml("billion-laughs.xml")}, "newsml"),
        ({"newsml": newsml("external-entity.xml")}, "newsml"),
        ({"ninjs": {"uri": "urn:x:1", "headline": "No body"}}, "ninjs"),
        ({"ninjs": {"uri": "urn:x:1", "body_text": ["not", "text"]}}, "ninjs"),
        ({"html": "<html><body><nav><a href='/'>Home</a></nav></body></html>"}, "html"),
    ]
    for body, field in cases:
        response = client.post("/v1/documents", json=body)
        problem = assert_problem(response, 422)
        assert problem["field"] == field and problem["detail"].startswith(field), problem
    assert_names_field(client.post("/v1/documents", json={"ninjs": "not an object"}), "ninjs")


def test_the_text_body_is_unchanged(client: TestClient) -> None:
    response = client.post(
        "/v1/documents",
        json={"text": "Headline\n\nBody text here.", "document_id": "t", "metadata": {"k": 1}},
    )
    assert response.status_code == 201
    document = client.get("/v1/documents/t").json()
    assert (document["title"], document["text"], document["metadata"]) == (
        "Headline",
        "Headline\n\nBody text here.",
        {"k": 1},
    )


def test_lone_surrogates_in_any_format_are_422_not_500(client: TestClient) -> None:
    bodies: list[dict[str, Any]] = [
        {"ninjs": {"uri": "urn:x:1", "headline": "\ud800", "body_text": "Text."}},
        {"newsml": "<newsItem>\ud800</newsItem>"},
        {"html": "<p>The mayor said \ud800 it was late.</p>"},
    ]
    for body in bodies:
        response = post_raw(client, "/v1/documents", body)
        problem = assert_problem(response, 422, "surrogate")
        assert next(iter(body)) in problem["detail"]


def test_metadata_origin_is_reserved_for_synced_sources(client: TestClient) -> None:
    body = {"text": "The council met on Monday.", "metadata": {"origin": "feeds.example-news"}}
    response = client.post("/v1/documents", json=body)
    problem = assert_problem(response, 422, "metadata.origin")
    assert problem["errors"][0]["field"] == "metadata.origin"
    assert client.get("/v1/documents").json()["documents"] == []  # nothing stored
