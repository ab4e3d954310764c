"""What a write stores besides the document record, and how it is encoded in Chroma.

Every chunk row and sentence pack belongs to one *write* (one ingest's attempt at a document,
see ``store.commit``): its id holds the write id and its metadata names it, so the rows of two
writes of the same document never share an id, and a write's rows can be deleted, or found
incomplete, by that id alone.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from newsrag.models import Article, Chunk, Correction, MetadataValue, Sentence, StoredDocument
from newsrag.text import near_duplicates
from newsrag.text.dates import to_timestamp
from newsrag.text.ids import chunk_id, sentence_id

if TYPE_CHECKING:
    from newsrag.components.embeddings import Matrix

# Persisted metadata keys whose names differ from the fields they hold; renaming them would make
# every existing store unreadable.
ROW_TEXT_HASH_KEY = "version"  # chunk rows and sentence packs: the text's hash
RECORD_VERSION_KEY = "version_number"  # document records and history rows: the version, 1..n


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """Everything an ingest writes, computed before the store is touched."""

    article: Article
    document_id: str
    text_hash: str
    chunks: list[Chunk]
    chunk_vectors: Matrix
    sentences: list[Sentence]
    sentence_vectors: Matrix
    signature: near_duplicates.Signature | None  # None: too short to be a wire copy
    ingested_at: str
    # sentences that a correction changed or added, by index (empty for a first version)
    corrections: dict[int, Correction] = field(default_factory=dict)
    version: int = 1  # 1 for the first text of the document, +1 for each changed text
    wire_group: str = ""  # filled in just before writing (see Ingestor)
    has_copies: bool = False
    write: str = ""  # this write's id: the chunk ids and the sentence pack id hold it
    previous_write: str = ""  # the write of the previous text (the history chain)
    withdrawn_at: str | None = None  # a withdrawal: the text stays, without rows (no chunks)


@dataclass(frozen=True, slots=True)
class ChunkHit:
    chunk_id: str
    document_id: str
    text_hash: str
    text: str
    start: int
    end: int
    first_sentence: int
    last_sentence: int
    similarity: float
    write: str = ""  # current only while the document record names this write


@dataclass(frozen=True, slots=True)
class SentenceRow:
    sentence_id: str
    document_id: str
    index: int
    start: int
    end: int
    text: str
    vector: Matrix
    correction: Correction | None = None


@dataclass(frozen=True, slots=True)
class ChunkRow:
    chunk_id: str
    document_id: str
    text_hash: str
    text: str
    published_ts: int | None
    vector: Matrix | None = None
    write: str = ""  # the write that stored the row (see store.commit)


def where_for(
    document_ids: Sequence[str] | None, after_ts: int | None, before_ts: int | None
) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if document_ids:
        clauses.append({"document_id": {"$in": list(document_ids)}})
    if after_ts is not None:
        clauses.append({"published_ts": {"$gte": after_ts}})
    if before_ts is not None:
        clauses.append({"published_ts": {"$lte": before_ts}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def any_of(clauses: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Chroma's ``$or`` wants two clauses or more."""
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$or": list(clauses)}


def rows_of(writes: Mapping[str, set[str]]) -> dict[str, Any] | None:
    """A filter for the rows of these writes, by document (write ids are unique per document)."""
    return any_of(
        [
            {"$and": [{"document_id": document_id}, {"write": {"$in": sorted(ids)}}]}
            for document_id, ids in sorted(writes.items())
            if ids
        ]
    )


def row_metadata(prepared: PreparedDocument) -> dict[str, MetadataValue]:
    """What every chunk row and sentence pack of a write carries."""
    found: dict[str, MetadataValue] = {
        "document_id": prepared.document_id,
        ROW_TEXT_HASH_KEY: prepared.text_hash,
        "write": prepared.write,
    }
    if prepared.article.published_at:
        found["published_ts"] = to_timestamp(prepared.article.published_at)
    return found


def chunk_metadata(prepared: PreparedDocument, chunk: Chunk) -> dict[str, MetadataValue]:
    return {
        **row_metadata(prepared),
        "position": chunk.position,
        "start": chunk.start,
        "end": chunk.end,
        "first_sentence": chunk.first_sentence,
        "last_sentence": chunk.last_sentence,
    }


def chunk_rows(prepared: PreparedDocument) -> tuple[ChunkRow, ...]:
    """The chunk rows a write stores, as the store's readers see them (with their vectors)."""
    published = (
        to_timestamp(prepared.article.published_at) if prepared.article.published_at else None
    )
    return tuple(
        ChunkRow(
            chunk.chunk_id,
            prepared.document_id,
            prepared.text_hash,
            chunk.text,
            published,
            prepared.chunk_vectors[position],
            prepared.write,
        )
        for position, chunk in enumerate(prepared.chunks)
    )


def sentence_pack(prepared: PreparedDocument) -> dict[str, MetadataValue]:
    """The sentences a write stores, as two metadata values: spans, texts and corrections as
    JSON, vectors as base64 float16 (cosine error ~1e-4, half the bytes of float32)."""
    text = prepared.article.text
    sentences = []
    for position, sentence in enumerate(prepared.sentences):
        row: dict[str, Any] = {
            "index": sentence.index,
            "start": sentence.start,
            "end": sentence.end,
            "text": text[sentence.start : sentence.end],
        }
        row.update(_correction_metadata(prepared.corrections.get(position)))
        sentences.append(row)
    vectors = np.ascontiguousarray(prepared.sentence_vectors, dtype=np.float16)
    return {
        **row_metadata(prepared),
        "sentences": json.dumps(sentences, ensure_ascii=False),
        "vectors": base64.b64encode(vectors.tobytes()).decode("ascii"),
        "dimension": int(vectors.shape[1]) if vectors.ndim == 2 else 0,
    }


