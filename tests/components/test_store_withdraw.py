"""A withdrawn (killed) story leaves answers and keeps its record and versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.components.store.chroma import ChromaStore
from newsrag.config import ChromaSettings, ChunkSettings, RetrievalSettings
from newsrag.errors import NotFound
from newsrag.ingest.pipeline import Ingestor
from newsrag.models import Article
from newsrag.retrieval.filters import Filters
from newsrag.retrieval.hybrid import HybridRetriever
from newsrag.text import near_duplicates
from tests.helpers import STORY, wire_copy

OLD = "The mayor said the bridge will open in May. Residents welcomed the news."
NEW = "The mayor said the bridge is delayed until October. Residents were angry."
WHEN = "2023-10-02T12:00:00+00:00"


@pytest.fixture
def store(tmp_path: Path) -> ChromaStore:
    embedder = HashingEmbedder()
    return ChromaStore.connect(ChromaSettings(), tmp_path, embedder.name, embedder.dimension)


@pytest.fixture
def ingestor(store: ChromaStore) -> Ingestor:
    return Ingestor(store, HashingEmbedder(), ChunkSettings(size=64, overlap=8), 10_000)


def found(retriever: HybridRetriever, query: str, *, refresh: bool = True) -> list[str]:
    if refresh:
        retriever.index.refresh()
    vector = HashingEmbedder().embed([query])[0]
    return [p.chunk.document_id for p in retriever.retrieve(query, vector, 5, Filters())]


def test_withdrawn_story_leaves_retrieval_and_keeps_its_versions(
    ingestor: Ingestor, store: ChromaStore
) -> None:
    ingestor.ingest(Article(OLD, "Bridge", "bridge"))
    ingestor.ingest(Article(NEW, "Bridge", "bridge"))
    ingestor.ingest(Article("The council met on Tuesday about parking fees.", "Parking", "park"))
    retriever = HybridRetriever(store, RetrievalSettings())
    assert "bridge" in found(retriever, "bridge delayed October")

    record = store.withdraw_document("bridge", WHEN)

    assert record.withdrawn_at == WHEN and record.chunks == 0
    # the index heard of it from the change feed, without reading the store again
    assert "bridge" not in found(retriever, "bridge delayed October", refresh=False)
    assert "bridge" not in found(retriever, "bridge delayed October")
    assert "bridge" not in found(HybridRetriever(store, RetrievalSettings()), "bridge October")
    assert store.get_sentences("bridge", record.text_hash, [0]) == []
    # kept: the record with its text, both versions, and the listing
    assert store.get_document("bridge").text == NEW
    assert [v.version for v in store.versions("bridge")] == [1, 2]
    assert {d.document_id for d in store.list_documents()} == {"bridge", "park"}
    assert store.counts()[1] == store.get_document("park").chunks


def test_withdrawing_twice_changes_nothing_and_unknown_ids_are_not_found(
    ingestor: Ingestor, store: ChromaStore
) -> None:
    ingestor.ingest(Article(OLD, "Bridge", "bridge"))
    first = store.withdraw_document("bridge", WHEN)
    again = store.withdraw_document("bridge", "2030-01-01T00:00:00+00:00")
    assert again.withdrawn_at == WHEN and again.write == first.write
    with pytest.raises(NotFound):
        store.withdraw_document("nothing-here", WHEN)


@pytest.mark.parametrize(("text", "status", "versions"), [(OLD, "updated", 1), (NEW, "updated", 2)])
def test_a_later_ingest_restores_the_story(
    ingestor: Ingestor, store: ChromaStore, text: str, status: str, versions: int
) -> None:
    ingestor.ingest(Article(OLD, "Bridge", "bridge"))
    store.withdraw_document("bridge", WHEN)
    result = ingestor.ingest(Article(text, "Bridge", "bridge"))
    assert result.status == status and result.chunks >= 1
    document = store.get_document("bridge")
    assert document.withdrawn_at is None and document.text == text
    assert len(store.versions("bridge")) == versions
    assert "bridge" in found(HybridRetriever(store, RetrievalSettings()), "bridge mayor")


def test_a_withdrawn_copy_is_left_out_of_its_wire_group_and_of_later_copies(
    ingestor: Ingestor, store: ChromaStore
) -> None:
    gazette = wire_copy("Inchmore ferry grounds", "By Harbour Gazette staff", "From MPA.")
    herald = wire_copy("Ferry aground off Inchmore", "By Herald reporters", "MPA statement.")
    ingestor.ingest(Article(STORY, "Ferry grounds", "mpa"))
    ingestor.ingest(Article(gazette, "Inchmore ferry grounds", "gazette"))
    assert {d.document_id for d in store.wire_groups(["mpa"])["mpa"]} == {"mpa", "gazette"}

    store.withdraw_document("mpa", WHEN)

    assert [d.document_id for d in store.wire_groups(["mpa"])["mpa"]] == ["gazette"]
    ingestor.ingest(Article(herald, "Ferry aground", "herald"))
    assert store.get_document("herald").group in {"gazette", "mpa"}
    copies = store.find_copies({"x": _signature(herald)}, 0.5)["x"]
    assert "mpa" not in {d.document_id for d in copies}


def _signature(text: str) -> near_duplicates.Signature:
    signature = near_duplicates.signature(text)
    assert signature is not None
    return signature
