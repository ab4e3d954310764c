"""Concurrent writers, the check that a document they wrote is whole, and spies on store reads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from newsrag.components.embeddings.hashing import HashingEmbedder
from newsrag.components.store.chroma import ChromaStore
from newsrag.config import (
    ChromaSettings,
    ChunkSettings,
    RetrievalSettings,
)
from newsrag.ingest.pipeline import Ingestor
from newsrag.models import Article, IngestResult
from newsrag.retrieval.filters import Filters
from newsrag.retrieval.hybrid import HybridRetriever
from newsrag.text.chunking import sentences_of

if TYPE_CHECKING:
    from multiprocessing.synchronize import Barrier


T = TypeVar("T")
WORDS = ["ferry", "tariff", "pier", "crane", "dredging", "berth", "tug", "quay", "pilot", "tide"]
# every chunk of one document comes back from one search with these
EVERYTHING = RetrievalSettings(candidates=200)


def story(tag: str, sentences: int = 40) -> str:
    """About 100 bytes a sentence (4 kB by default); ``tag`` makes the text unique."""
    lines = [
        f"Update {tag} line {i}: the harbour board said the {WORDS[i % len(WORDS)]} works "
        f"cost {i * 7 + len(tag)} thousand pounds this quarter."
        for i in range(sentences)
    ]
    return f"Harbour report {tag}\n\n" + " ".join(lines)


def connect(chroma: ChromaSettings, path: Path = Path("unused")) -> tuple[ChromaStore, Ingestor]:
    """A replica: its own store and ingestor (default chunking) on ``chroma``."""
    embedder = HashingEmbedder()
    store = ChromaStore.connect(chroma, path, embedder.name, embedder.dimension)
    return store, Ingestor(store, embedder, ChunkSettings(), 1_000_000)


def race(calls: Sequence[Callable[[], T]]) -> list[T | BaseException]:
    """Run the calls at once, each in its own thread; each one's result or exception."""
    start = threading.Barrier(len(calls))
    outcomes: list[T | BaseException] = [RuntimeError("did not finish")] * len(calls)

    def run(position: int) -> None:
        start.wait()
        try:
            outcomes[position] = calls[position]()
        except BaseException as exc:  # reported to the calling thread
            outcomes[position] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def assert_whole(store: ChromaStore, document_id: str, texts: Collection[str]) -> str:
    """The record's text is one of ``texts``; its chunks and its sentences are all there, cut
    from that text, and found by search; its versions are numbered 1..n. Returns the text."""
    document = store.get_document(document_id)
    text = document.text or ""
    assert text in texts, f"{document_id}: the stored text is none of the texts written"

    retriever = HybridRetriever(store, EVERYTHING)
    retriever.index.refresh()
    query = text[:200]
    vector = HashingEmbedder().embed([query])[0]
    passages = retriever.retrieve(query, vector, 200, Filters(document_ids=(document_id,)))
    assert len(passages) == document.chunks, (
        f"{document_id}: the record says {document.chunks} chunks, search finds {len(passages)}"
    )
    assert len({p.chunk.chunk_id for p in passages}) == len(passages)
    covered: set[int] = set()
    for passage in passages:
        chunk = passage.chunk
        assert text[chunk.start : chunk.end] == chunk.text, f"{document_id}: a foreign chunk"
        covered.update(range(chunk.first_sentence, chunk.last_sentence + 1))
    sentences = sentences_of(text)
    assert covered == set(range(len(sentences))), f"{document_id}: sentences without a chunk"

    rows = store.get_sentences(document_id, document.text_hash, range(len(sentences)))
    assert [row.index for row in rows] == list(range(len(sentences))), (
        f"{document_id}: the sentence pack of the stored text is missing or incomplete"
    )
    assert all(text[row.start : row.end] == row.text for row in rows)

    versions = store.versions(document_id, with_text=True)
    numbers = [version.version for version in versions]
    assert numbers == list(range(1, len(versions) + 1)), (
        f"{document_id}: version numbers {numbers} are not 1..n"
    )
    assert versions[-1].text == text and versions[-1].superseded_at is None
    assert all(version.superseded_at for version in versions[:-1])
    return text


def assert_no_strays(store: ChromaStore, document_id: str) -> None:
    """Every chunk row and sentence pack of the document is one the reader uses."""
    document = store.get_document(document_id, with_text=False)
    for collection in (store._collections.chunks, store._collections.sentences):
        got = collection.get(where={"document_id": document_id}, include=["metadatas"])
        writes = {str((meta or {}).get("write")) for meta in got.get("metadatas") or []}
        assert writes <= {document.write}, f"{document_id}: rows of other writes {writes}"


def write_rounds(
    chroma: ChromaSettings,
    document_id: str,
    tags: list[list[str]],
    start: Barrier,
    done: Barrier,
) -> None:
    """One replica process: each round, once ``start`` opens, write a story per tag of that
    round from a thread each, then wait at ``done``. Runs under multiprocessing."""
    _, ingestor = connect(chroma)
    failed: list[str] = []
    for round_tags in tags:
        start.wait()
        outcomes = race(
            [
                partial(ingestor.ingest, Article(story(tag), "Report", document_id))
                for tag in round_tags
            ]
        )
        failed.extend(
            repr(outcome) for outcome in outcomes if not isinstance(outcome, IngestResult)
        )
        done.wait()
    if failed:
        raise AssertionError("; ".join(failed))  # the process exits with 1
