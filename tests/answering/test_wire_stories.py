"""Wire copies are the same story: shared boilerplate does not make one, a tampered copy does not
speak for the others, and a client's date does not choose the copy that is cited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from newsrag.api.app import create_app
from newsrag.config import NewsroomSettings, RetrievalSettings
from newsrag.ingest.bundled import BUNDLED_ID, bundled_article
from newsrag.text import near_duplicates
from tests.helpers import STORY, make_settings, wire_copy

BOILERPLATE = (
    "Polls were open from 7am to 10pm at eleven polling stations across the borough. "
    "Postal votes were verified at the civic centre on Thursday evening before the count began. "
    "The count was overseen by the borough's returning officer, who declared each result "
    "shortly after midnight. "
    "Candidates and their agents were able to watch the verification and the count. "
    "Results for every ward are published on the council website. "
    "The new councillors take their seats at the full council meeting next month."
)
WARDS = {
    "northgate": ("Northgate", "Tom Reyes", "Labour", "1,210", "Ann Price", "28"),
    "riverside": ("Riverside", "Amara Osei", "Green Party", "1,482", "Colin Dade", "31"),
    "eastfield": ("Eastfield", "Hugh Brennan", "Liberal Democrats", "964", "Sara Lunt", "24"),
}


def ward_story(ward: str, winner: str, party: str, votes: str, second: str, turnout: str) -> str:
    return (
        f"{ward} ward by-election result\n\n"
        f"{winner} of the {party} won the {ward} ward by-election with {votes} votes, ahead of "
        f"{second}. Turnout in {ward} was {turnout} per cent.\n\n{BOILERPLATE}"
    )


GENUINE = "“We do not have any reliable information about any problems in this area.”"
PLANTED = "“We have reliable information that the purge took place, and we support it.”"
ARTICLE = bundled_article()
TAMPERED = ARTICLE.text.replace(GENUINE, PLANTED)
PESKOV = "What did Putin's spokesman Dmitry Peskov tell journalists on Friday?"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(tmp_path / "data", retrieval=RetrievalSettings(refusal_threshold=0.05))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def ingest(client: TestClient, document_id: str, text: str, **fields: Any) -> None:
    body = {"document_id": document_id, "text": text, "title": document_id, **fields}
    response = client.post("/v1/documents", json=body)
    assert response.status_code in (200, 201), response.text


def ask(client: TestClient, question: str) -> dict[str, Any]:
    body: dict[str, Any] = client.post("/v1/ask", json={"question": question}).json()
    assert body["refused"] is False
    return body


def test_only_stories_that_agree_on_their_facts_are_copies() -> None:
    northgate, riverside = (ward_story(*WARDS[name]) for name in ("northgate", "riverside"))
    first, second = (near_duplicates.signature(text) for text in (northgate, riverside))
    assert first is not None and second is not None
    # MinHash alone takes the shared boilerplate for a copy
    assert near_duplicates.similarity(first, second) >= NewsroomSettings().wire_threshold
    assert not near_duplicates.compare(northgate, riverside).same_story
    syndicated = wire_copy("Inchmore ferry grounds", "By Harbour Gazette staff", "From MPA.")
    assert near_duplicates.compare(STORY, syndicated).same_story
    assert near_duplicates.compare(STORY, syndicated).conflicts == ()
    tampered = near_duplicates.compare(ARTICLE.text, TAMPERED)
    assert tampered.same_story
    assert [
        (ARTICLE.text[a.start : a.end], TAMPERED[b.start : b.end]) for a, b in tampered.conflicts
    ] == [
        (
            f"But a spokesman for Putin Dmitry Peskov told journalists on Friday: {GENUINE}",
            f"But a spokesman for Putin Dmitry Peskov told journalists on Friday: {PLANTED}",
        )
    ]


def test_ward_results_sharing_boilerplate_answer_for_their_own_ward(client: TestClient) -> None:
    for document_id, fields in WARDS.items():
        ingest(client, document_id, ward_story(*fields), published_at="2017-05-05")
    for document_id, (ward, winner, *_rest) in WARDS.items():
        body = ask(client, f"Who won the {ward} ward by-election?")
        assert winner in body["answer"], (ward, body["answer"])
        assert {c["document_id"] for c in body["citations"]} == {document_id}
        assert body["citations"][0]["also_in"] == []
    found = client.post("/v1/search", json={"query": "ward by-election result", "top_k": 5})
    assert {r["document_id"] for r in found.json()["results"]} == set(WARDS)


def test_a_later_copy_with_an_earlier_date_does_not_replace_the_first(client: TestClient) -> None:
    ingest(client, "mpa-ferry", STORY, source="MPA", published_at="2017-06-12")
    copy = wire_copy("Inchmore ferry grounds", "By Harbour Gazette staff", "From MPA.")
    ingest(client, "gazette-ferry", copy, source="Harbour Gazette", published_at="2017-06-01")
    body = ask(client, "Who was the captain of the ferry?")
    assert {c["document_id"] for c in body["citations"]} == {"mpa-ferry"}
    assert [c["document_id"] for c in body["citations"][0]["also_in"]] == ["gazette-ferry"]


def test_a_tampered_copy_is_flagged_and_never_quoted(client: TestClient) -> None:
    ingest(client, BUNDLED_ID, ARTICLE.text, source="PinkNews", published_at="2017-04-14")
    ingest(client, "mirror", TAMPERED, source="PinkNews Mirror", published_at="2017-04-13")
    body = ask(client, PESKOV)
    assert GENUINE in body["answer"] and PLANTED not in body["answer"]
    assert {c["document_id"] for c in body["citations"]} == {BUNDLED_ID}
    peskov = next(c for c in body["citations"] if GENUINE in c["quote"])
    assert [copy["document_id"] for copy in peskov["also_in"]] == ["mirror"]
    assert body["note"] and "mirror" in body["note"] and PLANTED in body["note"]
    search = client.post("/v1/search", json={"query": PESKOV, "top_k": 5}).json()
    assert {r["document_id"] for r in search["results"]} == {BUNDLED_ID}


def test_the_sentence_is_cited_as_most_copies_print_it(client: TestClient) -> None:
    ingest(client, "tampered-first", TAMPERED, source="Mirror", published_at="2017-04-14")
    ingest(client, BUNDLED_ID, ARTICLE.text, source="PinkNews", published_at="2017-04-14")
    reprint = ARTICLE.text.replace("\n\nRelated:", "\n\nReprinted from PinkNews.\n\nRelated:")
    ingest(client, "reprint", reprint, source="Reprint", published_at="2017-04-15")
    body = ask(client, PESKOV)
    assert GENUINE in body["answer"] and PLANTED not in body["answer"]
    peskov = next(c for c in body["citations"] if GENUINE in c["quote"])
    assert peskov["document_id"] == BUNDLED_ID  # the first-ingested copy that prints it so
    text = client.get(f"/v1/documents/{BUNDLED_ID}").json()["text"]
    assert text[peskov["start"] : peskov["end"]] == peskov["quote"]
    assert {copy["document_id"] for copy in peskov["also_in"]} == {"tampered-first", "reprint"}
    assert body["note"] and "tampered-first" in body["note"] and "2 of the 3 copies" in body["note"]


def test_undisputed_answers_carry_no_note(client: TestClient) -> None:
    ingest(client, "mpa-ferry", STORY, source="MPA", published_at="2017-06-12")
    copy = wire_copy("Inchmore ferry grounds", "By Harbour Gazette staff", "From MPA.")
    ingest(client, "gazette-ferry", copy, source="Harbour Gazette", published_at="2017-06-12")
    assert ask(client, "Who was the captain of the ferry?")["note"] is None


def test_one_batch_groups_copies_but_not_stories_sharing_boilerplate(tmp_path: Path) -> None:
    from newsrag.components.embeddings.hashing import HashingEmbedder
    from newsrag.components.store.chroma import ChromaStore
    from newsrag.config import ChromaSettings, ChunkSettings
    from newsrag.ingest.pipeline import Ingestor
    from newsrag.models import Article

    embedder = HashingEmbedder()
    store = ChromaStore.connect(ChromaSettings(), tmp_path, embedder.name, embedder.dimension)
    ingestor = Ingestor(store, embedder, ChunkSettings(size=64, overlap=8), 100_000)
    northgate, riverside = (ward_story(*WARDS[name]) for name in ("northgate", "riverside"))
    reprint = "Osei takes Riverside\n\n" + riverside.split("\n\n", 1)[1] + "\n\nBorough Herald."
    report = ingestor.ingest_many(
        [
            ("1", Article(northgate, "Northgate", "northgate")),
            ("2", Article(riverside, "Riverside", "riverside")),
            ("3", Article(reprint, "Riverside reprint", "reprint")),
        ]
    )
    assert not report.failures
    stored = store.get_documents(["northgate", "riverside", "reprint"])
    groups = {document_id: document.group for document_id, document in stored.items()}
    assert groups == {"northgate": "northgate", "riverside": "riverside", "reprint": "riverside"}
