"""The corpus index kept on disk: a restart loads it and reads only what changed since."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from newsrag.components.store.chroma import ChromaStore
from newsrag.models import Article
from newsrag.retrieval.index import CorpusIndex
from newsrag.retrieval.outlets import OutletCatalogue
from tests.helpers import (
    articles,
    assert_same_answers,
    built,
    open_store,
    recording_record_reads,
    recording_row_reads,
)


def started(store: ChromaStore, saved: Path) -> CorpusIndex:
    index = CorpusIndex(store, 10_000, saved_path=saved)
    index.start().result(timeout=60)
    assert index.ready
    return index


def test_a_restart_loads_the_index_and_reads_only_the_documents_changed_since(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "index" / "newsrag.pickle"
    store, ingestor = open_store(tmp_path / "store")
    for article in articles(6):
        ingestor.ingest(article)
    first = started(store, saved)
    assert saved.is_file()  # kept after its first build
    # written while no index of the next run listened (as by another process, or before a crash)
    writer, their_ingestor = open_store(tmp_path / "store")
    their_ingestor.ingest(articles(1, offset=7)[0])
    their_ingestor.ingest(Article("Rewritten after the index was kept.", "R", "story-002"))
    writer.delete_document("story-005")
    del first

    asked = recording_row_reads(monkeypatch)
    records = recording_record_reads(monkeypatch)
    restarted = started(store, saved)
    assert asked == [["story-002", "story-007"]]
    assert records == [["story-002", "story-005", "story-007"]]  # from the change log
    snapshot = restarted.snapshot()
    assert snapshot.generation == store.generation()  # caught up before it said ready
    monkeypatch.undo()
    assert_same_answers(snapshot, built(store).snapshot())
    assert not any(c.startswith("story-005") for c in snapshot.chunk_ids())


def test_a_saved_index_of_another_store_or_a_torn_file_is_not_used(tmp_path: Path) -> None:
    saved = tmp_path / "kept.pickle"
    one, one_ingestor = open_store(tmp_path / "one")
    one_ingestor.ingest(articles(1)[0])
    started(one, saved).save()
    other, other_ingestor = open_store(tmp_path / "other")
    other_ingestor.ingest(articles(1, offset=3)[0])
    index = started(other, saved)  # built from its own store
    assert_same_answers(index.snapshot(), built(other).snapshot())

    saved.write_bytes(saved.read_bytes()[:100])  # a crash mid-write cannot do this (rename),
    index = started(other, saved)  # a disk can
    assert_same_answers(index.snapshot(), built(other).snapshot())


def test_the_index_is_saved_from_a_copy_of_its_vocabulary(tmp_path: Path) -> None:
    store, ingestor = open_store(tmp_path / "store")
    ingestor.ingest(articles(1)[0])
    index = started(store, tmp_path / "kept.pickle")
    vocabulary = index.snapshot().vocabulary
    copied = vocabulary.copy()
    vocabulary.term("zeppelin")
    vocabulary.word("Zeppelin")
    assert "zeppelin" not in copied.term_ids and "Zeppelin" not in copied.word_ids
    assert copied.terms == vocabulary.terms[:-1] and copied.words == vocabulary.words[:-1]
    assert copied.stem_words == {k: v for k, v in vocabulary.stem_words.items() if k != "zeppelin"}


def test_the_outlets_are_kept_with_the_index_and_caught_up_at_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "index" / "newsrag.pickle"
    store, ingestor = open_store(tmp_path / "store")
    for number, article in enumerate(articles(4)):
        ingestor.ingest(replace(article, source=("The Verge", "Wired")[number % 2]))
    started(store, saved).save()
    _, their_ingestor = open_store(tmp_path / "store")  # written while no index listened
    their_ingestor.ingest(replace(articles(1, offset=5)[0], source="Reuters"))
    records = recording_record_reads(monkeypatch)
    outlets = OutletCatalogue(started(store, saved)).outlets()
    assert records == [["story-005"]]  # what the change log names, not every record
    assert outlets.documents(["Wired"]) == {"story-001", "story-003"}
    assert outlets.sources == ("Reuters", "The Verge", "Wired")
