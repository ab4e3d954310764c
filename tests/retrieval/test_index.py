"""The corpus index: incremental updates equal a full build, and equal bm25s's scores."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from newsrag.components.store import change_log
from newsrag.components.store import records as stored
from newsrag.components.store.chroma import ChromaStore
from newsrag.ingest.pipeline import Ingestor
from newsrag.models import Article
from newsrag.retrieval.filters import Filters
from newsrag.text.sentences import lexical_tokens, surface_words
from tests.helpers import (
    QUERIES,
    articles,
    assert_same_answers,
    built,
    open_store,
    recording_record_reads,
    recording_row_reads,
)


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[tuple[ChromaStore, Ingestor]]:
    yield open_store(tmp_path)


def committed_rows(store: ChromaStore) -> list[tuple[str, str]]:
    records = {d.document_id: d.write for d in store.list_documents()}
    rows = [r for r in store.iter_chunk_rows() if records.get(r.document_id) == r.write]
    return sorted((row.chunk_id, row.text) for row in rows)


def test_incremental_updates_equal_a_full_build(
    replica: tuple[ChromaStore, Ingestor],
) -> None:
    store, ingestor = replica
    for article in articles(3):
        ingestor.ingest(article)
    index = built(store, max_segments=3)
    first = index.snapshot()
    for article in articles(5, offset=3):  # each write is told to the index, not re-read
        ingestor.ingest(article)
    corrected = articles(1, offset=1)[0]
    ingestor.ingest(Article(corrected.text + " A correction.", "Corrected", "story-001"))
    ingestor.ingest(Article(corrected.text, "Retitled", "story-002", published_at="2021-06-01"))
    store.delete_document("story-004")
    store.delete_document("story-000")  # the earliest date goes: the span shrinks
    ingestor.ingest(articles(1, offset=9)[0])
    index.compact().result(timeout=60)  # and whatever compaction the writes asked for
    incremental = index.snapshot()
    assert incremental.sequence > first.sequence
    assert incremental.generation == store.generation()  # in step: no catch-up needed
    assert index.refresh() is incremental

    full = built(store).snapshot()
    assert len(full.segments) == 1
    assert_same_answers(incremental, full)
    assert incremental.chunk_ids() == {chunk_id for chunk_id, _ in committed_rows(store)}


def test_scores_equal_those_of_bm25s(replica: tuple[ChromaStore, Ingestor]) -> None:
    """Today's scoring kept: the same scores as a bm25s index of the same rows, bit for bit,
    however the rows are split into segments."""
    import bm25s

    store, ingestor = replica
    index = built(store, max_segments=100)
    for article in articles(8):
        ingestor.ingest(article)
    store.delete_document("story-003")
    ingestor.ingest(Article("Short. Tiny.", "Nearly empty", "tiny"))  # a row of few tokens
    snapshot = index.snapshot()
    assert len(snapshot.segments) > 1  # scores summed across segments

    rows = committed_rows(store)
    reference = bm25s.BM25()
    reference.index([lexical_tokens(text) or ["<empty>"] for _, text in rows], show_progress=False)
    for query in QUERIES:
        tokens = lexical_tokens(query)
        expected = np.asarray(reference.get_scores(tokens), dtype=np.float64)
        wanted = {chunk_id: float(s) for (chunk_id, _), s in zip(rows, expected, strict=True)}
        found = dict(snapshot.search(tokens, len(rows), Filters()))
        assert found == {chunk_id: s for chunk_id, s in wanted.items() if s > 0}


def test_another_process_s_writes_are_caught_up_from_the_changed_rows_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, our_ingestor = open_store(tmp_path)
    theirs, their_ingestor = open_store(tmp_path)  # a replica: its writes are not told to us
    for article in articles(6):
        our_ingestor.ingest(article)
    index = built(ours)
    before = index.snapshot()
    their_ingestor.ingest(articles(1, offset=7)[0])
    their_ingestor.ingest(Article("Rewritten entirely by the other replica.", "R", "story-002"))
    theirs.delete_document("story-005")

    asked = recording_row_reads(monkeypatch)
    records = recording_record_reads(monkeypatch)
    monkeypatch.setattr(stored, "RECORDS_PER_READ", 2)
    after = index.refresh()
    assert after is not before and after.generation == ours.generation()
    assert asked == [["story-002", "story-007"]]
    # what the change log names, a page at a time
    assert records == [["story-002", "story-005"], ["story-007"]]
    monkeypatch.undo()
    assert_same_answers(after, built(ours).snapshot())


def test_a_catch_up_after_more_than_the_change_log_keeps_reads_every_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, our_ingestor = open_store(tmp_path)
    _, their_ingestor = open_store(tmp_path)  # a replica
    our_ingestor.ingest(articles(1)[0])
    index = built(ours)
    their_ingestor.ingest(articles(1, offset=3)[0])
    later = change_log.now() + change_log.RETENTION_S - change_log.MARGIN_S
    monkeypatch.setattr(time, "time", lambda: later)
    listed: list[int] = []
    original = ChromaStore.list_documents

    def list_documents(store: ChromaStore) -> object:
        listed.append(1)
        return original(store)

    monkeypatch.setattr(ChromaStore, "list_documents", list_documents)
    snapshot = index.refresh()
    assert listed == [1] and snapshot.generation == ours.generation()
    assert any(c.startswith("story-003#") for c in snapshot.chunk_ids())


def test_a_full_build_keeps_the_writes_made_while_it_ran(
    replica: tuple[ChromaStore, Ingestor], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, ingestor = replica
    for article in articles(3):
        ingestor.ingest(article)
    index = built(store)
    original = ChromaStore.iter_chunk_rows

    def slow_rows(self: ChromaStore, *args: object, **kwargs: bool) -> object:
        found = list(original(self, *args, **kwargs))  # type: ignore[arg-type]
        ingestor.ingest(articles(1, offset=5)[0])  # written after the build read the rows
        return iter(found)

    monkeypatch.setattr(ChromaStore, "iter_chunk_rows", slow_rows)
    index.rebuild().result(timeout=60)
    monkeypatch.undo()
    snapshot = index.snapshot()
    assert any(chunk_id.startswith("story-005#") for chunk_id in snapshot.chunk_ids())
    assert_same_answers(snapshot, built(store).snapshot())


def test_dense_search_moves_in_process_again_when_the_archive_shrinks(
    replica: tuple[ChromaStore, Ingestor],
) -> None:
    store, ingestor = replica
    for article in articles(2):
        ingestor.ingest(article)
    limit = store.counts()[1] + 2
    index = built(store, dense_max=limit)
    assert index.dense_ready
    ingestor.ingest(articles(1, offset=2)[0])  # over the limit: Chroma's HNSW answers
    assert not index.dense_ready
    store.delete_document("story-002")  # under it again: a rebuild reads the vectors
    index.compact().result(timeout=60)  # runs after the rebuild it queued
    assert index.dense_ready
    assert_same_answers(index.snapshot(), built(store, dense_max=limit).snapshot())


def test_vocabulary_and_spelling_follow_deletes(replica: tuple[ChromaStore, Ingestor]) -> None:
    store, ingestor = replica
    index = built(store)
    ingestor.ingest(Article("Dmitry Peskov spoke. Boris Johnson tweeted.", "K", "kremlin"))
    assert index.correct_spelling("What did Peskof say?") == "What did Peskov say?"
    assert "peskov" in set(surface_words(" ".join(t for _, t in committed_rows(store))))
    store.delete_document("kremlin")
    assert index.size == 0
    assert index.correct_spelling("What did Peskof say?") == "What did Peskof say?"


def test_a_write_the_generation_token_hid_is_found_by_the_periodic_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, our_ingestor = open_store(tmp_path)
    _, their_ingestor = open_store(tmp_path)  # a replica
    our_ingestor.ingest(articles(1)[0])
    index = built(ours, recheck_s=3600.0)
    stale = ours.generation()
    their_ingestor.ingest(articles(1, offset=4)[0])
    # the race Chroma cannot prevent: our write read the token before theirs was stamped, so
    # our token replaces theirs and our index believes it is in step
    with monkeypatch.context() as patched:
        patched.setattr(ChromaStore, "generation", lambda _: stale)
        our_ingestor.ingest(articles(1, offset=2)[0])
    snapshot = index.refresh()
    assert snapshot.generation == ours.generation()
    assert not any(c.startswith("story-004") for c in snapshot.chunk_ids())  # hidden
    monkeypatch.setattr(index, "_recheck_s", 0.0)
    index.refresh()  # starts the check in the background; this question does not wait
    deadline = time.monotonic() + 30
    while not any(c.startswith("story-004") for c in index.snapshot().chunk_ids()):
        assert time.monotonic() < deadline, "the periodic check never found their write"
        time.sleep(0.05)
    assert_same_answers(index.snapshot(), built(ours).snapshot())
