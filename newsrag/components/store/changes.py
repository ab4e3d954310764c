"""What this process's writes changed, told to in-process listeners (the corpus index).

A write or delete ends by stamping a new ``generation`` on the documents collection, which tells
other processes that their caches are stale. Listeners in this process are told more: which
documents' records now name which chunk rows, and which documents are gone, so that they can
update themselves from those rows alone instead of re-reading the store.

Chroma has no compare-and-swap, so the token a write replaces cannot be known for sure: the
change carries the token read just before stamping (``generation_before``). A listener that was
in step with exactly that token is in step with the new one after applying the change; any other
listener must catch up from the store (a write of another process may have come in between).
A change whose outcome is unknown (the commit call failed: it may or may not have committed)
has ``known=False`` and tells only that the store moved on.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from newsrag.components.store.rows import ChunkRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CommittedRows:
    """A document whose record now names ``write``, that write's chunk rows and the
    document's source (outlet; None: none)."""

    document_id: str
    write: str
    rows: tuple[ChunkRow, ...]
    source: str | None = None


@dataclass(frozen=True, slots=True)
class StoreChange:
    committed: tuple[CommittedRows, ...] = ()
    deleted: tuple[str, ...] = ()
    generation_before: str | None = None  # the token read just before stamping (None: unread)
    generation: str = ""  # the token this change stamped
    known: bool = True  # False: the outcome is unknown; listeners must catch up from the store

    @property
    def document_ids(self) -> tuple[str, ...]:
        return tuple(c.document_id for c in self.committed) + self.deleted


Listener = Callable[[StoreChange], None]


class ChangeFeed:
    """The listeners of one store. Bound methods are held weakly, so an index that is no longer
    used is not kept alive by the store it listened to."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], Listener | None]] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        ref: Callable[[], Any]
        if hasattr(listener, "__self__") and hasattr(listener, "__func__"):
            ref = weakref.WeakMethod(listener)
        else:
            ref = lambda: listener  # noqa: E731
        with self._lock:
            self._listeners.append(ref)

    def publish(self, change: StoreChange) -> None:
        """Tell every listener; a listener that fails is logged, never raised to the writer (the
        write itself succeeded or failed already)."""
        with self._lock:
            pairs = [(ref, ref()) for ref in self._listeners]
            self._listeners = [ref for ref, listener in pairs if listener is not None]
        listeners = [listener for _, listener in pairs]
        for listener in listeners:
            if listener is None:
                continue
            try:
                listener(change)
            except Exception:
                log.exception("a store change listener failed")
