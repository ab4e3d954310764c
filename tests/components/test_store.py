"""Ingest semantics over a real embedded Chroma with the hashing embedder (fast, offline)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.components.store.chroma import ChromaStore
from newsrag.config import ChunkSettings, RetrievalSettings
from newsrag.errors import EmbedderMismatch, InvalidInput, NotFound
from newsrag.ingest.pipeline import Ingestor
from newsrag.models import Article
from newsrag.retrieval.filters import Filters
from newsrag.retrieval.hybrid import HybridRetriever
from tests.helpers import shift_commit_clock, spy_on_change_log


@pytest.fixture
def store(tmp_path: Path) -> ChromaStore:
    from newsrag.config import ChromaSettings

    embedder = HashingEmbedder()
    return ChromaStore.connect(ChromaSettings(), tmp_path, embedder.name, embedder.dimension)


@pytest.fixture
def ingestor(store: ChromaStore) -> Ingestor:
    return Ingestor(store, HashingEmbedder(), ChunkSettings(size=64, overlap=8), 10_000)


def search(store: ChromaStore, query: str) -> list[str]:
    retriever = HybridRetriever(store, RetrievalSettings())
    retriever.index.refresh()
    vector = HashingEmbedder().embed([query])[0]
    return [p.chunk.text for p in retriever.retrieve(query, vector, 5, Filters())]


OLD = "The mayor said the bridge will open in May. Residents welcomed the news."
NEW = "The mayor said the bridge is delayed until October. Residents were angry."


def test_created_unchanged_updated(ingestor: Ingestor, store: ChromaStore) -> None:
    first = ingestor.ingest(Article(OLD, "Bridge", "bridge"))
    assert first.status == "created" and first.chunks >= 1
    assert ingestor.ingest(Article(OLD, "Bridge", "bridge")).status == "unchanged"
    assert ingestor.ingest(Article(NEW, "Bridge", "bridge")).status == "updated"
    assert store.get_document("bridge").text == NEW
    texts = " ".join(search(store, "When will the bridge open"))
    assert "October" in texts and "May" not in texts


def test_title_change_updates_without_reembedding(ingestor: Ingestor, store: ChromaStore) -> None:
    ingestor.ingest(Article(OLD, "Bridge", "bridge"))
    result = ingestor.ingest(Article(OLD, "Bridge (corrected)", "bridge"))
    assert result.status == "updated"
    assert store.get_document("bridge").title == "Bridge (corrected)"


def test_derived_id_is_stable(ingestor: Ingestor) -> None:
    assert (
        ingestor.ingest(Article(OLD, "a")).document_id
        == ingestor.ingest(Article(OLD, "b")).document_id
    )


def test_delete_removes_everything(ingestor: Ingestor, store: ChromaStore) -> None:
    ingestor.ingest(Article(OLD, "Bridge", "bridge"))
    store.delete_document("bridge")
    assert search(store, "bridge open May") == []
    assert store.counts() == (0, 0)
    with pytest.raises(NotFound):
        store.delete_document("bridge")


def test_failed_update_leaves_previous_version(
    ingestor: Ingestor, store: ChromaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingestor.ingest(Article(OLD, "Bridge", "bridge"))

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed before the commit point")

    with monkeypatch.context() as patch:
        patch.setattr("newsrag.components.store.records.record_metadata", crash)
        with pytest.raises(Exception, match="killed"):
            ingestor.ingest(Article(NEW, "Bridge", "bridge"))
    # the new chunks were written but are invisible: the document is fully the old version
    assert store.get_document("bridge").text == OLD
    texts = " ".join(search(store, "bridge open delayed October May"))
    assert "May" in texts and "October" not in texts
    # the next ingest completes and removes the orphans
    assert ingestor.ingest(Article(NEW, "Bridge", "bridge")).status == "updated"
    assert store.counts()[1] == store.get_document("bridge").chunks


def test_validation(ingestor: Ingestor) -> None:
    with pytest.raises(InvalidInput, match="text"):
        ingestor.ingest(Article("   \n", "blank"))
    with pytest.raises(InvalidInput, match="limit"):
        ingestor.ingest(Article("x" * 10_001, "big"))
    with pytest.raises(InvalidInput, match="document_id"):
        ingestor.ingest(Article("text", "t", "../../etc/passwd"))


def test_embedder_mismatch_stops_with_clear_error(tmp_path: Path, store: ChromaStore) -> None:
    from newsrag.config import ChromaSettings

    with pytest.raises(EmbedderMismatch, match="re-index"):
        ChromaStore.connect(ChromaSettings(), tmp_path, "another-model", 384)


def test_ingest_many_batches_and_isolates_bad_items(ingestor: Ingestor, store: ChromaStore) -> None:
    items: list[tuple[str, Article | Exception]] = [
        (f"doc-{i}", Article(f"Story {i}. The council met on day {i}.", f"S{i}", f"doc-{i}"))
        for i in range(5)
    ]
    items.insert(2, ("blank", Article("   ", "blank", "blank")))
    items.append(("unreadable", InvalidInput("unreadable.json: invalid JSON")))
    done: list[int] = []
    report = ingestor.ingest_many(items, on_progress=done.append, batch_size=3)
    assert report.count("created") == 5
    assert [label for label, _ in report.failures] == ["blank", "unreadable"]
    assert sum(done) == len(items)
    again = ingestor.ingest_many(items[:2], batch_size=3)
    assert again.count("unchanged") == 2
    assert store.counts()[0] == 5


def test_rerun_finishes_a_cleanup_cut_short(
    ingestor: Ingestor, store: ChromaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingestor.ingest(Article(OLD, "Bridge", "bridge"))

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed after the commit point")

    with monkeypatch.context() as patch:
        patch.setattr("newsrag.components.store.commit.Ledger.mark_committed", crash)
        with pytest.raises(Exception, match="killed"):
            ingestor.ingest(Article(NEW, "Bridge", "bridge"))
    document = store.get_document("bridge")
    assert document.text == NEW and document.replaces
    assert store.counts()[1] > document.chunks  # the old version's rows are still there
    assert ingestor.ingest(Article(NEW, "Bridge", "bridge")).status == "unchanged"
    assert store.counts()[1] == document.chunks


@pytest.mark.parametrize("in_process_limit", [200_000, 0], ids=["in-process", "chroma-hnsw"])
def test_a_long_lived_retriever_never_serves_replaced_or_deleted_text(
    ingestor: Ingestor, store: ChromaStore, in_process_limit: int
) -> None:
    settings = RetrievalSettings(dense_in_process_max_chunks=in_process_limit)
    retriever = HybridRetriever(store, settings)

    def texts(query: str) -> str:
        retriever.index.refresh()
        vector = HashingEmbedder().embed([query])[0]
        return " ".join(p.chunk.text for p in retriever.retrieve(query, vector, 5, Filters()))

    ingestor.ingest(Article(OLD, "Bridge", "bridge"))
    assert "May" in texts("When will the bridge open")  # records and rows now cached
    assert retriever.index.dense_ready is (in_process_limit > 0)
    ingestor.ingest(Article(NEW, "Bridge", "bridge"))
    found = texts("When will the bridge open May October")
    assert "October" in found and "May" not in found
    store.delete_document("bridge")
    assert texts("When will the bridge open May October") == ""


def test_spelling_correction_fixes_names_and_leaves_english_alone(
    ingestor: Ingestor, store: ChromaStore
) -> None:
    ingestor.ingest(
        Article(
            "Dmitry Peskov said the Kremlin had no reliable information. Boris Johnson tweeted "
            "his outrage. Thoroughly checked reports were criticised by Amnesty.",
            "Kremlin",
            "kremlin",
        )
    )
    retriever = HybridRetriever(store, RetrievalSettings())
    retriever.index.refresh()
    correct = retriever.index.correct_spelling
    # a corrected word keeps the casing it was asked in, so the names gate still sees a name
    assert correct("What did Peskof say?") == "What did Peskov say?"
    assert correct("WHAT DID PESKOF SAY?") == "WHAT DID PESKOV SAY?"
    assert correct("what did peskof say?") == "what did peskov say?"
    assert correct("Peskof said what?") == "Peskov said what?"
    assert correct("Why was it criticise by Amnesti?") == "Why was it criticised by Amnesty?"
    # "Jonson" is someone (Ben Jonson): never turned into Boris Johnson; the misspelt verb is
    assert correct("What did Boris Jonson tweeet?") == "What did Boris Jonson tweeted?"
    assert correct("What did Boris Johnsen say?") == "What did Boris Johnson say?"
    # English words are not misspellings of the corpus's words
    assert correct("Roughly how many were held?") == "Roughly how many were held?"


def test_sentences_come_back_from_their_pack(ingestor: Ingestor, store: ChromaStore) -> None:
    ingestor.ingest(Article(OLD, "Bridge", "bridge"))
    current_hash = store.get_document("bridge", with_text=False).text_hash
    rows = store.get_sentences("bridge", current_hash, [1, 0, 7])  # 7 does not exist
    assert [row.index for row in rows] == [0, 1]
    assert [OLD[row.start : row.end] for row in rows] == [row.text for row in rows]
    assert rows[1].text == "Residents welcomed the news."
    exact = HashingEmbedder().embed([row.text for row in rows])
    for row, vector in zip(rows, exact, strict=True):
        assert row.vector.dtype.name == "float32"
        assert float(row.vector @ vector) > 0.999  # stored as float16
    assert store.get_sentences("bridge", "not-a-text-hash", [0]) == []


def test_a_store_of_another_layout_is_refused(tmp_path: Path) -> None:
    import chromadb
    from chromadb.config import Settings as ClientSettings

    from newsrag.config import ChromaSettings

    client = chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=ClientSettings(anonymized_telemetry=False)
    )
    embedder = HashingEmbedder()
    client.create_collection(
        "newsrag_chunks",
        embedding_function=None,
        metadata={"embedder": embedder.name, "dimension": embedder.dimension},
    )
    del client
    with pytest.raises(EmbedderMismatch, match="layout 1"):
        ChromaStore.connect(ChromaSettings(), tmp_path, embedder.name, embedder.dimension)


def test_every_record_is_listed_when_they_take_several_reads(
    ingestor: Ingestor, store: ChromaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsrag.components.store import records

    monkeypatch.setattr(records, "RECORDS_PER_READ", 3)
    for number in range(7):
        ingestor.ingest(Article(f"Story number {number} about the bridge.", "B", f"s{number}"))
    listed = sorted(d.document_id for d in store.list_documents())
    assert listed == [f"s{number}" for number in range(7)]
    monkeypatch.setattr(records, "RECORDS_PER_READ", 7)  # a last read that comes back empty
    assert len(store.list_documents()) == 7


def test_the_change_log_names_every_write_and_delete_since_a_time(
    ingestor: Ingestor, store: ChromaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsrag.components.store import change_log

    ingestor.ingest(Article(OLD, "Bridge", "bridge"))
    ingestor.ingest(Article("The council met on Tuesday.", "Council", "council"))
    first, council = (store.get_document(d).write for d in ("bridge", "council"))
    middle = change_log.now()
    ingestor.ingest(Article(NEW, "Bridge", "bridge"))
    second = store.get_document("bridge").write
    store.delete_document("council")
    assert store.changed_since(0.0) == {
        "bridge": {first, second},
        "council": {council, change_log.DELETED},
    }
    assert store.changed_since(middle) == {"bridge": {second}, "council": {change_log.DELETED}}
    # entries older than the log keeps are pruned by a later write
    later = change_log.now() + change_log.RETENTION_S + change_log.MARGIN_S + 1
    monkeypatch.setattr(time, "time", lambda: later)
    ingestor.ingest(Article("A new story.", "New", "new"))
    assert set(store.changed_since(0.0)) == {"new"}


def test_a_commit_long_after_its_log_entry_is_logged_again(
    ingestor: Ingestor, store: ChromaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamps = spy_on_change_log(monkeypatch)
    ingestor.ingest(Article(OLD, "Bridge", "bridge"))
    assert len(stamps) == 1  # a prompt commit is logged once
    # the clock moves 1,000 s on once the entry is logged: the commit call stalled that long
    shift_commit_clock(monkeypatch, lambda: 1000.0 if len(stamps) > 1 else 0.0)
    ingestor.ingest(Article(NEW, "Bridge", "bridge"))
    assert len(stamps) == 3 and stamps[2] - stamps[1] >= 1000.0  # logged again after it
    assert store.changed_since(stamps[2]) == {"bridge": {store.get_document("bridge").write}}


def test_a_failed_second_log_entry_fails_neither_the_write_nor_the_delete(
    ingestor: Ingestor, store: ChromaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every second entry fails, and every commit returns 1,000 s after its entry
    calls = spy_on_change_log(monkeypatch, fails=lambda n: n % 2 == 0)
    shift_commit_clock(monkeypatch, lambda: 1000.0 * (len(calls) % 2))
    ingestor.ingest(Article(OLD, "Bridge", "bridge"))
    assert store.get_document("bridge").title == "Bridge"
    store.delete_document("bridge")
    assert len(calls) == 4
    with pytest.raises(NotFound):
        store.get_document("bridge")
    assert store.counts() == (0, 0)  # the delete's cleanup ran
