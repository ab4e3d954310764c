"""Chroma as the one source of truth: chunks, sentences and each document's exact text.

Three collections share a prefix:

* ``<prefix>_chunks``    retrieval windows with their vectors (the embedder stamp lives here);
* ``<prefix>_sentence_packs`` one row per document version holding all its sentences (spans,
  texts, corrections) and their vectors as float16, used to compose and verify answers. Sentences
  are only ever read by document, never searched by vector, and a row each (10,000 for a 500 kB
  corpus) made Chroma's per-row write cost the largest part of an ingest;
* ``<prefix>_documents`` one record per document: exact text, metadata, the ``text_hash`` and
  number of the current version, its wire-copy group and MinHash bands. Writing this record is
  the commit point of an ingest;
* ``<prefix>_versions``  the texts a document had before a correction replaced them (history
  only: nothing in it is retrieved or cited).

Chunks and sentence packs carry the ``version`` (text hash) they were cut from; readers keep only
rows whose version equals the document record's ``text_hash``. A crash part-way through an ingest
therefore leaves the previous version the only one visible, and a deleted document vanishes the
moment its record does. Every write also stamps a fresh ``generation`` on the documents
collection so other processes can tell their caches are stale.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

import numpy as np
from cachetools import LRUCache

from core.errors import EmbedderMismatch, NewsragError, NotFound, StoreUnavailable
from ingest import near_duplicates
from ingest.dates import to_timestamp
from ingest.ids import sentence_id, sentence_pack_id
from ingest.models import (
    Article,
    Chunk,
    Correction,
    IngestResult,
    MetadataValue,
    Sentence,
    StoredDocument,
    VersionRecord,
)

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from core.settings import ChromaSettings
    from ingest.embeddings import Matrix

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
WRITE_BATCH = 512
ROW_CACHE_SIZE = 50_000  # chunk rows, and separately sentences; ~80 MB each at 384 dimensions
PACK_BATCH_BYTES = 8_000_000
# The layout of the collections: a store written under another layout is refused at open.
LAYOUT = 2


def _store_call(func: Callable[P, R]) -> Callable[P, R]:
    """Turn any failure of Chroma (down, restarting, timing out) into a 503 problem."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except NewsragError:
            raise
        except Exception as exc:
            log.warning("vector store call %s failed: %s", func.__name__, exc)
            raise StoreUnavailable(f"the vector store did not answer: {exc}") from exc

    return wrapper


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """Everything an ingest writes, computed before the store is touched."""

    article: Article
    document_id: str
    version: str
    chunks: list[Chunk]
    chunk_vectors: Matrix
    sentences: list[Sentence]
    sentence_vectors: Matrix
    signature: near_duplicates.Signature | None  # None: too short to be a wire copy
    ingested_at: str
    # sentences that a correction changed or added, by index (empty for a first version)
    corrections: dict[int, Correction] = field(default_factory=dict)
    version_number: int = 1
    wire_group: str = ""  # filled in just before writing (see Ingestor)
    has_copies: bool = False


@dataclass(frozen=True, slots=True)
class ChunkHit:
    chunk_id: str
    document_id: str
    version: str
    text: str
    start: int
    end: int
    first_sentence: int
    last_sentence: int
    similarity: float


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
    version: str
    text: str
    published_ts: int | None
    vector: Matrix | None = None


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


