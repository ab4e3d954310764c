"""Load → chunk → embed → store, one document at a time, each atomically."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from newsrag.components.embeddings import Embedder, Matrix
from newsrag.components.store import commit
from newsrag.components.store.chroma import ChromaStore, PreparedDocument
from newsrag.config import ChunkSettings, NewsroomSettings
from newsrag.errors import InvalidInput
from newsrag.ingest import batches
from newsrag.ingest.batches import IngestReport
from newsrag.ingest.corrections import sentence_corrections
from newsrag.models import Article, Chunk, IngestResult, Sentence, StoredDocument
from newsrag.text import near_duplicates
from newsrag.text.chunking import chunk_text, sentences_of
from newsrag.text.ids import (
    DOCUMENT_ID_RULE,
    derive_document_id,
    is_valid_document_id,
    text_hash,
)

log = logging.getLogger(__name__)
# Stored documents whose text is read to confirm a MinHash match (most similar first).
MAX_COPY_CANDIDATES = 5


def chunk_vectors(chunks: list[Chunk], sentences: list[Sentence], vectors: Matrix) -> Matrix:
    """A chunk's vector: the mean of its sentences' vectors, weighted by characters inside it.

    Embedding sentences once and pooling them is cheaper than embedding every overlapping
    256-token window again, and the eval's retrieval figures hold (see README, "Retrieval").
    """
    out = np.zeros((len(chunks), vectors.shape[1] if len(vectors) else 0), dtype=np.float32)
    for row, chunk in enumerate(chunks):
        total = np.zeros(out.shape[1], dtype=np.float32)
        for index in range(chunk.first_sentence, chunk.last_sentence + 1):
            sentence = sentences[index]
            inside = min(sentence.end, chunk.end) - max(sentence.start, chunk.start)
            if inside > 0:
                total += vectors[index] * float(inside)
        norm = float(np.linalg.norm(total))
        out[row] = total / norm if norm > 0 else total
    return out


@dataclass
class Plan:
    """What a batch of ``size`` articles needs (see :meth:`Ingestor.plan`), by position."""

    size: int
    results: dict[int, IngestResult] = field(default_factory=dict)
    ready: list[tuple[int, PreparedDocument]] = field(default_factory=list)
    to_prepare: list[tuple[int, Article, str]] = field(default_factory=list)


class Ingestor:
    """Validates articles and writes each one as a new version, or leaves it unchanged."""

    def __init__(
        self,
        store: ChromaStore,
        embedder: Embedder,
        chunking: ChunkSettings,
        max_document_chars: int,
        newsroom: NewsroomSettings | None = None,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._chunking = chunking
        self._max_chars = max_document_chars
        self._newsroom = newsroom or NewsroomSettings()

    @property
    def store(self) -> ChromaStore:
        return self._store

    def validate(self, article: Article) -> str:
        """The document id the article will be stored under; raise on invalid input."""
        if not article.text.strip():
            raise InvalidInput("text: must not be empty or only white space", field="text")
        if len(article.text) > self._max_chars:
            raise InvalidInput(
                f"text: {len(article.text)} characters is over the limit of {self._max_chars}",
                field="text",
            )
        document_id = article.document_id or derive_document_id(article.text)
        if not is_valid_document_id(document_id):
            raise InvalidInput(f"document_id: {DOCUMENT_ID_RULE}", field="document_id")
        return document_id

    def prepare_many(self, batch: list[tuple[Article, str]]) -> list[PreparedDocument]:
        """Chunk each article and embed all their sentences in one call (fuller batches)."""
        now = _now()
        cut = []
        texts: list[str] = []
        for article, document_id in batch:
            write = commit.new_write_id()
            sentences = sentences_of(article.text)
            chunks = chunk_text(
                article.text,
                document_id,
                write,  # chunk ids name the write (see newsrag.components.store.rows)
                sentences,
                chunk_size=self._chunking.size,
                overlap=self._chunking.overlap,
            )
            cut.append((article, document_id, write, sentences, chunks, len(texts)))
            texts.extend(article.text[s.start : s.end] for s in sentences)
        # a sentence printed twice (wire copies, boilerplate) is embedded once
        unique = {text: row for row, text in enumerate(dict.fromkeys(texts))}
        vectors = self._embedder.embed(list(unique))[[unique[text] for text in texts]]
        prepared = []
        for article, document_id, write, sentences, chunks, offset in cut:
            sentence_vectors = vectors[offset : offset + len(sentences)]
            prepared.append(
                PreparedDocument(
                    article=article,
                    document_id=document_id,
                    text_hash=text_hash(article.text),
                    chunks=chunks,
                    chunk_vectors=chunk_vectors(chunks, sentences, sentence_vectors),
                    sentences=sentences,
                    sentence_vectors=sentence_vectors,
                    signature=near_duplicates.signature(article.text),
                    ingested_at=now,
                    write=write,
                )
            )
        return prepared

    def _as_new_version(
        self, ready: PreparedDocument, previous: StoredDocument
    ) -> PreparedDocument:
        """Number the version and chain it to the previous text (see store.history); mark the
        sentences this correction changed or added. ``previous`` is the record being replaced,
        with its text."""
        if previous.text_hash == ready.text_hash:  # new metadata, or a repair: the same version
            corrections = ready.corrections
            if not corrections and previous.version > 1:
                rows = self._store.record_sentences(previous, range(len(ready.sentences)))
                corrections = {row.index: row.correction for row in rows if row.correction}
            return replace(
                ready,
                version=previous.version,
                previous_write=previous.previous_write,
                ingested_at=previous.ingested_at,
                corrections=corrections,
                has_copies=previous.has_copies,
            )
        old_text = previous.text or ""
        old_sentences = sentences_of(old_text)
        rows = self._store.record_sentences(previous, [s.index for s in old_sentences])
        old_corrections = {row.index: row.correction for row in rows if row.correction}
        number = previous.version + 1
        corrections = sentence_corrections(
            old_text,
            old_sentences,
            old_corrections,
            ready.article.text,
            ready.sentences,
            number,
            ready.ingested_at,
        )
        return replace(
            ready,
            version=number,
            previous_write=previous.write,
            corrections=corrections,
            has_copies=previous.has_copies,
        )

    def _wire_group(
        self,
        ready: PreparedDocument,
        batch: Sequence[PreparedDocument],
        stored: Sequence[StoredDocument],
        texts: Mapping[str, StoredDocument],
    ) -> str:
        """The group of the most similar stored copy (``stored``, most similar first, with
        their texts in ``texts``), else of the most similar earlier document of the same batch
        (not stored yet), or a group of its own. MinHash proposes copies; one whose aligned
        sentences disagree on names, numbers or quotes is another story that shares
        boilerplate, not a copy (see ``near_duplicates.compare``)."""
        if ready.signature is None:
            return ready.document_id
        text = ready.article.text
        for copy in stored:
            found = texts.get(copy.document_id)
            if found and found.text and near_duplicates.compare(text, found.text).same_story:
                return copy.group
        earlier: list[tuple[float, PreparedDocument]] = []
        for other in batch:
            if other.signature is None or other.document_id == ready.document_id:
                continue
            score = near_duplicates.similarity(ready.signature, other.signature)
            if score >= self._newsroom.wire_threshold:
                earlier.append((score, other))
        for _, other in sorted(earlier, key=lambda item: -item[0]):
            if near_duplicates.compare(text, other.article.text).same_story:
                return other.wire_group or other.document_id
        return ready.document_id

    def _stored_copies(
        self, documents: Sequence[PreparedDocument]
    ) -> tuple[dict[str, list[StoredDocument]], dict[str, StoredDocument]]:
        """The stored candidate copies of each document still without a group, and their
        texts: two store reads for the whole batch."""
        signatures = {
            d.document_id: d.signature
            for d in documents
            if d.signature is not None and not d.wire_group
        }
        found = self._store.find_copies(signatures, self._newsroom.wire_threshold)
        candidates = {d: copies[:MAX_COPY_CANDIDATES] for d, copies in found.items()}
        wanted = sorted({c.document_id for copies in candidates.values() for c in copies})
        return candidates, self._store.get_documents(wanted, with_text=True) if wanted else {}

    def ingest(self, article: Article) -> IngestResult:
        return self.ingest_batch([article])[0]

    def ingest_batch(self, articles: list[Article]) -> list[IngestResult]:
        """Ingest articles with one store read, one embedding call and one batched write for
        the whole batch; each document is still committed atomically on its own. Raises on the
        first invalid one."""
        ids = [self.validate(article) for article in articles]
        seen: set[str] = set()
        for position, document_id in enumerate(ids):
            if document_id in seen:  # the second copy must see the first one stored
                return self.ingest_batch(articles[:position]) + self.ingest_batch(
                    articles[position:]
                )
            seen.add(document_id)
        # this process's other writers and deletes of these ids wait (see store.commit)
        with self._store.locked(ids):
            return self._ingest_locked(articles, ids)

    def _ingest_locked(self, articles: list[Article], ids: list[str]) -> list[IngestResult]:
        plan = self.plan(articles, ids)
        return self.finish(plan, self.prepare(plan))

    def plan(self, articles: list[Article], ids: list[str]) -> Plan:
        """Read the batch's records and decide what each article needs: nothing (unchanged),
        a rewrite of its stored rows (new metadata) or chunking and embedding. The caller
        holds the documents' locks until :meth:`finish`."""
        existing = self._store.get_documents(ids)
        same_text = [
            found
            for article, document_id in zip(articles, ids, strict=True)
            if (found := existing.get(document_id)) and found.text_hash == text_hash(article.text)
        ]
        # "unchanged" only for a version that is all there; a broken one is written again
        broken = self._store.incomplete(same_text)
        self._store.settle([found for found in same_text if found.document_id not in broken])
        plan = Plan(len(articles))
        for position, (article, document_id) in enumerate(zip(articles, ids, strict=True)):
            found = existing.get(document_id)
            if (
                found is None
                or found.text_hash != text_hash(article.text)
                or document_id in broken
                or found.withdrawn_at  # restored: its rows were dropped, so it is embedded again
            ):
                plan.to_prepare.append((position, article, document_id))
            elif _same_metadata(found, article):
                plan.results[position] = IngestResult(
                    document_id, "unchanged", found.chunks, found.title
                )
            elif (copy := self._store.copy_of(found, self._without_rows(article, found))) is None:
                plan.to_prepare.append((position, article, document_id))  # its rows just went
            else:  # new title, metadata or date: the same chunks and vectors, rewritten
                plan.ready.append((position, copy))
        return plan

    def prepare(self, plan: Plan) -> list[PreparedDocument]:
        """Chunk and embed what ``plan`` needs; touches no store, so it may run in another
        thread while the previous batch is written."""
        if not plan.to_prepare:
            return []
        return self.prepare_many([(article, doc_id) for _, article, doc_id in plan.to_prepare])

    def finish(self, plan: Plan, prepared: list[PreparedDocument]) -> list[IngestResult]:
        """Write the batch (one commit call for all its records) and return one result an
        article, in the order of the articles."""
        results = dict(plan.results)
        ready = list(plan.ready)
        ready.extend(
            (position, p) for (position, _, _), p in zip(plan.to_prepare, prepared, strict=True)
        )
        if ready:
            ready.sort(key=lambda item: item[0])
            written = self._write([document for _, document in ready])
            results.update(zip([position for position, _ in ready], written, strict=True))
        return [results[position] for position in range(plan.size)]

    def _write(self, documents: list[PreparedDocument]) -> list[IngestResult]:
        """Write each document as the next version of its record as it is now (read again
        here: another replica may have written it since it was first read)."""
        read_at = commit.now()
        current = self._store.get_documents([d.document_id for d in documents], with_text=True)
        writes: list[tuple[PreparedDocument, StoredDocument | None]] = []
        batch: list[PreparedDocument] = []
        candidates, texts = self._stored_copies(documents)
        for ready in documents:
            previous = current.get(ready.document_id)
            if previous is not None:
                ready = self._as_new_version(ready, previous)
            if not ready.wire_group:
                stored = candidates.get(ready.document_id, [])
                group = self._wire_group(ready, batch, stored, texts)
                ready = replace(ready, wire_group=group)
            batch.append(ready)
            writes.append((ready, previous))
        return self._store.write_documents(writes, read_at)

    def _without_rows(self, article: Article, found: StoredDocument) -> PreparedDocument:
        """A new write of ``found``'s text with ``article``'s metadata; its rows are copied."""
        empty = np.zeros((0, self._embedder.dimension), dtype=np.float32)
        return PreparedDocument(
            article=article,
            document_id=found.document_id,
            text_hash=found.text_hash,
            chunks=[],
            chunk_vectors=empty,
            sentences=[],
            sentence_vectors=empty,
            signature=near_duplicates.signature(article.text),
            ingested_at=found.ingested_at,
            version=found.version,
            wire_group=found.group,
            has_copies=found.has_copies,
            write=commit.new_write_id(),
        )

    def ingest_many(
        self,
        items: Iterable[tuple[str, Article | Exception]],
        on_progress: Callable[[int], object] | None = None,
        batch_size: int = 32,
    ) -> IngestReport:
        """Ingest every item in batches (memory stays bounded by two batches), embedding the
        next batch while one is written (see ``ingest.batches``); a bad item is recorded with
        its reason and the rest go on. ``on_progress`` gets the items done."""
        return batches.ingest_many(self, items, on_progress, batch_size)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _same_metadata(existing: StoredDocument, article: Article) -> bool:
    return (
        existing.title == article.title
        and existing.url == (article.url or None)
        and existing.source == (article.source or None)
        and existing.published_at == (article.published_at or None)
        and existing.metadata == article.metadata
    )
