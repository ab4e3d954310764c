"""Chroma as the one source of truth: chunks, sentences and each document's exact text.

Six collections share a prefix:

* ``<prefix>_chunks``    retrieval windows with their vectors (the embedder stamp lives here);
* ``<prefix>_sentence_packs`` one row per write of a document holding all its sentences (spans,
  texts, corrections) and their vectors as float16, used to compose and verify answers. Sentences
  are only ever read by document, never searched by vector, and a row each (10,000 for a 500 kB
  corpus) made Chroma's per-row write cost the largest part of an ingest;
* ``<prefix>_documents`` one record per document: exact text, metadata, the ``text_hash`` and
  number of the current version, its wire-copy group and MinHash bands. Writing this record is
  the commit point of an ingest;
* ``<prefix>_versions``  the texts a document had before a correction replaced them (history
  only: nothing in it is retrieved or cited);
* ``<prefix>_writes``    the ledger of recent writes, from which rows no record names any more
  are collected (see ``newsrag.components.store.commit``);
* ``<prefix>_changes``   the change log: which documents each write or delete is about to change,
  and when, so that other processes read only those records (see ``store.change_log``).

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
caches are stale, and tells this process's listeners what it changed
(``store.changes``: the corpus index updates itself from that).

``ChromaStore`` is the one class other layers use. Behind it: ``connection`` (client, collections,
the embedder and layout stamp), ``records`` (document records and their history), ``row_reader``
(chunk and sentence reads and their caches), ``writer`` (every write) and ``rows`` (how chunk
rows and sentence packs are encoded).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsrag.components.store import commit, rows
from newsrag.components.store.changes import ChangeFeed, Listener, StoreChange
from newsrag.components.store.commit import DocumentLocks
from newsrag.components.store.connection import (
    connect_client,
    generation,
    open_collections,
    store_call,
)
from newsrag.components.store.records import DocumentRecords
from newsrag.components.store.row_reader import RowReader
from newsrag.components.store.rows import ChunkHit, ChunkRow, PreparedDocument, SentenceRow
from newsrag.components.store.rows import where_for as where_for
from newsrag.components.store.sources import SourceRegistry
from newsrag.components.store.writer import DocumentWriter
from newsrag.errors import NewsragError, NotFound
from newsrag.models import IngestResult, StoredDocument, VersionRecord
from newsrag.text import near_duplicates

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from newsrag.components.embeddings import Matrix
    from newsrag.config import ChromaSettings

__all__ = ["ChromaStore", "ChunkHit", "ChunkRow", "PreparedDocument", "SentenceRow", "where_for"]


class ChromaStore:
    """Reads and atomic writes of documents over an embedded or remote Chroma."""

    def __init__(self, client: ClientAPI, prefix: str, embedder_name: str, dimension: int) -> None:
        self._client = client
        self._prefix = prefix
        self.embedder_name = embedder_name
        self.dimension = dimension
        self._collections = open_collections(client, prefix, embedder_name, dimension)
        self._records = DocumentRecords(self._collections.documents, self._collections.versions)
        self._rows = RowReader(self._collections.chunks, self._collections.sentences, self._records)
        self._changes = ChangeFeed()
        self._stamp_lock = threading.Lock()
        self._writer = DocumentWriter(self._collections, dimension, self._stamp)
        self._locks = DocumentLocks()

    @classmethod
    def connect(
        cls, settings: ChromaSettings, data_dir: Path, embedder_name: str, dimension: int
    ) -> ChromaStore:
        client = connect_client(settings, data_dir)
        return cls(client, settings.collection_prefix, embedder_name, dimension)

    def locked(self, document_ids: Sequence[str]) -> AbstractContextManager[None]:
        """Hold off this store's other writers and deletes of these documents (see
        ``store.commit``; replicas are kept whole by the protocol, not by this lock)."""
        return self._locks.hold(document_ids)

    @functools.cached_property
    def sources(self) -> SourceRegistry:
        """The registered sources (``<prefix>_sources``, see ``store.sources``)."""
        return SourceRegistry.open(self._client, self._prefix)

    # ----------------------------------------------------------------- health & generations

    def identity(self) -> str:
        """Names this store among all: its collections' ids (a collection deleted and made
        again gets a new one), for caches of it kept beyond one process (the corpus index)."""
        collections = self._collections
        return f"{self._prefix}:{collections.chunks.id}:{collections.documents.id}"

    @store_call
    def heartbeat(self) -> None:
        self._client.heartbeat()

    def generation(self) -> str:
        """Changes whenever any process writes; cheap enough to read on every query."""
        return generation(self._client, self._prefix)

    @store_call
    def changed_since(self, at: float) -> dict[str, set[str]]:
        """The writes (``change_log.DELETED`` for deletes) of any process logged at ``at`` or
        later by its clock, by document: what may have changed since (see ``change_log``)."""
        return self._writer.log.since(at)

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` after every write and delete of this store object, with what it
        changed (see ``store.changes``), in the order of their generation tokens."""
        self._changes.subscribe(listener)

    def _stamp(self, change: StoreChange) -> None:
        # one at a time, so that this process's listeners hear of its writes in the order of
        # their tokens, and each change names the token it replaced
        with self._stamp_lock:
            try:
                before: str | None = self.generation()
            except NewsragError:
                before = None
            token = self._writer.bump_generation()
            self._changes.publish(
                dataclasses.replace(change, generation_before=before, generation=token)
            )

    @store_call
    def counts(self) -> tuple[int, int]:
        return self._collections.documents.count(), self._collections.chunks.count()

    # ----------------------------------------------------------------------------- documents

    @store_call
    def get_documents(
        self, document_ids: Sequence[str], *, with_text: bool = False
    ) -> dict[str, StoredDocument]:
        return self._records.get(document_ids, with_text=with_text)

    def get_document(self, document_id: str, *, with_text: bool = True) -> StoredDocument:
        found = self.get_documents([document_id], with_text=with_text).get(document_id)
        if found is None:
            raise NotFound(f"no document with id {document_id!r}", document_id=document_id)
        return found

    @store_call
    def list_documents(self) -> list[StoredDocument]:
        return self._records.list_documents()

    @store_call
    def versions(self, document_id: str, *, with_text: bool = False) -> list[VersionRecord]:
        """Every text the document has had, oldest first; the last one is current."""
        return self._records.versions(self.get_document(document_id), with_text=with_text)

    @store_call
    def find_copies(
        self, signatures: Mapping[str, near_duplicates.Signature], threshold: float
    ) -> dict[str, list[StoredDocument]]:
        """For each document id, the other documents at or above ``threshold``, most similar
        first, found through the LSH bands on the document records (one read for many)."""
        return self._records.find_copies(signatures, threshold)

    @store_call
    def wire_groups(self, groups: Sequence[str]) -> dict[str, list[StoredDocument]]:
        """The members of each wire group (documents sharing a group id, plus its founder),
        withdrawn ones left out."""
        return self._records.wire_groups(groups)

    # -------------------------------------------------------------------------------- writes

    @store_call
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

    @store_call
    def incomplete(self, documents: Sequence[StoredDocument]) -> set[str]:
        """The ids of those of these records whose chunk rows or sentence pack are missing."""
        return self._writer.incomplete(documents)

    @store_call
    def copy_of(self, found: StoredDocument, prepared: PreparedDocument) -> PreparedDocument | None:
        """``prepared``, a new write of ``found``'s text (new title, metadata or date), with
        the chunks and sentences of ``found``'s write; None if those are gone."""
        return self._writer.copy_of(found, prepared)

    @store_call
    def settle(self, documents: Sequence[StoredDocument]) -> None:
        """Collect what interrupted writes of these current records left behind."""
        self._writer.settle([d.document_id for d in documents], documents)

    @store_call
    def delete_document(self, document_id: str) -> None:
        """Delete the record (from then on nothing of the document is served) and the rows of
        its write. A write of this document in flight elsewhere may still commit after it: that
        ingest then wins, whole (see ``newsrag.components.store.commit``)."""
        with self.locked([document_id]):
            record = self.get_documents([document_id]).get(document_id)
            if record is None:
                raise NotFound(f"no document with id {document_id!r}", document_id=document_id)
            self._writer.delete(record)

    @store_call
    def withdraw_document(self, document_id: str, withdrawn_at: str) -> StoredDocument:
        """Take the document out of answers and keep it: a new write of the same text and
        version without chunk rows or sentences, its record stamped ``withdrawn_at``. The rows
        of the write it replaces are collected and this process's listeners hear the document
        now has no rows (the corpus index drops them), as after a delete; its versions stay.
        A later ingest of the id restores it. Withdrawing a withdrawn document changes
        nothing; :class:`NotFound` if there is none."""
        with self.locked([document_id]):
            read_at = commit.now()
            record = self.get_documents([document_id], with_text=True).get(document_id)
            if record is None:
                raise NotFound(f"no document with id {document_id!r}", document_id=document_id)
            if record.withdrawn_at:
                return record
            withdrawal = rows.withdrawal(record, commit.new_write_id(), withdrawn_at)
            self._writer.write([(withdrawal, record)], read_at)
            return self.get_document(document_id, with_text=False)

    # ------------------------------------------------------------------------------- reading

    @store_call
    def query_chunks(
        self, vector: Matrix, n_results: int, where: dict[str, Any] | None
    ) -> list[ChunkHit]:
        return self._rows.query_chunks(vector, n_results, where)

    @store_call
    def get_chunks(self, chunk_ids: Sequence[str]) -> dict[str, ChunkHit]:
        return self._rows.get_chunks(chunk_ids)

    @store_call
    def iter_chunk_rows(
        self, page: int = 5000, *, with_vectors: bool = False
    ) -> Iterator[ChunkRow]:
        """Every chunk row (text, text hash and optionally vector), paged, for the per-process
        index (see newsrag.retrieval.hybrid)."""
        return self._rows.iter_chunk_rows(page, with_vectors=with_vectors)

    @store_call
    def chunk_rows_of(
        self, writes: Mapping[str, str], *, with_vectors: bool = False
    ) -> list[ChunkRow]:
        """The chunk rows of these writes (document id → write id), for the per-process index
        to catch up with what other processes wrote."""
        return self._rows.chunk_rows_of(writes, with_vectors=with_vectors)

    @store_call
    def get_sentences(
        self, document_id: str, text_hash: str, indices: Sequence[int]
    ) -> list[SentenceRow]:
        """The sentences with these indices, in order, of the document's committed text if its
        hash is ``text_hash`` (none otherwise)."""
        return self._rows.get_sentences(document_id, text_hash, indices)

    @store_call
    def record_sentences(
        self, document: StoredDocument, indices: Sequence[int]
    ) -> list[SentenceRow]:
        """The sentences with these indices of exactly this record's write (none if gone)."""
        return self._rows.record_sentences(document, indices)
