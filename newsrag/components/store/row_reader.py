"""Reads of chunk rows and sentence packs, with the per-process caches that make them cheap.

Chunk rows and sentence packs never change under their id (the id holds the write, see
``store.rows``), so a cache of them can never be stale: whether a row is current is decided by
the document records, which are not cached here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from cachetools import LRUCache

from newsrag.components.store.records import DocumentRecords
from newsrag.components.store.rows import (
    ROW_TEXT_HASH_KEY,
    ChunkHit,
    ChunkRow,
    SentenceRow,
    chunk_hit,
    sentence_rows,
)
from newsrag.models import StoredDocument
from newsrag.text.ids import sentence_pack_id

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

    from newsrag.components.embeddings import Matrix

ROW_CACHE_SIZE = 50_000  # chunk rows, and separately sentences; ~80 MB each at 384 dimensions
WRITES_PER_READ = 200  # documents whose rows one read asks for


class RowReader:
    """Chunk search and reads, and sentence reads, over the chunks and sentence-pack
    collections."""

    def __init__(self, chunks: Collection, sentences: Collection, records: DocumentRecords) -> None:
        self._chunks = chunks
        self._sentences = sentences
        self._records = records
        self._rows: LRUCache[str, ChunkHit] = LRUCache(maxsize=ROW_CACHE_SIZE)
        # sentence packs by id, sized by their number of sentences
        self._packs: LRUCache[str, dict[int, SentenceRow]] = LRUCache(
            maxsize=ROW_CACHE_SIZE, getsizeof=len
        )
        self._lock = threading.Lock()

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

    def get_chunks(self, chunk_ids: Sequence[str]) -> dict[str, ChunkHit]:
        if not chunk_ids:
            return {}
        with self._lock:
            found = {i: row for i in chunk_ids if (row := self._rows.get(i)) is not None}
        missing = [chunk_id for chunk_id in chunk_ids if chunk_id not in found]
        if missing:
            got = self._chunks.get(ids=missing, include=["documents", "metadatas"])
            docs = got.get("documents") or []
            metas = got.get("metadatas") or []
            fetched = {
                chunk_id: chunk_hit(chunk_id, text or "", dict(meta or {}), 0.0)
                for chunk_id, text, meta in zip(got["ids"], docs, metas, strict=True)
            }
            with self._lock:
                self._rows.update(fetched)
            found.update(fetched)
        return found

    def iter_chunk_rows(self, page: int, *, with_vectors: bool) -> Iterator[ChunkRow]:
        offset = 0
        include: Any = ["documents", "metadatas", *(["embeddings"] if with_vectors else [])]
        while True:
            got = self._chunks.get(include=include, limit=page, offset=offset)
            yield from _chunk_rows(got, with_vectors)
            if len(got["ids"]) < page:
                return
            offset += page

    def chunk_rows_of(self, writes: Mapping[str, str], *, with_vectors: bool) -> list[ChunkRow]:
        include: Any = ["documents", "metadatas", *(["embeddings"] if with_vectors else [])]
        wanted = sorted(writes.items())
        found: list[ChunkRow] = []
        for start in range(0, len(wanted), WRITES_PER_READ):
            batch = dict(wanted[start : start + WRITES_PER_READ])
            where: Any = {
                "$and": [
                    {"document_id": {"$in": list(batch)}},
                    {"write": {"$in": sorted(set(batch.values()))}},
                ]
            }
            got = self._chunks.get(where=where, include=include)
            # write ids are unique per document only: keep the pairs asked for
            found.extend(
                row for row in _chunk_rows(got, with_vectors) if batch[row.document_id] == row.write
            )
        return found

    def get_sentences(
        self, document_id: str, text_hash: str, indices: Sequence[int]
    ) -> list[SentenceRow]:
        if not indices:
            return []
        for attempt in range(2):
            # a second look: a later write of the same text replaced the write remembered
            write = self._records.committed_write(document_id, text_hash, reread=attempt > 0)
            if write is None:
                return []
            pack = self._pack(document_id, write, text_hash)
            if pack is not None:
                return [pack[index] for index in sorted(set(indices)) if index in pack]
        return []

    def record_sentences(
        self, document: StoredDocument, indices: Sequence[int]
    ) -> list[SentenceRow]:
        pack = self._pack(document.document_id, document.write, document.text_hash)
        return [pack[index] for index in sorted(set(indices)) if index in pack] if pack else []

    def _pack(self, document_id: str, write: str, text_hash: str) -> dict[int, SentenceRow] | None:
        pack_id = sentence_pack_id(document_id, write)
        with self._lock:
            pack = self._packs.get(pack_id)
        if pack is None:
            got = self._sentences.get(ids=[pack_id], include=["metadatas"])
            metas = got.get("metadatas") or []
            if not metas:
                return None
            pack = sentence_rows(document_id, text_hash, dict(metas[0] or {}))
            if len(pack) <= ROW_CACHE_SIZE:
                with self._lock:
                    self._packs[pack_id] = pack
        return pack


def _chunk_rows(got: Any, with_vectors: bool) -> Iterator[ChunkRow]:
    docs = got.get("documents") or []
    metas = got.get("metadatas") or []
    vectors = got.get("embeddings") if with_vectors else None
    for position, (chunk_id, text, meta) in enumerate(zip(got["ids"], docs, metas, strict=True)):
        meta = meta or {}
        ts = meta.get("published_ts")
        yield ChunkRow(
            chunk_id,
            str(meta.get("document_id", "")),
            str(meta.get(ROW_TEXT_HASH_KEY, "")),
            text or "",
            int(ts) if isinstance(ts, int | float) else None,
            np.asarray(vectors[position], np.float32) if vectors is not None else None,
            str(meta.get("write", "")),
        )
