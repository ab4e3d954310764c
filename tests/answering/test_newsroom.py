"""Newsroom features: time words, wire copies, corrections, versions (real app, fake embedder)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from newsrag.api.app import create_app
from newsrag.config import NewsroomSettings, RetrievalSettings
from newsrag.ingest.corrections import sentence_corrections
from newsrag.models import Correction
from newsrag.retrieval.timeframe import resolve
from newsrag.text import near_duplicates
from newsrag.text.chunking import sentences_of
from tests.helpers import STORY, make_settings, wire_copy

ARCHIVE = (dt.date(2017, 3, 2), dt.date(2017, 9, 5))


@pytest.mark.parametrize(
    ("question", "reference", "after", "before"),
    [
        ("What did the council decide in May 2017?", None, "2017-05-01", "2017-05-31"),
        ("What happened on 20 May 2017?", None, "2017-05-20", "2017-05-20"),
        ("What happened on May 20, 2017?", None, "2017-05-20", "2017-05-20"),
        ("What was said before May 2017?", None, None, "2017-04-30"),
        ("What was said after April 2017?", None, "2017-05-01", None),
        ("What changed since June 2017?", None, "2017-06-01", None),
        ("Who won in 2017?", None, "2017-01-01", "2017-12-31"),
        ("What happened this week?", "2017-05-20", "2017-05-15", "2017-05-20"),
        ("What happened last week?", "2017-04-19", "2017-04-10", "2017-04-16"),
        ("What happened last month?", "2017-06-10", "2017-05-01", "2017-05-31"),
        ("What happened yesterday?", None, "2017-09-04", "2017-09-04"),
        ("What happened in the past 10 days?", None, "2017-08-27", "2017-09-05"),
        ("What happened in May?", "2017-06-01", "2017-05-01", "2017-05-31"),
    ],
)
def test_time_words_become_publication_ranges(
    question: str, reference: str | None, after: str | None, before: str | None
) -> None:
    frame = resolve(question, dt.date.fromisoformat(reference) if reference else None, ARCHIVE)
    assert (frame.after.isoformat() if frame.after else None) == after
    assert (frame.before.isoformat() if frame.before else None) == before
    assert frame.phrase and frame.phrase not in frame.question


@pytest.mark.parametrize(
    "question",
    [
        "Who designed the bridge when it was built in 1961?",  # a time outside the archive
        "Who may speak for the residents?",  # "may" the verb
        "Where did the march on Washington start?",
    ],
)
def test_other_time_words_do_not_filter(question: str) -> None:
    frame = resolve(question, None, ARCHIVE)
    assert (frame.after, frame.before, frame.question) == (None, None, question)


def test_latest_and_undated_archive() -> None:
    assert resolve("What is the latest on the bridge?", None, ARCHIVE).latest
    assert resolve("What is the most recent figure?", None, ARCHIVE).latest
    undated = resolve("What happened last week?", None, None)
    assert (undated.after, undated.before) == (None, None)


def test_sentence_corrections_mark_changed_and_added_sentences() -> None:
    old = "The wing opens in January. It will hire 42 nurses. It has 18 beds."
    new = (
        "The wing opens in January. It will hire 24 nurses. It has 18 beds.\n\n"
        "Correction: an earlier version misstated the number of nurses."
    )
    v2 = sentence_corrections(
        old, sentences_of(old), {}, new, sentences_of(new), 2, "2017-08-04T10:00:00+00:00"
    )
    assert v2 == {
        1: Correction(2, "2017-08-04T10:00:00+00:00", "It will hire 42 nurses."),
        3: Correction(2, "2017-08-04T10:00:00+00:00", None),
    }
    newer = new.replace("18 beds", "20 beds")
    v3 = sentence_corrections(
        new, sentences_of(new), v2, newer, sentences_of(newer), 3, "2017-08-05T10:00:00+00:00"
    )
    assert v3[1] == v2[1]  # unchanged since version 2: the earlier correction is carried
    assert v3[2] == Correction(3, "2017-08-05T10:00:00+00:00", "It has 18 beds.")


def test_minhash_separates_copies_from_other_stories() -> None:
    original = near_duplicates.signature(STORY)
    copy = near_duplicates.signature(
        wire_copy("Inchmore ferry grounds", "By Harbour Gazette staff", "Reporting by MPA.")
    )
    follow_up = near_duplicates.signature(
        "Questions over sandbank after ferry grounding\n\nResidents of Inchmore asked on "
        "Wednesday why the Gullet Bank, a sandbank every skipper on the estuary knows, was not "
        "better marked. Eleven people were taken to Brannick General Hospital with minor "
        "injuries. The harbour master said the buoys had been inspected in March and found in "
        "good order, and that a new survey of the channel would be ordered this summer. Island "
        "councillors want the survey brought forward and the ferry timetable published weekly."
    )
    assert original is not None and copy is not None and follow_up is not None
    threshold = NewsroomSettings().wire_threshold
    assert near_duplicates.similarity(original, copy) >= threshold
    assert near_duplicates.similarity(original, follow_up) < threshold
    decoded = near_duplicates.decode(near_duplicates.encode(original))
    assert decoded is not None and near_duplicates.similarity(original, decoded) == 1.0
    assert near_duplicates.signature("Council meets on Tuesday.") is None  # too short to group


@pytest.fixture
def newsroom_client(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(tmp_path / "data", retrieval=RetrievalSettings(refusal_threshold=0.05))
    with TestClient(create_app(settings)) as client:
        yield client


def ingest(client: TestClient, document_id: str, text: str, **fields: Any) -> Any:
    body = {"document_id": document_id, "text": text, "title": document_id, **fields}
    response = client.post("/v1/documents", json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_wire_copies_are_cited_once_with_the_others_listed(newsroom_client: TestClient) -> None:
    client = newsroom_client
    ingest(client, "mpa-ferry", STORY, source="Meridian Press Agency", published_at="2017-06-12")
    ingest(
        client,
        "gazette-ferry",
        wire_copy("Inchmore ferry grounds", "By Harbour Gazette staff", "Reporting by MPA."),
        source="Harbour Gazette",
        published_at="2017-06-12",
    )

    def copies_listed() -> set[str]:
        answer = client.post("/v1/ask", json={"question": "Who was the captain of the ferry?"})
        assert not answer.json()["refused"]
        citations = answer.json()["citations"]
        assert {c["document_id"] for c in citations} == {"mpa-ferry"}
        return {copy["document_id"] for copy in citations[0]["also_in"]}

    assert copies_listed() == {"gazette-ferry"}  # the group's members are now cached
    ingest(
        client,
        "courier-ferry",
        wire_copy("Ferry hits sandbank", "PORT BRANNICK (Valley Courier)", "First in MPA."),
        source="Valley Courier",
        published_at="2017-06-13",
    )
    assert copies_listed() == {"gazette-ferry", "courier-ferry"}
    client.delete("/v1/documents/gazette-ferry").raise_for_status()
    assert copies_listed() == {"courier-ferry"}
    results = client.post("/v1/search", json={"query": "ferry captain", "top_k": 5}).json()
    assert {r["document_id"] for r in results["results"]} == {"mpa-ferry"}


def test_preferred_source_is_cited_first(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "data",
        retrieval=RetrievalSettings(refusal_threshold=0.05),
        newsroom=NewsroomSettings(prefer_sources="Valley Courier"),
    )
    with TestClient(create_app(settings)) as client:
        ingest(client, "mpa-ferry", STORY, source="MPA", published_at="2017-06-12")
        copy = wire_copy("Ferry hits sandbank", "PORT BRANNICK (Valley Courier)", "From MPA.")
        ingest(client, "courier-ferry", copy, source="Valley Courier", published_at="2017-06-13")
        answer = client.post("/v1/ask", json={"question": "Who was the captain?"}).json()
        assert {c["document_id"] for c in answer["citations"]} == {"courier-ferry"}
        assert [c["document_id"] for c in answer["citations"][0]["also_in"]] == ["mpa-ferry"]


V1 = STORY.replace("Eleven people", "Twelve people")
V2 = STORY + "\n\nCorrection: an earlier version of this article misstated the number injured."


def test_corrections_keep_history_and_flag_cited_sentences(newsroom_client: TestClient) -> None:
    client = newsroom_client
    ingest(client, "ferry", V1, published_at="2017-06-12")
    assert ingest(client, "ferry", V2, published_at="2017-06-12")["status"] == "updated"

    versions = client.get("/v1/documents/ferry/versions").json()
    assert [(v["version"], v["current"]) for v in versions["versions"]] == [(1, False), (2, True)]
    assert versions["versions"][0]["superseded_at"] is not None
    assert client.get("/v1/documents/ferry/versions/1").json()["text"] == V1
    assert client.get("/v1/documents/ferry/versions/2").json()["text"] == V2
    assert client.get("/v1/documents/ferry/versions/3").status_code == 404
    assert client.get("/v1/documents/nope/versions").status_code == 404

    answer = client.post(
        "/v1/ask", json={"question": "How many people were taken to hospital with injuries?"}
    ).json()
    assert "Eleven people" in answer["answer"] and "Twelve" not in answer["answer"]
    cited = next(c for c in answer["citations"] if "Eleven people" in c["quote"])
    assert cited["correction"]["version"] == 2
    assert cited["correction"]["previous"].startswith("Twelve people were taken")

    client.delete("/v1/documents/ferry")
    assert client.get("/v1/documents/ferry/versions").status_code == 404
    ingest(client, "ferry", V2)
    assert len(client.get("/v1/documents/ferry/versions").json()["versions"]) == 1


def test_ids_ending_in_versions_are_reserved(newsroom_client: TestClient) -> None:
    response = newsroom_client.post(
        "/v1/documents", json={"document_id": "a/versions", "text": STORY}
    )
    assert response.status_code == 422 and "document_id" in response.json()["detail"]


BRIDGE = {
    "bridge-march": (
        "2017-03-02",
        "The Mill Street Bridge repair is expected to cost $3.8 million.",
    ),
    "bridge-april": (
        "2017-04-11",
        "The Mill Street Bridge repair is now expected to cost $4.6 million.",
    ),
    "bridge-may": (
        "2017-05-20",
        "The Mill Street Bridge repair will cost $4.35 million, the council decided.",
    ),
}


def test_time_words_select_articles_by_date(newsroom_client: TestClient) -> None:
    client = newsroom_client
    for document_id, (published, text) in BRIDGE.items():
        ingest(client, document_id, f"Bridge news\n\n{text}", published_at=published)

    def cited(question: str, **fields: Any) -> set[str]:
        body = client.post("/v1/ask", json={"question": question, **fields}).json()
        return {c["document_id"] for c in body["citations"]}

    assert cited("How much will the bridge repair cost in April 2017?") == {"bridge-april"}
    assert cited("How much will the bridge repair cost before April 2017?") == {"bridge-march"}
    assert cited("What is the latest bridge repair cost?") == {"bridge-may"}
    assert cited("What is the latest bridge repair cost?", as_of="2017-04-30") == {"bridge-april"}
    assert cited("How much did the bridge repair cost last month?", as_of="2017-05-03") == {
        "bridge-april"
    }
    body = client.post(
        "/v1/ask", json={"question": "How much will the bridge cost in April 2017?"}
    ).json()
    assert body["time_frame"] == {
        "phrase": "in April 2017",
        "published_after": "2017-04-01",
        "published_before": "2017-04-30",
        "latest": False,
    }
    assert body["citations"][0]["published_at"] == "2017-04-11"
    nothing = client.post("/v1/ask", json={"question": "What did the bridge cost in June 2017?"})
    assert nothing.json()["refused"] is True


def test_copies_within_one_batch_join_one_group(tmp_path: Path) -> None:
    from newsrag.components.embeddings.hashing import HashingEmbedder
    from newsrag.components.store.chroma import ChromaStore
    from newsrag.config import ChromaSettings, ChunkSettings
    from newsrag.ingest.pipeline import Ingestor
    from newsrag.models import Article

    embedder = HashingEmbedder()
    store = ChromaStore.connect(ChromaSettings(), tmp_path, embedder.name, embedder.dimension)
    ingestor = Ingestor(store, embedder, ChunkSettings(size=64, overlap=8), 100_000)
    copy = wire_copy("Inchmore ferry grounds", "By Harbour Gazette staff", "Reporting by MPA.")
    other = " ".join(text for _, text in BRIDGE.values()) * 3
    report = ingestor.ingest_many(
        [
            ("1", Article(STORY, "Ferry", "original")),
            ("2", Article(copy, "Ferry copy", "copy")),
            ("3", Article(other, "Other", "other")),
            ("4", Article(STORY + "\n\nCorrection: 142 passengers.", "Ferry", "original")),
        ]
    )
    assert not report.failures
    # the same id twice in one batch: the second is written as the next version of the first
    assert [r.status for r in report.results] == ["created", "created", "created", "updated"]
    documents = store.get_documents(["original", "copy", "other"])
    assert documents["copy"].group == "original" and documents["original"].has_copies
    assert documents["other"].group == "other"
    assert documents["original"].version == 2
    assert len(store.versions("original")) == 2
