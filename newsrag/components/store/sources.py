"""Registered sources (feeds polled every N minutes), kept in the store so every replica sees
them: one row each in ``<prefix>_sources``, with the state of its last sync and a lease.

The lease: a replica that wants to poll a source writes itself as the owner with an expiry,
waits ``settle_s``, reads the row again and polls only if it is still the owner; a lease whose
expiry passed can be taken by anyone. Chroma has no compare-and-set, so this is not a mutual
exclusion proof: two replicas whose writes both land before either re-reads see the last writer
as owner and only that one polls; a write delayed by more than ``settle_s`` could still let two
replicas poll the same source once. That costs work, not correctness: a second sync of the same
feed finds every story unchanged and writes nothing (the documents' commit protocol keeps
concurrent writes of one story whole).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from newsrag.components.store.connection import store_call

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One registered source and what its last sync did (``last_result`` as the sync reported
    it: counts, the first rejections, an error)."""

    source_id: str
    url: str
    every_minutes: int
    created_at: str
    next_due: float = 0.0  # epoch seconds
    etag: str | None = None
    last_modified: str | None = None
    last_synced_at: str | None = None
    last_result: dict[str, Any] = field(default_factory=dict)
    lease_owner: str = ""
    lease_until: float = 0.0

    def leased_by_other(self, owner: str, now: float) -> bool:
        return bool(self.lease_owner) and self.lease_owner != owner and self.lease_until > now


_OPTIONAL = ("etag", "last_modified", "last_synced_at")


def _metadata(record: SourceRecord) -> dict[str, Any]:
    values = asdict(record)
    values.pop("last_result")
    return {key: value for key, value in values.items() if value is not None}


def _record(source_id: str, metadata: Mapping[str, Any], document: str | None) -> SourceRecord:
    optional = {key: str(metadata[key]) for key in _OPTIONAL if metadata.get(key)}
    return SourceRecord(
        source_id=source_id,
        url=str(metadata.get("url", "")),
        every_minutes=int(metadata.get("every_minutes", 60)),
        created_at=str(metadata.get("created_at", "")),
        next_due=float(metadata.get("next_due", 0.0)),
        last_result=json.loads(document) if document else {},
        lease_owner=str(metadata.get("lease_owner", "")),
        lease_until=float(metadata.get("lease_until", 0.0)),
        **optional,
    )


class SourceRegistry:
    """The sources collection: read, write, delete, and take or give back a lease."""

    def __init__(self, collection: Collection, settle_s: float = 0.5) -> None:
        self._collection = collection
        self.settle_s = settle_s

    @classmethod
    @store_call
    def open(cls, client: ClientAPI, prefix: str) -> SourceRegistry:
        return cls(client.get_or_create_collection(f"{prefix}_sources", embedding_function=None))

    @store_call
    def get(self, source_id: str) -> SourceRecord | None:
        got = self._collection.get(ids=[source_id], include=["metadatas", "documents"])
        if not got["ids"]:
            return None
        return _record(got["ids"][0], (got["metadatas"] or [{}])[0], (got["documents"] or [""])[0])

    @store_call
    def all(self) -> list[SourceRecord]:
        got = self._collection.get(include=["metadatas", "documents"])
        metadatas = got["metadatas"] or []
        documents = got["documents"] or []
        records = [
            _record(source_id, metadatas[i] or {}, documents[i])
            for i, source_id in enumerate(got["ids"])
        ]
        return sorted(records, key=lambda r: r.source_id)

    @store_call
    def put(self, record: SourceRecord) -> None:
        self._collection.upsert(
            ids=[record.source_id],
            embeddings=np.ones((1, 1), dtype=np.float32),
            metadatas=[_metadata(record)],
            documents=[json.dumps(record.last_result, ensure_ascii=False)],
        )

    @store_call
    def delete(self, source_id: str) -> bool:
        """Forget a source; False when there was none. Its documents stay in the archive."""
        if self.get(source_id) is None:
            return False
        self._collection.delete(ids=[source_id])
        return True

    def due(self, now: float | None = None) -> list[SourceRecord]:
        """Sources whose next sync is due and that no other replica holds."""
        moment = time.time() if now is None else now
        return [
            r
            for r in self.all()
            if r.next_due <= moment and (not r.lease_owner or r.lease_until <= moment)
        ]

    def acquire(self, source_id: str, owner: str, lease_s: float) -> SourceRecord | None:
        """Take the source's lease for ``lease_s`` seconds: the record when this ``owner`` holds
        it after the settle wait, None when another replica does (or the source is gone)."""
        found = self.get(source_id)
        now = time.time()
        if found is None or found.leased_by_other(owner, now):
            return None
        self.put(replace(found, lease_owner=owner, lease_until=now + lease_s))
        if self.settle_s > 0:
            time.sleep(self.settle_s)
        again = self.get(source_id)
        if again is None or again.lease_owner != owner:
            return None
        return again

    @store_call
    def renew(self, source_id: str, owner: str, lease_s: float) -> bool:
        """Extend this ``owner``'s lease by ``lease_s`` from now; False when it no longer holds
        it (another replica took it after it expired, or the source was removed). Only the
        expiry is written, and an update never creates a row: a source removed meanwhile stays
        removed."""
        found = self.get(source_id)
        if found is None or found.lease_owner != owner:
            return False
        self._collection.update(ids=[source_id], metadatas=[{"lease_until": time.time() + lease_s}])
        return self.get(source_id) is not None

    def release(self, record: SourceRecord, owner: str) -> SourceRecord | None:
        """Write ``record`` (the sync's new state) with the lease given back, unless the
        source was deleted meanwhile (None then) or another replica took over an expired
        lease (its state wins)."""
        current = self.get(record.source_id)
        if current is None or (current.lease_owner and current.lease_owner != owner):
            return current
        released = replace(record, lease_owner="", lease_until=0.0)
        self.put(released)
        return released
