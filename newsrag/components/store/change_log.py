"""The change log of writes (``<prefix>_changes``): which documents may have changed, and when.

The generation token tells a process *that* another process wrote, not *what*: without a log,
catching up means reading every document record, a cost that grows with the archive. So every
write logs each document it is about to commit (its write id; "" for a delete), stamped with
the writer's clock, just before the record is written (the commit point). A reader that looked
at the log at time ``t`` reads the entries since ``t - MARGIN_S`` and then only the records of
the documents named there whose logged write it does not hold.

An entry is a hint, the record is the truth: an entry whose write never committed (it failed,
or lost a race) costs one record read and changes nothing. An entry is written before its
commit, so a committed change always has one; a commit that returns more than ``RELOG_AFTER_S``
after its entry was stamped logs it again, so every change is stamped at most that long before
the record changed (unless that second entry fails, or the commit call failed yet Chroma
applied it: then a replica that looked in between sees the change only at its next full
read). ``MARGIN_S`` covers that and the clocks of replicas disagreeing (the commit protocol
assumes they agree within two minutes). Entries are pruned ``RETENTION_S +
MARGIN_S`` after their stamp; a reader whose last look is older than ``RETENTION_S -
MARGIN_S`` reads every record instead. Every replica of a store must log (run a version with
this log): one that does not would write changes no catch-up sees.

One record write is not logged: a wire copy marks its founder's record ``has_copies``, which
changes neither the founder's write nor its source, the only things read from the log.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

log = logging.getLogger(__name__)
MARGIN_S = 300.0
# at most MARGIN_S less the clock disagreement the protocol allows (two minutes)
RELOG_AFTER_S = 100.0
RETENTION_S = 24 * 3600.0
PRUNE_EVERY_S = 600.0
DELETED = ""  # the write an entry names when the document is being deleted


class ChangeLog:
    """The ``<prefix>_changes`` collection."""

    def __init__(self, collection: Collection) -> None:
        self._collection = collection
        self._pruned_at = 0.0
        self._prune_lock = threading.Lock()

    def log(self, writes: Sequence[tuple[str, str]], at: float) -> None:
        """Log (document, write) pairs about to be committed (write ``DELETED``: a delete)."""
        if not writes:
            return
        self._collection.upsert(
            ids=[
                f"{d}#{w}" if w != DELETED else f"{d}#-{uuid.uuid4().hex[:12]}" for d, w in writes
            ],
            embeddings=np.ones((len(writes), 1), dtype=np.float32),
            metadatas=[{"document_id": d, "write": w, "at": at} for d, w in writes],
        )

    def again_if_slow(
        self, writes: Sequence[tuple[str, str]], logged_at: float, now: float
    ) -> None:
        """After the commit: log ``writes`` again, stamped ``now``, if they were logged more
        than ``RELOG_AFTER_S`` before (a reader may have looked between the stamp and the
        commit, and will next read from its look less ``MARGIN_S``)."""
        if now - logged_at <= RELOG_AFTER_S:
            return
        try:
            self.log(writes, now)
        except Exception as exc:  # the write itself is done; a reader may miss it (see above)
            log.warning("change log: %s changes not logged again: %s", len(writes), exc)

    def since(self, at: float) -> dict[str, set[str]]:
        """The writes logged at ``at`` or later, by document (``DELETED`` for deletes)."""
        where: Any = {"at": {"$gte": at}}
        got = self._collection.get(where=where, include=["metadatas"])
        found: dict[str, set[str]] = {}
        for meta in got.get("metadatas") or []:
            entry = dict(meta or {})
            found.setdefault(str(entry.get("document_id", "")), set()).add(
                str(entry.get("write", ""))
            )
        found.pop("", None)
        return found

    def prune(self, now: float) -> None:
        """Drop entries older than ``RETENTION_S`` (at most once per ``PRUNE_EVERY_S`` in this
        process; one call, whatever it deletes)."""
        with self._prune_lock:
            if now - self._pruned_at < PRUNE_EVERY_S:
                return
            self._pruned_at = now
        where: Any = {"at": {"$lt": now - RETENTION_S - MARGIN_S}}
        self._collection.delete(where=where)


def now() -> float:
    """This process's clock, as entries are stamped."""
    return time.time()


def usable(looked_at: float | None, at: float) -> bool:
    """Whether a reader that last looked at ``looked_at`` can catch up from the log at ``at``."""
    return looked_at is not None and at - looked_at < RETENTION_S - MARGIN_S
