"""Concurrent writers on one document id: the last writer wins whole, versions stay 1..n."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from newsrag.api.app import create_app
from newsrag.api.container import Container
from newsrag.components.embeddings import Matrix
from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.components.store.chroma import ChromaStore
from newsrag.config import ChromaSettings
from newsrag.errors import NewsragError, NotFound
from newsrag.ingest.pipeline import Ingestor
from newsrag.models import Article, IngestResult
from tests.helpers import assert_no_strays, assert_whole, connect, make_settings, race, story

WRITERS, ROUNDS = 3, 8
DOCUMENT = "harbour-report"


def replica(path: Path) -> tuple[ChromaStore, Ingestor]:
    return connect(ChromaSettings(), path)


def hammer(ingestors: list[Ingestor], check: ChromaStore) -> None:
    """WRITERS threads (spread over ``ingestors``) write the same id at once, ROUNDS times."""
    for round_ in range(ROUNDS):
        texts = [story(f"r{round_}w{writer}") for writer in range(WRITERS)]
        writers = [ingestors[i % len(ingestors)] for i in range(WRITERS)]
        outcomes = race(
            [
                partial(writer.ingest, Article(text, "Harbour report", DOCUMENT))
                for text, writer in zip(texts, writers, strict=True)
            ]
        )
        for outcome in outcomes:
            assert isinstance(outcome, IngestResult), f"round {round_}: {outcome!r}"
            assert outcome.status in {"created", "updated"}
        stored = assert_whole(check, DOCUMENT, texts)
        again = ingestors[-1].ingest(Article(stored, "Harbour report", DOCUMENT))
        assert again.status == "unchanged"
        assert_no_strays(check, DOCUMENT)


def test_threads_writing_one_id_leave_it_whole(tmp_path: Path) -> None:
    store, ingestor = replica(tmp_path)
    hammer([ingestor], store)
    # the threads of one process take turns per document: every write became a version
    assert len(store.versions(DOCUMENT)) == WRITERS * ROUNDS


def test_two_replicas_writing_one_id_leave_it_whole(tmp_path: Path) -> None:
    # two stores on one Chroma share no lock: only the commit protocol keeps the id whole
    first, first_ingestor = replica(tmp_path)
    _, second_ingestor = replica(tmp_path)
    hammer([first_ingestor, second_ingestor], first)


def test_unchanged_only_when_the_stored_version_is_complete(tmp_path: Path) -> None:
    store, ingestor = replica(tmp_path)
    text = story("only")
    assert ingestor.ingest(Article(text, "Harbour report", DOCUMENT)).status == "created"
    # what a lost race used to leave
    store._collections.chunks.delete(where={"document_id": DOCUMENT})
    repaired = ingestor.ingest(Article(text, "Harbour report", DOCUMENT))
    assert repaired.status == "updated"
    assert_whole(store, DOCUMENT, [text])
    assert ingestor.ingest(Article(text, "Harbour report", DOCUMENT)).status == "unchanged"


class PausingEmbedder(HashingEmbedder):
    """Calls ``on_embed`` (once armed) when an ingest embeds, i.e. between reading the stored
    record and writing the new version."""

    def __init__(self) -> None:
        self.on_embed: Callable[[], None] | None = None

    def embed(self, texts: list[str]) -> Matrix:
        hook, self.on_embed = self.on_embed, None
        if hook is not None:
            hook()
        return super().embed(texts)


@pytest.fixture
def paused_app(tmp_path: Path) -> Iterator[tuple[TestClient, PausingEmbedder, Container]]:
    embedder = PausingEmbedder()
    settings = make_settings(tmp_path / "data")
    container = Container(settings, embedder=embedder)
    with TestClient(create_app(settings, container)) as client:
        yield client, embedder, container


def test_an_ingest_racing_a_delete_wins_or_loses_cleanly(
    paused_app: tuple[TestClient, PausingEmbedder, Container],
) -> None:
    client, embedder, container = paused_app
    first = story("first", 400)
    for round_ in range(10):
        body = {"document_id": DOCUMENT, "title": "Harbour", "text": first}
        assert client.post("/v1/documents", json=body).status_code in {200, 201}
        deleted: list[int] = []

        def delete(deleted: list[int] = deleted) -> None:
            deleted.append(client.delete(f"/v1/documents/{DOCUMENT}").status_code)

        deleter = threading.Thread(target=delete)

        def delete_meanwhile(deleter: threading.Thread = deleter) -> None:
            deleter.start()
            deleter.join(0.2)  # it may have to wait for this ingest

        # the delete is sent while the ingest below embeds, after it read the stored record
        embedder.on_embed = delete_meanwhile
        text = story(f"second{round_}", 400)
        response = client.post("/v1/documents", json={**body, "text": text})
        assert response.status_code in {200, 201, 409}, f"round {round_}: {response.text}"
        if response.status_code == 409:
            assert response.headers["content-type"].startswith("application/problem+json")
        deleter.join(30)
        assert deleted == [204]
        found = client.get(f"/v1/documents/{DOCUMENT}")
        if found.status_code == 200:
            assert_whole(container.services.store, DOCUMENT, [first, text])
        else:
            assert found.status_code == 404


def test_a_delete_on_another_replica_never_makes_an_ingest_404(tmp_path: Path) -> None:
    store, ingestor = replica(tmp_path)
    other, _ = replica(tmp_path)
    first, second = story("first", 200), story("second", 200)

    def delete() -> None:
        with contextlib.suppress(NotFound):
            other.delete_document(DOCUMENT)

    for _ in range(8):
        ingestor.ingest(Article(first, "Harbour", DOCUMENT))
        calls: list[Callable[[], IngestResult | None]] = [
            partial(ingestor.ingest, Article(second, "Harbour", DOCUMENT)),
            delete,
        ]
        written = race(calls)
        if isinstance(written[0], IngestResult):
            assert written[0].status in {"created", "updated"}
        else:  # a write that cannot commit safely is refused with 409, never 404
            assert isinstance(written[0], NewsragError) and written[0].status == 409, written
        try:
            store.get_document(DOCUMENT)
        except NotFound:
            continue
        assert_whole(store, DOCUMENT, [first, second])