def sentence_rows(document_id: str, text_hash: str, meta: dict[str, Any]) -> dict[int, SentenceRow]:
    """Decode a sentence pack into rows by sentence index."""
    sentences: list[dict[str, Any]] = json.loads(str(meta.get("sentences", "[]")))
    dimension = int(meta.get("dimension", 0))
    raw = np.frombuffer(base64.b64decode(str(meta.get("vectors", ""))), dtype=np.float16)
    vectors = raw.astype(np.float32).reshape(len(sentences), dimension)
    return {
        int(row["index"]): SentenceRow(
            sentence_id(document_id, text_hash, int(row["index"])),
            document_id,
            int(row["index"]),
            int(row["start"]),
            int(row["end"]),
            str(row["text"]),
            vectors[position],
            _correction_from(row),
        )
        for position, row in enumerate(sentences)
    }


def copied(
    found: StoredDocument,
    prepared: PreparedDocument,
    chunk_rows: Sequence[tuple[dict[str, Any], str, Matrix]],
    pack: dict[str, Any] | None,
    dimension: int,
) -> PreparedDocument | None:
    """``prepared`` (a new write of ``found``'s text, without rows) with the rows of ``found``'s
    write: chunks with their vectors and the sentences with theirs and their corrections. None
    when those rows are not all there any more (a later write superseded them)."""
    if len(chunk_rows) != found.chunks or (found.sentences and pack is None):
        return None
    ordered = sorted(chunk_rows, key=lambda row: int(row[0].get("position", 0)))
    chunks = [
        Chunk(
            chunk_id=chunk_id(found.document_id, prepared.write, position),
            position=position,
            start=int(meta.get("start", 0)),
            end=int(meta.get("end", 0)),
            text=text,
            first_sentence=int(meta.get("first_sentence", 0)),
            last_sentence=int(meta.get("last_sentence", 0)),
        )
        for position, (meta, text, _) in enumerate(ordered)
    ]
    if [int(meta.get("position", -1)) for meta, _, _ in ordered] != list(range(len(chunks))):
        return None
    decoded = sentence_rows(found.document_id, found.text_hash, pack or {})
    rows = [decoded[index] for index in sorted(decoded)]
    if len(rows) != found.sentences:
        return None
    return PreparedDocument(
        article=prepared.article,
        document_id=prepared.document_id,
        text_hash=prepared.text_hash,
        chunks=chunks,
        chunk_vectors=_stack([vector for _, _, vector in ordered], dimension),
        sentences=[Sentence(row.index, row.start, row.end) for row in rows],
        sentence_vectors=_stack([row.vector for row in rows], dimension),
        signature=prepared.signature,
        ingested_at=prepared.ingested_at,
        corrections={
            position: row.correction for position, row in enumerate(rows) if row.correction
        },
        version=prepared.version,
        wire_group=prepared.wire_group,
        has_copies=prepared.has_copies,
        write=prepared.write,
        previous_write=prepared.previous_write,
    )


def withdrawal(found: StoredDocument, write: str, withdrawn_at: str) -> PreparedDocument:
    """A write of ``found`` (read with its text) that keeps its text, metadata and version but
    has no chunk rows and no sentences: nothing of it can be retrieved or cited. No MinHash
    either, so no later document is taken for a copy of a withdrawn story."""
    empty = np.zeros((0, 0), dtype=np.float32)
    article = Article(
        text=found.text or "",
        title=found.title,
        document_id=found.document_id,
        url=found.url,
        source=found.source,
        published_at=found.published_at,
        metadata=dict(found.metadata),
    )
    return PreparedDocument(
        article=article,
        document_id=found.document_id,
        text_hash=found.text_hash,
        chunks=[],
        chunk_vectors=empty,
        sentences=[],
        sentence_vectors=empty,
        signature=None,
        ingested_at=found.ingested_at,
        version=found.version,
        wire_group=found.group,
        has_copies=found.has_copies,
        write=write,
        previous_write=found.previous_write,
        withdrawn_at=withdrawn_at,
    )


def _stack(vectors: Sequence[Matrix], dimension: int) -> Matrix:
    if not vectors:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.vstack([np.asarray(v, dtype=np.float32) for v in vectors]).astype(np.float32)


def _correction_metadata(correction: Correction | None) -> dict[str, MetadataValue]:
    if correction is None:
        return {}
    found: dict[str, MetadataValue] = {
        "corrected_in": correction.version,
        "corrected_at": correction.corrected_at,
    }
    if correction.previous is not None:
        found["previous_text"] = correction.previous
    return found


def _correction_from(meta: Any) -> Correction | None:
    corrected_in = meta.get("corrected_in")
    if not isinstance(corrected_in, int):
        return None
    previous = meta.get("previous_text")
    return Correction(
        version=corrected_in,
        corrected_at=str(meta.get("corrected_at", "")),
        previous=str(previous) if isinstance(previous, str) else None,
    )


def chunk_hit(chunk_id: str, text: str, meta: dict[str, Any], similarity: float) -> ChunkHit:
    return ChunkHit(
        chunk_id=chunk_id,
        document_id=str(meta.get("document_id", "")),
        text_hash=str(meta.get(ROW_TEXT_HASH_KEY, "")),
        text=text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        first_sentence=int(meta.get("first_sentence", 0)),
        last_sentence=int(meta.get("last_sentence", 0)),
        similarity=similarity,
        write=str(meta.get("write", "")),
    )
