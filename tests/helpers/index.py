"""The corpus index and the store under it: real articles, a store with its ingestor, a built
index, the check that two snapshots answer alike, and spies on what the store reads and logs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.components.store.chroma import ChromaStore
from newsrag.config import ChromaSettings, ChunkSettings
from newsrag.ingest.pipeline import Ingestor
from newsrag.models import Article
from newsrag.retrieval.filters import Filters
from newsrag.retrieval.index import CorpusIndex
from newsrag.retrieval.snapshot import IndexSnapshot
from newsrag.text.dates import to_timestamp
from newsrag.text.sentences import lexical_tokens

CORPUS = Path(__file__).resolve().parents[2] / "newsrag/eval/data/multihop-rag-news-subset.json"
QUERIES = (
    "Sam Altman OpenAI board",
    "Amazon Cyber Monday deals on Kindle",
    "deal deal deal price",  # a repeated word counts each time, as bm25s sums it
    "What did the Federal Reserve say about interest rates?",
    "football club manager",
    "unknownword",
)


def articles(count: int, offset: int = 0) -> list[Article]:
    """Real news prose (MultiHop-RAG's bundled articles), cut short, with dates."""
    documents = json.loads(CORPUS.read_text(encoding="utf-8"))["documents"]
    found = []
    for number in range(offset, offset + count):
        document = documents[number]
        found.append(
            Article(
                document["text"][:1500],
                document["title"],
                f"story-{number:03d}",
                published_at=f"2023-{1 + number % 12:02d}-{1 + number % 27:02d}",
            )
        )
    return found


def open_store(path: Path) -> tuple[ChromaStore, Ingestor]:
    embedder = HashingEmbedder()
    store = ChromaStore.connect(ChromaSettings(), path, embedder.name, embedder.dimension)
    return store, Ingestor(store, embedder, ChunkSettings(size=64, overlap=8), 1_000_000)


def built(store: ChromaStore, dense_max: int = 10_000, **options: Any) -> CorpusIndex:
    index = CorpusIndex(store, dense_max, **options)
    index.start().result(timeout=60)
    return index


def statistics(snapshot: IndexSnapshot) -> dict[str, object]:
    """Everything a snapshot says about the corpus, by term and word (not by id)."""
    vocabulary = snapshot.vocabulary
    frequency = snapshot.document_frequency
    counts = snapshot.word_counts
    return {
        "size": snapshot.size,
        "total_length": snapshot.total_length,
        "span": snapshot.date_span(),
        "terms": {vocabulary.terms[t]: int(frequency[t]) for t in np.flatnonzero(frequency)},
        "words": {vocabulary.words[w]: int(counts[w]) for w in np.flatnonzero(counts)},
        "long_terms_present": snapshot.long_terms_present,
        "chunks": snapshot.chunk_ids(),
        "dense_ready": snapshot.dense_ready,
    }


def assert_same_answers(one: IndexSnapshot, other: IndexSnapshot) -> None:
    """Equal statistics, BM25 scores and spelling corrections. Dense scores agree to float32
    rounding only: a vector as ingested and as the store returns it later can differ in its last
    bits (Chroma may return it normalised again once it has compacted its log)."""
    assert statistics(one) == statistics(other)
    embedder = HashingEmbedder()
    windows = [
        Filters(),
        Filters(document_ids=("story-001", "story-004")),
        Filters(after_ts=to_timestamp("2023-03-01"), before_ts=to_timestamp("2023-09-30")),
    ]
    for query in QUERIES:
        vector = embedder.embed([query])[0]
        for filters in windows:
            tokens = lexical_tokens(query)
            assert one.search(tokens, 1000, filters) == other.search(tokens, 1000, filters)
            assert one.search(tokens, 3, filters) == other.search(tokens, 3, filters)
            dense = dict(one.dense_search(vector, 1000, filters))
            assert dense == pytest.approx(dict(other.dense_search(vector, 1000, filters)), abs=1e-6)
        for token in lexical_tokens(query):
            assert one.idf(token) == other.idf(token)
    for word in sorted(statistics(one)["words"])[::7]:  # type: ignore[call-overload]
        for misspelt in (word[:-1], word[1:], word.capitalize() + "x", word.upper() + "E"):
            assert one.correct_spelling(misspelt) == other.correct_spelling(misspelt)


def recording_row_reads(monkeypatch: Any) -> list[list[str]]:
    """The documents each ``ChromaStore.chunk_rows_of`` call reads, in order (a read of every
    chunk row fails the test): what a catch-up of the corpus index reads."""
    asked: list[list[str]] = []
    original = ChromaStore.chunk_rows_of

    def chunk_rows_of(store: ChromaStore, writes: dict[str, str], **kw: bool) -> object:
        asked.append(sorted(writes))
        return original(store, writes, **kw)

    monkeypatch.setattr(ChromaStore, "chunk_rows_of", chunk_rows_of)
    monkeypatch.setattr(ChromaStore, "iter_chunk_rows", lambda *_, **__: pytest.fail("read all"))
    return asked


def recording_record_reads(monkeypatch: Any) -> list[list[str]]:
    """The documents each ``ChromaStore.get_documents`` call reads, in order (a read of every
    record fails the test)."""
    asked: list[list[str]] = []
    original = ChromaStore.get_documents

    def get_documents(store: ChromaStore, document_ids: list[str], **kw: bool) -> object:
        asked.append(sorted(document_ids))
        return original(store, document_ids, **kw)

    monkeypatch.setattr(ChromaStore, "get_documents", get_documents)
    monkeypatch.setattr(ChromaStore, "list_documents", lambda *_: pytest.fail("read every record"))
    return asked


def spy_on_change_log(
    monkeypatch: Any, fails: Callable[[int], bool] = lambda _: False
) -> list[float]:
    """The time of each entry logged to the change log of writes, in order; the n-th entry (from
    1) raises instead of being logged when ``fails(n)``."""
    from newsrag.components.store import change_log

    stamps: list[float] = []
    original = change_log.ChangeLog.log

    def log(changes: change_log.ChangeLog, writes: list[tuple[str, str]], at: float) -> None:
        stamps.append(at)
        if fails(len(stamps)):
            raise RuntimeError("the vector store did not answer")
        original(changes, writes, at)

    monkeypatch.setattr(change_log.ChangeLog, "log", log)
    return stamps


def shift_commit_clock(monkeypatch: Any, by: Callable[[], float]) -> None:
    """The commit protocol's clock moved on by ``by()`` seconds, asked at each reading: a commit
    call that stalls that long."""
    from newsrag.components.store import commit

    real_now = commit.now
    monkeypatch.setattr(commit, "now", lambda: real_now() + by())
