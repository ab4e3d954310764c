"""The commit protocol: concurrent writers of one document, in one process or in many replicas.

Chroma has no transactions and no compare-and-swap, so the protocol never needs one:

* Every write (one ingest's attempt at one document) has a fresh id. Its chunk rows and its
  sentence pack carry it in their ids and metadata, so no two writes ever touch the same row.
* Before writing rows, a writer adds an entry to the ledger (``<prefix>_writes``): document,
  write id, the write it read as committed (``replaces``), start time and owner (the process).
* The document record is the commit point. It names the committed ``write``; readers use only
  rows of that write (``ChunkHit.write`` against ``StoredDocument.write``), so rows of a write
  still in flight, of a loser or of a crashed writer are never served.
* A write id is committed at most once and never again after it is superseded, so once a
  write is not the record's any more its rows are garbage for ever. Cleanup deletes only such
  rows: those of the write the committer itself replaced, and those of ledger entries that are
  provably finished (see ``collectable``). It never deletes rows of a write that may still
  commit, so a record never names rows that are gone.
* A writer commits only if it read the record it replaces at most ``MAX_WRITE_S`` before; a
  slower one gives up with a retryable 409. Entries of the current write are kept for
  ``GRACE_S`` after it started, so a writer that read an older record and commits late still
  has its rows collected.

What it guarantees, across replicas sharing no memory: after concurrent writes of one document
the record, its chunks and its sentence pack belong to one write, the last one to commit (last
writer wins, whole), and the version history is one chain numbered 1 to n (``store.history``).
A delete racing a write removes the record and the rows of the write it names; the write then
either commits after it (the ingest wins: the document exists, whole) or not at all. Losers'
rows are invisible at once and deleted by the next write or delete of the document once their
writer has finished (it marks its entry committed; a dead process of this machine counts as
finished), else by the next write of any document after ``GRACE_S``. It assumes that replica
clocks agree within ``(GRACE_S - 2 * MAX_WRITE_S) / 3`` (two minutes) and that Chroma applies
each call atomically. Threads of one process are in addition serialised per document
(``DocumentLocks``): among them no write is lost, each one becomes a version.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from newsrag.components.store.rows import any_of
from newsrag.errors import NewsragError

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

# A writer gives up if committing would come later than this after it read the record.
MAX_WRITE_S = 120.0
# Ledger entries of finished writes whose owner cannot be asked are trusted after this long.
GRACE_S = 600.0
SWEEP_LIMIT = 200


class WriteConflict(NewsragError):
    status, title, slug = 409, "Conflict", "write-conflict"


def new_write_id() -> str:
    """Unique among the writes of one document (48 random bits; row ids keep 12 hex digits)."""
    return uuid.uuid4().hex[:12]


class DocumentLocks:
    """Per-document mutual exclusion among the threads of one store (re-entrant per thread)."""

    def __init__(self) -> None:
        self._holders: dict[str, int] = {}
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, document_ids: Iterable[str]) -> Iterator[None]:
        me = threading.get_ident()
        with self._changed:
            wanted = {d for d in document_ids if self._holders.get(d) != me}
            self._changed.wait_for(lambda: not any(d in self._holders for d in wanted))
            self._holders.update(dict.fromkeys(wanted, me))
        try:
            yield
        finally:
            with self._changed:
                for document_id in wanted:
                    del self._holders[document_id]
                self._changed.notify_all()


def _start_time(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    return stat.rsplit(")", 1)[1].split()[19]


def _identity() -> str:
    """This process, told apart from every other on this kernel (pid namespace, boot, start
    time); empty where /proc cannot say (then ledger entries wait for the grace period)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        namespace = str(Path("/proc/self/ns/pid").readlink())
        return f"{boot}|{namespace}|{os.getpid()}|{_start_time(os.getpid())}"
    except (OSError, IndexError):
        return ""


OWNER = _identity()
_in_flight: set[tuple[str, str]] = set()
_in_flight_lock = threading.Lock()


@contextmanager
def in_flight(keys: Sequence[tuple[str, str]]) -> Iterator[None]:
    """Mark (document, write) pairs of this process as being written."""
    with _in_flight_lock:
        _in_flight.update(keys)
    try:
        yield
    finally:
        with _in_flight_lock:
            _in_flight.difference_update(keys)


