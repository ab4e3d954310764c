"""Writes to the store under the commit protocol of ``store.commit``: ingests, deletes and the
collection of rows that no record names any more."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from newsrag.components.store import commit, history, records, rows
from newsrag.components.store.change_log import DELETED, ChangeLog
from newsrag.components.store.changes import CommittedRows, StoreChange
from newsrag.components.store.rows import PreparedDocument
from newsrag.models import IngestResult, MetadataValue, StoredDocument
from newsrag.text.ids import sentence_pack_id

if TYPE_CHECKING:
    from newsrag.components.embeddings import Matrix
    from newsrag.components.store.connection import Collections

log = logging.getLogger(__name__)
WRITE_BATCH = 512
PACK_BATCH_BYTES = 8_000_000


class DocumentWriter:
    """Every write to the chunks, sentence packs, documents, versions and ledger collections."""

    def __init__(
        self, collections: Collections, dimension: int, stamp: Callable[[StoreChange], None]
    ) -> None:
        """``stamp`` ends every write: it replaces the generation token (see
        ``bump_generation``) and tells this process's listeners what changed."""
        self._stamp = stamp
        self._chunks = collections.chunks
        self._sentences = collections.sentences
        self._documents = collections.documents
        self._versions = collections.versions
        self._ledger = commit.Ledger(collections.ledger)
        self.log = ChangeLog(collections.changes)
        self._dimension = dimension

    def write(
        self,
        items: Sequence[tuple[PreparedDocument, StoredDocument | None]],
        read_at: float | None,
    ) -> list[IngestResult]:
        """Write a new version of each document and commit each by its record; ``previous`` is
        the record the write read (with its text when the text changes), at ``read_at``."""
        started = commit.now() if read_at is None else read_at
        entries = [
            commit.Entry(
                p.document_id, p.write, previous.write if previous else "", started, commit.OWNER
            )
            for p, previous in items
        ]
        documents = [prepared for prepared, _ in items]
        with commit.in_flight([(entry.document_id, entry.write) for entry in entries]):
            self._ledger.start(entries)
            try:
                self._write_chunks(documents)
                self._write_sentence_packs(documents)
                for prepared, previous in items:
                    if previous is not None and previous.text_hash != prepared.text_hash:
                        self._archive(previous)
                metadatas = [
                    records.record_metadata(p, e.replaces)
                    for p, e in zip(documents, entries, strict=True)
                ]
                if commit.now() - started > commit.MAX_WRITE_S:
                    raise commit.WriteConflict(
                        "the document changed too long ago for this write to commit safely; "
                        "send it again",
                        retry_after=1,
                    )
                logged = [(p.document_id, p.write) for p in documents]
                logged_at = commit.now()
                self.log.log(logged, logged_at)
            except BaseException:
                self._abandon(entries)
                raise
            try:
                # The commit point. A failure from here on may or may not have committed: the
                # rows stay, and the ledger decides later by what the record names.
                self._documents.upsert(
                    ids=[prepared.document_id for prepared in documents],
                    embeddings=np.ones((len(documents), 1), dtype=np.float32),
                    documents=[prepared.article.text for prepared in documents],
                    metadatas=cast(Any, metadatas),
                )
                self.log.again_if_slow(logged, logged_at, commit.now())
                self._ledger.mark_committed(entries)
                self._mark_founders(documents)
            except BaseException:
                # other processes must not keep the replaced record; whether it committed is
                # unknown, so listeners catch up from the store
                self._stamp(StoreChange(known=False))
                raise
        change = StoreChange(
            committed=tuple(
                CommittedRows(p.document_id, p.write, rows.chunk_rows(p), p.article.source)
                for p in documents
            )
        )
        try:
            self.settle([entry.document_id for entry in entries])
        finally:
            self._stamp(change)  # after the cleanup, so that indexes drop the garbage too
        return [
            IngestResult(
                prepared.document_id,
                "created" if previous is None else "updated",
                len(prepared.chunks),
                prepared.article.title,
            )
            for prepared, previous in items
        ]

    def delete(self, record: StoredDocument) -> None:
        logged_at = commit.now()
        self.log.log([(record.document_id, DELETED)], logged_at)
        self._documents.delete(ids=[record.document_id])  # invisible from here on
        try:
            self.log.again_if_slow([(record.document_id, DELETED)], logged_at, commit.now())
            self._delete_rows({record.document_id: {record.write, record.replaces} - {""}})
            self._versions.delete(where={"document_id": record.document_id})
            self.settle([record.document_id])
        finally:
            self._stamp(StoreChange(deleted=(record.document_id,)))

    def bump_generation(self) -> str:
        """Stamp a new generation token on the documents collection and return it."""
        token = uuid.uuid4().hex
        self._documents.modify(metadata={"generation": token})
        return token

    def settle(self, document_ids: Sequence[str], current: Sequence[StoredDocument] = ()) -> None:
        """Delete the rows no record will name again: of the writes the ``current`` records
        replaced, and of the finished writes in the ledger (of these documents, and of any
        document once past the grace period)."""
        self._delete_rows({d.document_id: {d.replaces} for d in current if d.replaces})
        now = commit.now()
        self.log.prune(now)
        entries = self._ledger.pending(document_ids, now)
        if not entries:
            return
        involved = sorted({entry.document_id for entry in entries})
        got = self._documents.get(ids=involved, include=["metadatas"])
        committed = {
            record_id: str((meta or {}).get("write", ""))
            for record_id, meta in zip(got["ids"], got.get("metadatas") or [], strict=True)
        }
        garbage, done = commit.collectable(entries, committed, now)
        self._delete_rows(garbage)
        self._ledger.drop(done)

    def incomplete(self, documents: Sequence[StoredDocument]) -> set[str]:
        """Those of these records whose write lacks chunk rows or its sentence pack."""
        if not documents:
            return set()
        where: Any = rows.rows_of({d.document_id: {d.write} for d in documents})
        got = self._chunks.get(where=where, include=["metadatas"])
        metas = got.get("metadatas") or []
        found = Counter(str((meta or {}).get("document_id", "")) for meta in metas)
        packs = [sentence_pack_id(d.document_id, d.write) for d in documents if d.sentences]
        stored = set(self._sentences.get(ids=packs, include=[])["ids"]) if packs else set()
        return {
            d.document_id
            for d in documents
            if found[d.document_id] != d.chunks
            or (d.sentences and sentence_pack_id(d.document_id, d.write) not in stored)
        }

    def copy_of(self, found: StoredDocument, prepared: PreparedDocument) -> PreparedDocument | None:
        """``prepared`` (a new write of ``found``'s text, without rows) with the rows of
        ``found``'s write, so that nothing is embedded again; None if they are gone."""
        where: Any = rows.rows_of({found.document_id: {found.write}})
        got = self._chunks.get(where=where, include=["metadatas", "documents", "embeddings"])
        metas = got.get("metadatas") or []
        texts = got.get("documents") or []
        vectors = got.get("embeddings")
        chunk_rows = (
            [
                (dict(meta or {}), text or "", np.asarray(vectors[i], dtype=np.float32))
                for i, (meta, text) in enumerate(zip(metas, texts, strict=True))
            ]
            if vectors is not None
            else []
        )
        pack_id = sentence_pack_id(found.document_id, found.write)
        packs = self._sentences.get(ids=[pack_id], include=["metadatas"]).get("metadatas") or []
        pack = dict(packs[0] or {}) if packs else None
        return rows.copied(found, prepared, chunk_rows, pack, self._dimension)

    def _abandon(self, entries: Sequence[commit.Entry]) -> None:
        """Remove the rows of writes that will not commit (else the ledger collects them)."""
        try:
            self._delete_rows({entry.document_id: {entry.write} for entry in entries})
            self._ledger.drop(entries)
        except Exception as exc:  # the original failure is what gets raised
            log.warning("could not remove the rows of an abandoned write: %s", exc)

    def _delete_rows(self, writes: dict[str, set[str]]) -> None:
        where: Any = rows.rows_of(writes)
        if where is not None:
            self._chunks.delete(where=where)
            self._sentences.delete(where=where)

    def _mark_founders(self, documents: Sequence[PreparedDocument]) -> None:
        founders = {
            prepared.wire_group
            for prepared in documents
            if prepared.wire_group and prepared.wire_group != prepared.document_id
        }
        if founders:
            stored = self._documents.get(ids=sorted(founders), include=[])["ids"]
            if stored:
                self._documents.update(ids=stored, metadatas=[{"has_copies": True}] * len(stored))

    def _write_chunks(self, documents: Sequence[PreparedDocument]) -> None:
        ids: list[str] = []
        texts: list[str] = []
        metadatas: list[dict[str, MetadataValue]] = []
        vectors: list[Matrix] = []
        for prepared in documents:
            for chunk in prepared.chunks:
                ids.append(chunk.chunk_id)
                texts.append(chunk.text)
                metadatas.append(rows.chunk_metadata(prepared, chunk))
            vectors.append(prepared.chunk_vectors)
        if not ids:
            return
        matrix = np.concatenate(vectors).astype(np.float32)
        for offset in range(0, len(ids), WRITE_BATCH):
            batch = slice(offset, offset + WRITE_BATCH)
            self._chunks.upsert(
                ids=ids[batch],
                embeddings=matrix[batch],
                documents=texts[batch],
                metadatas=cast(Any, metadatas[batch]),
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
            pack = rows.sentence_pack(prepared)
            pack_size = sum(len(value) for value in pack.values() if isinstance(value, str))
            if ids and size + pack_size > PACK_BATCH_BYTES:
                flush()
                size = 0
            ids.append(sentence_pack_id(prepared.document_id, prepared.write))
            metadatas.append(pack)
            size += pack_size
        flush()

    def _archive(self, previous: StoredDocument) -> None:
        """Keep the text being replaced as history (see newsrag.components.store.history)."""
        text = previous.text
        if text is None:
            got = self._documents.get(ids=[previous.document_id], include=["documents"])
            texts = got.get("documents") or []
            text = texts[0] if texts else None
        if text is None:
            return
        row_id, metadata = history.archived(previous)
        self._versions.upsert(
            ids=[row_id],
            embeddings=np.ones((1, 1), dtype=np.float32),
            documents=[text],
            metadatas=[metadata],
        )
