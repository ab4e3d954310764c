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

* ``<prefix>_writes``    the ledger of recent writes, from which rows no record names any more
  are collected (see ``newsrag.components.store.commit``).

Writes of one document, concurrent or not, from one process or from replicas sharing nothing but
Chroma, follow the commit protocol of ``store.commit``. Every write's chunk rows and sentence
pack carry its own write id; the record names the committed write, and readers keep only rows of
that write. Cleanup deletes only rows of writes that can never be committed again. Guarantee:
whatever the interleaving, a document's record, chunks and sentence pack belong to one write,
the last to commit (last writer wins, whole), and its versions are numbered 1 to n without gaps
or repeats (``store.history``); a delete racing an ingest lets the ingest win or lose whole. A
crash at any point leaves the previous version or the new one, never a mix; the writes of a
process that died are collected by the next write (of a process on the same machine at once,
else after ``commit.GRACE_S``). Within one process, writers and deletes of the same document
are in addition serialised (``locked``), so none of their writes is lost. Every write also
stamps a fresh ``generation`` on the documents collection so other processes can tell their
caches are stale.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

import numpy as np
from cachetools import LRUCache

from newsrag.components.store import history
from newsrag.components.store.commit import DocumentLocks, Ledger
from newsrag.components.store.rows import (
    RECORD_VERSION_KEY,
    ROW_TEXT_HASH_KEY,
    ChunkHit,
    ChunkRow,
    PreparedDocument,
    SentenceRow,
    chunk_hit,
    sentence_rows,
)
from newsrag.components.store.rows import where_for as where_for
from newsrag.components.store.writer import DocumentWriter
from newsrag.errors import EmbedderMismatch, NewsragError, NotFound, StoreUnavailable
from newsrag.models import IngestResult, StoredDocument, VersionRecord
from newsrag.text import near_duplicates
from newsrag.text.ids import sentence_pack_id

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from newsrag.components.embeddings import Matrix
    from newsrag.config import ChromaSettings

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
ROW_CACHE_SIZE = 50_000  # chunk rows, and separately sentences; ~80 MB each at 384 dimensions
# The layout of the collections: a store written under another layout is refused at open.
LAYOUT = 3
__all__ = ["ChromaStore", "ChunkHit", "ChunkRow", "PreparedDocument", "SentenceRow", "where_for"]


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
        # each document's committed (text hash, write) as last read, which names the sentence
        # pack of a text hash without a store round trip (see get_sentences)
        self._committed: LRUCache[str, tuple[str, str]] = LRUCache(maxsize=ROW_CACHE_SIZE)
        self._locks = DocumentLocks()
        self._open_collections()

    def locked(self, document_ids: Sequence[str]) -> AbstractContextManager[None]:
        """Hold off this store's other writers and deletes of these documents (see
        ``store.commit``; replicas are kept whole by the protocol, not by this lock)."""
        return self._locks.hold(document_ids)

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
        ledger = self._client.get_or_create_collection(
            f"{self._prefix}_writes", embedding_function=None
        )
        self._writer = DocumentWriter(
            self._chunks,
            self._sentences,
            self._documents,
            self._versions,
            Ledger(ledger),
            self.dimension,
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
            text=text,
            version=int(meta.get(RECORD_VERSION_KEY, 1)),
            wire_group=str(meta.get("wire_group", "")),
            has_copies=bool(meta.get("has_copies", False)),
            write=str(meta.get("write", "")),
            replaces=str(meta.get("replaces", "")),
            previous_write=str(meta.get("previous_write", "")),
            sentences=int(meta.get("sentences", 0)),
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
        found = {
            record_id: self._document_from(record_id, dict(meta or {}), text)
            for record_id, meta, text in zip(got["ids"], metas, texts, strict=True)
        }
        with self._rows_lock:
            for document_id in document_ids:
                if (document := found.get(document_id)) is not None:
                    self._committed[document_id] = (document.text_hash, document.write)
                else:
                    self._committed.pop(document_id, None)
        return found

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
        self,
        items: Sequence[tuple[PreparedDocument, StoredDocument | None]],
        read_at: float | None = None,
    ) -> list[IngestResult]:
        """Write a new version of each document, each committed on its own by its record (see
        ``store.commit``). ``previous`` is the record the write read, with its text if the
        text changes (None: there was none), and ``read_at`` when it read it (default: now).
        The writes are batched across documents because a Chroma write costs about 5 ms
        whatever it holds. Document ids must be distinct."""
        if len({prepared.document_id for prepared, _ in items}) != len(items):
            raise ValueError("write_documents: a document id appears twice")
        return self._writer.write(items, read_at) if items else []

    @_store_call
    def incomplete(self, documents: Sequence[StoredDocument]) -> set[str]:
        """The ids of those of these records whose chunk rows or sentence pack are missing."""
        return self._writer.incomplete(documents)

    @_store_call
    def copy_of(self, found: StoredDocument, prepared: PreparedDocument) -> PreparedDocument | None:
        """``prepared``, a new write of ``found``'s text (new title, metadata or date), with
        the chunks and sentences of ``found``'s write; None if those are gone."""
        return self._writer.copy_of(found, prepared)

    @_store_call
    def settle(self, documents: Sequence[StoredDocument]) -> None:
        """Collect what interrupted writes of these current records left behind."""
        self._writer.settle([d.document_id for d in documents], documents)

    @_store_call
    def versions(self, document_id: str, *, with_text: bool = False) -> list[VersionRecord]:
        """Every text the document has had, oldest first; the last one is current."""
        current = self.get_document(document_id, with_text=True)
        include: Any = ["metadatas", "documents"] if with_text else ["metadatas"]
        got = self._versions.get(where={"document_id": document_id}, include=include)
        metas = got.get("metadatas") or []
        found_texts = got.get("documents")
        texts: list[str | None] = list(found_texts) if found_texts else [None] * len(metas)
        rows = [(dict(meta or {}), text) for meta, text in zip(metas, texts, strict=True)]
        return history.chain(current, rows, with_text=with_text)

    @_store_call
    def find_copies(
        self, signature: near_duplicates.Signature, document_id: str, threshold: float
    ) -> list[StoredDocument]:
        """The other documents at or above ``threshold``, most similar first, found through
        the LSH bands on the document records."""
        keys = near_duplicates.band_keys(signature)
        where: Any = {"$or": [{near_duplicates.band_field(i): key} for i, key in enumerate(keys)]}
        got = self._documents.get(where=where, include=["metadatas"])
        found: list[tuple[float, str, StoredDocument]] = []
        for record_id, meta in zip(got["ids"], got.get("metadatas") or [], strict=True):
            if record_id == document_id or not meta:
                continue
            other = near_duplicates.decode(str(meta.get("minhash", "")))
            if other is None:
                continue
            score = near_duplicates.similarity(signature, other)
            if score >= threshold:
                found.append((-score, record_id, self._document_from(record_id, dict(meta), None)))
        return [document for _, _, document in sorted(found, key=lambda item: item[:2])]

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
    def delete_document(self, document_id: str) -> None:
        """Delete the record (from then on nothing of the document is served) and the rows of
        its write. A write of this document in flight elsewhere may still commit after it: that
        ingest then wins, whole (see ``newsrag.components.store.commit``)."""
        with self.locked([document_id]):
            record = self.get_documents([document_id]).get(document_id)
            if record is None:
                raise NotFound(f"no document with id {document_id!r}", document_id=document_id)
            self._writer.delete(record)

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
            hits.append(chunk_hit(chunk_id, text or "", dict(meta or {}), 1.0 - float(distance)))
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
                chunk_id: chunk_hit(chunk_id, text or "", dict(meta or {}), 0.0)
                for chunk_id, text, meta in zip(got["ids"], docs, metas, strict=True)
            }
            self._remember(fetched)
            found.update(fetched)
        return found

    @_store_call
    def iter_chunk_rows(
        self, page: int = 5000, *, with_vectors: bool = False
    ) -> Iterator[ChunkRow]:
        """Every chunk row (text, text hash and optionally vector), paged, for the per-process
        index (see newsrag.retrieval.hybrid)."""
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
                    str(meta.get(ROW_TEXT_HASH_KEY, "")),
                    text or "",
                    int(ts) if isinstance(ts, int | float) else None,
                    np.asarray(vectors[position], np.float32) if vectors is not None else None,
                )
            if len(ids) < page:
                return
            offset += page

    @_store_call
    def get_sentences(
        self, document_id: str, text_hash: str, indices: Sequence[int]
    ) -> list[SentenceRow]:
        """The sentences with these indices, in order, of the document's committed text if its
        hash is ``text_hash`` (none otherwise)."""
        if not indices:
            return []
        with self._rows_lock:
            known = self._committed.get(document_id)
        for attempt in range(2):
            if attempt or known is None or known[0] != text_hash:
                # not read yet, or a later write of the same text replaced the one remembered
                self.get_documents([document_id])
                with self._rows_lock:
                    known = self._committed.get(document_id)
            if known is None or known[0] != text_hash:
                return []
            pack = self._pack(document_id, known[1], text_hash)
            if pack is not None:
                return [pack[index] for index in sorted(set(indices)) if index in pack]
        return []

    @_store_call
    def record_sentences(
        self, document: StoredDocument, indices: Sequence[int]
    ) -> list[SentenceRow]:
        """The sentences with these indices of exactly this record's write (none if gone)."""
        pack = self._pack(document.document_id, document.write, document.text_hash)
        return [pack[index] for index in sorted(set(indices)) if index in pack] if pack else []

    def _pack(self, document_id: str, write: str, text_hash: str) -> dict[int, SentenceRow] | None:
        pack_id = sentence_pack_id(document_id, write)
        with self._rows_lock:
            pack = self._packs.get(pack_id)
        if pack is None:
            got = self._sentences.get(ids=[pack_id], include=["metadatas"])
            metas = got.get("metadatas") or []
            if not metas:
                return None
            pack = sentence_rows(document_id, text_hash, dict(metas[0] or {}))
            if len(pack) <= ROW_CACHE_SIZE:
                with self._rows_lock:
                    self._packs[pack_id] = pack
        return pack
