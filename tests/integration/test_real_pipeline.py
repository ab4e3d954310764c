"""The bundled article through the real local model and a real embedded Chroma."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from newsrag.api.app import create_app
from newsrag.config import Settings
from newsrag.ingest.bundled import BUNDLED_ID

pytestmark = pytest.mark.integration


@pytest.fixture
def client(local_settings: Settings) -> Iterator[TestClient]:
    settings = local_settings.model_copy(update={"bootstrap": True})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_bootstrap_ingests_the_bundled_article(client: TestClient) -> None:
    documents = client.get("/v1/documents").json()["documents"]
    assert [d["document_id"] for d in documents] == [BUNDLED_ID]
    assert documents[0]["source"] == "PinkNews"


def test_search_finds_the_kremlin_passage(client: TestClient) -> None:
    results = client.post(
        "/v1/search", json={"query": "What did the Kremlin say about the reports?", "top_k": 3}
    ).json()["results"]
    assert any("reliable information" in r["text"] for r in results[:2])


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What did the Kremlin say about the reports?", "reliable information"),
        ("Who signed the letter?", "50 Members of Congress"),
        ("Which Republicans signed the letter?", "Ros-Lehtinen"),
        ("Which newspaper broke the story?", "Novaya Gazeta"),
        ("How many Democrats signed the letter?", "47 Democrats"),
        ("What is CA-47?", "Lowenthal"),
    ],
)
def test_answers_cite_exact_spans(client: TestClient, question: str, expected: str) -> None:
    body = client.post("/v1/ask", json={"question": question}).json()
    assert body["refused"] is False
    assert expected in body["answer"]
    text = client.get(f"/v1/documents/{BUNDLED_ID}").json()["text"]
    for citation in body["citations"]:
        assert text[citation["start"] : citation["end"]] == citation["quote"]


def test_follow_up_uses_history(client: TestClient) -> None:
    first = client.post("/v1/ask", json={"question": "Who signed the letter to Rex Tillerson?"})
    body = client.post(
        "/v1/ask",
        json={
            "question": "Which Republicans were among them?",
            "history": [
                {"role": "user", "content": "Who signed the letter to Rex Tillerson?"},
                {"role": "assistant", "content": first.json()["answer"]},
            ],
        },
    ).json()
    assert "Curbelo" in body["answer"]


def test_off_topic_is_refused(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "Who won the 2018 World Cup?"}).json()
    assert body["refused"] is True and body["citations"] == []


def test_update_replaces_old_facts(client: TestClient) -> None:
    client.post(
        "/v1/documents",
        json={
            "document_id": "ferry",
            "title": "Ferry",
            "text": "The ferry to Lundy sails on Mondays.",
        },
    )
    client.post(
        "/v1/documents",
        json={
            "document_id": "ferry",
            "title": "Ferry",
            "text": "The ferry to Lundy sails on Fridays.",
        },
    )
    body = client.post("/v1/ask", json={"question": "When does the ferry to Lundy sail?"}).json()
    assert "Fridays" in body["answer"] and "Mondays" not in body["answer"]