class ChromaStore:
    """Reads and atomic writes of documents over an embedded or remote Chroma."""

    def __init__(self, client: ClientAPI, prefix: str, embedder_name: str, dimension: int) -> None:
        self._client = client
        self._prefix = prefix
        self.embedder_name = embedder_name
        self.dimension = dimension
        # Chunk and sentence rows never change under their id (the id holds the text's hash), so
        # a per-process cache of them can never be stale: whether a row is current is decided by
        # the document records, which are not cached here.
        self._rows: LRUCache[str, ChunkHit] = LRUCache(maxsize=ROW_CACHE_SIZE)
        # sentence packs by id, sized by their number of sentences
        self._packs: LRUCache[str, dict[int, SentenceRow]] = LRUCache(
            maxsize=ROW_CACHE_SIZE, getsizeof=len
        )
        self._rows_lock = threading.Lock()
        self._open_collections()

    def _cached(self, ids: Sequence[str]) -> dict[str, ChunkHit]:
        with self._rows_lock:
            return {row_id: row for row_id in ids if (row := self._rows.get(row_id)) is not None}

    def _remember(self, rows: dict[str, ChunkHit]) -> None:
        with self._rows_lock:
            for row_id, row in rows.items():
                self._rows[row_id] = row

    @classmethod
    def connect(
        cls, settings: ChromaSettings, data_dir: Path, embedder_name: str, dimension: int
    ) -> ChromaStore:
        import chromadb
        from chromadb.config import Settings as ClientSettings

        chroma_settings = ClientSettings(anonymized_telemetry=False)
        try:
            if settings.host:
                client = chromadb.HttpClient(
                    host=settings.host,
                    port=settings.port,
                    ssl=settings.ssl,
                    settings=chroma_settings,
                )
            else:
                data_dir.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(
                    path=str(data_dir / "chroma"), settings=chroma_settings
                )
        except Exception as exc:
            where = f"{settings.host}:{settings.port}" if settings.host else str(data_dir)
            raise StoreUnavailable(f"cannot open the Chroma store at {where}: {exc}") from exc
        return cls(client, settings.collection_prefix, embedder_name, dimension)

    @_store_call
    def _open_collections(self) -> None:
        stamp = {"embedder": self.embedder_name, "dimension": self.dimension, "layout": LAYOUT}
        # One insertion thread and a wide search beam: the HNSW graph then does not depend on
        # thread scheduling, and on a busy machine the same question retrieves the same chunks.
        searched: Any = {"hnsw": {"space": "cosine", "ef_search": 200, "num_threads": 1}}
        self._chunks = self._client.get_or_create_collection(
            f"{self._prefix}_chunks",
            embedding_function=None,
            configuration=searched,
            metadata=stamp,
        )
        found = self._chunks.metadata or {}
        if found.get("embedder") != self.embedder_name or found.get("dimension") != self.dimension:
            raise EmbedderMismatch(
                f"the store was built with the embedder {found.get('embedder')!r} "
                f"(dimension {found.get('dimension')}) but this process uses "
                f"{self.embedder_name!r} (dimension {self.dimension}); re-index into a new "
                "NEWSRAG_DATA_DIR (or NEWSRAG_CHROMA_COLLECTION_PREFIX) or switch "
                "NEWSRAG_EMBEDDINGS back"
            )
        if found.get("layout") != LAYOUT:
            raise EmbedderMismatch(
                f"the store was written by another version of newsrag (layout "
                f"{found.get('layout', 1)}, this one reads layout {LAYOUT}); re-index into a new "
                "NEWSRAG_DATA_DIR (or NEWSRAG_CHROMA_COLLECTION_PREFIX)"
            )
        self._sentences = self._client.get_or_create_collection(
            f"{self._prefix}_sentence_packs", embedding_function=None
        )
        self._documents = self._client.get_or_create_collection(
            f"{self._prefix}_documents", embedding_function=None
        )
        self._versions = self._client.get_or_create_collection(
            f"{self._prefix}_versions", embedding_function=None
        )

    # ----------------------------------------------------------------- health & generations

    @_store_call
    def heartbeat(self) -> None:
        self._client.heartbeat()

    @_store_call
    def generation(self) -> str:
        """Changes whenever any process writes; cheap enough to read on every query."""
        collection = self._client.get_collection(
            f"{self._prefix}_documents", embedding_function=None
        )
        return str((collection.metadata or {}).get("generation", "0"))

    def _bump_generation(self) -> None:
        self._documents.modify(metadata={"generation": uuid.uuid4().hex})

    @_store_call
    def counts(self) -> tuple[int, int]:
        return self._documents.count(), self._chunks.count()

    # ----------------------------------------------------------------------------- documents

    @staticmethod
    def _document_from(record_id: str, meta: dict[str, Any], text: str | None) -> StoredDocument:
        return StoredDocument(
            document_id=record_id,
            title=str(meta.get("title", "")),
            text_hash=str(meta.get("text_hash", "")),
            chunks=int(meta.get("chunks", 0)),
            ingested_at=str(meta.get("ingested_at", "")),
            url=cast(str | None, meta.get("url")) or None,
            source=cast(str | None, meta.get("source")) or None,
            published_at=cast(str | None, meta.get("published_at")) or None,
            metadata=json.loads(str(meta.get("metadata_json", "{}"))),
            clean=bool(meta.get("clean", True)),
            text=text,
            version=int(meta.get("version_number", 1)),
            wire_group=str(meta.get("wire_group", "")),
            has_copies=bool(meta.get("has_copies", False)),
        )

    @_store_call
    def get_documents(
        self, document_ids: Sequence[str], *, with_text: bool = False
    ) -> dict[str, StoredDocument]:
        if not document_ids:
            return {}
        include: Any = ["metadatas", "documents"] if with_text else ["metadatas"]
        got = self._documents.get(ids=list(dict.fromkeys(document_ids)), include=include)
        found_texts = got.get("documents")
        texts: list[str | None] = list(found_texts) if found_texts else [None] * len(got["ids"])
        metas = got.get("metadatas") or []
        return {
            record_id: self._document_from(record_id, dict(meta or {}), text)
            for record_id, meta, text in zip(got["ids"], metas, texts, strict=True)
        }

    def get_document(self, document_id: str, *, with_text: bool = True) -> StoredDocument:
        found = self.get_documents([document_id], with_text=with_text).get(document_id)
        if found is None:
            raise NotFound(f"no document with id {document_id!r}", document_id=document_id)
        return found

    @_store_call
    def list_documents(self) -> list[StoredDocument]:
        got = self._documents.get(include=["metadatas"])
        metas = got.get("metadatas") or []
        return [
            self._document_from(record_id, dict(meta or {}), None)
            for record_id, meta in zip(got["ids"], metas, strict=True)
        ]

    @_store_call
    def write_documents(
        self, items: Sequence[tuple[PreparedDocument, StoredDocument | None]]
    ) -> list[IngestResult]:
        """Write new versions of several documents, each atomically (see the module docstring
        for the order of writes): every document's chunks and sentence pack first, then the
        history of replaced texts, then the records, each of which commits its document. The
        writes are batched across documents because a Chroma write costs about 5 ms whatever
        it holds. Document ids must be distinct."""
        if len({prepared.document_id for prepared, _ in items}) != len(items):
            raise ValueError("write_documents: a document id appears twice")
        self._write_chunks([prepared for prepared, _ in items])
        self._write_sentence_packs([prepared for prepared, _ in items])
        for prepared, previous in items:
            if previous is not None and previous.text_hash != prepared.version:
                self._archive(previous, superseded_at=prepared.ingested_at)
        self._commit([(prepared, len(prepared.chunks)) for prepared, _ in items])
        founders = {
            prepared.wire_group
            for prepared, _ in items
            if prepared.wire_group and prepared.wire_group != prepared.document_id
        }
        if founders:
            stored = self._documents.get(ids=sorted(founders), include=[])["ids"]
            if stored:
                self._documents.update(ids=stored, metadatas=[{"has_copies": True}] * len(stored))
        return [
            IngestResult(
                prepared.document_id,
                "created" if previous is None else "updated",
                len(prepared.chunks),
                prepared.article.title,
            )
            for prepared, previous in items
        ]

    def _write_chunks(self, documents: Sequence[PreparedDocument]) -> None:
        ids: list[str] = []
        texts: list[str] = []
        metadatas: list[dict[str, MetadataValue]] = []
        vectors: list[Matrix] = []
        for prepared in documents:
            common = _row_metadata(prepared)
            for chunk in prepared.chunks:
                ids.append(chunk.chunk_id)
                texts.append(chunk.text)
                metadatas.append(
                    {
                        **common,
                        "position": chunk.position,
                        "start": chunk.start,
                        "end": chunk.end,
                        "first_sentence": chunk.first_sentence,
                        "last_sentence": chunk.last_sentence,
                    }
                )
            vectors.append(prepared.chunk_vectors)
        if not ids:
            return
        matrix = np.concatenate(vectors).astype(np.float32)
        for offset in range(0, len(ids), WRITE_BATCH):
            rows = slice(offset, offset + WRITE_BATCH)
            self._chunks.upsert(
                ids=ids[rows],
                embeddings=matrix[rows],
                documents=texts[rows],
                metadatas=cast(Any, metadatas[rows]),
            )

    def _write_sentence_packs(self, documents: Sequence[PreparedDocument]) -> None:
        """Upsert the packs in calls of at most ``PACK_BATCH_BYTES`` (a Chroma server takes
        each call as one HTTP request)."""
        ids: list[str] = []
        metadatas: list[dict[str, MetadataValue]] = []
        size = 0

        def flush() -> None:
            if ids:
                self._sentences.upsert(
                    ids=list(ids),
                    embeddings=np.ones((len(ids), 1), dtype=np.float32),
                    metadatas=cast(Any, list(metadatas)),
                )
            ids.clear()
            metadatas.clear()

        for prepared in documents:
            if not prepared.sentences:
                continue
            pack = {**_row_metadata(prepared), **_sentence_pack(prepared)}
            pack_size = sum(len(value) for value in pack.values() if isinstance(value, str))
            if ids and size + pack_size > PACK_BATCH_BYTES:
                flush()
                size = 0
            ids.append(sentence_pack_id(prepared.document_id, prepared.version))
            metadatas.append(pack)
            size += pack_size
        flush()

    @_store_call
    def update_record(self, prepared: PreparedDocument, chunks: int) -> None:
        """Change a document's title or metadata without touching its chunks."""
        self._commit([(prepared, chunks)])

    def _archive(self, previous: StoredDocument, superseded_at: str) -> None:
        """Keep the text being replaced as history. Idempotent: a rerun after a crash writes the
        same row, and a history row equal to the current text is ignored when listing."""
        text = previous.text
        if text is None:
            got = self._documents.get(ids=[previous.document_id], include=["documents"])
            texts = got.get("documents") or []
            text = texts[0] if texts else None
        if text is None:
            return
        record: dict[str, MetadataValue] = {
            "document_id": previous.document_id,
            "version_number": previous.version,
            "text_hash": previous.text_hash,
            "title": previous.title,
            "ingested_at": previous.ingested_at,
            "superseded_at": superseded_at,
            "chars": len(text),
        }
        if previous.published_at:
            record["published_at"] = previous.published_at
        self._versions.upsert(
            ids=[f"{previous.document_id}#{previous.text_hash[:16]}"],
            embeddings=np.ones((1, 1), dtype=np.float32),
            documents=[text],
            metadatas=[record],
        )

    @_store_call
    def versions(self, document_id: str, *, with_text: bool = False) -> list[VersionRecord]:
        """Every text the document has had, oldest first; the last one is current."""
        current = self.get_document(document_id, with_text=True)
        include: Any = ["metadatas", "documents"] if with_text else ["metadatas"]
        got = self._versions.get(where={"document_id": document_id}, include=include)
        metas = got.get("metadatas") or []
        found_texts = got.get("documents")
        texts: list[str | None] = list(found_texts) if found_texts else [None] * len(metas)
        history = []
        for found, text in zip(metas, texts, strict=True):
            meta: dict[str, Any] = dict(found or {})
            if meta.get("text_hash") == current.text_hash:
                continue  # written by an ingest that crashed before its commit
            history.append(
                VersionRecord(
                    document_id=document_id,
                    version=int(meta.get("version_number", 1)),
                    text_hash=str(meta.get("text_hash", "")),
                    title=str(meta.get("title", "")),
                    ingested_at=str(meta.get("ingested_at", "")),
                    chars=len(text) if text is not None else int(meta.get("chars", 0)),
                    published_at=cast(str | None, meta.get("published_at")) or None,
                    superseded_at=cast(str | None, meta.get("superseded_at")) or None,
                    text=text,
                )
            )
        history.sort(key=lambda record: record.version)
        history.append(
            VersionRecord(
                document_id=document_id,
                version=current.version,
                text_hash=current.text_hash,
                title=current.title,
                ingested_at=current.ingested_at,
                chars=len(current.text or ""),
                published_at=current.published_at,
                text=current.text if with_text else None,
            )
        )
        return history

    @_store_call
    def find_copy(
        self, signature: near_duplicates.Signature, document_id: str, threshold: float
    ) -> StoredDocument | None:
        """The most similar other document at or above ``threshold``, found through the LSH
        bands on the document records."""
        keys = near_duplicates.band_keys(signature)
        where: Any = {"$or": [{near_duplicates.band_field(i): key} for i, key in enumerate(keys)]}
        got = self._documents.get(where=where, include=["metadatas"])
        best: tuple[float, StoredDocument] | None = None
        for record_id, meta in zip(got["ids"], got.get("metadatas") or [], strict=True):
            if record_id == document_id or not meta:
                continue
            other = near_duplicates.decode(str(meta.get("minhash", "")))
            if other is None:
                continue
            score = near_duplicates.similarity(signature, other)
            if score >= threshold and (best is None or score > best[0]):
                best = (score, self._document_from(record_id, dict(meta), None))
        return best[1] if best else None

    @_store_call
    def wire_groups(self, groups: Sequence[str]) -> dict[str, list[StoredDocument]]:
        """The members of each wire group (documents sharing a group id, plus its founder)."""
        if not groups:
            return {}
        wanted = list(dict.fromkeys(groups))
        where: Any = {"wire_group": {"$in": wanted}}
        got = self._documents.get(where=where, include=["metadatas"])
        members: dict[str, dict[str, StoredDocument]] = {group: {} for group in wanted}
        for record_id, meta in zip(got["ids"], got.get("metadatas") or [], strict=True):
            document = self._document_from(record_id, dict(meta or {}), None)
            members.setdefault(document.group, {})[record_id] = document
        founders = self.get_documents(wanted)
        for group, founder in founders.items():
            members[group].setdefault(group, founder)
        return {group: list(found.values()) for group, found in members.items()}

    @_store_call
    def finish_cleanup(self, document: StoredDocument) -> None:
        """Remove the rows of other versions that an interrupted ingest left behind."""
        self._remove_versions_except({document.document_id: document.text_hash})
        self._documents.update(ids=[document.document_id], metadatas=[{"clean": True}])

    def _commit(self, documents: Sequence[tuple[PreparedDocument, int]]) -> None:
        # The record is the commit point: from here on readers see this version only. It says
        # "clean" only once other versions' rows are gone, so a rerun after a crash between the
        # two steps knows to finish the cleanup (see Ingestor).
        ids = [prepared.document_id for prepared, _ in documents]
        self._documents.upsert(
            ids=ids,
            embeddings=np.ones((len(ids), 1), dtype=np.float32),
            documents=[prepared.article.text for prepared, _ in documents],
            metadatas=cast(Any, [self._record(prepared, chunks) for prepared, chunks in documents]),
        )
        self._remove_versions_except(
            {prepared.document_id: prepared.version for prepared, _ in documents}
        )
        self._documents.update(ids=ids, metadatas=[{"clean": True}] * len(ids))
        self._bump_generation()

    def _record(self, prepared: PreparedDocument, chunks: int) -> dict[str, MetadataValue]:
        article, document_id = prepared.article, prepared.document_id
        record: dict[str, MetadataValue] = {
            "clean": False,
            "title": article.title,
            "text_hash": prepared.version,
            "version_number": prepared.version_number,
            "chunks": chunks,
            "ingested_at": prepared.ingested_at,
            "metadata_json": json.dumps(article.metadata, sort_keys=True),
            "wire_group": prepared.wire_group or document_id,
            "has_copies": prepared.has_copies,
        }
        if prepared.signature is not None:
            record["minhash"] = near_duplicates.encode(prepared.signature)
            for band, key in enumerate(near_duplicates.band_keys(prepared.signature)):
                record[near_duplicates.band_field(band)] = key
        for key, value in (
            ("url", article.url),
            ("source", article.source),
            ("published_at", article.published_at),
        ):
            if value:
                record[key] = value
        if article.published_at:
            record["published_ts"] = to_timestamp(article.published_at)
        return record

    def _remove_versions_except(self, keep: dict[str, str | None]) -> None:
        """Delete the chunk and sentence rows of each document except those of the version to
        keep (of every version where that is None)."""
        conditions: list[dict[str, Any]] = []
        for document_id, version in keep.items():
            condition: dict[str, Any] = {"document_id": document_id}
            if version is not None:
                condition = {"$and": [condition, {"version": {"$ne": version}}]}
            conditions.append(condition)
        if not conditions:
            return
        where: Any = conditions[0] if len(conditions) == 1 else {"$or": conditions}
        self._chunks.delete(where=where)
        self._sentences.delete(where=where)

    @_store_call
    def delete_document(self, document_id: str) -> None:
        if not self._documents.get(ids=[document_id], include=[])["ids"]:
            raise NotFound(f"no document with id {document_id!r}", document_id=document_id)
        self._documents.delete(ids=[document_id])  # invisible from here on
        self._remove_versions_except({document_id: None})
        self._versions.delete(where={"document_id": document_id})
        self._bump_generation()

    # ------------------------------------------------------------------------------- reading

    @_store_call
    def query_chunks(
        self, vector: Matrix, n_results: int, where: dict[str, Any] | None
    ) -> list[ChunkHit]:
        got = self._chunks.query(
            query_embeddings=vector.astype(np.float32).reshape(1, -1),
            n_results=n_results,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        hits: list[ChunkHit] = []
        docs = (got.get("documents") or [[]])[0]
        metas = (got.get("metadatas") or [[]])[0]
        distances = (got.get("distances") or [[]])[0]
        for chunk_id, text, meta, distance in zip(
            got["ids"][0], docs, metas, distances, strict=True
        ):
            hits.append(_chunk_hit(chunk_id, text or "", dict(meta or {}), 1.0 - float(distance)))
        return hits

    @_store_call
    def get_chunks(self, chunk_ids: Sequence[str]) -> dict[str, ChunkHit]:
        if not chunk_ids:
            return {}
        found = self._cached(chunk_ids)
        missing = [chunk_id for chunk_id in chunk_ids if chunk_id not in found]
        if missing:
            got = self._chunks.get(ids=missing, include=["documents", "metadatas"])
            docs = got.get("documents") or []
            metas = got.get("metadatas") or []
            fetched = {
                chunk_id: _chunk_hit(chunk_id, text or "", dict(meta or {}), 0.0)
                for chunk_id, text, meta in zip(got["ids"], docs, metas, strict=True)
            }
            self._remember(fetched)
            found.update(fetched)
        return found

    @_store_call
    def iter_chunk_rows(
        self, page: int = 5000, *, with_vectors: bool = False
    ) -> Iterator[ChunkRow]:
        """Every chunk row (text, version and optionally vector), paged, for the per-process
        index (see service.retrieval)."""
        offset = 0
        include: Any = ["documents", "metadatas", *(["embeddings"] if with_vectors else [])]
        while True:
            got = self._chunks.get(include=include, limit=page, offset=offset)
            ids = got["ids"]
            docs = got.get("documents") or []
            metas = got.get("metadatas") or []
            vectors = got.get("embeddings") if with_vectors else None
            for position, (chunk_id, text, meta) in enumerate(zip(ids, docs, metas, strict=True)):
                meta = meta or {}
                ts = meta.get("published_ts")
                yield ChunkRow(
                    chunk_id,
                    str(meta.get("document_id", "")),
                    str(meta.get("version", "")),
                    text or "",
                    int(ts) if isinstance(ts, int | float) else None,
                    np.asarray(vectors[position], np.float32) if vectors is not None else None,
                )
            if len(ids) < page:
                return
            offset += page

    @_store_call
    def get_sentences(
        self, document_id: str, version: str, indices: Sequence[int]
    ) -> list[SentenceRow]:
        """The sentences of a document version with these indices, in order."""
        if not indices:
            return []
        pack_id = sentence_pack_id(document_id, version)
        with self._rows_lock:
            pack = self._packs.get(pack_id)
        if pack is None:
            got = self._sentences.get(ids=[pack_id], include=["metadatas"])
            metas = got.get("metadatas") or []
            meta = dict(metas[0] or {}) if metas else {}
            pack = _sentence_rows(document_id, version, meta) if meta else {}
            if len(pack) <= ROW_CACHE_SIZE:
                with self._rows_lock:
                    self._packs[pack_id] = pack
        return [pack[index] for index in sorted(set(indices)) if index in pack]


def _row_metadata(prepared: PreparedDocument) -> dict[str, MetadataValue]:
    """What every chunk row and sentence pack of a document version carries."""
    found: dict[str, MetadataValue] = {
        "document_id": prepared.document_id,
        "version": prepared.version,
    }
    if prepared.article.published_at:
        found["published_ts"] = to_timestamp(prepared.article.published_at)
    return found


def _sentence_pack(prepared: PreparedDocument) -> dict[str, MetadataValue]:
    """A document version's sentences as two metadata values: spans, texts and corrections as
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
        "sentences": json.dumps(sentences, ensure_ascii=False),
        "vectors": base64.b64encode(vectors.tobytes()).decode("ascii"),
        "dimension": int(vectors.shape[1]) if vectors.ndim == 2 else 0,
    }


def _sentence_rows(document_id: str, version: str, meta: dict[str, Any]) -> dict[int, SentenceRow]:
    """Decode a sentence pack into rows by sentence index."""
    sentences: list[dict[str, Any]] = json.loads(str(meta.get("sentences", "[]")))
    dimension = int(meta.get("dimension", 0))
    raw = np.frombuffer(base64.b64decode(str(meta.get("vectors", ""))), dtype=np.float16)
    vectors = raw.astype(np.float32).reshape(len(sentences), dimension)
    return {
        int(row["index"]): SentenceRow(
            sentence_id(document_id, version, int(row["index"])),
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
    version = meta.get("corrected_in")
    if not isinstance(version, int):
        return None
    previous = meta.get("previous_text")
    return Correction(
        version=version,
        corrected_at=str(meta.get("corrected_at", "")),
        previous=str(previous) if isinstance(previous, str) else None,
    )


def _chunk_hit(chunk_id: str, text: str, meta: dict[str, Any], similarity: float) -> ChunkHit:
    return ChunkHit(
        chunk_id=chunk_id,
        document_id=str(meta.get("document_id", "")),
        version=str(meta.get("version", "")),
        text=text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        first_sentence=int(meta.get("first_sentence", 0)),
        last_sentence=int(meta.get("last_sentence", 0)),
        similarity=similarity,
    )
