"""Bulk ingest in batches: across documents, yet each document whole or not at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.components.store.chroma import ChromaStore
from newsrag.config import ChromaSettings, ChunkSettings
from newsrag.ingest.pipeline import Ingestor
from newsrag.models import Article
from newsrag.text.chunking import sentences_of
from tests.helpers import STORY, CountingEmbedder, assert_no_strays, assert_whole, story, wire_copy


@pytest.fixture
def store(tmp_path: Path) -> ChromaStore:
    embedder = HashingEmbedder()
    return ChromaStore.connect(ChromaSettings(), tmp_path, embedder.name, embedder.dimension)


def ingestor_for(store: ChromaStore, embedder: HashingEmbedder) -> Ingestor:
    return Ingestor(store, embedder, ChunkSettings(size=64, overlap=8), 100_000)


def articles(*tags: str) -> list[tuple[str, Article | Exception]]:
    return [(tag, Article(story(tag, 12), f"Report {tag}", tag)) for tag in tags]


def chunk_rows(store: ChromaStore, document_id: str) -> int:
    got = store._collections.chunks.get(where={"document_id": document_id}, include=[])
    return len(got["ids"])


def test_a_batch_is_embedded_in_one_call_and_an_invalid_article_does_not_split_it(
    store: ChromaStore,
) -> None:
    embedder = CountingEmbedder()
    items = articles("a", "b", "c")
    items.insert(1, ("blank", Article("  ", "blank", "blank")))
    report = ingestor_for(store, embedder).ingest_many(items, batch_size=4)
    assert report.count("created") == 3
    assert [label for label, _ in report.failures] == ["blank"]
    assert len(embedder.calls) == 1  # one embedding call for the three valid articles
    for tag in ("a", "b", "c"):
        assert_whole(store, tag, [story(tag, 12)])


def test_a_failed_store_write_keeps_the_others_and_leaves_nothing_of_the_culprit(
    store: ChromaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer: Any = store._writer
    real = writer._write_sentence_packs

    def failing(documents: Any) -> None:
        if any(d.document_id == "bad" for d in documents):
            raise OSError("disk full")  # after the chunk rows of the whole batch are written
        real(documents)

    monkeypatch.setattr(writer, "_write_sentence_packs", failing)
    done: list[int] = []
    report = ingestor_for(store, HashingEmbedder()).ingest_many(
        articles("a", "bad", "c", "d", "e"), on_progress=done.append, batch_size=3
    )
    assert sorted(r.document_id for r in report.results) == ["a", "c", "d", "e"]
    assert [label for label, _ in report.failures] == ["bad"]
    assert sum(done) == 5
    assert "bad" not in store.get_documents(["bad"])
    assert chunk_rows(store, "bad") == 0  # the abandoned write's rows are gone
    for tag in ("a", "c", "d", "e"):
        assert_whole(store, tag, [story(tag, 12)])
        assert_no_strays(store, tag)


def test_a_failed_embedding_keeps_the_rest_of_its_batch_and_the_next(store: ChromaStore) -> None:
    embedder = CountingEmbedder(poison="Update bad ")
    report = ingestor_for(store, embedder).ingest_many(articles("a", "bad", "c", "d"), batch_size=2)
    assert sorted(r.document_id for r in report.results) == ["a", "c", "d"]
    assert [label for label, _ in report.failures] == ["bad"]
    assert store.counts()[0] == 3 and chunk_rows(store, "bad") == 0


def test_a_document_in_consecutive_batches_becomes_two_versions(store: ChromaStore) -> None:
    first = Article(story("one", 12), "First", "same")
    second = Article(story("two", 12), "Second", "same")
    report = ingestor_for(store, HashingEmbedder()).ingest_many(
        [("1", first), *articles("x"), ("2", second), *articles("y")], batch_size=2
    )
    assert [r.status for r in report.results] == ["created", "created", "updated", "created"]
    assert assert_whole(store, "same", [second.text]) == second.text
    assert [v.version for v in store.versions("same")] == [1, 2]


def test_copies_in_one_batch_and_across_batches_share_a_group(store: ChromaStore) -> None:
    gazette = wire_copy("Inchmore ferry grounds", "By Harbour Gazette staff", "From MPA.")
    herald = wire_copy("Ferry aground off Inchmore", "By Herald reporters", "MPA statement.")
    items: list[tuple[str, Article | Exception]] = [
        ("mpa", Article(STORY, "Ferry grounds", "mpa")),
        ("gazette", Article(gazette, "Inchmore ferry grounds", "gazette")),
        *articles("other"),
        ("herald", Article(herald, "Ferry aground", "herald")),
    ]
    report = ingestor_for(store, HashingEmbedder()).ingest_many(items, batch_size=3)
    assert not report.failures
    stored = store.get_documents(["mpa", "gazette", "herald", "other"])
    groups = {document_id: document.group for document_id, document in stored.items()}
    assert groups == {"mpa": "mpa", "gazette": "mpa", "herald": "mpa", "other": "other"}
    assert stored["mpa"].has_copies


def test_copies_are_looked_up_for_many_documents_in_one_read(store: ChromaStore) -> None:
    ingestor = ingestor_for(store, HashingEmbedder())
    ingestor.ingest_many([("mpa", Article(STORY, "Ferry grounds", "mpa")), *articles("a", "b")])
    gazette = wire_copy("Inchmore ferry grounds", "By Harbour Gazette staff", "From MPA.")
    prepared = ingestor.prepare_many(
        [(Article(gazette, "G", "gazette"), "gazette"), (Article(story("c"), "C", "c"), "c")]
    )
    signatures = {p.document_id: p.signature for p in prepared if p.signature is not None}
    found = store.find_copies(signatures, 0.3)
    assert [d.document_id for d in found["gazette"]] == ["mpa"]
    assert found["c"] == []


def test_a_sentence_printed_twice_in_a_batch_is_embedded_once(store: ChromaStore) -> None:
    embedder = CountingEmbedder()
    shared = story("shared", 12)
    items: list[tuple[str, Article | Exception]] = [
        ("a", Article(shared, "A", "a")),
        ("b", Article(shared + " Extra line for the reprint.", "B", "b")),
    ]
    report = ingestor_for(store, embedder).ingest_many(items, batch_size=2)
    assert report.count("created") == 2
    assert embedder.calls == [len(sentences_of(shared)) + 1]
    assert_whole(store, "b", [shared + " Extra line for the reprint."])


def test_an_unexpected_error_finishing_a_batch_releases_the_next_batchs_locks(
    store: ChromaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    ingestor = ingestor_for(store, HashingEmbedder())

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug, not an article's fault")

    monkeypatch.setattr(ingestor, "finish", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        ingestor.ingest_many(articles("a", "b", "c", "d"), batch_size=2)
    # the batch started before the failure ("c", "d") was abandoned: its ids are free again
    acquired: list[bool] = []
    worker = threading.Thread(
        target=lambda: acquired.append(_lock_once(store, ["c", "d"])), daemon=True
    )
    worker.start()
    worker.join(timeout=5)
    assert acquired == [True]


def _lock_once(store: ChromaStore, ids: list[str]) -> bool:
    with store.locked(ids):
        return True
