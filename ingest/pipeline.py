"""Load → chunk → embed → store, one document at a time, each atomically."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from core.errors import InvalidInput, NewsragError
from core.settings import ChunkSettings
from ingest.chunking import chunk_text, sentences_of
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
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._chunking = chunking
        self._max_chars = max_document_chars

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
                "starting with a letter or digit",
                field="document_id",
            )
        return document_id

    def prepare(self, article: Article, document_id: str) -> PreparedDocument:
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
        sentence_vectors = self._embedder.embed([article.text[s.start : s.end] for s in sentences])
        return PreparedDocument(
            article=article,
            document_id=document_id,
            version=version,
            chunks=chunks,
            chunk_vectors=chunk_vectors(chunks, sentences, sentence_vectors),
            sentences=sentences,
            sentence_vectors=sentence_vectors,
        )

    def ingest(self, article: Article) -> IngestResult:
        document_id = self.validate(article)
        version = text_hash(article.text)
        existing = self._store.get_documents([document_id]).get(document_id)
        if existing is not None and existing.text_hash == version:
            if _same_metadata(existing, article):
                return IngestResult(document_id, "unchanged", existing.chunks, existing.title)
            if existing.published_at == article.published_at:  # chunks carry the date: keep them
                self._store.update_record(article, document_id, version, existing.chunks)
                return IngestResult(document_id, "updated", existing.chunks, article.title)
        prepared = self.prepare(article, document_id)
        return self._store.write_document(prepared, existing.text_hash if existing else None)

    def ingest_many(
        self,
        items: Iterable[tuple[str, Article | Exception]],
        on_progress: Callable[[], None] | None = None,
    ) -> IngestReport:
        """Ingest each item; a bad one is recorded with its reason and the rest go on."""
        report = IngestReport()
        for label, item in items:
            try:
                if isinstance(item, Exception):
                    raise item
                report.results.append(self.ingest(item))
            except NewsragError as exc:
                report.failures.append((label, exc.detail))
            except (OSError, ValueError, UnicodeError) as exc:
                report.failures.append((label, str(exc)))
            if on_progress:
                on_progress()
        return report


def _same_metadata(existing: StoredDocument, article: Article) -> bool:
    return (
        existing.title == article.title
        and existing.url == (article.url or None)
        and existing.source == (article.source or None)
        and existing.published_at == (article.published_at or None)
        and existing.metadata == article.metadata
    )
