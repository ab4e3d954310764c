"""For any ingested text and question, citations are exact spans and markers match them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsrag.api.app import create_app
from newsrag.config import ChunkSettings, RetrievalSettings
from tests.helpers import make_settings

WORDS = [
    "Council",
    "voted",
    "bridge",
    "“No",
    "comment,”",
    "said",
    "Ruiz.",
    "100",
    "men",
    "A.",
    "Dr.",
    "é",
    "Chechnya’s",
    "?",
    "!",
    "\n",
    "\n\n",
    "  ",
    "—",
    "(RI-01)",
    "#LGBT",
]
texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=120).map(" ".join)
questions = (
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=8)
    .map(" ".join)
    .filter(lambda q: q.strip() != "")
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data: Path = tmp_path_factory.mktemp("prop") / "data"
    app_settings = make_settings(
        data,
        chunk=ChunkSettings(size=32, overlap=4),
        retrieval=RetrievalSettings(refusal_threshold=-1.0, max_answer_sentences=3),
    )
    with TestClient(create_app(app_settings)) as test_client:
        yield test_client


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=texts, question=questions)
def test_citations_are_exact_and_markers_consistent(
    client: TestClient, text: str, question: str
) -> None:
    ingested = client.post("/v1/documents", json={"text": text, "document_id": "prop"})
    if not text.strip():
        assert ingested.status_code == 422
        return
    assert ingested.status_code in (200, 201), ingested.text
    stored = client.get("/v1/documents/prop").json()["text"]
    assert stored == text
    body = client.post("/v1/ask", json={"question": question}).json()
    markers = [int(m) for m in re.findall(r"\[(\d+)\]", body["answer"])]
    ids = [c["id"] for c in body["citations"]]
    if body["refused"]:
        assert ids == []
    else:
        assert sorted(set(markers)) == sorted(ids) and len(set(ids)) == len(ids)
    for citation in body["citations"]:
        assert stored[citation["start"] : citation["end"]] == citation["quote"]
