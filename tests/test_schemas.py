"""Input validation of the HTTP models: every user string, ids, metadata numbers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from newsrag.schemas import AskRequest, DocumentIn
from newsrag.text.ids import is_valid_document_id
from tests.helpers import ARTICLE, LONE, assert_names_field, post_raw

DOCUMENT = {"text": ARTICLE, "document_id": "bridge"}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": f"Bridge {LONE} opens"}, "text"),
        ({"title": f"Bridge {LONE}"}, "title"),
        ({"document_id": f"bridge{LONE}"}, "document_id"),
        ({"url": f"https://example.org/{LONE}"}, "url"),
        ({"source": f"Wire {LONE}"}, "source"),
        ({"metadata": {"section": f"world {LONE}"}}, "metadata.section"),
        ({"metadata": {f"sec{LONE}tion": "world"}}, "metadata"),
    ],
)
def test_lone_surrogates_in_a_document_are_422(
    client: TestClient, fields: dict[str, Any], field: str
) -> None:
    assert_names_field(post_raw(client, "/v1/documents", DOCUMENT | fields), field)
    assert client.get("/v1/documents/bridge").status_code == 404  # nothing was stored


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/ask", {"question": f"Who {LONE} voted?"}, "question"),
        ("/v1/chat", {"question": f"Who {LONE} voted?"}, "question"),
        (
            "/v1/ask",
            {"question": "Who voted?", "history": [{"role": "user", "content": f"a {LONE}"}]},
            "history.0.content",
        ),
        ("/v1/ask", {"question": "Who voted?", "document_ids": [f"a{LONE}"]}, "document_ids.0"),
        ("/v1/search", {"query": f"bridge {LONE}"}, "query"),
    ],
)
def test_lone_surrogates_in_questions_are_422(
    client: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    assert_names_field(post_raw(client, path, body), field)


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN"])
def test_non_finite_metadata_numbers_are_422(client: TestClient, number: str) -> None:
    body = json.dumps(DOCUMENT)[:-1] + f', "metadata": {{"score": {number}}}}}'
    response = client.post(
        "/v1/documents", content=body, headers={"content-type": "application/json"}
    )
    assert_names_field(response, "metadata.score")


def test_finite_metadata_numbers_are_kept(client: TestClient) -> None:
    metadata = {"score": 0.5, "rank": 3, "flag": True, "section": "world"}
    assert client.post("/v1/documents", json=DOCUMENT | {"metadata": metadata}).status_code == 201
    assert client.get("/v1/documents/bridge").json()["metadata"] == metadata


ID_SAMPLES = [
    "bridge",
    "pinknews/2017-04-chechnya",
    "a/versions",
    "a/versions/1",
    "x/versions/abc",
    "a/versions2/1",
    "versions/1",
    "bridge\n",
    "has space",
    "../../etc/passwd",
    "a" * 200,
    "a" * 201,
]


@pytest.mark.parametrize("document_id", ID_SAMPLES)
def test_one_document_id_rule(document_id: str) -> None:
    """The API and the ingest pipeline (the CLI path) accept exactly the same ids."""
    try:
        DocumentIn(text="x", document_id=document_id)
        AskRequest(question="Who?", document_ids=[document_id])
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == is_valid_document_id(document_id)


@pytest.mark.parametrize("document_id", ["x/versions/1", "x/versions/abc", "a/b/versions"])
def test_ids_with_versions_segments_are_422(client: TestClient, document_id: str) -> None:
    assert_names_field(
        post_raw(client, "/v1/documents", DOCUMENT | {"document_id": document_id}), "document_id"
    )