def owner_gone(owner: str) -> bool:
    """True only when the process that owns a write provably runs no more: another process of
    this kernel and pid namespace that has exited (or whose pid now names a later process)."""
    parts, mine = owner.split("|"), OWNER.split("|")
    if owner == OWNER or len(parts) != 4 or len(mine) != 4 or parts[:2] != mine[:2]:
        return False
    if not parts[2].isdigit():
        return False
    try:
        return _start_time(int(parts[2])) != parts[3]
    except OSError:
        return True


@dataclass(frozen=True, slots=True)
class Entry:
    """One write in the ledger."""

    document_id: str
    write: str
    replaces: str  # the write that was committed when this one read the record ("" if none)
    started_at: float  # when it read that record (wall clock of its owner)
    owner: str  # the process writing it (see _identity)
    committed: bool = False  # its commit call returned

    @property
    def row_id(self) -> str:
        return f"{self.document_id}#{self.write}"

    def finished(self, now: float) -> bool:
        """This write will not commit any more (or already has)."""
        with _in_flight_lock:
            if (self.document_id, self.write) in _in_flight:
                return False
        return (
            self.owner == OWNER
            or self.committed
            or self.started_at < now - GRACE_S
            or owner_gone(self.owner)
        )


def collectable(
    entries: Iterable[Entry], current: Mapping[str, str], now: float
) -> tuple[dict[str, set[str]], list[Entry]]:
    """Which writes' rows are garbage (by document) and which ledger entries are done with.

    ``current`` maps each document to its committed write (absent: no record). A write that is
    not current and has finished is garbage; so is the write it replaced, unless that is the
    current one. A current write's entry stays for the grace period: a writer that read an
    older record may still commit over it, and then this entry is how its rows are found."""
    garbage: dict[str, set[str]] = {}
    done: list[Entry] = []
    for entry in entries:
        committed = current.get(entry.document_id, "")
        rows = garbage.setdefault(entry.document_id, set())
        replaced_is_garbage = entry.replaces and entry.replaces != committed
        if replaced_is_garbage and (entry.write == committed or entry.finished(now)):
            rows.add(entry.replaces)
        if entry.write == committed:
            if entry.started_at < now - GRACE_S:
                done.append(entry)
        elif entry.finished(now):
            rows.add(entry.write)
            done.append(entry)
    return {document_id: rows for document_id, rows in garbage.items() if rows}, done


class Ledger:
    """The ``<prefix>_writes`` collection."""

    def __init__(self, collection: Collection) -> None:
        self._collection = collection

    def start(self, entries: Sequence[Entry]) -> None:
        if entries:
            self._collection.upsert(
                ids=[entry.row_id for entry in entries],
                embeddings=np.ones((len(entries), 1), dtype=np.float32),
                metadatas=[_metadata(entry) for entry in entries],
            )

    def mark_committed(self, entries: Sequence[Entry]) -> None:
        if entries:
            self._collection.update(
                ids=[entry.row_id for entry in entries],
                metadatas=[{"committed": True}] * len(entries),
            )

    def pending(self, document_ids: Sequence[str], now: float) -> list[Entry]:
        """The entries of these documents, and some of any document past the grace period."""
        where: Any = any_of(
            [
                *([{"document_id": {"$in": list(document_ids)}}] if document_ids else []),
                {"started_at": {"$lt": now - GRACE_S}},
            ]
        )
        got = self._collection.get(where=where, include=["metadatas"], limit=SWEEP_LIMIT)
        return [_entry(dict(meta or {})) for meta in got.get("metadatas") or []]

    def drop(self, entries: Sequence[Entry]) -> None:
        if entries:
            self._collection.delete(ids=[entry.row_id for entry in entries])


def _metadata(entry: Entry) -> dict[str, str | float | bool]:
    return {
        "document_id": entry.document_id,
        "write": entry.write,
        "replaces": entry.replaces,
        "started_at": entry.started_at,
        "owner": entry.owner,
        "committed": entry.committed,
    }


def _entry(meta: dict[str, Any]) -> Entry:
    return Entry(
        document_id=str(meta.get("document_id", "")),
        write=str(meta.get("write", "")),
        replaces=str(meta.get("replaces", "")),
        started_at=float(meta.get("started_at", 0.0)),
        owner=str(meta.get("owner", "")),
        committed=bool(meta.get("committed", False)),
    )


def now() -> float:
    return time.time()
