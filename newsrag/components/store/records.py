"""Document records: one per document, the commit point of its writes, and its history.

A record holds the document's exact text (as the Chroma document) and, as metadata, its title,
source, dates, the hash and version of its text, the write whose rows it names (see
``store.commit``), its wire-copy group and MinHash bands (see ``newsrag.text.near_duplicates``).
The texts a correction replaced are history rows in ``<prefix>_versions`` (see
``store.history``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from cachetools import LRUCache

from newsrag.components.store import history
from newsrag.components.store.rows import RECORD_VERSION_KEY, PreparedDocument
from newsrag.models import MetadataValue, StoredDocument, VersionRecord
from newsrag.text import near_duplicates
from newsrag.text.dates import to_timestamp

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

COMMITTED_CACHE_SIZE = 50_000
# Documents whose copies one read looks up (64 band clauses of up to this many keys each).
COPY_LOOKUP_BATCH = 64
# Records one read lists. Measured at 10,000 records (~4 kB of metadata each): one read of all
# left the process 1.4 GB larger (Chroma's bindings keep what they allocated); pages of 2,000
# left it 0.3 GB larger, and took 4.0 s instead of 5.1 s.
RECORDS_PER_READ = 2_000


def record_metadata(prepared: PreparedDocument, replaces: str) -> dict[str, MetadataValue]:
    """The metadata of the record that commits ``prepared`` (``replaces``: the write that was
    committed when it read the record)."""
    article, document_id = prepared.article, prepared.document_id
    record: dict[str, MetadataValue] = {
        "title": article.title,
        "text_hash": prepared.text_hash,
        "write": prepared.write,
        "replaces": replaces,
        "previous_write": prepared.previous_write,
        RECORD_VERSION_KEY: prepared.version,
        "chunks": len(prepared.chunks),
        "sentences": len(prepared.sentences),
        "ingested_at": prepared.ingested_at,
        "metadata_json": json.dumps(article.metadata, sort_keys=True),
        "wire_group": prepared.wire_group or document_id,
        "has_copies": prepared.has_copies,
    }
    if prepared.signature is not None:
        record["minhash"] = near_duplicates.encode(prepared.signature)
        for band, key in enumerate(near_duplicates.band_keys(prepared.signature)):
            record[near_duplicates.band_field(band)] = key
    for key, value in (("url", article.url), ("published_at", article.published_at)):
        if value:
            record[key] = value
    # always written, like ``withdrawn_at`` below: an upsert keeps the keys it does not name
    record["source"] = article.source or ""
    if article.published_at:
        record["published_ts"] = to_timestamp(article.published_at)
    # always written: an upsert keeps the keys it does not name, and "" is a live story
    record["withdrawn_at"] = prepared.withdrawn_at or ""
    return record


def document_from(record_id: str, meta: dict[str, Any], text: str | None) -> StoredDocument:
    """The record with this id and metadata (and text, when read)."""
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
        withdrawn_at=cast(str | None, meta.get("withdrawn_at")) or None,
    )


class DocumentRecords:
    """Reads of the documents and versions collections.

    Records are never cached (whether a row is current is decided by them), except for what
    names a sentence pack without a round trip: each document's committed (text hash, write) as
    last read, checked again whenever it does not lead to a pack (see ``committed_write``).
    """

    def __init__(self, documents: Collection, versions: Collection) -> None:
        self._documents = documents
        self._versions = versions
        self._committed: LRUCache[str, tuple[str, str]] = LRUCache(maxsize=COMMITTED_CACHE_SIZE)
        self._lock = threading.Lock()

    def get(
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
            record_id: document_from(record_id, dict(meta or {}), text)
            for record_id, meta, text in zip(got["ids"], metas, texts, strict=True)
        }
        with self._lock:
            for document_id in document_ids:
                if (document := found.get(document_id)) is not None:
                    self._committed[document_id] = (document.text_hash, document.write)
                else:
                    self._committed.pop(document_id, None)
        return found

    def committed_write(self, document_id: str, text_hash: str, *, reread: bool) -> str | None:
        """The write of the document's committed text if its hash is ``text_hash`` (None
        otherwise): as last read, unless ``reread`` or it was not read yet or read with
        another text."""
        with self._lock:
            known = self._committed.get(document_id)
        if reread or known is None or known[0] != text_hash:
            self.get([document_id])
            with self._lock:
                known = self._committed.get(document_id)
        return known[1] if known is not None and known[0] == text_hash else None

    def list_documents(self) -> list[StoredDocument]:
        """Every record, read a page at a time: not one atomic read (a write meanwhile may or
        may not show; callers compare the store generation read before)."""
        found: dict[str, StoredDocument] = {}
        offset = 0
        while True:
            got = self._documents.get(include=["metadatas"], limit=RECORDS_PER_READ, offset=offset)
            metas = got.get("metadatas") or []
            for record_id, meta in zip(got["ids"], metas, strict=True):
                found[record_id] = document_from(record_id, dict(meta or {}), None)
            if len(got["ids"]) < RECORDS_PER_READ:
                return list(found.values())
            offset += RECORDS_PER_READ

    def versions(self, current: StoredDocument, *, with_text: bool) -> list[VersionRecord]:
        """Every text of ``current``'s document, oldest first; the last one is ``current``
        (read with its text)."""
        include: Any = ["metadatas", "documents"] if with_text else ["metadatas"]
        got = self._versions.get(where={"document_id": current.document_id}, include=include)
        metas = got.get("metadatas") or []
        found_texts = got.get("documents")
        texts: list[str | None] = list(found_texts) if found_texts else [None] * len(metas)
        rows = [(dict(meta or {}), text) for meta, text in zip(metas, texts, strict=True)]
        return history.chain(current, rows, with_text=with_text)

    def find_copies(
        self, signatures: Mapping[str, near_duplicates.Signature], threshold: float
    ) -> dict[str, list[StoredDocument]]:
        """For each document, the other documents at or above ``threshold``, most similar
        first: those sharing an LSH band with it, found for many documents in one read."""
        found: dict[str, list[tuple[float, str, StoredDocument]]] = {d: [] for d in signatures}
        items = list(signatures.items())
        for offset in range(0, len(items), COPY_LOOKUP_BATCH):
            group = items[offset : offset + COPY_LOOKUP_BATCH]
            keys = {document_id: near_duplicates.band_keys(sig) for document_id, sig in group}
            fields = [near_duplicates.band_field(i) for i in range(near_duplicates.BANDS)]
            wanted = [sorted({k[i] for k in keys.values()}) for i in range(near_duplicates.BANDS)]
            where: Any = {"$or": [{f: {"$in": w}} for f, w in zip(fields, wanted, strict=True)]}
            got = self._documents.get(where=where, include=["metadatas"])
            for record_id, meta in zip(got["ids"], got.get("metadatas") or [], strict=True):
                other = near_duplicates.decode(str((meta or {}).get("minhash", "")))
                if not meta or other is None or meta.get("withdrawn_at"):
                    continue  # a withdrawn story is nobody's copy any more
                for document_id, sig in group:
                    bands = keys[document_id]
                    if record_id == document_id or not any(
                        meta.get(f) == key for f, key in zip(fields, bands, strict=True)
                    ):
                        continue
                    score = near_duplicates.similarity(sig, other)
                    if score >= threshold:
                        record = document_from(record_id, dict(meta), None)
                        found[document_id].append((-score, record_id, record))
        return {
            document_id: [document for _, _, document in sorted(hits, key=lambda h: h[:2])]
            for document_id, hits in found.items()
        }

    def wire_groups(self, groups: Sequence[str]) -> dict[str, list[StoredDocument]]:
        """The members of each wire group (documents sharing a group id, plus its founder),
        but none that was withdrawn: an answer never names a withdrawn story."""
        if not groups:
            return {}
        wanted = list(dict.fromkeys(groups))
        where: Any = {"wire_group": {"$in": wanted}}
        got = self._documents.get(where=where, include=["metadatas"])
        members: dict[str, dict[str, StoredDocument]] = {group: {} for group in wanted}
        for record_id, meta in zip(got["ids"], got.get("metadatas") or [], strict=True):
            document = document_from(record_id, dict(meta or {}), None)
            if not document.withdrawn_at:
                members.setdefault(document.group, {})[record_id] = document
        founders = self.get(wanted)
        for group, founder in founders.items():
            if not founder.withdrawn_at:
                members[group].setdefault(group, founder)
        return {group: list(found.values()) for group, found in members.items()}
