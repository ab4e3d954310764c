"""Load → chunk → embed → store, one document at a time, each atomically."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from core.errors import InvalidInput, NewsragError
from core.settings import ChunkSettings, NewsroomSettings
from ingest import near_duplicates
from ingest.chunking import chunk_text, sentences_of
from ingest.corrections import sentence_corrections
from ingest.embeddings import Embedder, Matrix
from ingest.ids import derive_document_id, is_valid_document_id, text_hash
from ingest.models import Article, Chunk, IngestResult, Sentence, StoredDocument
from ingest.store import ChromaStore, PreparedDocument

log = logging.getLogger(__name__)


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
class IngestReport:
    results: list[IngestResult] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)


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
            raise InvalidInput(
                "document_id: 1-200 characters of letters, digits and ._:/@+=- (no spaces), "
                "starting with a letter or digit, not ending in /versions",
                field="document_id",
            )
        return document_id

    def prepare(self, article: Article, document_id: str) -> PreparedDocument:
        return self.prepare_many([(article, document_id)])[0]

    def prepare_many(self, batch: list[tuple[Article, str]]) -> list[PreparedDocument]:
        """Chunk each article and embed all their sentences in one call (fuller batches)."""
        now = _now()
        cut = []
        texts: list[str] = []
        for article, document_id in batch:
            version = text_hash(article.text)
            sentences = sentences_of(article.text)
            chunks = chunk_text(
                article.text,
                document_id,
                version,
                sentences,
                chunk_size=self._chunking.size,
                overlap=self._chunking.overlap,
            )
            cut.append((article, document_id, version, sentences, chunks, len(texts)))
            texts.extend(article.text[s.start : s.end] for s in sentences)
        vectors = self._embedder.embed(texts)
        prepared = []
        for article, document_id, version, sentences, chunks, offset in cut:
            sentence_vectors = vectors[offset : offset + len(sentences)]
            prepared.append(
                PreparedDocument(
                    article=article,
                    document_id=document_id,
                    version=version,
                    chunks=chunks,
                    chunk_vectors=chunk_vectors(chunks, sentences, sentence_vectors),
                    sentences=sentences,
                    sentence_vectors=sentence_vectors,
                    signature=near_duplicates.signature(article.text),
                    ingested_at=now,
                )
            )
        return prepared

    def _as_new_version(
        self, ready: PreparedDocument, previous: StoredDocument
    ) -> tuple[PreparedDocument, StoredDocument]:
        """Number the version and mark the sentences this correction changed or added; also
        the previous record with its text, which the store archives."""
        if previous.text_hash == ready.version:
            return replace(ready, version_number=previous.version), previous
        old = self._store.get_document(previous.document_id, with_text=True)
        old_text = old.text or ""
        old_sentences = sentences_of(old_text)
        rows = self._store.get_sentences(
            previous.document_id, previous.text_hash, [s.index for s in old_sentences]
        )
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
        numbered = replace(
            ready, version_number=number, corrections=corrections, has_copies=previous.has_copies
        )
        return numbered, old

    def _wire_group(self, ready: PreparedDocument, batch: Sequence[PreparedDocument]) -> str:
        """The group of the most similar stored copy, else of the most similar earlier document
        of the same batch (not stored yet), or a group of its own."""
        if ready.signature is None:
            return ready.document_id
        threshold = self._newsroom.wire_threshold
        copy = self._store.find_copy(ready.signature, ready.document_id, threshold)
        if copy is not None:
            return copy.group
        best: tuple[float, str] | None = None
        for other in batch:
            if other.signature is None or other.document_id == ready.document_id:
                continue
            score = near_duplicates.similarity(ready.signature, other.signature)
            if score >= threshold and (best is None or score > best[0]):
                best = (score, other.wire_group or other.document_id)
        return best[1] if best else ready.document_id

    def ingest(self, article: Article) -> IngestResult:
        return self._ingest_batch([article])[0]

    def _ingest_batch(self, articles: list[Article]) -> list[IngestResult]:
        """Ingest articles with one store read, one embedding call and one batched write for
        the whole batch; each document is still committed atomically on its own. Raises on the
        first invalid one."""
        ids = [self.validate(article) for article in articles]
        seen: set[str] = set()
        for position, document_id in enumerate(ids):
            if document_id in seen:  # the second copy must see the first one stored
                return self._ingest_batch(articles[:position]) + self._ingest_batch(
                    articles[position:]
                )
            seen.add(document_id)
        existing = self._store.get_documents(ids)
        results: dict[int, IngestResult] = {}
        to_write: list[tuple[int, Article, str]] = []
        for position, (article, document_id) in enumerate(zip(articles, ids, strict=True)):
            version = text_hash(article.text)
            found = existing.get(document_id)
            if found is not None and found.text_hash == version:
                if not found.clean:
                    self._store.finish_cleanup(found)
                if _same_metadata(found, article):
                    results[position] = IngestResult(
                        document_id, "unchanged", found.chunks, found.title
                    )
                    continue
                if found.published_at == article.published_at:  # chunks carry the date
                    self._store.update_record(self._metadata_only(article, found), found.chunks)
                    results[position] = IngestResult(
                        document_id, "updated", found.chunks, article.title
                    )
                    continue
            to_write.append((position, article, document_id))
        if to_write:
            prepared = self.prepare_many([(article, doc_id) for _, article, doc_id in to_write])
            writes: list[tuple[PreparedDocument, StoredDocument | None]] = []
            batch: list[PreparedDocument] = []
            for (_, _, document_id), ready in zip(to_write, prepared, strict=True):
                previous = existing.get(document_id)
                if previous is not None:
                    ready, previous = self._as_new_version(ready, previous)
                ready = replace(ready, wire_group=self._wire_group(ready, batch))
                batch.append(ready)
                writes.append((ready, previous))
            written = self._store.write_documents(writes)
            for (position, _, _), result in zip(to_write, written, strict=True):
                results[position] = result
        return [results[position] for position in range(len(articles))]

    def _metadata_only(self, article: Article, found: StoredDocument) -> PreparedDocument:
        empty = np.zeros((0, self._embedder.dimension), dtype=np.float32)
        return PreparedDocument(
            article=article,
            document_id=found.document_id,
            version=found.text_hash,
            chunks=[],
            chunk_vectors=empty,
            sentences=[],
            sentence_vectors=empty,
            signature=near_duplicates.signature(article.text),
            ingested_at=found.ingested_at,
            version_number=found.version,
            wire_group=found.group,
            has_copies=found.has_copies,
        )

    def ingest_many(
        self,
        items: Iterable[tuple[str, Article | Exception]],
        on_progress: Callable[[int], object] | None = None,
        batch_size: int = 32,
    ) -> IngestReport:
        """Ingest every item in batches (memory stays bounded by the batch); a bad item is
        recorded with its reason and the rest go on. ``on_progress`` gets the items done."""
        report = IngestReport()
        batch: list[tuple[str, Article]] = []

        def flush() -> None:
            if not batch:
                return
            try:
                report.results.extend(self._ingest_batch([article for _, article in batch]))
            except (NewsragError, OSError, ValueError, UnicodeError):
                # one article spoils the batch: redo it one by one to name the culprit
                for label, article in batch:
                    self._ingest_one(report, label, article)
            if on_progress:
                on_progress(len(batch))
            batch.clear()

        for label, item in items:
            if isinstance(item, Exception):
                report.failures.append((label, _reason(item)))
                if on_progress:
                    on_progress(1)
                continue
            batch.append((label, item))
            if len(batch) >= batch_size:
                flush()
        flush()
        return report

    def _ingest_one(self, report: IngestReport, label: str, article: Article) -> None:
        try:
            report.results.append(self.ingest(article))
        except (NewsragError, OSError, ValueError, UnicodeError) as exc:
            report.failures.append((label, _reason(exc)))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _reason(exc: Exception) -> str:
    return exc.detail if isinstance(exc, NewsragError) else str(exc)


def _same_metadata(existing: StoredDocument, article: Article) -> bool:
    return (
        existing.title == article.title
        and existing.url == (article.url or None)
        and existing.source == (article.source or None)
        and existing.published_at == (article.published_at or None)
        and existing.metadata == article.metadata
    )
